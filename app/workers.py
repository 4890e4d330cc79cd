"""Several worker processes, each listening on a socket of its own on the same port (``SO_REUSEPORT``).

uvicorn's supervisor hands every worker one shared listening socket. Whichever worker's event loop wakes first
accepts every connection waiting, so a burst of keep-alive connections (a pool of clients starting, a load
balancer reconnecting) lands on one worker: 20 connections opened at once split 19/1, 18/2 or 20/0 over two
workers, and one core serves while the other idles for as long as those connections live. With a socket per
worker in one ``SO_REUSEPORT`` group, the kernel spreads new connections over the workers by a hash of their
addresses instead, and a worker that is gone leaves the group (its share goes to the others until it is back).

What the supervisor does (``WORKER_REUSE_PORT=false`` runs uvicorn's own instead):

* checks the address before any worker starts (a port in use by another program stops start-up with its reason)
  and resolves port 0 once, so every worker listens on the same port;
* starts ``WEB_CONCURRENCY`` workers (spawned, each a ``uvicorn.Server`` with the same configuration);
* on SIGTERM or SIGINT tells every worker to stop (each drains its requests, as a single uvicorn process does)
  and waits for them; a second signal is passed on too (uvicorn then stops at once);
* starts a worker again when one dies; one that could not start stops the whole process (exit status 3, as
  uvicorn's), as would every later one.

Linux lets only processes of the same user join a port's group.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing import connection
from multiprocessing.process import BaseProcess

import uvicorn
from uvicorn.config import STARTUP_FAILURE

__all__ = ["reserve_port", "serve_workers", "worker_socket"]

log = logging.getLogger("app.workers")

_STOPS = (signal.SIGTERM, signal.SIGINT)
_RESTART_SECONDS = 1.0


def worker_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` in the port's ``SO_REUSEPORT`` group (not listening yet).

    Example:
        >>> first = worker_socket("127.0.0.1", 0)
        >>> second = worker_socket("127.0.0.1", first.getsockname()[1])  # the same port, no EADDRINUSE
        >>> first.close(), second.close()
        (None, None)
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def reserve_port(host: str, port: int) -> socket.socket:
    """Bind (without listening) the port the workers will share: fails now if another program holds it, and
    gives port 0 its number. The socket stays open while the workers run, so that the port stays ours."""
    return worker_socket(host, port)


def _worker(config: uvicorn.Config, host: str, port: int) -> None:  # pragma: no cover (runs in a worker)
    config.configure_logging()
    try:
        sock = worker_socket(host, port)
    except OSError as error:
        print(f"error: cannot listen on {host}:{port} ({error.strerror})", file=sys.stderr, flush=True)
        sys.exit(STARTUP_FAILURE)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def serve_workers(config: uvicorn.Config, workers: int, host: str, port: int) -> int:
    """Run ``workers`` uvicorn servers of ``config`` on ``host:port`` until a stop signal; the exit status.

    The first stop signal reaches each worker as SIGTERM (drain, then stop); a later one as SIGINT, which makes
    uvicorn stop at once, as a second Ctrl-C does.
    """
    context = multiprocessing.get_context("spawn")
    received: list[int] = []
    wake_read, wake_write = socket.socketpair()
    wake_read.setblocking(False)
    wake_write.setblocking(False)
    previous_wakeup = signal.set_wakeup_fd(wake_write.fileno())
    previous = {number: signal.signal(number, lambda number, _frame: received.append(number)) for number in _STOPS}
    processes: list[BaseProcess] = []
    started_at: list[float] = []

    def start(index: int) -> None:
        process = context.Process(target=_worker, args=(config, host, port), name="gateway-worker")
        process.start()
        if index == len(processes):
            processes.append(process)
            started_at.append(time.monotonic())
        else:
            processes[index] = process
            started_at[index] = time.monotonic()

    def tell_all(number: int) -> None:
        for process in processes:
            if process.pid is not None and process.exitcode is None:
                os.kill(process.pid, number)

    status = 0
    stops = 0
    try:
        for index in range(workers):
            start(index)
        while True:
            while stops < len(received):
                tell_all(signal.SIGTERM if stops == 0 else signal.SIGINT)
                stops += 1
            # One look at each worker per round, and the round waits on every worker that look found running: one
            # that exits after the look is waited on (its sentinel is ready at once) and seen at the next look. Two
            # looks (one to decide, one to choose what to wait on) miss a worker that exits between them: it is
            # neither replaced nor waited for, and the supervisor sleeps until some other event, or for ever.
            exitcodes = [process.exitcode for process in processes]
            watched = [process.sentinel for process, code in zip(processes, exitcodes, strict=True) if code is None]
            timeout = None
            if stops:
                if not watched:
                    break
            else:
                for index, code in enumerate(exitcodes):
                    if code is None:
                        continue
                    if code == STARTUP_FAILURE:
                        log.error("a worker could not start; stopping")
                        status = STARTUP_FAILURE
                        received.append(signal.SIGTERM)
                        break
                    # One that dies as it starts is not started again in a tight loop: at most once a second.
                    wait = started_at[index] + _RESTART_SECONDS - time.monotonic()
                    if wait > 0:
                        timeout = wait if timeout is None else min(timeout, wait)
                        continue
                    log.warning("a worker stopped (exit status %s); starting another", code)
                    start(index)
                    watched.append(processes[index].sentinel)
                if received:
                    continue
            connection.wait([wake_read, *watched], timeout)
            with contextlib.suppress(BlockingIOError):
                while wake_read.recv(4096):
                    pass
        return status
    finally:
        tell_all(signal.SIGTERM)
        for process in processes:
            process.join()
        signal.set_wakeup_fd(previous_wakeup)
        for number, handler in previous.items():
            signal.signal(number, handler)
        wake_read.close()
        wake_write.close()
