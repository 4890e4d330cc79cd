"""One suite for every generation, over real HTTP: ``python -m app.embedded_bifrost --generation G`` as a process.

What the three generations share (team create, list, get, update, delete; key create, get, delete; paging) is
one test body run against each. Where they differ, the expectation is read from the generation's capabilities
in :mod:`app.generations` (``owner_budgets``, ``duplicate_names``, ``owners``, ``Feature`` flags), never from
its name, so a fourth generation runs this suite by being added to ``GENERATIONS``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import IO, Any

import httpx
import pytest
from bifrost_helpers import free_port

from app.generations import GENERATIONS, Feature, Generation

GOV = "/api/governance"
_START_SECONDS = 30


@pytest.fixture(scope="module", params=GENERATIONS, ids=str)
def served(request: pytest.FixtureRequest) -> Iterator[tuple[Generation, httpx.Client]]:
    """The embedded server of one generation as its own process, and a client of it."""
    generation: Generation = request.param
    port = free_port()
    command = [sys.executable, "-m", "app.embedded_bifrost", "--port", str(port), "--generation", generation.name]
    # stderr goes to a file, not a pipe: nobody reads a pipe while the tests run, and a full one blocks.
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                _wait_until_up(process, client, stderr)
                yield generation, client
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(process: subprocess.Popen[bytes], client: httpx.Client, stderr: IO[bytes]) -> None:
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr.seek(0)
            raise AssertionError(f"the server exited with {process.returncode}: {stderr.read()[-2000:]!r}")
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("the server did not answer /health")


def _name(prefix: str) -> str:
    # One server serves every test of a generation: names stay unique across them.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _budgets(generation: Generation, *specs: tuple[float, str]) -> dict[str, Any]:
    """Budgets of a team or key in the generation's request shape."""
    items = [{"max_limit": limit, "reset_duration": duration} for limit, duration in specs]
    return {"budgets": items} if generation.owner_budgets == "array" else {"budget": items[0]}


def _budget_limits(generation: Generation, owner: dict[str, Any]) -> list[float]:
    """The max limits of an owner's budgets, read from the generation's answer shape."""
    if generation.owner_budgets == "array":
        return [budget["max_limit"] for budget in owner.get("budgets") or []]
    return [owner["budget"]["max_limit"]] if owner.get("budget") else []


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_version_is_the_generations(served: tuple[Generation, httpx.Client]) -> None:
    generation, client = served
    assert _ok(client.get("/api/version")) == generation.version


def test_team_create_list_get_update_delete(served: tuple[Generation, httpx.Client]) -> None:
    generation, client = served
    name = _name("team")
    created = _ok(client.post(f"{GOV}/teams", json={"name": name, **_budgets(generation, (5, "1d"))}))
    assert created["message"] == "Team created successfully"
    team = created["team"]
    assert team["name"] == name and _budget_limits(generation, team) == [5]
    listed = _ok(client.get(f"{GOV}/teams", params={"search": name}))
    assert [t["id"] for t in listed["teams"]] == [team["id"]] and listed["total_count"] == 1
    assert _ok(client.get(f"{GOV}/teams/{team['id']}"))["team"]["name"] == name
    renamed = _ok(client.put(f"{GOV}/teams/{team['id']}", json={"name": name + "-2"}))
    assert renamed["message"] == "Team updated successfully" and renamed["team"]["name"] == name + "-2"
    assert _budget_limits(generation, renamed["team"]) == [5], "an update without budgets keeps them"
    assert _ok(client.delete(f"{GOV}/teams/{team['id']}")) == {"message": "Team deleted successfully"}
    missing = client.get(f"{GOV}/teams/{team['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "Team not found"
    # The differences, by capability.
    assert ("virtual_key_count" in team) is generation.has(Feature.TEAM_VIRTUAL_KEY_COUNT)
    assert ("calendar_aligned" in team) is generation.has(Feature.CALENDAR_ALIGNED)


def test_key_create_get_delete(served: tuple[Generation, httpx.Client]) -> None:
    generation, client = served
    team = _ok(client.post(f"{GOV}/teams", json={"name": _name("owner")}))["team"]
    body = {
        "name": _name("key"),
        "team_id": team["id"],
        "provider_configs": [{"provider": "openai", "allowed_models": ["*"], "key_ids": ["*"]}],
        **_budgets(generation, (2, "1w")),
    }
    created = _ok(client.post(f"{GOV}/virtual-keys", json=body))
    assert created["message"] == "Virtual key created successfully"
    key = created["virtual_key"]
    assert key["value"].startswith("sk-bf-") and key["team_id"] == team["id"] and key["is_active"] is True
    assert _budget_limits(generation, key) == [2]
    got = _ok(client.get(f"{GOV}/virtual-keys/{key['id']}"))["virtual_key"]
    assert got["value"] == key["value"] and [c["provider"] for c in got["provider_configs"]] == ["openai"]
    # An update naming neither owner: v1.5 detaches the key, v2 keeps its team.
    updated = _ok(client.put(f"{GOV}/virtual-keys/{key['id']}", json={"description": "d"}))["virtual_key"]
    assert (updated.get("team_id") == team["id"]) is (generation.owners == "presence_aware")
    config = got["provider_configs"][0]
    assert ("blacklisted_models" in config) is generation.has(Feature.BLACKLISTED_MODELS)
    assert ("allow_all_keys" in config) is generation.has(Feature.ALLOW_ALL_KEYS)
    assert ("allow_all_providers" in got) is generation.has(Feature.ALLOW_ALL_PROVIDERS)
    rotated = client.post(f"{GOV}/virtual-keys/{key['id']}/rotate")
    assert rotated.status_code == (200 if generation.has(Feature.KEY_ROTATION) else 404), rotated.text
    assert _ok(client.delete(f"{GOV}/virtual-keys/{key['id']}")) == {"message": "Virtual key deleted successfully"}
    missing = client.get(f"{GOV}/virtual-keys/{key['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "Virtual key not found"


def test_key_expiry_is_taken_where_the_generation_has_it(served: tuple[Generation, httpx.Client]) -> None:
    generation, client = served
    body = {"name": _name("expiring"), "expires_at": "2099-01-01T00:00:00Z"}
    key = _ok(client.post(f"{GOV}/virtual-keys", json=body))["virtual_key"]
    # An older generation ignores the unknown field, as Bifrost ignores every unknown field.
    expected = "2099-01-01T00:00:00Z" if generation.has(Feature.KEY_EXPIRY) else None
    assert key.get("expires_at") == expected


def test_paging_is_shared(served: tuple[Generation, httpx.Client]) -> None:
    _, client = served
    prefix = _name("paged")
    ids = [_ok(client.post(f"{GOV}/teams", json={"name": f"{prefix}-{i}"}))["team"]["id"] for i in range(3)]
    page = _ok(client.get(f"{GOV}/teams", params={"search": prefix, "limit": 2, "offset": 1}))
    assert (page["count"], page["total_count"], page["limit"], page["offset"]) == (2, 3, 2, 1)
    assert [t["id"] for t in page["teams"]] == ids[1:]
    clamped = _ok(client.get(f"{GOV}/teams", params={"search": prefix, "limit": 1000, "offset": -5}))
    assert (clamped["limit"], clamped["offset"], clamped["count"]) == (100, 0, 3)
    keys = [_ok(client.post(f"{GOV}/virtual-keys", json={"name": f"{prefix}-k{i}"}))["virtual_key"] for i in range(2)]
    page = _ok(client.get(f"{GOV}/virtual-keys", params={"search": prefix, "limit": 1}))
    assert (page["count"], page["total_count"]) == (1, 2) and page["virtual_keys"][0]["id"] == keys[0]["id"]
    refused = client.get(f"{GOV}/virtual-keys", params={"limit": "ten"})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Invalid limit parameter: must be a number"


def test_duplicate_names_answer_the_generations_status(served: tuple[Generation, httpx.Client]) -> None:
    generation, client = served
    duplicates = generation.duplicate_names
    name = _name("taken")
    _ok(client.post(f"{GOV}/teams", json={"name": name}))
    assert client.post(f"{GOV}/teams", json={"name": name}).status_code == duplicates.team_create
    _ok(client.post(f"{GOV}/customers", json={"name": name}))
    again = client.post(f"{GOV}/customers", json={"name": name})
    assert again.status_code == (duplicates.customer_create or 200), "None: the name is not unique there"
    _ok(client.post(f"{GOV}/virtual-keys", json={"name": name}))
    assert client.post(f"{GOV}/virtual-keys", json={"name": name}).status_code == duplicates.key_create


def test_customer_budgets_take_the_generations_shape(served: tuple[Generation, httpx.Client]) -> None:
    generation, client = served
    if generation.customer_budgets == "array":
        body: dict[str, Any] = {"budgets": [{"max_limit": 7, "reset_duration": "1M"}]}
    else:
        body = {"budget": {"max_limit": 7, "reset_duration": "1M"}}
    customer = _ok(client.post(f"{GOV}/customers", json={"name": _name("customer"), **body}))["customer"]
    if generation.customer_budgets == "array":
        assert [b["max_limit"] for b in customer["budgets"]] == [7] and "budget" not in customer
    else:
        assert customer["budget"]["max_limit"] == 7 and "budgets" not in customer
    assert ("virtual_key_count" in customer) is generation.has(Feature.CUSTOMER_VIRTUAL_KEY_COUNT)


_SOMEONE = uuid.uuid4()


@pytest.mark.parametrize(
    ("feature", "method", "path", "content", "answer"),
    [
        pytest.param(feature, method, path, content, answer, id=feature.value)
        for feature, method, path, content, answer in (
            (Feature.MODEL_CONFIGS, "GET", f"{GOV}/model-configs", None, (200, None)),
            (Feature.PROVIDER_GOVERNANCE, "GET", f"{GOV}/providers", None, (200, None)),
            (
                Feature.KEY_ROTATION,
                "POST",
                f"{GOV}/virtual-keys/rotate",
                b'{"ids": []}',
                (400, "At least one virtual key ID is required"),
            ),
            (Feature.KEY_QUOTA, "GET", f"{GOV}/virtual-keys/quota", None, (401, None)),
            (
                Feature.BUDGET_OVERRIDES,
                "PUT",
                f"{GOV}/virtual-keys/{_SOMEONE}/budgets/{_SOMEONE}/override",
                b'{"amount": 1, "mode": "forever"}',
                (404, "virtual key or budget not found"),
            ),
            (Feature.DEPRECATED_ALIASES, "GET", "/api/teams", None, (200, None)),
            (Feature.ANALYTICS, "GET", "/api/logs/stats", None, (200, None)),
            (
                Feature.ANALYTICS,
                "GET",
                "/api/logs/histogram/cost/by-dimension",
                None,
                (
                    400,
                    "Missing required query parameter: dimension. Valid values: provider, team_id, customer_id,"
                    " user_id, business_unit_id",
                ),
            ),
        )
    ],
)
def test_endpoints_exist_where_the_generation_has_them(
    served: tuple[Generation, httpx.Client],
    feature: Feature,
    method: str,
    path: str,
    content: bytes | None,
    answer: tuple[int, str | None],
) -> None:
    generation, client = served
    response = client.request(method, path, content=content)
    if generation.has(feature):
        status, message = answer
        assert response.status_code == status, response.text
        assert message is None or response.json()["error"]["message"] == message
    else:
        # A route a generation lacks is 404, or 405 where its path is another route's (``virtual-keys/{vk_id}``
        # takes GET, PUT and DELETE).
        assert response.status_code in (404, 405), response.text
