"""Several workers, each with a listening socket of its own on one port (``app.workers``, ``WORKER_REUSE_PORT``).

Run as users run it (``python -m app`` with ``WEB_CONCURRENCY=2``): connections opened at once are spread over
both workers, a worker that dies is replaced while the others serve, a port another program holds stops start-up
with its reason, and ``WORKER_REUSE_PORT=false`` runs uvicorn's supervisor (graceful shutdown with either is in
``test_process.py``). Which worker holds a connection is read from ``/proc``: its socket's inode among the
worker's file descriptors.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from uvicorn.config import STARTUP_FAILURE

from app import workers as supervisor
from app.workers import reserve_port, serve_workers, worker_socket
from tests.test_process import (
    EXIT_DEADLINE,
    QUERIES,
    START_DEADLINE,
    HeldUpstream,
    free_port,
    start_gateway,
    stop,
    wait_for_health,
    wait_for_shutdown_start,
)
from tests.test_process import upstream as held_upstream  # noqa: F401  (a fixture)


def gateway_env(port: int, workers: int, **extra: str) -> dict[str, str]:
    unset = ("BIFROST_URL", "PROMETHEUS_MULTIPROC_DIR")
    return {
        **{name: value for name, value in os.environ.items() if name not in unset},
        "GATEWAY_PORT": str(port),
        "GATEWAY_HOST": "127.0.0.1",
        "WEB_CONCURRENCY": str(workers),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


@contextmanager
def gateway(workers: int = 2, **extra: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app"],
        env=gateway_env(port, workers, **extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_health(process, port)
        yield process, port
    finally:
        stop(process)


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def holders(port: int, clients: list[socket.socket], workers: set[int]) -> Counter[int]:
    """How many of ``clients``' connections each worker holds (the server side of each, from /proc/net/tcp)."""
    ours = {client.getsockname()[1] for client in clients}
    server_inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, remote_port = (int(address.split(":")[1], 16) for address in fields[1:3])
        if local_port == port and remote_port in ours:
            server_inodes.add(fields[9])
    held: Counter[int] = Counter()
    for worker in workers:
        held[worker] = len(socket_inodes(worker) & server_inodes)
    return held


def serving_workers(process: subprocess.Popen[bytes], port: int, count: int = 2) -> set[int]:
    """The gateway's ``count`` workers, once each listens on ``port`` (a worker that has just started is still
    loading the application: its socket is bound, and the kernel hands it no connection until it listens)."""
    deadline = time.monotonic() + START_DEADLINE  # a worker imports the whole application: slow on a loaded machine
    while True:
        workers = {child for child in children(process.pid) if listening_inodes(child, port)}
        if len(workers) == count:
            return workers
        assert time.monotonic() < deadline and process.poll() is None, f"{len(workers)} of {count} workers listen"
        time.sleep(0.05)  # another process starting: nothing in this one to wait on


def wait_until_dead(pid: int) -> None:
    """Return once ``pid`` has exited (a zombie, or reaped): the kernel has closed its sockets by then."""
    deadline = time.monotonic() + EXIT_DEADLINE
    while True:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return
        except OSError:
            return  # reaped
        assert time.monotonic() < deadline, f"process {pid} did not exit"
        time.sleep(0.05)  # another process exiting: nothing in this one to wait on


def open_connections(port: int, count: int) -> list[socket.socket]:
    """``count`` connections opened at once, each with a request answered (so each is accepted and served)."""
    clients = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    for client in clients:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
    for client in clients:
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = client.recv(4096)
            assert chunk, "the gateway closed a connection"
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 ")
    return clients


def test_connections_opened_at_once_are_spread_over_the_workers() -> None:
    with gateway() as (process, port), ExitStack() as stack:
        workers = serving_workers(process, port)
        assert len(workers) == 2
        clients = open_connections(port, 20)
        for client in clients:
            stack.callback(client.close)
        held = holders(port, clients, workers)
        assert sum(held.values()) == 20
        # A hash of each connection's addresses picks its worker: 19/1 or worse has a chance of 2 in 10,000.
        assert min(held.values()) >= 2, held


def test_a_worker_that_dies_is_replaced_while_the_other_serves() -> None:
    with gateway() as (process, port):
        workers = serving_workers(process, port)
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        wait_until_dead(victim)  # its listening socket closed: a connection queued on it would be reset
        for _ in range(20):  # fresh connections, all answered: the dead worker left the port's group
            with httpx.Client(timeout=10) as fresh:
                assert fresh.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        replaced = serving_workers(process, port)  # the supervisor has started another
        assert victim not in replaced
        clients = open_connections(port, 20)
        try:
            held = holders(port, clients, replaced)
            assert sum(held.values()) == 20 and min(held.values()) >= 2, held
        finally:
            for each in clients:
                each.close()


def test_a_port_another_program_holds_stops_start_up_with_its_reason() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "app"],
            env=gateway_env(port, 2, BIFROST_URL="http://127.0.0.1:9"),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"error: GATEWAY_PORT: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("reuse_port", ["true", "false"])
def test_sigterm_stops_every_worker(reuse_port: str) -> None:
    with gateway(WORKER_REUSE_PORT=reuse_port) as (process, port):
        workers = serving_workers(process, port)
        assert len(workers) == 2
        with httpx.Client(timeout=10) as client:
            assert client.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"}).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=EXIT_DEADLINE) in (0, -signal.SIGTERM)
    assert not any(Path(f"/proc/{worker}").exists() for worker in workers)  # joined before the supervisor exits


def test_uvicorns_supervisor_shares_one_socket() -> None:
    with gateway(WORKER_REUSE_PORT="false") as (process, port):
        workers = serving_workers(process, port)
        listening = [listening_inodes(worker, port) for worker in workers]
        assert len(listening) == 2 and listening[0] == listening[1]  # the one socket the parent bound


def test_own_sockets_have_one_listening_socket_each() -> None:
    with gateway() as (process, port):
        workers = serving_workers(process, port)
        listening = [listening_inodes(worker, port) for worker in workers]
        assert len(listening) == 2 and all(len(inodes) == 1 for inodes in listening)
        assert listening[0].isdisjoint(listening[1])


def listening_inodes(pid: int, port: int) -> set[str]:
    """The inodes of the sockets listening on ``port`` that ``pid`` holds."""
    listening = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":  # TCP_LISTEN
            listening.add(fields[9])
    return socket_inodes(pid) & listening


def test_worker_sockets_share_a_port_and_a_reserved_port_takes_no_connection() -> None:
    reserved = reserve_port("127.0.0.1", 0)
    port = reserved.getsockname()[1]
    with reserved, worker_socket("127.0.0.1", port) as listening:
        listening.listen(64)
        clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(20)]
        for _ in clients:  # every one reaches the listening socket: the reservation, bound only, takes none
            accepted, _ = listening.accept()
            accepted.close()
        for client in clients:
            client.close()
    with socket.socket() as plain:
        plain.bind(("127.0.0.1", 0))
        plain.listen()
        with pytest.raises(OSError):
            worker_socket("127.0.0.1", plain.getsockname()[1]).close()  # not ours to share


def test_a_second_signal_stops_the_workers_without_draining(held_upstream: tuple[int, HeldUpstream]) -> None:  # noqa: F811
    # SIGTERM drains (test_process.py); a second signal, while a request is still held upstream, stops at once.
    upstream_port, held = held_upstream
    port = free_port()
    process = start_gateway(upstream_port, port, workers=2, log_level="INFO", stderr=subprocess.PIPE, client="h1")
    try:
        with httpx.Client(timeout=30) as client, ThreadPoolExecutor(1) as pool:
            pending = pool.submit(client.post, f"http://127.0.0.1:{port}/graphql", json=QUERIES[0])
            assert held.arrived.acquire(timeout=30), "the request never reached the upstream"
            process.send_signal(signal.SIGTERM)
            wait_for_shutdown_start(process, 2)
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=EXIT_DEADLINE) is not None  # while the upstream still holds the request
            with pytest.raises(httpx.TransportError):
                pending.result()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


class ExitsOnceLookedAt:
    """A worker process that exits (as one that could not start) right after the supervisor first looks at it: that
    look finds it running, every later one finds it gone. It stands for a worker that dies between two of the
    supervisor's looks, a window too short to hit on purpose with a real process."""

    pid = None  # nothing to signal: the supervisor's stop signals pass it by

    def __init__(self, target: object, args: object, name: str) -> None:
        self.looks = 0
        self.sentinel, self._alive = socket.socketpair()  # the sentinel is ready once the other end closes

    def start(self) -> None:
        pass

    @property
    def exitcode(self) -> int | None:
        self.looks += 1
        if self.looks == 1:
            self._alive.close()  # it exits now, just after this look
            return None
        return STARTUP_FAILURE

    def join(self) -> None:
        self.sentinel.close()


class FakeContext:
    Process = ExitsOnceLookedAt


def test_a_worker_that_exits_just_after_the_supervisor_looks_is_not_missed(monkeypatch: pytest.MonkeyPatch) -> None:
    # The supervisor once looked twice per round (to decide, then to choose what to wait on): a worker that exited
    # between the looks was neither acted on nor waited for, and the supervisor slept for ever. Seen as a gateway
    # that drained and whose workers had exited, still running 30 s after SIGTERM.
    monkeypatch.setattr(supervisor.multiprocessing, "get_context", lambda method: FakeContext())

    def stuck(number: int, frame: object) -> None:
        raise TimeoutError("the supervisor still waits on a worker that has exited")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(60)  # a guard against hanging for ever, not a measure of speed
    try:
        status = serve_workers(uvicorn.Config("app.web.asgi:app"), 2, "127.0.0.1", 0)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert status == STARTUP_FAILURE
