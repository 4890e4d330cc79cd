"""``UPSTREAM_HTTP_CLIENT`` picks the wire to a real Bifrost; the reqwest and h1 wires start nothing before the first
call (workers fork after the app is built), run on uvloop, and no URL of the upstream reaches a caller or a log line.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
import uvloop

from app.bifrost.h1wire import H1Wire
from app.bifrost.wire import AiohttpWire, ReqwestWire, WireConnectionError, WireTimeout, WireTooLarge
from app.settings import Settings, SettingsError, load_settings
from app.web import create_app
from app.web.app import bifrost_client_of
from tests.reliability.scripted_upstream import ScriptedUpstream, closed_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("value", "wire"), [(None, H1Wire), ("h1", H1Wire), ("reqwest", ReqwestWire), (" AIOHTTP ", AiohttpWire)]
)
async def test_the_setting_picks_the_wire(value: str | None, wire: type, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UPSTREAM_HTTP_CLIENT", raising=False)
    if value is not None:
        monkeypatch.setenv("UPSTREAM_HTTP_CLIENT", value)
    app = create_app(load_settings(bifrost_url="http://127.0.0.1:9"), transport=None)
    assert type(bifrost_client_of(app).wire) is wire
    await bifrost_client_of(app).aclose()


@pytest.mark.parametrize("value", ["curl", "", "httpx", "reqwest,aiohttp"])
def test_an_unknown_client_is_refused_naming_the_setting(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSTREAM_HTTP_CLIENT", value)
    with pytest.raises(SettingsError, match="UPSTREAM_HTTP_CLIENT") as error:
        load_settings()
    assert all(f"'{name}'" in str(error.value) for name in ("reqwest", "aiohttp", "h1"))


def test_nothing_is_started_before_the_first_call() -> None:
    # In a fresh process: building the app makes no client and no reqwest runtime thread; the first call does.
    script = textwrap.dedent(
        f"""
        import asyncio, os, sys
        from app.settings import Settings
        from app.web import create_app
        from app.web.app import bifrost_client_of
        settings = Settings(bifrost_url="http://127.0.0.1:{closed_port()}", upstream_http_client="reqwest")
        app = create_app(settings, transport=None)
        wire = bifrost_client_of(app).wire
        print(type(wire).__name__, wire._client is None, len(os.listdir("/proc/self/task")))
        async def call():
            try:
                await wire.send("GET", "/x", {{}}, None, None, 1024)
            except Exception as error:
                print(type(error).__name__, wire._client is not None, len(os.listdir("/proc/self/task")))
            sys.stdout.flush()
        asyncio.run(call())
        # As the gateway's processes end (their signal re-raised, or os._exit in a worker): a normal interpreter
        # exit moments after a call can abort in pyreqwest's runtime thread.
        os._exit(0)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    before, after = (line.split() for line in result.stdout.splitlines())
    assert before[:2] == ["ReqwestWire", "True"]
    assert after[:2] == ["WireConnectError", "True"]
    assert int(after[2]) > int(before[2])  # the runtime's thread, made by the first call only


def test_the_h1_wire_opens_nothing_before_the_first_call() -> None:
    # In a fresh process: building the app makes no connection and no thread; the first call opens one.
    script = textwrap.dedent(
        """
        import asyncio, os, sys
        from app.settings import Settings
        from app.web import create_app
        from app.web.app import bifrost_client_of
        from tests.reliability.scripted_upstream import ScriptedUpstream
        async def call():
            server = await ScriptedUpstream().start()
            app = create_app(Settings(bifrost_url=server.url, upstream_http_client="h1"), transport=None)
            wire = bifrost_client_of(app).wire
            print(type(wire).__name__, server.accepted, len(os.listdir("/proc/self/task")))
            response = await wire.send("GET", "/status/200", {}, None, None, 1024)
            print(response.status, server.accepted, len(os.listdir("/proc/self/task")))
            await wire.aclose()
            await server.stop()
        asyncio.run(call())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    before, after = (line.split() for line in result.stdout.splitlines())
    assert before[:2] == ["H1Wire", "0"]
    assert after[:2] == ["200", "1"]
    assert after[2] == before[2]  # no thread of its own, ever


@pytest.mark.parametrize("wire_type", [ReqwestWire, H1Wire])
def test_the_wire_on_uvloop(wire_type: type[ReqwestWire | H1Wire]) -> None:
    async def scenario() -> None:
        server = await ScriptedUpstream().start()
        wire = wire_type(server.url, max_connections=2, connect_timeout=1.0, read_timeout=1.0)
        try:
            assert (await wire.send("GET", "/gzip", {}, None, None, 65536)).status == 200
            assert (await wire.send("GET", "/cookies", {}, None, None, 65536)).set_cookies[0].startswith("c3=")
            with pytest.raises(WireTooLarge):
                await wire.send("GET", "/endless", {}, None, None, 65536)
            with pytest.raises(WireConnectionError):
                await wire.send("POST", "/reset-head", {}, b"{}", None, 65536)
            with pytest.raises(WireTimeout):
                await wire.send("GET", "/silent", {}, None, None, 65536)
        finally:
            await wire.aclose()
        await asyncio.wait_for(server.all_closed.wait(), 10)
        await server.stop()

    uvloop.run(scenario())


@pytest.mark.parametrize("client", ["reqwest", "aiohttp", "h1"])
@pytest.mark.parametrize("route", ["refused", "reset-head", "silent", "broken-gzip", "huge-declared"])
async def test_no_upstream_url_reaches_the_caller_or_a_log_line(
    client: str, route: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = await ScriptedUpstream(only=route).start()
    url = f"http://127.0.0.1:{closed_port()}" if route == "refused" else server.url
    settings = Settings(
        bifrost_url=url,
        bifrost_api_generation="current",
        upstream_http_client=client,
        upstream_read_timeout=1.0,
        upstream_read_retries=0,
    )
    app = create_app(settings, transport=None)
    caplog.set_level(logging.DEBUG)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
            response = await http.post(
                "/graphql",
                json={"query": "{ teams(first: 1) { nodes { id } } }"},
                headers={"authorization": "Bearer s3cret"},
            )
    finally:
        await bifrost_client_of(app).aclose()
        await server.stop()
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"].startswith("UPSTREAM_")
    port = url.rsplit(":", 1)[1]
    for text in (response.text, caplog.text, *(record.getMessage() for record in caplog.records)):
        assert "127.0.0.1" not in text and port not in text and "s3cret" not in text
