"""Provider governance over the embedded v2 server: set, list, delete (idempotent), an unknown provider as
NOT_FOUND on the provider argument, and only what the input mentions sent upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.gateway.arrange import codes, recording_gateway, result_of
from tests.gateway.conftest import Gateway
from tests.gateway.v2_documents import DELETE_PROVIDER_GOVERNANCE, PROVIDER_GOVERNANCE, SET_PROVIDER_GOVERNANCE


@pytest.fixture
async def v2() -> AsyncIterator[tuple[Gateway, list[tuple[str, str, Any]]]]:
    gw, sent = await recording_gateway("v2")
    yield gw, sent
    await gw.http.aclose()


async def test_set_list_and_delete(v2: tuple[Gateway, list[Any]]) -> None:
    gw, sent = v2
    assert await gw.graphql(PROVIDER_GOVERNANCE) == {"data": {"providerGovernance": []}}
    governance = {
        "budgets": [{"maxLimit": 500, "resetDuration": "1M"}],
        "rateLimit": {"tokenMaxLimit": 1000000, "tokenResetDuration": "1d"},
    }
    payload = result_of(
        await gw.graphql(SET_PROVIDER_GOVERNANCE, {"provider": "openai", "input": governance}), "setProviderGovernance"
    )
    assert payload["userErrors"] == []
    stored = payload["providerGovernance"]
    assert stored["provider"] == "openai"
    assert [(b["maxLimit"], b["resetDuration"]) for b in stored["budgets"]] == [(500.0, "1M")]
    assert stored["rateLimit"]["tokenMaxLimit"] == "1000000"
    assert sent == [
        (
            "PUT",
            "/api/governance/providers/openai",
            {
                "budgets": [{"max_limit": 500.0, "reset_duration": "1M"}],
                "rate_limit": {"token_max_limit": 1000000, "token_reset_duration": "1d"},
            },
        )
    ]
    listed = (await gw.graphql(PROVIDER_GOVERNANCE))["data"]["providerGovernance"]
    assert [entry["provider"] for entry in listed] == ["openai"]

    deleted = result_of(
        await gw.graphql(DELETE_PROVIDER_GOVERNANCE, {"provider": "openai"}), "deleteProviderGovernance"
    )
    assert deleted == {"provider": "openai", "userErrors": []}
    assert await gw.graphql(PROVIDER_GOVERNANCE) == {"data": {"providerGovernance": []}}
    again = result_of(await gw.graphql(DELETE_PROVIDER_GOVERNANCE, {"provider": "openai"}), "deleteProviderGovernance")
    assert again == {"provider": "openai", "userErrors": []}, "deleting what is gone answers the same"


async def test_an_unknown_provider_is_not_found_on_the_provider(v2: tuple[Gateway, list[Any]]) -> None:
    gw, _ = v2
    variables = {"provider": "no-such-provider", "input": {"calendarAligned": True}}
    payload = result_of(await gw.graphql(SET_PROVIDER_GOVERNANCE, variables), "setProviderGovernance")
    assert payload["providerGovernance"] is None and codes(payload) == [(["provider"], "NOT_FOUND")]


async def test_only_what_the_input_mentions_is_sent(v2: tuple[Gateway, list[Any]]) -> None:
    gw, sent = v2
    first = {"budgets": [{"maxLimit": 10, "resetDuration": "1d"}]}
    result_of(
        await gw.graphql(SET_PROVIDER_GOVERNANCE, {"provider": "anthropic", "input": first}), "setProviderGovernance"
    )
    payload = result_of(
        await gw.graphql(SET_PROVIDER_GOVERNANCE, {"provider": "anthropic", "input": {"rateLimit": None}}),
        "setProviderGovernance",
    )
    assert payload["userErrors"] == []
    assert sent[-1] == ("PUT", "/api/governance/providers/anthropic", {"rate_limit": {}})
    assert [b["maxLimit"] for b in payload["providerGovernance"]["budgets"]] == [10.0], "budgets left out stay"
