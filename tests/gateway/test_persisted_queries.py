"""Automatic persisted queries: malformed extensions, what is stored (and what never is), the byte bound."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from app.web.persisted_queries import PersistedQueries
from tests.gateway.conftest import Gateway, make_gateway

TEAMS = "query Persisted { teams(first: 1) { totalCount } }"


def digest_of(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def apq(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def cache(gw: Gateway) -> PersistedQueries:
    persisted: PersistedQueries = gw.app.state.persisted_queries
    return persisted


MALFORMED = [
    "abc",
    [],
    0,
    1,
    True,
    {},
    {"version": 1},
    {"sha256Hash": digest_of(TEAMS)},
    {"version": 2, "sha256Hash": digest_of(TEAMS)},
    {"version": True, "sha256Hash": digest_of(TEAMS)},
    {"version": "1", "sha256Hash": digest_of(TEAMS)},
    {"version": 1.0, "sha256Hash": digest_of(TEAMS)},
    {"version": 1, "sha256Hash": digest_of(TEAMS)[:63]},
    {"version": 1, "sha256Hash": digest_of(TEAMS) + "0"},
    {"version": 1, "sha256Hash": "g" * 64},
    {"version": 1, "sha256Hash": "é" * 64},
    {"version": 1, "sha256Hash": 12},
    {"version": 1, "sha256Hash": None},
    {"version": 1, "sha256Hash": [digest_of(TEAMS)]},
]


@pytest.mark.parametrize("persisted", MALFORMED, ids=[json.dumps(m)[:40] for m in MALFORMED])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_malformed_persisted_query_is_400_with_code(
    current_gateway: Gateway, persisted: object, method: str
) -> None:
    extensions = {"persistedQuery": persisted}
    if method == "GET":
        response = await current_gateway.http.get("/graphql", params={"extensions": json.dumps(extensions)})
    else:
        response = await current_gateway.http.post("/graphql", json={"query": TEAMS, "extensions": extensions})
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "PERSISTED_QUERY_INVALID"
    assert "extensions.persistedQuery" in error["message"]
    assert current_gateway.upstream_calls() == []
    assert len(cache(current_gateway)) == 0


async def test_null_persisted_query_is_an_ordinary_request(current_gateway: Gateway) -> None:
    body = await current_gateway.graphql("{ __typename }", extensions={"persistedQuery": None})
    assert body == {"data": {"__typename": "Query"}}


async def test_upper_case_hash_finds_the_stored_document(current_gateway: Gateway) -> None:
    digest = digest_of(TEAMS)
    stored = await current_gateway.http.post("/graphql", json={"query": TEAMS, "extensions": apq(digest.upper())})
    assert stored.json() == {"data": {"teams": {"totalCount": 0}}}
    hit = await current_gateway.http.post("/graphql", json={"extensions": apq(digest)})
    assert hit.json() == {"data": {"teams": {"totalCount": 0}}}


async def test_hash_mismatch_is_refused_and_not_stored(current_gateway: Gateway) -> None:
    response = await current_gateway.http.post(
        "/graphql", json={"query": "{ __typename }", "extensions": apq(digest_of(TEAMS))}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_INVALID"
    assert len(cache(current_gateway)) == 0
    miss = await current_gateway.http.post("/graphql", json={"extensions": apq(digest_of(TEAMS))})
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_document_over_the_size_limit_is_refused_before_it_is_stored() -> None:
    gw = await make_gateway("current", max_document_bytes=4096)
    # Valid GraphQL with its correct hash, within the body limit, over MAX_DOCUMENT_BYTES.
    big = "{ __typename " + "#" * 10_000 + "\n}"
    extensions = apq(digest_of(big))
    try:
        post = await gw.http.post("/graphql", json={"query": big, "extensions": extensions})
        get = await gw.http.get("/graphql", params={"query": big, "extensions": json.dumps(extensions)})
        for response in (post, get):
            assert response.status_code == 413
            assert response.json()["errors"][0]["extensions"]["code"] == "DOCUMENT_TOO_LARGE"
        assert len(cache(gw)) == 0
        assert cache(gw).stored_bytes == 0
    finally:
        await gw.http.aclose()


@pytest.mark.parametrize(
    "document",
    [
        "{ team(",  # does not parse
        "{ nosuchfield }",  # does not validate
        "{ " + "__typename " * 3000 + "}",  # over MAX_TOKENS
        "query A { __typename } query B { __typename }",  # no operation chosen
    ],
    ids=["syntax", "validation", "tokens", "ambiguous"],
)
async def test_documents_refused_by_the_limits_are_not_stored(current_gateway: Gateway, document: str) -> None:
    response = await current_gateway.http.post(
        "/graphql", json={"query": document, "extensions": apq(digest_of(document))}
    )
    assert "errors" in response.json()
    assert len(cache(current_gateway)) == 0
    again = await current_gateway.http.post("/graphql", json={"extensions": apq(digest_of(document))})
    assert again.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_cache_is_bounded_in_bytes() -> None:
    gw = await make_gateway("current", apq_cache_bytes=4000)
    try:
        documents = [f"query Q{i} {{ __typename }} # {'x' * 1000}" for i in range(6)]
        for document in documents:
            response = await gw.http.post("/graphql", json={"query": document, "extensions": apq(digest_of(document))})
            assert response.json() == {"data": {"__typename": "Query"}}
            assert cache(gw).stored_bytes <= 4000
        assert len(cache(gw)) == 3  # each ~1.2 KB with its overhead
        first = await gw.http.post("/graphql", json={"extensions": apq(digest_of(documents[0]))})
        assert first.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        last = await gw.http.post("/graphql", json={"extensions": apq(digest_of(documents[-1]))})
        assert last.json() == {"data": {"__typename": "Query"}}
    finally:
        await gw.http.aclose()


def test_a_document_larger_than_the_byte_bound_is_not_stored_and_evicts_nothing() -> None:
    persisted = PersistedQueries(maxsize=10, max_bytes=1000)
    small = "{ a }"
    persisted.remember(digest_of(small), small)
    before = persisted.stored_bytes
    large = "{ a } #" + "x" * 2000
    persisted.remember(digest_of(large), large)
    assert len(persisted) == 1 and persisted.stored_bytes == before
    assert persisted.lookup(digest_of(small)) == small


def test_remembering_twice_counts_once() -> None:
    persisted = PersistedQueries(maxsize=10, max_bytes=10_000)
    persisted.remember(digest_of("{ a }"), "{ a }")
    size = persisted.stored_bytes
    persisted.remember(digest_of("{ a }"), "{ a }")
    assert len(persisted) == 1 and persisted.stored_bytes == size


@pytest.mark.parametrize("settings", [{"apq_cache_size": 0}, {"apq_cache_bytes": 0}])
async def test_disabled_cache_says_not_supported(settings: dict[str, int]) -> None:
    gw = await make_gateway("current", **settings)
    try:
        response = await gw.http.post("/graphql", json={"query": TEAMS, "extensions": apq(digest_of(TEAMS))})
        assert response.status_code == 200
        assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"
    finally:
        await gw.http.aclose()
