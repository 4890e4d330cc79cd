"""GraphQL documents and checks shared by the reliability tests."""

from __future__ import annotations

import re

PING = "query Ping { __typename }"

LOOKUP = "query Lookup($id: ID!) { team(id: $id) { id name } }"

CUSTOMERS = "query Customers { customers(first: 5) { edges { node { id name } } } }"

TEAMS = "query Teams { teams(first: 100) { edges { node { id name } } } }"

CREATE_TEAM = """
mutation CreateTeam($input: CreateTeamInput!) {
  createTeam(input: $input) { team { id name } userErrors { field message code } }
}
"""

SECRET = re.compile(r"sk-bf-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def assert_nothing_leaks(text: str, *upstream_urls: str, revealed: bool = False) -> None:
    """No upstream URL or host:port, Python traceback or full virtual-key value (unless ``revealed``)."""
    for url in upstream_urls:
        assert url not in text, url
        assert url.split("://", 1)[-1] not in text, url
    assert "Traceback" not in text
    assert 'File "' not in text
    if not revealed:
        assert SECRET.search(text) is None, "a virtual key value leaked"


def error_codes(body: dict[str, object]) -> list[str]:
    """The ``extensions.code`` of each GraphQL error."""
    errors = body.get("errors") or []
    assert isinstance(errors, list)
    return [error["extensions"]["code"] for error in errors]
