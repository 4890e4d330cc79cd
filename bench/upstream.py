"""Runs the benchmark upstream (the embedded Bifrost-compatible server) with a request counter.

    python bench/upstream.py --host 127.0.0.1 --port 18080 [--upstream embedded|stub|auto]

The embedded server runs on its own lean HTTP server (``app.embedded_bifrost.server``), as
``python -m app.embedded_bifrost`` does; the stub runs under uvicorn. A wrapper counts every HTTP request the
upstream serves, and answers these routes itself (none of them is counted):

* ``GET /__bench/count``: ``{"count": N}``; ``POST /__bench/reset`` zeroes the counter;
* ``POST /__bench/mark``: remember which teams exist now (after seeding);
* ``POST /__bench/trim``: delete every team created since the mark (embedded server only; the stub answers
  404). The harness trims before each createTeam run, so every run starts from the same seeded table: SQLite
  inserts into a random-UUID key slow down as the table grows, and without it each run would measure how many
  teams the runs before it created.
* ``POST /__bench/usage/moving`` and ``POST /__bench/usage/static``: while moving, every governance GET answer
  has each budget's ``current_usage`` set to a number that grows with every request, so no two answers are
  alike, as when inference traffic charges the budgets between two reads (embedded server only). The answer's
  bytes are rewritten rather than the rows updated: a write would drop the embedded server's answer cache and
  make the upstream, not the gateways, the slowest part of the run.

The embedded server keeps up to 1,024 GET answers here (64 by default): lookups that rotate over the 100
seeded teams would otherwise miss its cache on every request.

The wrapper adds one integer increment per request, which does not measurably slow the upstream.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

_JSON = [(b"content-type", b"application/json")]
_SEEDED_USAGE = b'"current_usage":0.0'


class Counter:
    """The request counter and the team mark behind the ``/__bench/`` routes."""

    def __init__(self, app: Any) -> None:
        self.count = 0
        store = getattr(getattr(app, "state", None), "store", None)
        self.db = getattr(store, "db", None)  # the embedded server's SQLite connection (the stub has none)
        self.mark: int | None = None
        self.moving_usage = False

    def bench_route(self, method: str, path: str) -> tuple[int, bytes]:
        if path == "/__bench/reset" and method == "POST":
            self.count = 0
        elif path in ("/__bench/mark", "/__bench/trim") and method == "POST":
            if self.db is None:
                return 404, b'{"error":"no database to trim"}'
            if path == "/__bench/mark":
                self.mark = self.db.execute("SELECT coalesce(max(rowid), 0) FROM teams").fetchone()[0]
            elif self.mark is not None:
                self.db.execute("DELETE FROM teams WHERE rowid > ?", (self.mark,))
        elif path in ("/__bench/usage/moving", "/__bench/usage/static") and method == "POST":
            if self.db is None:
                return 404, b'{"error":"usage moves on the embedded server only"}'
            self.moving_usage = path.endswith("/moving")
        elif path != "/__bench/count":
            return 404, b'{"error":"unknown bench route"}'
        return 200, json.dumps({"count": self.count}).encode()


class CountingResponder:
    """Wraps the embedded server's synchronous ``respond`` for ``app.embedded_bifrost.server``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.counter = Counter(app)
        answers = getattr(app, "answers", None)
        if answers is not None:
            answers.max_entries = 1024

    def respond(self, method, raw_path, path, query_string, body, headers):  # type: ignore[no-untyped-def]
        counter = self.counter
        if path.startswith("/__bench/"):
            status, answer = counter.bench_route(method, path)
            return status, answer, _JSON
        counter.count += 1
        status, answer, out_headers = self.app.respond(method, raw_path, path, query_string, body, headers)
        if counter.moving_usage and method == "GET" and status == 200:
            # a number no earlier answer had (every seeded budget starts at 0.0)
            answer = bytes(answer).replace(_SEEDED_USAGE, b'"current_usage":%d.5' % counter.count)
        return status, answer, out_headers

    async def startup(self) -> None:
        await self.app.startup()

    async def shutdown(self) -> None:
        await self.app.shutdown()

    def close(self) -> None:
        self.app.close()


class CountingMiddleware:
    """The same counter around an ASGI app (the stub)."""

    def __init__(self, app):
        self.app = app
        self.counter = Counter(app)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope["path"]
            if path.startswith("/__bench/"):
                status, body = self.counter.bench_route(scope["method"], path)
                await send(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": [*_JSON, (b"content-length", str(len(body)).encode())],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
            self.counter.count += 1
        await self.app(scope, receive, send)


def _call_with_supported(factory, **kwargs):
    """Calls the embedded server's factory with whichever of our options it accepts."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return factory()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return factory(**kwargs)
    accepted = {k: v for k, v in kwargs.items() if k in params}
    # common alternative spellings
    for alt, key in (("db", "database"), ("database_url", "database"), ("db_path", "database")):
        if alt in params and key in kwargs:
            accepted[alt] = kwargs[key]
    return factory(**accepted)


def build_app(kind: str, database: str, generation: str):
    if kind in ("embedded", "auto"):
        try:
            from app.embedded_bifrost import create_app  # type: ignore[attr-defined]
        except ImportError as exc:
            if kind == "embedded":
                raise
            print(f"upstream: app.embedded_bifrost not available ({exc}); using the stub", file=sys.stderr)
        else:
            return "embedded", _call_with_supported(create_app, database=database, generation=generation, demo=False)
    from stub_upstream import create_stub_app

    return "stub", create_stub_app()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", choices=["auto", "embedded", "stub"], default="auto")
    ap.add_argument("--database", default=":memory:")
    ap.add_argument("--generation", default="current")
    args = ap.parse_args()
    kind, app = build_app(args.upstream, args.database, args.generation)
    print(f"upstream: serving {kind} on {args.host}:{args.port}", file=sys.stderr, flush=True)
    if hasattr(app, "respond"):
        from app.embedded_bifrost.server import serve

        serve(CountingResponder(app), args.host, args.port)
        return
    import uvicorn

    uvicorn.run(
        CountingMiddleware(app),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
