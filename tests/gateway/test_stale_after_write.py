"""What a write makes stale: a later field of the same document reads the new value; a failed write clears nothing.

Each mutation declares what its write makes stale (``app.schema.stale``). These documents read something
through the request's loaders, write, and read it again, so a declaration that missed something answers the
old value (or sends it back upstream).
"""

from __future__ import annotations

from typing import Any

from tests.gateway.arrange import MISSING_ID, codes, upstream_get, upstream_post
from tests.gateway.conftest import Gateway

RENAME_TEAM_AFTER_ATTACHING = """
mutation ($team: ID!, $customer: ID!) {
  attach: updateTeam(input: {id: $team, customerId: $customer}) { team { customer { teams { name } } } }
  rename: updateTeam(input: {id: $team, name: "renamed"}) { team { customer { teams { name } } } }
}
"""

RENAME_CUSTOMER_BETWEEN_KEY_READS = """
mutation ($key: ID!, $customer: ID!) {
  before: updateVirtualKey(input: {id: $key, description: "a"}) { virtualKey { customer { name } } }
  rename: updateCustomer(input: {id: $customer, name: "Renamed"}) { customer { name } }
  after: updateTeam(input: {id: "__team__", name: "still-platform"}) { team { customer { name teams { name } } } }
}
"""

DELETE_CUSTOMER_BETWEEN_KEY_UPDATES = """
mutation ($key: ID!, $customer: ID!) {
  before: updateVirtualKey(input: {id: $key, description: "a"}) { virtualKey { customerId } }
  delete: deleteCustomer(input: {id: $customer}) { deletedId }
  after: updateVirtualKey(input: {id: $key, description: "b"}) { virtualKey { customerId } userErrors { code } }
}
"""

MOVE_KEY_BETWEEN_TEAM_READS = """
mutation ($key: ID!, $from: ID!, $to: ID!) {
  before: updateTeam(input: {id: $from, name: "from"}) { team { virtualKeys { name } } }
  move: updateVirtualKey(input: {id: $key, teamId: $to}) { virtualKey { teamId } }
  after: updateTeam(input: {id: $from, name: "from-again"}) { team { virtualKeys { name } } }
}
"""

DELETE_TEAM_AFTER_LISTING_ITS_KEYS = """
mutation ($key: ID!, $team: ID!) {
  list: updateTeam(input: {id: $team, name: "listed"}) { team { virtualKeys { id teamId } } }
  delete: deleteTeam(input: {id: $team}) { deletedId }
  after: updateVirtualKey(input: {id: $key, description: "kept"}) { virtualKey { teamId } userErrors { code } }
}
"""

TWO_TEAM_UPDATES_NAMING_ONE_CUSTOMER = """
mutation ($first: ID!, $second: ID!, $customer: ID!) {
  first: updateTeam(input: {id: $first, customerId: $customer}) { team { id } userErrors { field code } }
  second: updateTeam(input: {id: $second, customerId: $customer}) { team { id } userErrors { field code } }
}
"""


def data_of(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def customer_reads(gw: Gateway, customer_id: str) -> int:
    return len(gw.upstream_calls("GET", f"/api/governance/customers/{customer_id}"))


async def test_update_team_then_its_customer_lists_the_new_name(gateway: Gateway) -> None:
    customer = await upstream_post(gateway, "customers", {"name": "Acme"})
    team = await upstream_post(gateway, "teams", {"name": "platform"})
    data = data_of(await gateway.graphql(RENAME_TEAM_AFTER_ATTACHING, {"team": team["id"], "customer": customer["id"]}))
    assert data["attach"]["team"]["customer"]["teams"] == [{"name": "platform"}]
    # The customer (and its team list) was read by the first field: the rename made it stale.
    assert data["rename"]["team"]["customer"]["teams"] == [{"name": "renamed"}]


async def test_update_customer_then_renaming_its_team_lists_the_new_name(gateway: Gateway) -> None:
    customer = await upstream_post(gateway, "customers", {"name": "Acme"})
    team = await upstream_post(gateway, "teams", {"name": "platform", "customer_id": customer["id"]})
    key = await upstream_post(gateway, "virtual-keys", {"name": "k", "customer_id": customer["id"]})
    document = RENAME_CUSTOMER_BETWEEN_KEY_READS.replace("__team__", team["id"])
    data = data_of(await gateway.graphql(document, {"key": key["id"], "customer": customer["id"]}))
    assert data["before"]["virtualKey"]["customer"]["name"] == "Acme"
    assert data["rename"]["customer"]["name"] == "Renamed"
    # updateCustomer answered the customer with its teams; the team rename after it made that copy stale.
    assert data["after"]["team"]["customer"] == {"name": "Renamed", "teams": [{"name": "still-platform"}]}


async def test_delete_customer_then_updating_its_key_does_not_reattach_it(gateway: Gateway) -> None:
    customer = await upstream_post(gateway, "customers", {"name": "Acme"})
    key = await upstream_post(gateway, "virtual-keys", {"name": "k", "customer_id": customer["id"]})
    data = data_of(
        await gateway.graphql(DELETE_CUSTOMER_BETWEEN_KEY_UPDATES, {"key": key["id"], "customer": customer["id"]})
    )
    assert data["before"]["virtualKey"]["customerId"] == customer["id"]
    assert data["delete"]["deletedId"] == customer["id"]
    # The key read by the first field named the customer; Bifrost detached it, and the update keeps it so.
    assert data["after"] == {"virtualKey": {"customerId": None}, "userErrors": []}
    stored = await upstream_get(gateway, "virtual-keys", key["id"])
    assert stored is not None and not stored.get("customer_id")


async def test_update_virtual_key_moving_it_then_its_old_team_lists_no_key(gateway: Gateway) -> None:
    source = await upstream_post(gateway, "teams", {"name": "source"})
    target = await upstream_post(gateway, "teams", {"name": "target"})
    key = await upstream_post(gateway, "virtual-keys", {"name": "k", "team_id": source["id"]})
    data = data_of(
        await gateway.graphql(MOVE_KEY_BETWEEN_TEAM_READS, {"key": key["id"], "from": source["id"], "to": target["id"]})
    )
    assert data["before"]["team"]["virtualKeys"] == [{"name": "k"}]
    assert data["move"]["virtualKey"]["teamId"] == target["id"]
    assert data["after"]["team"]["virtualKeys"] == []


async def test_delete_team_then_updating_a_key_it_listed_does_not_reattach_it(gateway: Gateway) -> None:
    team = await upstream_post(gateway, "teams", {"name": "platform"})
    key = await upstream_post(gateway, "virtual-keys", {"name": "k", "team_id": team["id"]})
    data = data_of(await gateway.graphql(DELETE_TEAM_AFTER_LISTING_ITS_KEYS, {"key": key["id"], "team": team["id"]}))
    assert data["list"]["team"]["virtualKeys"] == [{"id": key["id"], "teamId": team["id"]}]
    assert data["delete"]["deletedId"] == team["id"]
    # The team's key list was fetched (and remembered) before the delete; the key read afterwards is fresh.
    assert data["after"] == {"virtualKey": {"teamId": None}, "userErrors": []}
    stored = await upstream_get(gateway, "virtual-keys", key["id"])
    assert stored is not None and not stored.get("team_id")


async def test_failed_update_team_clears_nothing(gateway: Gateway) -> None:
    customer = await upstream_post(gateway, "customers", {"name": "Acme"})
    variables = {"first": MISSING_ID, "second": MISSING_ID.replace("0", "1"), "customer": customer["id"]}
    data = data_of(await gateway.graphql(TWO_TEAM_UPDATES_NAMING_ONE_CUSTOMER, variables))
    assert codes(data["first"]) == [(["input", "id"], "NOT_FOUND")]
    assert codes(data["second"]) == [(["input", "id"], "NOT_FOUND")]
    # Both check that the customer exists; nothing was written, so the first read still serves the second.
    assert customer_reads(gateway, customer["id"]) == 1


async def test_successful_update_team_clears_what_it_declares(gateway: Gateway) -> None:
    customer = await upstream_post(gateway, "customers", {"name": "Acme"})
    first = await upstream_post(gateway, "teams", {"name": "first"})
    second = await upstream_post(gateway, "teams", {"name": "second"})
    variables = {"first": first["id"], "second": second["id"], "customer": customer["id"]}
    data = data_of(await gateway.graphql(TWO_TEAM_UPDATES_NAMING_ONE_CUSTOMER, variables))
    assert data["first"] == {"team": {"id": first["id"]}, "userErrors": []}
    assert data["second"] == {"team": {"id": second["id"]}, "userErrors": []}
    # The first write changed the customer's team list: the second check reads it again.
    assert customer_reads(gateway, customer["id"]) == 2
