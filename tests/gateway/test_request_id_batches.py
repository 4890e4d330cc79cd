"""Request ids stay unique and keep their format however they are drawn from the operating system.

Many requests in a row (several batches' worth), a forked child drawing ids after its parent drew some (the
child must not hand out the ids its parent holds), and a client's own ``X-Request-Id`` kept or replaced by
the same rules as before.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from app.web.request_ids import fresh_request_id
from tests.gateway.conftest import make_gateway

FRESH = re.compile(r"[0-9a-f]{32}")


def fresh() -> str:
    return fresh_request_id()  # what the endpoint hands a request without a usable X-Request-Id


def test_ids_stay_unique_and_well_formed_over_many_batches() -> None:
    ids = [fresh() for _ in range(5000)]
    assert all(FRESH.fullmatch(one) for one in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_child_never_hands_out_the_ids_its_parent_holds() -> None:
    parent_before = [fresh() for _ in range(3)]  # the parent now holds ids it has not handed out yet
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: draws ids, hands them over, exits at once
        try:
            os.close(reader)
            os.write(writer, " ".join(fresh() for _ in range(600)).encode())
        finally:
            os._exit(0)
    os.close(writer)
    received = b""
    while chunk := os.read(reader, 65536):
        received += chunk
    os.close(reader)
    assert os.waitpid(child, 0)[1] == 0
    child_ids = received.decode().split()
    parent_after = [fresh() for _ in range(600)]
    assert len(child_ids) == 600 and all(FRESH.fullmatch(one) for one in child_ids)
    everything = parent_before + child_ids + parent_after
    assert len(set(everything)) == len(everything)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("client-id-1", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("tab\there", False),
        ("ünïcode", False),
        (" spaced ", True),
    ],
    ids=["plain", "128-chars", "129-chars", "empty", "control", "non-ascii", "spaces"],
)
async def test_a_clients_request_id_is_kept_or_replaced_as_before(given: str, kept: bool) -> None:
    gw = await make_gateway("current")
    try:
        headers: Any = [("x-request-id", given.encode("utf-8"))]
        response = await gw.http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    finally:
        await gw.http.aclose()
    echoed = response.headers["x-request-id"]
    if kept:
        assert echoed == given.strip() or echoed == given
    else:
        assert FRESH.fullmatch(echoed), echoed


async def test_requests_in_a_row_get_distinct_ids() -> None:
    gw = await make_gateway("current")
    try:
        ids = [(await gw.http.get("/graphql?query={__typename}")).headers["x-request-id"] for _ in range(300)]
    finally:
        await gw.http.aclose()
    assert all(FRESH.fullmatch(one) for one in ids)
    assert len(set(ids)) == len(ids)
