"""Demo traffic: the demo keys spend through the real inference endpoint, driven tick by tick (no sleeping)."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from app.embedded_bifrost import BifrostApp, create_app
from app.embedded_bifrost import __main__ as cli
from app.embedded_bifrost.demo_traffic import SCHEDULE, DemoTraffic


def db_of(app: BifrostApp) -> sqlite3.Connection:
    return app.context.store.db


def key_budget_usage(app: BifrostApp, name: str) -> float:
    row = (
        db_of(app)
        .execute(
            "SELECT b.current_usage FROM budgets b JOIN virtual_keys k ON b.virtual_key_id = k.id WHERE k.name = ?",
            (name,),
        )
        .fetchone()
    )
    usage: float = row[0]
    return usage


def test_ticks_spend_through_the_real_endpoint() -> None:
    app = create_app(generation="v2", demo=True)
    traffic = DemoTraffic(app)
    statuses = [traffic.tick() for _ in range(2 * len(SCHEDULE))]
    assert statuses == [200] * len(statuses)  # every scheduled key may use its model
    assert [(r.method, r.path) for r in app.state.request_log] == [("POST", "/v1/chat/completions")] * len(statuses)
    rows = db_of(app).execute("SELECT virtual_key_name, count(*), sum(cost) FROM logs GROUP BY 1").fetchall()
    counts = {row[0]: row[1] for row in rows}
    assert counts == {
        "platform-prod": 4, "acme-shared": 2, "globex-batch": 2, "research-sandbox": 2, "local-dev": 4,
    }  # fmt: skip
    spent = {row[0]: row[2] for row in rows}
    assert key_budget_usage(app, "platform-prod") == pytest.approx(spent["platform-prod"])
    assert key_budget_usage(app, "globex-batch") == pytest.approx(spent["globex-batch"])
    assert all(cost > 0 for cost in spent.values())


def test_an_hour_of_traffic_exhausts_no_demo_budget() -> None:
    app = create_app(generation="v2", demo=True)
    traffic = DemoTraffic(app)
    # An hour at the default two requests a second is 7,200 requests: a cycle of the schedule costs the same
    # every time, so 70 cycles stand for it (multiplied below) without sending 7,200 requests.
    cycles = 70
    statuses = [traffic.tick() for _ in range(cycles * len(SCHEDULE))]
    assert set(statuses) == {200}
    scale = 7200 / (cycles * len(SCHEDULE))
    for row in db_of(app).execute("SELECT current_usage, max_limit FROM budgets").fetchall():
        assert row[0] * scale < row[1] / 2
    for row in (
        db_of(app)
        .execute(
            "SELECT token_current_usage, token_max_limit, request_current_usage, request_max_limit FROM rate_limits"
        )
        .fetchall()
    ):
        assert row[1] is None or row[0] * scale < row[1]
        assert row[3] is None or row[2] * scale < row[3] or row[3] == 600  # 600 a minute: resets every minute


def test_missing_keys_are_skipped() -> None:
    app = create_app(generation="v2")
    traffic = DemoTraffic(app)
    assert [traffic.tick() for _ in SCHEDULE] == [None] * len(SCHEDULE)
    assert list(app.state.request_log) == []


class SteppedSleep:
    """A sleep that returns at once until ``allowed`` sleeps have happened, then waits until released."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.calls: list[float] = []
        self.reached = asyncio.Event()
        self.forever = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if len(self.calls) >= self.allowed:
            self.reached.set()
            await self.forever.wait()


async def test_run_ticks_between_sleeps_and_stops_cleanly() -> None:
    app = create_app(generation="v2", demo=True)
    sleep = SteppedSleep(3)
    traffic = DemoTraffic(app, interval=0.25, sleep=sleep)
    traffic.start()
    traffic.start()  # a second start does not start a second loop
    await sleep.reached.wait()
    assert traffic.running and traffic.sent == 3 and sleep.calls == [0.25] * 3
    await traffic.stop()
    assert not traffic.running and traffic.sent == 3
    await traffic.stop()  # stopping twice is harmless


async def test_a_failing_request_does_not_end_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(generation="v2", demo=True)
    real = app.respond
    failures = iter([True, False, False])

    def flaky(*args: Any) -> Any:
        if next(failures, False):
            raise RuntimeError("database is locked")
        return real(*args)

    monkeypatch.setattr(app, "respond", flaky)
    sleep = SteppedSleep(3)
    traffic = DemoTraffic(app, sleep=sleep)
    traffic.start()
    await sleep.reached.wait()
    await traffic.stop()
    assert db_of(app).execute("SELECT count(*) FROM logs").fetchone()[0] == 2


async def lifespan(app: BifrostApp, events: list[str]) -> None:
    """Drive the app's ASGI lifespan through the given events, waiting for each to complete."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    sent: list[str] = []
    answered = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])
        answered.set()

    task = asyncio.create_task(app({"type": "lifespan"}, inbox.get, send))
    for event in events:
        answered.clear()
        inbox.put_nowait({"type": f"lifespan.{event}"})
        await answered.wait()
    if events[-1] == "shutdown":
        await task
    else:
        task.cancel()
    assert sent == [f"lifespan.{event}.complete" for event in events]


async def test_lifespan_starts_and_stops_the_background() -> None:
    app = create_app(generation="v2", demo=True)
    sleep = SteppedSleep(1)
    traffic = DemoTraffic(app, sleep=sleep)
    app.background.append(traffic)
    await lifespan(app, ["startup"])
    await sleep.reached.wait()
    assert traffic.running
    await lifespan(app, ["shutdown"])
    assert not traffic.running


def test_command_line_demo_traffic(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[BifrostApp] = []
    monkeypatch.setattr(cli, "serve", lambda app, host, port: served.append(app))
    cli.main(["--demo-traffic", "--port", "0"])
    [app] = served
    [traffic] = app.background
    assert isinstance(traffic, DemoTraffic) and traffic.tick() == 200  # --demo-traffic seeds the demo data
    cli.main(["--demo"])
    assert served[1].background == []


def test_command_line_demo_traffic_needs_inference(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--demo-traffic", "--generation", "v1.5"])
    assert exited.value.code == 2
    assert "--demo-traffic needs a generation with inference (v2), not v1.5" in capsys.readouterr().err
