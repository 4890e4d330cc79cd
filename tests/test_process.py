"""The gateway as a process: several workers, graceful shutdown that drains in-flight requests."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.http_server.served import closed, read_answer, request, served

# Deadlines, not durations: each wait ends as soon as what it waits for happens. They are generous because a
# loaded 2-core machine takes tens of seconds to start a worker (it imports the whole application).
START_DEADLINE = 180
"""Seconds a gateway process may take to answer its first health check."""
EXIT_DEADLINE = 60
"""Seconds a gateway process may take to exit once its requests are answered (or after a second signal)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class HeldUpstream:
    """Holds every request until the test releases them, then answers with Bifrost's 404 envelope.

    ``arrived`` counts requests that reached it, so the test knows they are in flight at the gateway.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.release_event = asyncio.Event()
        self.arrived = threading.Semaphore(0)

    def release(self) -> None:
        self.loop.call_soon_threadsafe(self.release_event.set)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                self.arrived.release()
                await self.release_event.wait()
                body = b'{"is_bifrost_error":false,"status_code":404,"error":{"message":"Team not found"}}'
                writer.write(
                    b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def start_gateway(
    upstream_port: int,
    port: int,
    workers: int,
    log_level: str = "WARNING",
    stderr: int = subprocess.DEVNULL,
    client: str = "reqwest",
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "UPSTREAM_HTTP_CLIENT": client,
        "BIFROST_URL": f"http://127.0.0.1:{upstream_port}",
        "GATEWAY_PORT": str(port),
        "GATEWAY_HOST": "127.0.0.1",
        "WEB_CONCURRENCY": str(workers),
        "BIFROST_API_GENERATION": "current",
        "LOG_LEVEL": log_level,
    }
    process = subprocess.Popen([sys.executable, "-m", "app"], env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the gateway did not start")


@pytest.fixture
def upstream() -> Iterator[tuple[int, HeldUpstream]]:
    port = free_port()
    loop = asyncio.new_event_loop()
    held = HeldUpstream(loop)
    server = loop.run_until_complete(asyncio.start_server(held.serve, "127.0.0.1", port))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield port, held
    held.release()

    async def stop() -> None:
        # Connections the gateway left open are served by tasks of their own: end them before the loop closes,
        # or they are destroyed pending when the interpreter exits.
        server.close()
        serving = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in serving:
            task.cancel()
        await asyncio.gather(*serving, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    loop.close()


# Four different teams: identical reads in flight would share one upstream call.
QUERIES = [{"query": f'{{ team(id: "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2{n}") {{ id }} }}'} for n in range(4)]


def wait_for_shutdown_start(process: subprocess.Popen[bytes], workers: int) -> None:
    """Return once every worker has logged uvicorn's "Shutting down" (it then drains before it exits)."""
    assert process.stderr is not None
    started = 0
    for line in process.stderr:  # ends when the process closes its stderr, i.e. exits
        started += b"Shutting down" in line
        if started == workers:
            threading.Thread(target=process.stderr.read, daemon=True).start()  # keep the pipe from filling
            return
    raise AssertionError("the gateway exited without logging its shutdown")


@pytest.mark.parametrize("client", ["reqwest", "aiohttp", "h1"])
@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_drains_in_flight_requests(upstream: tuple[int, HeldUpstream], workers: int, client: str) -> None:
    # Each upstream HTTP client drains and exits cleanly (pyreqwest's runtime thread included: no abort at exit).
    upstream_port, held = upstream
    port = free_port()
    process = start_gateway(upstream_port, port, workers, log_level="INFO", stderr=subprocess.PIPE, client=client)
    try:
        with httpx.Client(timeout=30) as client:
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                url = f"http://127.0.0.1:{port}/graphql"
                futures = [pool.submit(client.post, url, json=query) for query in QUERIES]
                for _ in futures:  # every request is in flight: it reached the upstream, which holds it
                    assert held.arrived.acquire(timeout=30), "a request never reached the upstream"
                process.send_signal(signal.SIGTERM)
                wait_for_shutdown_start(process, workers)  # while all four are still held upstream
                held.release()
                responses = [future.result() for future in futures]
        assert [r.status_code for r in responses] == [200] * 4
        assert [r.json() for r in responses] == [{"data": {"team": None}}] * 4
        # uvicorn exits 0, or re-raises the SIGTERM it handled once it has drained.
        assert process.wait(timeout=EXIT_DEADLINE) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()


TOKEN = "process-metrics-token-0123456789"


def wait_for_health(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_DEADLINE
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline and process.poll() is None, "the gateway did not start"
        time.sleep(0.1)


def probe_count(metrics: str, operation: str) -> float:
    prefix = f'gateway_requests_total{{operation="{operation}",outcome="ok"}}'
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith(prefix))


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=EXIT_DEADLINE)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.parametrize("workers", [1, 2])
def test_metrics_port_serves_every_workers_metrics_behind_the_token(workers: int) -> None:
    port, metrics_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "GATEWAY_PORT": str(port),
        "GATEWAY_HOST": "127.0.0.1",
        "WEB_CONCURRENCY": str(workers),
        "METRICS_PORT": str(metrics_port),
        "METRICS_TOKEN": TOKEN,
        "METRICS_OPERATION_NAMES": "ProcessProbe",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("BIFROST_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "app"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_health(process, port)
        with httpx.Client(timeout=10) as client:
            for _ in range(4):  # with two workers, likely both serve some
                sent = client.post(
                    f"http://127.0.0.1:{port}/graphql", json={"query": "query ProcessProbe { __typename }"}
                )
                assert sent.status_code == 200
            assert client.get(f"http://127.0.0.1:{port}/metrics").status_code == 404
            metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
            assert client.get(metrics_url).status_code == 401
            scraped = client.get(metrics_url, headers={"authorization": f"Bearer {TOKEN}"})
        assert scraped.status_code == 200
        assert probe_count(scraped.text, "ProcessProbe") == 4
    finally:
        stop(process)


def test_public_metrics_count_every_workers_requests() -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "BIFROST_URL")},
        "GATEWAY_PORT": str(port),
        "GATEWAY_HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
        "METRICS_OPERATION_NAMES": "WorkersProbe",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_health(process, port)
        with httpx.Client(timeout=10) as client:
            for _ in range(6):  # fresh connections: both workers take some
                with httpx.Client(timeout=10) as fresh:
                    query = {"query": "query WorkersProbe { __typename }"}
                    assert fresh.post(f"http://127.0.0.1:{port}/graphql", json=query).status_code == 200
            scraped = client.get(f"http://127.0.0.1:{port}/metrics")
        assert scraped.status_code == 200
        assert probe_count(scraped.text, "WorkersProbe") == 6
    finally:
        stop(process)


def test_the_process_refuses_oversized_headers(upstream: tuple[int, HeldUpstream]) -> None:
    upstream_port, _ = upstream
    # The limits reach uvicorn's worker processes (the protocol travels in uvicorn's pickled config).
    port = free_port()
    process = start_gateway(upstream_port, port, workers=2)
    try:
        with httpx.Client(timeout=10) as client:
            refused = client.get(f"http://127.0.0.1:{port}/healthz", headers={"x-big": "a" * 100_000})
            assert refused.status_code == 431
            assert refused.json()["errors"][0]["extensions"]["code"] == "HEADERS_TOO_LARGE"
            assert client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        stop(process)


def test_the_supervising_process_with_a_metrics_listener_loads_no_web_module() -> None:
    check = (
        "import sys, app.__main__ as main, app.settings as s\n"
        "server = main.start_metrics_server(s.Settings(metrics_port=int(sys.argv[1])))\n"
        "server.close()\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('app.web', 'app.schema', 'strawberry')))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", check, str(free_port())], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("environment", "first_words"), [("development", "GraphiQL: "), ("production", "GraphQL endpoint: ")]
)
def test_the_start_line_names_what_is_served(environment: str, first_words: str) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("BIFROST_URL", "PROMETHEUS_MULTIPROC_DIR")},
        "GATEWAY_ENV": environment,
        "EMBEDDED_BIFROST": "true",
        "GATEWAY_PORT": str(port),
        "GATEWAY_HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        wait_for_health(process, port)
        graphiql = httpx.get(f"http://127.0.0.1:{port}/graphql", headers={"accept": "text/html"}, timeout=10)
    finally:
        stop(process)
    assert line.startswith(first_words + f"http://127.0.0.1:{port}/graphql"), line
    assert ("text/html" in graphiql.headers.get("content-type", "")) == (environment == "development")


def test_with_no_bifrost_url_the_gateway_serves_a_v2_upstream_and_graphiql() -> None:
    port = free_port()
    unset = ("BIFROST_URL", "PROMETHEUS_MULTIPROC_DIR", "EMBEDDED_BIFROST_GENERATION", "BIFROST_API_GENERATION")
    env = {
        **{k: v for k, v in os.environ.items() if k not in unset},
        "GATEWAY_PORT": str(port),
        "GATEWAY_HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        wait_for_health(process, port)
        graphiql = httpx.get(f"http://127.0.0.1:{port}/graphql", headers={"accept": "text/html"}, timeout=10)
        query = "{ teams(first: 10) { totalCount nodes { name } } }"
        answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=10)
    finally:
        stop(process)
    assert "(upstream: the embedded Bifrost-compatible server (v2 API))" in line, line
    assert graphiql.status_code == 200 and "text/html" in graphiql.headers["content-type"]
    teams = answer.json()["data"]["teams"]
    assert teams["totalCount"] == 5 and {"Platform", "Growth"} <= {team["name"] for team in teams["nodes"]}


async def test_a_graceful_shutdown_closes_an_idle_kept_alive_connection_at_once() -> None:
    # The drain waits for every connection to close: one kept alive after its answer and idle since is closed as
    # the shutdown begins, not when its keep-alive timer (an hour here) would close it.
    async with served(keepalive_timeout=3600) as gw:
        reader, writer = await gw.connect()
        writer.write(request())
        assert (await read_answer(reader)).status == 200
        gw.server.should_exit = True
        assert await closed(reader)
        writer.close()
        assert not gw.server.server_state.connections
