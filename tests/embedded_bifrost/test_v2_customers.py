"""Customers on Bifrost v2: ``budgets`` (and the deprecated ``budget``), unique names, calendar alignment.

Every refusal is checked word for word, and a refused write is checked to have changed nothing.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from bifrost_helpers import client_for, message_of

from app.embedded_bifrost import create_app

CUSTOMERS = "/api/governance/customers"
DAY = {"max_limit": 5.0, "reset_duration": "1d"}
WEEK = {"max_limit": 20.0, "reset_duration": "1w"}
MONTH = {"max_limit": 50.0, "reset_duration": "1M"}


async def _create(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(CUSTOMERS, json=body)
    assert response.status_code == 200, response.text
    customer: dict[str, Any] = response.json()["customer"]
    return customer


async def _get(client: httpx.AsyncClient, customer_id: str) -> dict[str, Any]:
    customer: dict[str, Any] = (await client.get(f"{CUSTOMERS}/{customer_id}")).json()["customer"]
    return customer


def _limits(customer: dict[str, Any]) -> list[tuple[float, str]]:
    return [(budget["max_limit"], budget["reset_duration"]) for budget in customer.get("budgets", [])]


async def test_create_answers_budgets_and_never_a_budget_object(v2: httpx.AsyncClient) -> None:
    customer = await _create(v2, {"name": "acme", "budgets": [DAY, MONTH]})
    assert "budget" not in customer and "budget_id" not in customer
    assert _limits(customer) == [(5.0, "1d"), (50.0, "1M")]
    for budget in customer["budgets"]:
        assert budget["customer_id"] == customer["id"]
        assert "calendar_aligned" not in budget  # v2 moved it to the owner
    assert customer["teams"] == [] and customer["virtual_keys"] == []
    assert customer["virtual_key_count"] == 0 and customer["calendar_aligned"] is False


async def test_the_deprecated_budget_becomes_one_entry_of_budgets(v2: httpx.AsyncClient) -> None:
    customer = await _create(v2, {"name": "acme", "budget": DAY})
    assert _limits(customer) == [(5.0, "1d")] and "budget" not in customer


@pytest.mark.parametrize("budgets", [[DAY], [MONTH, WEEK]])
async def test_create_with_budget_and_budgets_is_refused(v2: httpx.AsyncClient, budgets: list[Any]) -> None:
    response = await v2.post(CUSTOMERS, json={"name": "acme", "budget": DAY, "budgets": budgets})
    assert response.status_code == 400
    assert message_of(response) == "only one of 'budget' or 'budgets' may be set"
    assert (await v2.get(CUSTOMERS)).json()["count"] == 0


async def test_create_with_budget_and_empty_budgets_keeps_the_budget(v2: httpx.AsyncClient) -> None:
    # Bifrost tests len(budgets) > 0 on create: an empty array does not count as setting it.
    customer = await _create(v2, {"name": "acme", "budget": DAY, "budgets": []})
    assert _limits(customer) == [(5.0, "1d")]


async def test_a_taken_name_is_409_at_create_and_500_at_rename(v2: httpx.AsyncClient) -> None:
    first = await _create(v2, {"name": "acme"})
    other = await _create(v2, {"name": "globex"})
    again = await v2.post(CUSTOMERS, json={"name": "acme", "budgets": [DAY]})
    assert again.status_code == 409 and message_of(again) == "A customer with this name already exists"
    rename = await v2.put(f"{CUSTOMERS}/{other['id']}", json={"name": "acme", "budgets": [DAY]})
    assert rename.status_code == 500 and message_of(rename) == "Failed to update customer"
    assert (await _get(v2, other["id"]))["name"] == "globex" and "budgets" not in await _get(v2, other["id"])
    assert (await v2.get(CUSTOMERS)).json()["count"] == 2
    keep = await v2.put(f"{CUSTOMERS}/{first['id']}", json={"name": "acme"})  # its own name is not taken
    assert keep.status_code == 200


async def test_duplicate_names_are_still_stored_before_v2(current: httpx.AsyncClient) -> None:
    for _ in range(2):
        assert (await current.post(CUSTOMERS, json={"name": "acme"})).status_code == 200
    assert (await current.get(CUSTOMERS)).json()["count"] == 2


@pytest.mark.parametrize(
    ("budgets", "status", "message"),
    [
        ([{"max_limit": -1, "reset_duration": "1d"}], 400, "budget max_limit cannot be negative: -1.00"),
        ([{"max_limit": 1, "reset_duration": "2x"}], 400, "invalid reset duration (must be a positive duration): 2x"),
        ([{"max_limit": 1, "reset_duration": "0s"}], 400, "invalid reset duration (must be a positive duration): 0s"),
        ([DAY, {**DAY, "max_limit": 9}], 400, "duplicate reset_duration in budgets: 1d"),
        ([None], 400, "invalid reset duration (must be a positive duration): "),
        ([{"max_limit": 0, "reset_duration": "1d"}], 500, "failed to create customer"),
    ],
)
async def test_create_budget_problems(v2: httpx.AsyncClient, budgets: list[Any], status: int, message: str) -> None:
    response = await v2.post(CUSTOMERS, json={"name": "acme", "budgets": budgets})
    assert (response.status_code, message_of(response)) == (status, message)
    assert (await v2.get(CUSTOMERS)).json()["count"] == 0
    assert (await v2.get("/api/governance/budgets")).json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": ""}, "Customer name is required"),
        ({"budgets": [DAY]}, "Customer name is required"),
        (
            {"name": "acme", "rate_limit": {"token_max_limit": 10, "token_reset_duration": "2x"}},
            "Invalid rate limit: invalid rate limit token reset duration (must be a positive duration): 2x",
        ),
        ({"name": "acme", "rate_limit": {"request_max_limit": 0}}, "Invalid rate limit: rate limit request max "
         "limit cannot be negative or zero: 0"),
    ],
)  # fmt: skip
async def test_create_refusals_word_for_word(v2: httpx.AsyncClient, body: dict[str, Any], message: str) -> None:
    response = await v2.post(CUSTOMERS, json=body)
    assert response.status_code == 400 and message_of(response) == message


@pytest.mark.parametrize(
    "body", [{"name": "acme", "budgets": {}}, {"name": "acme", "budgets": [{"id": 1}]}, {"name": "acme", "budget": []}]
)
async def test_wrong_types_are_invalid_json(v2: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await v2.post(CUSTOMERS, json=body)
    assert response.status_code == 400 and message_of(response) == "Invalid JSON"


async def test_update_budget_while_several_exist_is_refused(v2: httpx.AsyncClient) -> None:
    customer = await _create(v2, {"name": "acme", "budgets": [DAY, MONTH]})
    for budget in ({"max_limit": 3}, {}):
        response = await v2.put(f"{CUSTOMERS}/{customer['id']}", json={"budget": budget})
        assert response.status_code == 400
        assert message_of(response) == (
            "deprecated 'budget' field cannot be used when multiple budgets already exist; use 'budgets'"
        )
    assert _limits(await _get(v2, customer["id"])) == [(5.0, "1d"), (50.0, "1M")]


@pytest.mark.parametrize(
    "budget", [{"max_limit": 3}, {"reset_duration": "1d"}, {"max_limit": 0, "reset_duration": "1d"}]
)
async def test_a_new_budget_needs_both_fields(v2: httpx.AsyncClient, budget: dict[str, Any]) -> None:
    customer = await _create(v2, {"name": "acme"})
    response = await v2.put(f"{CUSTOMERS}/{customer['id']}", json={"budget": budget})
    assert response.status_code == 400
    assert message_of(response) == "both max_limit and reset_duration are required when creating a new budget"


async def test_update_budget_edits_the_only_budget_in_place(v2: httpx.AsyncClient, v2_app_db: Any) -> None:
    customer = await _create(v2, {"name": "acme", "budget": DAY})
    budget_id = customer["budgets"][0]["id"]
    v2_app_db.execute("UPDATE budgets SET current_usage = 2.5 WHERE id = ?", (budget_id,))
    updated = (await v2.put(f"{CUSTOMERS}/{customer['id']}", json={"budget": {"max_limit": 8}})).json()["customer"]
    assert [(b["id"], b["max_limit"], b["reset_duration"], b["current_usage"]) for b in updated["budgets"]] == [
        (budget_id, 8.0, "1d", 2.5)
    ]
    removed = (await v2.put(f"{CUSTOMERS}/{customer['id']}", json={"budget": {}})).json()["customer"]
    assert "budgets" not in removed


async def test_update_with_both_fields_is_refused_before_the_lookup(v2: httpx.AsyncClient) -> None:
    response = await v2.put(f"{CUSTOMERS}/no-such-customer", json={"budget": DAY, "budgets": []})
    assert response.status_code == 400 and message_of(response) == "only one of 'budget' or 'budgets' may be set"
    missing = await v2.put(f"{CUSTOMERS}/no-such-customer", json={"budgets": []})
    assert missing.status_code == 404 and message_of(missing) == "Customer not found"


async def test_budgets_matched_by_id_then_duration_and_unmatched_deleted(v2: httpx.AsyncClient, v2_app_db: Any) -> None:
    customer = await _create(v2, {"name": "acme", "budgets": [DAY, WEEK, MONTH]})
    day, week, month = (budget["id"] for budget in customer["budgets"])
    v2_app_db.execute("UPDATE budgets SET current_usage = 4 WHERE id = ?", (week,))
    wanted = [{"id": week, "max_limit": 30, "reset_duration": "2w"}, {"max_limit": 6, "reset_duration": "1d"}]
    updated = (await v2.put(f"{CUSTOMERS}/{customer['id']}", json={"budgets": wanted})).json()["customer"]
    by_id = {budget["id"]: budget for budget in updated["budgets"]}
    assert set(by_id) == {week, day}  # the month was not asked for: deleted
    assert (by_id[week]["max_limit"], by_id[week]["reset_duration"], by_id[week]["current_usage"]) == (30.0, "2w", 4)
    assert by_id[day]["max_limit"] == 6.0
    assert month not in {b["id"] for b in (await v2.get("/api/governance/budgets")).json()["budgets"]}


async def test_an_id_claimed_by_a_rename_is_not_taken_by_its_old_duration(v2: httpx.AsyncClient) -> None:
    customer = await _create(v2, {"name": "acme", "budgets": [DAY]})
    day = customer["budgets"][0]["id"]
    wanted = [{"max_limit": 1, "reset_duration": "1d"}, {"id": day, "max_limit": 7, "reset_duration": "1w"}]
    updated = (await v2.put(f"{CUSTOMERS}/{customer['id']}", json={"budgets": wanted})).json()["customer"]
    by_duration = {budget["reset_duration"]: budget for budget in updated["budgets"]}
    assert by_duration["1w"]["id"] == day and by_duration["1d"]["id"] != day


async def test_a_new_budget_inherits_the_usage_of_the_closest_shorter_one(
    v2: httpx.AsyncClient, v2_app_db: Any
) -> None:
    customer = await _create(v2, {"name": "acme", "budgets": [DAY, WEEK]})
    day, week = (budget["id"] for budget in customer["budgets"])
    v2_app_db.execute("UPDATE budgets SET current_usage = 1 WHERE id = ?", (day,))
    v2_app_db.execute("UPDATE budgets SET current_usage = 3 WHERE id = ?", (week,))
    wanted = [DAY, WEEK, MONTH, {"max_limit": 1, "reset_duration": "1h"}]
    updated = (await v2.put(f"{CUSTOMERS}/{customer['id']}", json={"budgets": wanted})).json()["customer"]
    usage = {budget["reset_duration"]: budget["current_usage"] for budget in updated["budgets"]}
    assert usage == {"1d": 1, "1w": 3, "1M": 3, "1h": 0}


async def test_a_foreign_budget_id_is_refused_and_nothing_changes(v2: httpx.AsyncClient) -> None:
    acme = await _create(v2, {"name": "acme", "budgets": [DAY]})
    globex = await _create(v2, {"name": "globex", "budgets": [WEEK]})
    foreign = globex["budgets"][0]["id"]
    body = {"name": "renamed", "budgets": [MONTH, {"id": foreign, "max_limit": 1, "reset_duration": "1w"}]}
    response = await v2.put(f"{CUSTOMERS}/{acme['id']}", json=body)
    assert response.status_code == 400 and message_of(response) == f"budget {foreign} does not belong to this entity"
    assert await _get(v2, acme["id"]) == acme
    assert await _get(v2, globex["id"]) == globex


async def test_empty_budgets_delete_all_and_omitted_budgets_keep_them(v2: httpx.AsyncClient) -> None:
    customer = await _create(v2, {"name": "acme", "budgets": [DAY, MONTH]})
    kept = (await v2.put(f"{CUSTOMERS}/{customer['id']}", json={"name": "acme2"})).json()["customer"]
    assert kept["budgets"] == customer["budgets"]
    emptied = (await v2.put(f"{CUSTOMERS}/{customer['id']}", json={"budgets": []})).json()["customer"]
    assert "budgets" not in emptied
    assert (await v2.get("/api/governance/budgets")).json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"budgets": [{"max_limit": 0, "reset_duration": "1d"}]}, "Failed to update customer"),
        ({"rate_limit": {"token_max_limit": -5, "token_reset_duration": "1h"}}, "Failed to update customer"),
        ({"budgets": [{"max_limit": -2, "reset_duration": "1d"}]}, "budget max_limit cannot be negative: -2.00"),
    ],
)
async def test_update_refusals(v2: httpx.AsyncClient, body: dict[str, Any], message: str) -> None:
    customer = await _create(v2, {"name": "acme", "budgets": [DAY]})
    response = await v2.put(f"{CUSTOMERS}/{customer['id']}", json=body)
    assert message_of(response) == message
    assert response.status_code == (400 if message.startswith("budget") else 500)
    assert await _get(v2, customer["id"]) == customer


async def test_calendar_aligned_customer_budgets_start_at_the_period(v2: httpx.AsyncClient, v2_app_db: Any) -> None:
    customer = await _create(v2, {"name": "acme", "calendar_aligned": True, "budgets": [MONTH]})
    assert customer["calendar_aligned"] is True
    assert customer["budgets"][0]["last_reset"].endswith("-01T00:00:00.000000000Z")
    plain = await _create(v2, {"name": "globex", "budgets": [MONTH, {"max_limit": 1, "reset_duration": "1h"}]})
    month, hour = (budget["id"] for budget in plain["budgets"])
    v2_app_db.execute("UPDATE budgets SET current_usage = 2")
    aligned = (await v2.put(f"{CUSTOMERS}/{plain['id']}", json={"calendar_aligned": True})).json()["customer"]
    by_id = {budget["id"]: budget for budget in aligned["budgets"]}
    assert by_id[month]["current_usage"] == 0 and by_id[month]["last_reset"].endswith("-01T00:00:00.000000000Z")
    assert by_id[hour] == {**next(b for b in plain["budgets"] if b["id"] == hour), "current_usage": 2}
    v2_app_db.execute("UPDATE budgets SET current_usage = 2")
    again = (await v2.put(f"{CUSTOMERS}/{plain['id']}", json={"calendar_aligned": True})).json()["customer"]
    assert [budget["current_usage"] for budget in again["budgets"]] == [2, 2]  # only a false -> true turn snaps


async def test_virtual_key_count_and_embedded_customers(v2: httpx.AsyncClient) -> None:
    customer = await _create(v2, {"name": "acme"})
    for name in ("k1", "k2"):
        assert (
            await v2.post("/api/governance/virtual-keys", json={"name": name, "customer_id": customer["id"]})
        ).status_code == 200
    team = (await v2.post("/api/governance/teams", json={"name": "t", "customer_id": customer["id"]})).json()["team"]
    fetched = await _get(v2, customer["id"])
    assert fetched["virtual_key_count"] == 2 and len(fetched["virtual_keys"]) == 2
    assert [t["id"] for t in fetched["teams"]] == [team["id"]]
    listed = (await v2.get(CUSTOMERS)).json()
    assert listed["customers"][0]["virtual_key_count"] == 2
    assert (listed["count"], listed["total_count"], listed["limit"], listed["offset"]) == (1, 1, 1, 0)
    embedded = team["customer"]
    assert (embedded["teams"], embedded["virtual_keys"], embedded["virtual_key_count"]) == (None, None, 0)
    assert "budgets" not in embedded and embedded["calendar_aligned"] is False


async def test_delete_removes_the_customer_budgets(v2: httpx.AsyncClient) -> None:
    customer = await _create(v2, {"name": "acme", "budgets": [DAY, MONTH]})
    assert (await v2.delete(f"{CUSTOMERS}/{customer['id']}")).json() == {"message": "Customer deleted successfully"}
    assert (await v2.get("/api/governance/budgets")).json()["count"] == 0


async def test_a_retried_create_is_refused_and_stores_one_customer() -> None:
    app = create_app(generation="v2")
    async with client_for(app) as client:
        body = {"name": "acme", "budgets": [DAY]}
        answers = [await client.post(CUSTOMERS, json=body) for _ in range(3)]
        assert [answer.status_code for answer in answers] == [200, 409, 409]
        assert (await client.get("/api/governance/budgets")).json()["count"] == 1


async def test_a_rename_to_a_taken_name_with_bad_budgets_reports_the_budgets(v2: httpx.AsyncClient) -> None:
    await _create(v2, {"name": "acme"})
    globex = await _create(v2, {"name": "globex"})
    body = {"name": "acme", "budgets": [{"max_limit": 1, "reset_duration": "soon"}]}
    response = await v2.put(f"{CUSTOMERS}/{globex['id']}", json=body)
    assert response.status_code == 400
    assert message_of(response) == "invalid reset duration (must be a positive duration): soon"
