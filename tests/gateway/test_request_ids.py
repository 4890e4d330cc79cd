"""Fresh request ids: 32 hex digits, never repeated, read from the OS in batches, and never shared by a fork."""

from __future__ import annotations

import os
import re

import pytest

from app.web import request_ids
from app.web.request_ids import BATCH, fresh_request_id
from tests.gateway.conftest import make_gateway


def test_ids_across_many_batches_are_hex_and_all_different(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []
    real = os.urandom

    def counted(size: int) -> bytes:
        reads.append(size)
        return real(size)

    monkeypatch.setattr(request_ids.os, "urandom", counted)
    ids = [fresh_request_id() for _ in range(BATCH * 3 + 7)]
    assert all(re.fullmatch("[0-9a-f]{32}", found) for found in ids)
    assert len(set(ids)) == len(ids)
    assert 3 <= len(reads) <= 4 and set(reads) == {16 * BATCH}  # one read per batch, not one per id


def test_a_forked_child_never_hands_out_its_parents_ids() -> None:
    fresh_request_id()  # a batch read in the parent, most of it not handed out yet
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child)
        os.write(writing, fresh_request_id().encode())
        os._exit(0)
    os.close(writing)
    _, status = os.waitpid(child, 0)
    childs = os.read(reading, 64).decode()
    os.close(reading)
    assert status == 0 and re.fullmatch("[0-9a-f]{32}", childs)
    assert childs not in {fresh_request_id() for _ in range(BATCH)}


async def test_requests_without_an_id_each_get_a_fresh_one() -> None:
    gw = await make_gateway("current")
    try:
        answers = [await gw.http.post("/graphql", json={"query": "{ __typename }"}) for _ in range(3)]
    finally:
        await gw.http.aclose()
    ids = [answer.headers["x-request-id"] for answer in answers]
    assert len(set(ids)) == 3 and all(re.fullmatch("[0-9a-f]{32}", found) for found in ids)
