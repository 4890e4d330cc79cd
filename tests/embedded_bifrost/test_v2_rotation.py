"""v2 key rotation: single and bulk, the grace period of ``client_config.vk_rotation_cooldown``, ``/api/config``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bifrost_helpers import FakeClock, client_for, message_of

from app.embedded_bifrost import create_app
from app.embedded_bifrost.__main__ import main
from app.embedded_bifrost.timestamps import format_rfc3339

VKS = "/api/governance/virtual-keys"
QUOTA = f"{VKS}/quota"
CONFIG = "/api/config"
MINUTE = 60


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def v2(clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(generation="v2")
    app.state.context.clock = clock
    async with client_for(app) as client:
        yield client


async def _key(client: httpx.AsyncClient, name: str = "k") -> dict[str, Any]:
    response = await client.post(VKS, json={"name": name})
    assert response.status_code == 200, response.text
    key: dict[str, Any] = response.json()["virtual_key"]
    return key


async def _rotate(client: httpx.AsyncClient, vk_id: str) -> dict[str, Any]:
    response = await client.post(f"{VKS}/{vk_id}/rotate")
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Virtual key rotated successfully"
    key: dict[str, Any] = response.json()["virtual_key"]
    return key


async def _authenticates(client: httpx.AsyncClient, value: str) -> bool:
    response = await client.get(QUOTA, headers={"x-bf-vk": value})
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


async def _set_cooldown(client: httpx.AsyncClient, cooldown: Any) -> httpx.Response:
    return await client.put(CONFIG, json={"client_config": {"vk_rotation_cooldown": cooldown}})


async def test_rotate_without_cooldown_kills_the_old_value_at_once(v2: httpx.AsyncClient, clock: FakeClock) -> None:
    key = await _key(v2)
    rotated = await _rotate(v2, key["id"])
    assert rotated["id"] == key["id"] and rotated["value"] != key["value"]
    assert rotated["value"].startswith("sk-bf-") and len(rotated["value"]) == len("sk-bf-") + 36
    assert rotated["rotated_at"] == format_rfc3339(clock())
    assert "previous_value_expires_at" not in rotated and "rotated_at" not in key
    assert not await _authenticates(v2, key["value"])
    assert await _authenticates(v2, rotated["value"])
    listed = (await v2.get(f"{VKS}/{key['id']}")).json()["virtual_key"]
    assert listed["value"] == rotated["value"] and listed["rotated_at"] == rotated["rotated_at"]


async def test_rotate_unknown_key_is_404(v2: httpx.AsyncClient) -> None:
    response = await v2.post(f"{VKS}/nope/rotate")
    assert response.status_code == 404
    assert message_of(response) == "Virtual key not found"


async def test_rotate_with_cooldown_keeps_the_old_value_until_the_grace_ends(
    v2: httpx.AsyncClient, clock: FakeClock
) -> None:
    assert (await _set_cooldown(v2, "5m")).status_code == 200
    key = await _key(v2)
    rotated = await _rotate(v2, key["id"])
    assert rotated["previous_value_expires_at"] == format_rfc3339(clock() + 5 * MINUTE * 10**9)
    assert await _authenticates(v2, key["value"]) and await _authenticates(v2, rotated["value"])
    clock.advance(5 * MINUTE - 1)
    assert await _authenticates(v2, key["value"])
    clock.advance(1)  # the window is half-open: at previous_value_expires_at the old value is dead
    assert not await _authenticates(v2, key["value"])
    assert await _authenticates(v2, rotated["value"])


async def test_second_rotation_ends_the_first_grace(v2: httpx.AsyncClient, clock: FakeClock) -> None:
    await _set_cooldown(v2, "1h")
    key = await _key(v2)
    first = await _rotate(v2, key["id"])
    clock.advance(MINUTE)
    second = await _rotate(v2, key["id"])
    assert not await _authenticates(v2, key["value"])
    assert await _authenticates(v2, first["value"]) and await _authenticates(v2, second["value"])
    assert second["previous_value_expires_at"] == format_rfc3339(clock() + 3600 * 10**9)


async def test_rotation_with_zero_cooldown_revokes_a_running_grace(v2: httpx.AsyncClient) -> None:
    await _set_cooldown(v2, "1h")
    key = await _key(v2)
    await _rotate(v2, key["id"])
    other = await _key(v2, "other")
    await _rotate(v2, other["id"])
    # Saving zero revokes every running window, not only the next rotation's.
    assert (await _set_cooldown(v2, "0s")).status_code == 200
    assert not await _authenticates(v2, key["value"]) and not await _authenticates(v2, other["value"])
    assert "previous_value_expires_at" not in (await v2.get(f"{VKS}/{key['id']}")).json()["virtual_key"]


async def test_config_save_without_the_cooldown_leaves_grace_windows_alone(v2: httpx.AsyncClient) -> None:
    await _set_cooldown(v2, "1h")
    key = await _key(v2)
    await _rotate(v2, key["id"])
    for body in ({}, {"client_config": {}}, {"client_config": None}, {"client_config": {"log_retention_days": 7}}):
        assert (await v2.put(CONFIG, json=body)).status_code == 200
    assert await _authenticates(v2, key["value"])
    assert (await v2.get(CONFIG)).json()["client_config"]["vk_rotation_cooldown"] == "1h0m0s"


@pytest.mark.parametrize(
    ("cooldown", "shown"),
    [("5m", "5m0s"), ("1m30s", "1m30s"), (300_000_000_000, "5m0s"), ("720h", "720h0m0s"), ("1.5s", "1.5s"),
     ("", "0s"), ("   ", "0s"), (None, "0s"), (0, "0s"), ("0", "0s")],
)  # fmt: skip
async def test_config_cooldown_forms(v2: httpx.AsyncClient, cooldown: Any, shown: str) -> None:
    await _set_cooldown(v2, "1m")
    response = await _set_cooldown(v2, cooldown)
    assert response.status_code == 200
    assert response.json() == {"status": "success", "message": "configuration updated successfully"}
    assert (await v2.get(CONFIG)).json() == {"client_config": {"vk_rotation_cooldown": shown}, "is_db_connected": True}


@pytest.mark.parametrize(
    ("cooldown", "message"),
    [("-1s", "vk_rotation_cooldown must not be negative"), (-1, "vk_rotation_cooldown must not be negative"),
     ("720h0m0.000000001s", "vk_rotation_cooldown must not exceed 30 days"),
     ("31d", "Invalid request payload"), ("xyz", "Invalid request payload"), ("5", "Invalid request payload"),
     (1.5, "Invalid request payload"), (True, "Invalid request payload"), ([], "Invalid request payload"),
     ("99999999999999999999h", "Invalid request payload")],
)  # fmt: skip
async def test_config_cooldown_refused(v2: httpx.AsyncClient, cooldown: Any, message: str) -> None:
    await _set_cooldown(v2, "1m")
    response = await _set_cooldown(v2, cooldown)
    assert response.status_code == 400
    assert message_of(response) == message
    assert (await v2.get(CONFIG)).json()["client_config"]["vk_rotation_cooldown"] == "1m0s"


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'"x"', b'{"client_config": "5m"}', b'{"client_config": []}'])
async def test_config_body_not_an_object_is_400(v2: httpx.AsyncClient, body: bytes) -> None:
    response = await v2.put(CONFIG, content=body)
    assert response.status_code == 400
    assert message_of(response) == "Invalid request payload"


async def test_config_cooldown_survives_a_restart(tmp_path: Path) -> None:
    database = str(tmp_path / "bifrost.db")
    first = create_app(database=database, generation="v2")
    async with client_for(first) as client:
        await _set_cooldown(client, "10m")
    first.close()
    async with client_for(create_app(database=database, generation="v2")) as client:
        assert (await client.get(CONFIG)).json()["client_config"]["vk_rotation_cooldown"] == "10m0s"


async def test_bulk_rotation_trims_and_deduplicates(v2: httpx.AsyncClient) -> None:
    one, two = await _key(v2, "one"), await _key(v2, "two")
    response = await v2.post(f"{VKS}/rotate", json={"ids": [f" {two['id']}", one["id"], f"{two['id']}  "]})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["message", "virtual_keys"] and body["message"] == "Virtual keys rotated successfully"
    assert [k["id"] for k in body["virtual_keys"]] == [two["id"], one["id"]]
    assert all(k["value"] not in (one["value"], two["value"]) for k in body["virtual_keys"])


async def test_bulk_rotation_partial_failure_is_200_with_errors(v2: httpx.AsyncClient) -> None:
    key = await _key(v2)
    response = await v2.post(f"{VKS}/rotate", json={"ids": ["ghost", key["id"]]})
    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == {"ghost": "virtual key not found"}
    assert [k["id"] for k in body["virtual_keys"]] == [key["id"]]


async def test_bulk_rotation_all_failing_is_500(v2: httpx.AsyncClient) -> None:
    response = await v2.post(f"{VKS}/rotate", json={"ids": ["ghost", "phantom"]})
    assert response.status_code == 500
    assert response.json() == {
        "message": "Failed to rotate virtual keys",
        "virtual_keys": [],
        "errors": {"ghost": "virtual key not found", "phantom": "virtual key not found"},
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"", "Invalid JSON"), (b"[]", "Invalid JSON"), (b'{"ids": "a"}', "Invalid JSON"),
     (b'{"ids": [1]}', "Invalid JSON"), (b"{}", "At least one virtual key ID is required"),
     (b'{"ids": null}', "At least one virtual key ID is required"),
     (b'{"ids": []}', "At least one virtual key ID is required"),
     (b'{"ids": [" "]}', "Virtual key ID cannot be empty"),
     (b'{"ids": [null]}', "Virtual key ID cannot be empty")],
)  # fmt: skip
async def test_bulk_rotation_refused(v2: httpx.AsyncClient, body: bytes, message: str) -> None:
    response = await v2.post(f"{VKS}/rotate", content=body)
    assert response.status_code == 400
    assert message_of(response) == message


async def test_bulk_rotation_checks_every_id_before_rotating_any(v2: httpx.AsyncClient) -> None:
    key = await _key(v2)
    response = await v2.post(f"{VKS}/rotate", json={"ids": [key["id"], ""]})
    assert response.status_code == 400
    assert (await v2.get(f"{VKS}/{key['id']}")).json()["virtual_key"]["value"] == key["value"]


async def test_bulk_rotation_honours_the_cooldown(v2: httpx.AsyncClient) -> None:
    await _set_cooldown(v2, "5m")
    key = await _key(v2)
    await v2.post(f"{VKS}/rotate", json={"ids": [key["id"]]})
    assert await _authenticates(v2, key["value"])


@pytest.mark.parametrize("generation", ["seed", "current"])
async def test_older_generations_have_no_rotation_or_config(generation: str) -> None:
    async with client_for(create_app(generation=generation)) as client:
        key = (await client.post(VKS, json={"name": "k"})).json()["virtual_key"]
        assert (await client.post(f"{VKS}/{key['id']}/rotate")).status_code == 404
        assert (await client.post(f"{VKS}/rotate", json={"ids": [key["id"]]})).status_code == 405
        assert (await client.get(CONFIG)).status_code == 404
        assert (await client.put(CONFIG, json={})).status_code == 404


async def test_create_app_takes_a_rotation_cooldown(tmp_path: Path) -> None:
    async with client_for(create_app(generation="v2", vk_rotation_cooldown="90s")) as client:
        assert (await client.get(CONFIG)).json()["client_config"]["vk_rotation_cooldown"] == "1m30s"
    database = str(tmp_path / "bifrost.db")
    create_app(database=database, generation="v2", vk_rotation_cooldown="5m").close()
    # Without the parameter the database keeps what it holds; with it, the parameter wins.
    async with client_for(create_app(database=database, generation="v2")) as client:
        assert (await client.get(CONFIG)).json()["client_config"]["vk_rotation_cooldown"] == "5m0s"
    async with client_for(create_app(database=database, generation="v2", vk_rotation_cooldown="")) as client:
        assert (await client.get(CONFIG)).json()["client_config"]["vk_rotation_cooldown"] == "0s"


@pytest.mark.parametrize(
    ("generation", "cooldown", "match"),
    [("v2", "5", "vk_rotation_cooldown"), ("v2", "-1s", "vk_rotation_cooldown"), ("v2", "721h", "vk_rotation_cooldown"),
     ("v2", "1d", "vk_rotation_cooldown"), ("current", "5m", "no key rotation"), ("seed", "0s", "no key rotation")],
)  # fmt: skip
def test_create_app_refuses_a_bad_rotation_cooldown(generation: str, cooldown: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        create_app(generation=generation, vk_rotation_cooldown=cooldown)


def test_cli_refuses_a_bad_rotation_cooldown(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--generation", "v2", "--vk-rotation-cooldown", "soon"])
    assert exit_info.value.code == 2
    assert "vk_rotation_cooldown must be a duration" in capsys.readouterr().err
