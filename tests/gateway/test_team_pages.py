"""A page of teams is settled and turned into a connection as before, with less work per team.

A team answered without any budget is settled in place as it is parsed (``settle_parsed_team``): the result must
be exactly the copy ``settled_budgets`` makes (fields, fields set, dump), on a page, in an envelope and inside a
customer, and a team that carries budgets is left as parsed. ``connection_of`` makes
its edges without the dataclass ``__init__``: they must equal edges made through it, which holds while that
``__init__`` sets nothing but ``node`` and ``offset``.
"""

from __future__ import annotations

import dataclasses
from importlib.metadata import version

import pytest
from packaging.version import Version

from app.bifrost import models
from app.bifrost.client import _parse_settled
from app.schema.pagination import Edge, PageWindow, connection_of, encode_cursor

STAMPS = b'"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"'
BUDGET = b'{"id": "b", "max_limit": 5, "reset_duration": "1M", ' + STAMPS + b"}"


def team(team_id: str, budgets: bytes | None = None, extra: bytes = b"") -> bytes:
    shape = b"" if budgets is None else b'"budgets": ' + budgets + b", "
    return b'{"id": "' + team_id.encode() + b'", "name": "n", ' + shape + extra + STAMPS + b"}"


def page(*teams: bytes) -> bytes:
    return b'{"teams": [' + b", ".join(teams) + b'], "count": ' + str(len(teams)).encode() + b"}"


def test_a_page_whose_teams_carry_budgets_is_kept_as_parsed() -> None:
    body = page(team("a", b"[" + BUDGET + b"]"), team("b", b"[]"), team("c", extra=b'"budget_id": "x", '))
    parsed = models.TeamList.model_validate_json(body)
    settled = _parse_settled(models.TeamList, body)
    assert settled == parsed
    assert [t.budgets for t in settled.teams] == [[parsed.teams[0].budgets[0]], [], None]


@pytest.mark.parametrize("where", [0, 1, 2])
def test_a_team_without_any_budget_is_settled_to_none_wherever_it_is(where: int) -> None:
    teams = [team("a", b"[" + BUDGET + b"]"), team("b", extra=b'"budget": ' + BUDGET + b", "), team("c")]
    teams[where], teams[2] = teams[2], teams[where]
    settled = _parse_settled(models.TeamList, page(*teams))
    parsed = models.TeamList.model_validate_json(page(*teams))
    assert settled.teams == [t.settled_budgets() for t in parsed.teams]
    assert settled.teams[where].budgets == [] and settled.teams[where].all_budgets == []
    assert sum(t.budgets == [] for t in settled.teams) == 1  # the others keep what they carried
    assert settled.count == parsed.count == 3


SHAPES = {
    "no budget": team("t"),
    "empty list": team("t", b"[]"),
    "a list": team("t", b"[" + BUDGET + b"]"),
    "seed budget": team("t", extra=b'"budget": ' + BUDGET + b", "),
    "budget id only": team("t", extra=b'"budget_id": "x", '),
    "null list": team("t", b"null"),
    "with a customer": team("t", extra=b'"customer": {"id": "c", "name": "C", ' + STAMPS + b"}, "),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_team_settled_in_place_is_the_copy_settled_budgets_makes(shape: str) -> None:
    body = b'{"team": ' + SHAPES[shape] + b"}"
    copied = models.TeamEnvelope.model_validate_json(body).team.settled_budgets()
    settled = _parse_settled(models.TeamEnvelope, body).team
    assert settled == copied
    assert settled.model_fields_set == copied.model_fields_set
    assert settled.model_dump() == copied.model_dump()
    assert settled.all_budgets == copied.all_budgets
    assert settled.has_budgets_loaded == copied.has_budgets_loaded


def test_teams_inside_a_customer_are_settled_in_place_as_their_copies() -> None:
    body = b'{"customer": {"id": "c", "name": "C", "teams": [' + b", ".join(SHAPES.values()) + b"], " + STAMPS + b"}}"
    parsed = models.CustomerEnvelope.model_validate_json(body)
    settled = _parse_settled(models.CustomerEnvelope, body).customer
    assert settled.teams == [t.settled_budgets() for t in parsed.customer.teams or []]
    assert [t.model_fields_set for t in settled.teams or []] == [
        t.settled_budgets().model_fields_set for t in parsed.customer.teams or []
    ]
    listed = _parse_settled(models.CustomerList, b'{"customers": [' + body[len(b'{"customer": ') : -1] + b"]}")
    assert listed.customers[0] == settled


def test_pydantic_is_inside_the_range_in_place_settling_was_tested_on() -> None:
    # ``settle_parsed_team`` writes the instance attributes ``model_copy`` fills; pyproject pins this range.
    assert Version("2.10") <= Version(version("pydantic")) < Version("3")


def test_settling_a_parsed_team_touches_no_other_instance() -> None:
    body = b'{"team": ' + SHAPES["no budget"] + b"}"
    first, second = _parse_settled(models.TeamEnvelope, body), models.TeamEnvelope.model_validate_json(body)
    assert first.team.budgets == [] and second.team.budgets is None  # each parse is its own instance
    with pytest.raises(ValueError, match="frozen"):
        first.team.budgets = None  # type: ignore[misc]


def test_an_empty_or_null_page_settles_to_an_empty_list() -> None:
    assert _parse_settled(models.TeamList, b'{"teams": []}').teams == []
    assert _parse_settled(models.TeamList, b'{"teams": null}').teams == []
    assert _parse_settled(models.TeamList, b"{}").teams == []


def test_edges_made_without_init_equal_edges_made_through_it() -> None:
    items = [f"item-{i}" for i in range(5)]
    connection = connection_of(items, PageWindow(limit=5, offset=40), total=100)
    assert connection.edges == [Edge(node=item, offset=40 + i) for i, item in enumerate(items)]
    assert [vars(edge) for edge in connection.edges] == [
        {"node": item, "offset": 40 + i} for i, item in enumerate(items)
    ]
    assert connection.page_info.start_cursor == encode_cursor(40)
    assert connection.page_info.end_cursor == encode_cursor(44)
    assert connection_of([], PageWindow(limit=5, offset=0), total=0).edges == []


def test_edge_init_sets_only_node_and_offset() -> None:
    # If Strawberry or this module ever gives Edge more to do on creation, ``_edges`` must do it too.
    assert [f.name for f in dataclasses.fields(Edge) if f.init] == ["node", "offset"]
    assert not hasattr(Edge, "__post_init__")
