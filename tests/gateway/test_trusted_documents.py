"""Trusted documents at the endpoint: what runs in each mode, by id, hash or text, over GET and POST."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from app.trusted_documents import sha256_of
from app.web import trusted_documents as trusted_module
from tests.gateway.conftest import Gateway, make_gateway
from tests.gateway.trusted import (
    CREATE_TEAM,
    TEAMS_PAGE,
    TWO_OPERATIONS,
    UNLISTED,
    apollo_manifest,
    apollo_operation,
    codegen_manifest,
)

TEAMS_DATA = {"data": {"teams": {"totalCount": 0}}}


def apq(document: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(document)}}


async def send(gw: Gateway, method: str, params: dict[str, Any], **kwargs: Any) -> httpx.Response:
    """A GraphQL request over GET (JSON-valued parameters encoded) or POST."""
    if method == "POST":
        return await gw.http.post("/graphql", json=params, **kwargs)
    query = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    return await gw.http.get("/graphql", params=query, **kwargs)


def code_of(response: httpx.Response) -> str:
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


def unlisted(action: str) -> float:
    return REGISTRY.get_sample_value("gateway_unlisted_documents_total", {"action": action}) or 0.0


@pytest.fixture
async def enforcing(tmp_path: Path) -> AsyncIterator[Gateway]:
    """A gateway that runs only TEAMS_PAGE, CREATE_TEAM and TWO_OPERATIONS (default mode: enforce)."""
    gw = await make_gateway(trusted_documents=str(codegen_manifest(tmp_path, TEAMS_PAGE, CREATE_TEAM, TWO_OPERATIONS)))
    yield gw
    await gw.http.aclose()


@pytest.fixture
async def allowing(tmp_path: Path) -> AsyncIterator[Gateway]:
    """The same manifest in allow-unlisted mode."""
    manifest = codegen_manifest(tmp_path, TEAMS_PAGE, CREATE_TEAM)
    gw = await make_gateway(trusted_documents=str(manifest), trusted_documents_mode="allow-unlisted")
    yield gw
    await gw.http.aclose()


LISTED_FORMS = {
    "documentId sha256:": {"documentId": "sha256:" + sha256_of(TEAMS_PAGE)},
    "documentId bare hash": {"documentId": sha256_of(TEAMS_PAGE)},
    "documentId upper case": {"documentId": "sha256:" + sha256_of(TEAMS_PAGE).upper()},
    "APQ hash": {"extensions": apq(TEAMS_PAGE)},
    "APQ hash and document": {"query": TEAMS_PAGE, "extensions": apq(TEAMS_PAGE)},
    "document": {"query": TEAMS_PAGE},
}


@pytest.mark.parametrize("form", LISTED_FORMS)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_enforce_runs_a_listed_document_however_it_is_named(enforcing: Gateway, form: str, method: str) -> None:
    response = await send(enforcing, method, LISTED_FORMS[form])
    assert response.status_code == 200, response.text
    assert response.json() == TEAMS_DATA
    assert len(enforcing.upstream_calls("GET")) == 1
    assert len(enforcing.app.state.persisted_queries) == 0  # nothing registered through APQ


UNLISTED_FORMS = {
    "document": {"query": UNLISTED},
    "APQ hash": {"extensions": apq(UNLISTED)},
    "APQ registration": {"query": UNLISTED, "extensions": apq(UNLISTED)},
    "listed text with a space more": {"query": TEAMS_PAGE + " "},
    "introspection": {"query": "{ __schema { types { name } } }"},
}


@pytest.mark.parametrize("form", UNLISTED_FORMS)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_enforce_refuses_an_unlisted_document_before_anything_runs(
    enforcing: Gateway, form: str, method: str
) -> None:
    refused_before = unlisted("refused")
    response = await send(enforcing, method, UNLISTED_FORMS[form], headers={"accept": "application/json"})
    assert response.status_code == 403, response.text
    assert code_of(response) == "PERSISTED_QUERY_NOT_ALLOWED"
    assert "data" not in response.json()
    assert enforcing.upstream_calls() == []
    assert len(enforcing.app.state.persisted_queries) == 0
    assert unlisted("refused") == refused_before + 1


async def test_enforce_never_registers_an_unlisted_document_through_apq(enforcing: Gateway) -> None:
    registration = await send(enforcing, "POST", {"query": UNLISTED, "extensions": apq(UNLISTED)})
    assert registration.status_code == 403
    again = await send(enforcing, "GET", {"extensions": apq(UNLISTED)})
    assert code_of(again) == "PERSISTED_QUERY_NOT_ALLOWED"
    assert enforcing.upstream_calls() == []


@pytest.fixture(params=["enforce", "allow-unlisted"])
async def either_mode(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Gateway]:
    manifest = codegen_manifest(tmp_path, TEAMS_PAGE)
    gw = await make_gateway(trusted_documents=str(manifest), trusted_documents_mode=request.param)
    yield gw
    await gw.http.aclose()


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_unknown_document_id_is_not_found(either_mode: Gateway, method: str) -> None:
    gw = either_mode
    for document_id in ("sha256:" + sha256_of(UNLISTED), sha256_of(UNLISTED), "teams-page-v1", "x-app:teams~1"):
        response = await send(gw, method, {"documentId": document_id})
        assert response.status_code == 404, response.text
        assert code_of(response) == "PERSISTED_QUERY_NOT_FOUND"
    assert gw.upstream_calls() == []


MALFORMED_IDS = [123, True, "", " ", "a b", "sha256:" + "0" * 63, "sha256:" + "g" * 64, "md5:abc", "é", "x" * 201, {}]


@pytest.mark.parametrize("document_id", MALFORMED_IDS, ids=[repr(i)[:20] for i in MALFORMED_IDS])
async def test_a_malformed_document_id_is_400_naming_the_field(enforcing: Gateway, document_id: object) -> None:
    response = await send(enforcing, "POST", {"documentId": document_id})
    assert response.status_code == 400, response.text
    assert code_of(response) == "PERSISTED_QUERY_INVALID"
    assert "documentId" in response.json()["errors"][0]["message"]
    assert enforcing.upstream_calls() == []


@pytest.mark.parametrize(
    "extra",
    [{"query": TEAMS_PAGE}, {"query": UNLISTED}, {"extensions": apq(TEAMS_PAGE)}],
    ids=["listed", "unlisted", "apq"],
)
async def test_a_document_id_with_a_document_is_refused(enforcing: Gateway, extra: dict[str, Any]) -> None:
    response = await send(enforcing, "POST", {"documentId": "sha256:" + sha256_of(TEAMS_PAGE), **extra})
    assert response.status_code == 400
    assert "documentId alone" in response.json()["errors"][0]["message"]
    assert enforcing.upstream_calls() == []


async def test_a_hash_that_does_not_match_the_document_is_refused(enforcing: Gateway) -> None:
    response = await send(enforcing, "POST", {"query": UNLISTED, "extensions": apq(TEAMS_PAGE)})
    assert response.status_code == 400
    assert code_of(response) == "PERSISTED_QUERY_INVALID"
    assert enforcing.upstream_calls() == []


async def test_a_document_id_without_a_manifest_is_not_supported(current_gateway: Gateway) -> None:
    response = await send(current_gateway, "POST", {"documentId": "sha256:" + sha256_of(TEAMS_PAGE)})
    assert response.status_code == 400
    assert code_of(response) == "PERSISTED_QUERY_NOT_SUPPORTED"
    assert current_gateway.upstream_calls() == []


async def test_a_listed_mutation_by_id_is_405_over_get_and_runs_over_post(enforcing: Gateway) -> None:
    by_id = {"documentId": "sha256:" + sha256_of(CREATE_TEAM), "variables": {"name": "Platform"}}
    refused = await send(enforcing, "GET", by_id)
    assert refused.status_code == 405
    assert enforcing.upstream_calls("POST") == []
    created = await send(enforcing, "POST", by_id)
    assert created.json() == {"data": {"createTeam": {"team": {"name": "Platform"}}}}
    assert len(enforcing.upstream_calls("POST")) == 1


async def test_operation_name_picks_an_operation_of_a_listed_document(enforcing: Gateway) -> None:
    response = await send(
        enforcing, "POST", {"documentId": "sha256:" + sha256_of(TWO_OPERATIONS), "operationName": "CountCustomers"}
    )
    assert response.json() == {"data": {"customers": {"totalCount": 0}}}


async def test_allow_unlisted_runs_counts_and_logs_each_unlisted_document_once(
    allowing: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.trusted_documents")
    allowed_before = unlisted("allowed")
    for _ in range(3):
        response = await send(allowing, "POST", {"query": UNLISTED, "operationName": "Sneaky"})
        assert response.json() == TEAMS_DATA
    listed = await send(allowing, "POST", {"query": TEAMS_PAGE})
    assert listed.json() == TEAMS_DATA
    assert unlisted("allowed") == allowed_before + 3
    lines = [record for record in caplog.records if record.name == "app.trusted_documents"]
    assert [(r.getMessage(), r.document_hash, r.operation) for r in lines] == [  # type: ignore[attr-defined]
        ("unlisted document", sha256_of(UNLISTED), "Sneaky")
    ]
    assert UNLISTED not in caplog.text  # the hash, never the document (literals can hold anything)


async def test_allow_unlisted_keeps_apq_for_unlisted_documents(allowing: Gateway) -> None:
    missing = await send(allowing, "GET", {"extensions": apq(UNLISTED)})
    assert code_of(missing) == "PERSISTED_QUERY_NOT_FOUND"
    registered = await send(allowing, "POST", {"query": UNLISTED, "extensions": apq(UNLISTED)})
    assert registered.json() == TEAMS_DATA
    hit = await send(allowing, "GET", {"extensions": apq(UNLISTED)})
    assert hit.json() == TEAMS_DATA
    by_id = await send(allowing, "GET", {"documentId": "sha256:" + sha256_of(TEAMS_PAGE)})
    assert by_id.json() == TEAMS_DATA


async def test_unlisted_log_lines_are_bounded(
    allowing: Gateway, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trusted_module, "MAX_LOGGED", 2)
    caplog.set_level(logging.INFO, logger="app.trusted_documents")
    for first in range(1, 7):
        response = await send(allowing, "POST", {"query": f"{{ teams(first: {first}) {{ totalCount }} }}"})
        assert response.json() == TEAMS_DATA
    messages = [r.getMessage() for r in caplog.records if r.name == "app.trusted_documents"]
    assert messages == [
        "unlisted document",
        "unlisted document",
        "unlisted documents: more than 2 distinct; no more are logged",
    ]


async def test_apollo_manifest_ids_and_hashes_both_name_a_document(tmp_path: Path) -> None:
    manifest = apollo_manifest(
        tmp_path,
        [
            apollo_operation(TEAMS_PAGE, "TeamsPage", id="teams-page-v1"),
            apollo_operation(CREATE_TEAM, "CreateTeam", "mutation"),
        ],
    )
    gw = await make_gateway(trusted_documents=str(manifest))
    try:
        for params in ({"documentId": "teams-page-v1"}, {"documentId": "sha256:" + sha256_of(TEAMS_PAGE)}):
            assert (await send(gw, "GET", params)).json() == TEAMS_DATA
        assert (await send(gw, "GET", {"extensions": apq(TEAMS_PAGE)})).json() == TEAMS_DATA
        created = await send(gw, "POST", {"documentId": sha256_of(CREATE_TEAM), "variables": {"name": "Ops"}})
        assert created.json() == {"data": {"createTeam": {"team": {"name": "Ops"}}}}
        assert (await send(gw, "POST", {"query": UNLISTED})).status_code == 403
    finally:
        await gw.http.aclose()


def requests_counted(operation: str) -> float:
    return REGISTRY.get_sample_value("gateway_requests_total", {"operation": operation, "outcome": "ok"}) or 0.0


async def test_metric_labels_take_the_manifests_operation_names(allowing: Gateway) -> None:
    listed_before, other_before = requests_counted("TeamsPage"), requests_counted("other")
    await send(allowing, "POST", {"documentId": sha256_of(TEAMS_PAGE)})
    await send(allowing, "POST", {"query": UNLISTED})  # its name is not the manifest's: not a label value
    assert requests_counted("TeamsPage") == listed_before + 1
    assert requests_counted("other") == other_before + 1
    assert requests_counted("Sneaky") == 0


async def test_production_refuses_an_unlisted_document_and_runs_a_listed_one_by_hash(tmp_path: Path) -> None:
    gw = await make_gateway(gateway_env="production", trusted_documents=str(codegen_manifest(tmp_path, TEAMS_PAGE)))
    try:
        refused = await send(gw, "POST", {"query": UNLISTED}, headers={"accept": "application/graphql-response+json"})
        assert refused.status_code == 403
        assert code_of(refused) == "PERSISTED_QUERY_NOT_ALLOWED"
        assert gw.upstream_calls() == []
        by_hash = await send(gw, "GET", {"documentId": "sha256:" + sha256_of(TEAMS_PAGE)})
        assert by_hash.status_code == 200
        assert by_hash.json() == TEAMS_DATA
    finally:
        await gw.http.aclose()


async def test_a_listed_hash_runs_with_the_apq_cache_turned_off(tmp_path: Path) -> None:
    manifest = str(codegen_manifest(tmp_path, TEAMS_PAGE))
    gw = await make_gateway(trusted_documents=manifest, trusted_documents_mode="allow-unlisted", apq_cache_size=0)
    try:
        assert (await send(gw, "GET", {"extensions": apq(TEAMS_PAGE)})).json() == TEAMS_DATA
        unknown = await send(gw, "GET", {"extensions": apq(UNLISTED)})
        assert code_of(unknown) == "PERSISTED_QUERY_NOT_SUPPORTED"  # unlisted: APQ's own answer, as before
    finally:
        await gw.http.aclose()


async def test_a_browser_get_by_document_id_runs_it_instead_of_opening_graphiql(enforcing: Gateway) -> None:
    response = await enforcing.http.get(
        "/graphql",
        params={"documentId": "sha256:" + sha256_of(TEAMS_PAGE)},
        headers={"accept": "text/html,application/json;q=0.9"},
    )
    assert response.json() == TEAMS_DATA
