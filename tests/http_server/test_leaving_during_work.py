"""A client that leaves while its operation waits on Bifrost: the work is cancelled, upstream calls included.

Under the gateway's HTTP server the connection itself cancels the request's task (``DisconnectWatch`` in the
scope's extensions), so no watcher task runs beside each request; under another server (``HTTP_EDGE_LIMITS=false``)
a watcher waits for ``http.disconnect``. Both are driven here over a real socket.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
import orjson
import pytest

from app.http_limits import DISCONNECT_WATCH, DisconnectWatch
from tests.http_server.served import WAIT, read_answer, request, served, watching_logs

LOOKUP = orjson.dumps({"query": '{ team(id: "t-1") { id name } }'})
# A mutation's root field is awaited in the request's own task (no task of its own): leaving cancels it there.
CREATE = orjson.dumps({"query": 'mutation { createTeam(input: {name: "left"}) { team { id } } }'})
GRAPHQL = [("Content-Type", "application/json")]


class HeldUpstream(httpx.AsyncBaseTransport):
    """Holds every call until cancelled; records what it saw."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        raise AssertionError("never answered")


def request_line(record: logging.LogRecord) -> bool:
    return record.getMessage() == "request"


@pytest.mark.parametrize("document", [LOOKUP, CREATE], ids=["lookup", "create"])
@pytest.mark.parametrize("edge_limits", [True, False], ids=["gateway-protocol", "uvicorn-protocol"])
async def test_leaving_while_bifrost_is_asked_cancels_the_call_and_logs_client_closed(
    edge_limits: bool, document: bytes
) -> None:
    upstream = HeldUpstream()
    async with (
        served(transport=upstream, bifrost_api_generation="current", http_edge_limits=edge_limits) as gw,
        watching_logs(request_line) as logs,
    ):
        _, writer = await gw.connect()
        writer.write(request("POST", "/graphql", body=document, headers=GRAPHQL))
        await asyncio.wait_for(upstream.started.wait(), WAIT)
        writer.close()
        await asyncio.wait_for(upstream.cancelled.wait(), WAIT)
        await asyncio.wait_for(logs.seen.wait(), WAIT)
    (line,) = [r for r in logs.records if request_line(r)]
    assert line.levelno == logging.INFO
    assert line.outcome == "CLIENT_CLOSED_REQUEST"  # type: ignore[attr-defined]
    assert [r for r in logs.records if r.levelno >= logging.WARNING and r.name.startswith("app")] == []
    assert upstream.calls == 1


async def test_a_pipelined_request_waiting_its_turn_is_cancelled_with_the_one_at_work() -> None:
    upstream = HeldUpstream()
    async with (
        served(transport=upstream, bifrost_api_generation="current") as gw,
        watching_logs(request_line) as logs,
    ):
        _, writer = await gw.connect()
        one = request("POST", "/graphql", body=LOOKUP, headers=GRAPHQL)
        writer.write(one + one)
        await asyncio.wait_for(upstream.started.wait(), WAIT)
        writer.close()
        await asyncio.wait_for(upstream.cancelled.wait(), WAIT)
        await asyncio.wait_for(logs.seen.wait(), WAIT)
    assert upstream.calls == 1, "the second request never started: its client had left"
    assert [r.outcome for r in logs.records if request_line(r)] == ["CLIENT_CLOSED_REQUEST"]  # type: ignore[attr-defined]


async def test_the_gateway_protocol_hands_each_request_a_watch_and_runs_no_watcher_task() -> None:
    upstream = HeldUpstream()
    async with served(transport=upstream, bifrost_api_generation="current") as gw:
        _, writer = await gw.connect()
        before = len(asyncio.all_tasks())
        writer.write(request("POST", "/graphql", body=LOOKUP, headers=GRAPHQL))
        await asyncio.wait_for(upstream.started.wait(), WAIT)
        # The request's own task (and the loader's batch) are at work; no task waits on receive() for it.
        names = [
            task.get_coro().__qualname__  # type: ignore[union-attr]
            for task in asyncio.all_tasks()
        ]
        assert not any("_cancel_on_disconnect" in name for name in names)
        assert len(asyncio.all_tasks()) > before
        writer.close()
        await asyncio.wait_for(upstream.cancelled.wait(), WAIT)


async def test_answered_requests_are_not_cancelled_when_the_client_closes_after_reading() -> None:
    async with served(bifrost_api_generation="current") as gw:
        reader, writer = await gw.connect()
        body = orjson.dumps({"query": "{ __typename }"})
        writer.write(request("POST", "/graphql", body=body, headers=GRAPHQL))
        answer = await read_answer(reader)
        assert answer.status == 200
        assert answer.json() == {"data": {"__typename": "Query"}}
        writer.close()


def test_a_watch_cancels_only_while_a_task_is_named() -> None:
    watch = DisconnectWatch()
    watch.client_left()  # nothing at work: only remembered
    assert watch.left and watch.task is None
    assert DISCONNECT_WATCH == "gateway.disconnect"
