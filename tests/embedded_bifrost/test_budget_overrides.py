"""Budget overrides (v2): set, replace and clear; which budgets are a key's; Bifrost's messages word for word."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bifrost_helpers import client_for, message_of

from app.embedded_bifrost import create_app

KEYS = "/api/governance/virtual-keys"
OVERRIDE_FIELDS = (
    "override_amount",
    "override_mode",
    "override_cycles_remaining",
    "override_cycles_total",
    "override_anchor_reset",
)


@pytest.fixture
async def v2() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(generation="v2")) as client:
        yield client


async def _key(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    body = {
        "name": name,
        "budgets": [{"max_limit": 10, "reset_duration": "1d"}],
        "provider_configs": [
            {
                "provider": "openai",
                "key_ids": ["*"],
                "allowed_models": ["*"],
                "budgets": [{"max_limit": 4, "reset_duration": "1h"}],
            }
        ],
    }
    response = await client.post(KEYS, json=body)
    assert response.status_code == 200, response.text
    key: dict[str, Any] = response.json()["virtual_key"]
    return key


def _path(key_id: str, budget_id: str) -> str:
    return f"{KEYS}/{key_id}/budgets/{budget_id}/override"


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert list(answer) == ["budget", "effective_max_limit"]
    return answer


async def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, message_of(response)


async def test_forever_override_adds_to_the_limit(v2: httpx.AsyncClient) -> None:
    key = await _key(v2, "k")
    budget = key["budgets"][0]
    answer = await _ok(await v2.put(_path(key["id"], budget["id"]), json={"amount": 2.5, "mode": "forever"}))
    assert answer["effective_max_limit"] == 12.5
    stored = answer["budget"]
    assert (stored["id"], stored["max_limit"], stored["current_usage"]) == (budget["id"], 10.0, 0.0)
    assert (stored["override_amount"], stored["override_mode"]) == (2.5, "forever")
    for absent in ("override_cycles_remaining", "override_cycles_total", "override_anchor_reset"):
        assert absent not in stored


async def test_cycles_override_is_anchored_at_the_current_window(v2: httpx.AsyncClient) -> None:
    key = await _key(v2, "k")
    budget = key["provider_configs"][0]["budgets"][0]
    body = {"amount": 6, "mode": "cycles", "cycles": 3}
    answer = await _ok(await v2.put(_path(key["id"], budget["id"]), json=body))
    stored = answer["budget"]
    assert answer["effective_max_limit"] == 10.0
    assert (stored["override_amount"], stored["override_mode"]) == (6.0, "cycles")
    assert (stored["override_cycles_remaining"], stored["override_cycles_total"]) == (3, 3)
    assert stored["override_anchor_reset"] == budget["last_reset"]
    # The key's answer carries the override on the budget too.
    read = (await v2.get(f"{KEYS}/{key['id']}")).json()["virtual_key"]
    assert read["provider_configs"][0]["budgets"][0]["override_cycles_remaining"] == 3


async def test_put_replaces_and_delete_clears(v2: httpx.AsyncClient) -> None:
    key = await _key(v2, "k")
    path = _path(key["id"], key["budgets"][0]["id"])
    await _ok(await v2.put(path, json={"amount": 1, "mode": "cycles", "cycles": 2}))
    replaced = await _ok(await v2.put(path, json={"amount": 4, "mode": "forever"}))
    assert (replaced["budget"]["override_mode"], replaced["effective_max_limit"]) == ("forever", 14.0)
    assert "override_cycles_total" not in replaced["budget"] and "override_anchor_reset" not in replaced["budget"]
    cleared = await _ok(await v2.delete(path))
    assert cleared["effective_max_limit"] == 10.0
    assert not any(field in cleared["budget"] for field in OVERRIDE_FIELDS)
    # Clearing twice is fine; an empty body asks for no override, which clears too.
    await _ok(await v2.delete(path))
    await _ok(await v2.put(path, json={"amount": 4, "mode": "forever"}))
    assert (await _ok(await v2.put(path, json={})))["effective_max_limit"] == 10.0


async def test_a_budget_of_a_model_config_scoped_to_the_key_is_eligible(v2: httpx.AsyncClient) -> None:
    key = await _key(v2, "k")
    config = (
        await v2.post(
            "/api/governance/model-configs",
            json={
                "model_name": "gpt-4o",
                "scope": "virtual_key",
                "scope_id": key["id"],
                "budgets": [{"max_limit": 3, "reset_duration": "1w"}],
            },
        )
    ).json()["model_config"]
    answer = await _ok(
        await v2.put(_path(key["id"], config["budgets"][0]["id"]), json={"amount": 1, "mode": "forever"})
    )
    assert answer["effective_max_limit"] == 4.0


async def test_budgets_that_are_not_the_keys_are_404(v2: httpx.AsyncClient) -> None:
    key = await _key(v2, "k")
    other = await _key(v2, "other")
    team = (
        await v2.post(
            "/api/governance/teams", json={"name": "t", "budgets": [{"max_limit": 1, "reset_duration": "1d"}]}
        )
    ).json()["team"]
    global_config = (
        await v2.post(
            "/api/governance/model-configs",
            json={"model_name": "m", "budgets": [{"max_limit": 1, "reset_duration": "1d"}]},
        )
    ).json()["model_config"]
    body = {"amount": 1, "mode": "forever"}
    for key_id, budget_id in [
        (key["id"], other["budgets"][0]["id"]),
        (key["id"], other["provider_configs"][0]["budgets"][0]["id"]),
        (key["id"], team["budgets"][0]["id"]),
        (key["id"], global_config["budgets"][0]["id"]),
        (key["id"], "nope"),
        ("nope", key["budgets"][0]["id"]),
    ]:
        for method in ("PUT", "DELETE"):
            response = await v2.request(method, _path(key_id, budget_id), json=body)
            assert await _error(response) == (404, "virtual key or budget not found")
    # An unknown budget is 404 even with a body that would not decode.
    assert await _error(await v2.put(_path(key["id"], "nope"), content=b"{")) == (
        404,
        "virtual key or budget not found",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "invalid request body"),
        (b"{", "invalid request body"),
        (b"[]", "invalid request body"),
        (b'{"amount": "5", "mode": "forever"}', "invalid request body"),
        (b'{"amount": 5, "mode": "cycles", "cycles": 1.5}', "invalid request body"),
        (b'{"amount": 1e400, "mode": "forever"}', "invalid request body"),
        (b'{"amount": 5}', "budget override fields require override_mode"),
        (b'{"cycles": 2}', "budget override fields require override_mode"),
        (b'{"amount": 5, "mode": "weekly"}', "invalid budget override_mode: weekly"),
        (b'{"amount": 5, "mode": "Forever"}', "invalid budget override_mode: Forever"),
        (b'{"amount": 0, "mode": "cycles", "cycles": 1}', "budget override_amount must be > 0 for cycles mode"),
        (b'{"amount": -1, "mode": "forever"}', "budget override_amount must be > 0 for forever mode"),
        (b'{"amount": 1, "mode": "cycles"}', "budget override_cycles_remaining must be > 0 for cycles mode"),
        (
            b'{"amount": 1, "mode": "cycles", "cycles": -2}',
            "budget override_cycles_remaining must be > 0 for cycles mode",
        ),
        (
            b'{"amount": 1, "mode": "forever", "cycles": 2}',
            "budget override_cycles_remaining must be 0 for forever mode",
        ),
    ],
)
async def test_refusals_are_400_and_keep_the_override(v2: httpx.AsyncClient, body: bytes, message: str) -> None:
    key = await _key(v2, "k")
    path = _path(key["id"], key["budgets"][0]["id"])
    before = await _ok(await v2.put(path, json={"amount": 2, "mode": "forever"}))
    assert await _error(await v2.put(path, content=body)) == (400, message)
    after = (await v2.get(f"{KEYS}/{key['id']}")).json()["virtual_key"]["budgets"][0]
    assert after == before["budget"]


async def test_huge_and_fractional_amounts_are_kept_exactly(v2: httpx.AsyncClient) -> None:
    key = await _key(v2, "k")
    path = _path(key["id"], key["budgets"][0]["id"])
    assert (await _ok(await v2.put(path, json={"amount": 1e300, "mode": "forever"})))["effective_max_limit"] == 1e300
    answer = await _ok(await v2.put(path, json={"amount": 0.1, "mode": "forever"}))
    assert answer["effective_max_limit"] == 10.1
    # Field names match case-insensitively, as Go decodes them.
    answer = await _ok(await v2.put(path, json={"Amount": 3, "MODE": "forever"}))
    assert answer["effective_max_limit"] == 13.0


@pytest.mark.parametrize("generation", ["seed", "current"])
async def test_older_generations_have_no_overrides(generation: str) -> None:
    async with client_for(create_app(generation=generation)) as client:
        for method in ("PUT", "DELETE"):
            response = await client.request(method, _path("k", "b"), json={"amount": 1, "mode": "forever"})
            assert await _error(response) == (404, "Not found")
