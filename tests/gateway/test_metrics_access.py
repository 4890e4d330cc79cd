"""/metrics: who may read it and where, and label values that stay bounded whatever clients name their operations."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from app.metrics_listener import MetricsAccess, MetricsServer
from app.observability import JsonFormatter, OperationLabels
from tests.gateway.conftest import Gateway, make_gateway

TOKEN = "metrics-token-0123456789abcdef"
OPERATION_LABEL = re.compile(r'^gateway_requests_total\{operation="([^"]*)"', re.MULTILINE)


def operation_labels(metrics: str) -> set[str]:
    return set(OPERATION_LABEL.findall(metrics))


@pytest.fixture
async def production_with_token() -> AsyncIterator[Gateway]:
    gw = await make_gateway("current", gateway_env="production", metrics_token=TOKEN)
    yield gw
    await gw.http.aclose()


async def test_development_serves_metrics_without_a_token(current_gateway: Gateway) -> None:
    response = await current_gateway.http.get("/metrics")
    assert response.status_code == 200
    assert "gateway_requests_total" in response.text


async def test_production_without_a_token_has_no_public_metrics() -> None:
    gw = await make_gateway("current", gateway_env="production")
    try:
        assert (await gw.http.get("/metrics")).status_code == 404
        assert (await gw.http.get("/metrics", headers={"authorization": "Bearer anything"})).status_code == 404
    finally:
        await gw.http.aclose()


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param("Bearer", id="scheme-only"),
        pytest.param("Bearer wrong-token-0123456789abcdef", id="wrong"),
        pytest.param(f"Bearer {TOKEN}x", id="longer"),
        pytest.param(f"Bearer {TOKEN[:-1]}", id="prefix"),
        pytest.param(f"Basic {TOKEN}", id="other-scheme"),
        pytest.param(TOKEN, id="no-scheme"),
        pytest.param("Bearer " + "A" * 8000, id="huge"),
        pytest.param("Bearer tök€n", id="non-ascii"),
    ],
)
async def test_metrics_refuse_a_missing_or_wrong_token(
    production_with_token: Gateway, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"authorization": authorization.encode()}
    response = await production_with_token.http.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "gateway_requests_total" not in response.text


@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
async def test_metrics_answer_the_right_token(production_with_token: Gateway, scheme: str) -> None:
    response = await production_with_token.http.get("/metrics", headers={"authorization": f"{scheme} {TOKEN}"})
    assert response.status_code == 200
    assert "gateway_requests_total" in response.text


@pytest.mark.parametrize("env", ["development", "production"])
async def test_with_a_metrics_port_the_public_port_has_no_metrics(env: str) -> None:
    gw = await make_gateway("current", gateway_env=env, metrics_port=9464, metrics_token=TOKEN)
    try:
        response = await gw.http.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 404
    finally:
        await gw.http.aclose()


def test_metrics_listener_of_its_own_needs_the_token() -> None:
    server = MetricsServer("127.0.0.1", 0, MetricsAccess(SecretStr(TOKEN)))
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        with httpx.Client(base_url=base, timeout=5) as http:
            assert http.get("/metrics").status_code == 401
            assert http.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
            good = http.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
            assert good.status_code == 200
            assert good.headers["content-type"].startswith("text/plain")
            assert "gateway_requests_total" in good.text
            assert http.get("/", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 404
            assert http.post("/metrics", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 405
    finally:
        server.close()


async def test_a_flood_of_operation_names_adds_one_label_value_at_most(current_gateway: Gateway) -> None:
    before = operation_labels((await current_gateway.http.get("/metrics")).text)
    for i in range(1000):
        await current_gateway.graphql(f"query Flood{i} {{ __typename }}")
    after = operation_labels((await current_gateway.http.get("/metrics")).text)
    assert after - before <= {"other"}
    assert not any(label.startswith("Flood") for label in after)


async def test_known_operation_names_are_label_values() -> None:
    gw = await make_gateway("current", metrics_operation_names=["TeamsPage", "KeysPage"])
    try:
        await gw.graphql("query TeamsPage { __typename }")
        await gw.graphql("query Guess { __typename }")
        await gw.graphql("{ __typename }")
        labels = operation_labels((await gw.http.get("/metrics")).text)
        assert {"TeamsPage", "other", "anonymous"} <= labels
        assert "Guess" not in labels
    finally:
        await gw.http.aclose()


def test_trusted_documents_add_their_names_through_the_hook() -> None:
    labels = OperationLabels(["TeamsPage"])
    labels.allow(["KeysPage", "not a name", "x" * 101])
    assert [labels.label(n) for n in ("TeamsPage", "KeysPage", "not a name", "x" * 101, "", None)] == [
        "TeamsPage",
        "KeysPage",
        "other",
        "other",
        "anonymous",
        "anonymous",
    ]


async def test_free_text_operation_name_is_other_in_the_log_line(
    current_gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.request")
    junk = 'Evil"} forged\n' + "z" * 10_000
    response = await current_gateway.http.post(
        "/graphql", json={"query": "query Real { __typename }", "operationName": junk}
    )
    assert response.status_code == 200
    [record] = [r for r in caplog.records if r.name == "app.request"]
    assert record.operation == "other"  # type: ignore[attr-defined]
    assert "forged" not in JsonFormatter().format(record)
