"""Runs the benchmark upstream (the embedded Bifrost-compatible server) with a request counter.

    python bench/upstream.py --host 127.0.0.1 --port 18080 [--upstream embedded|stub|auto]

A pure-ASGI wrapper counts every HTTP request the upstream serves; ``GET /__bench/count`` returns
``{"count": N}`` and ``POST /__bench/reset`` zeroes it (neither is counted). The wrapper adds one
integer increment per request, which does not measurably slow the upstream.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class CountingMiddleware:
    def __init__(self, app):
        self.app = app
        self.count = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope["path"]
            if path.startswith("/__bench/"):
                if path == "/__bench/reset":
                    self.count = 0
                body = json.dumps({"count": self.count}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
            self.count += 1
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
    import uvicorn

    # the same server settings as `python -m app.embedded_bifrost`
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
