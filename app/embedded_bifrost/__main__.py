"""Run the embedded Bifrost-compatible server standalone.

Example::

    python -m app.embedded_bifrost --host 127.0.0.1 --port 8080 --database :memory: --generation v2 --demo

``--demo-traffic`` (v2, with ``--demo``) keeps the demo keys spending: a few chat completions a second.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import uvicorn

from ..generations import GENERATIONS, Feature
from .app import create_app
from .demo_traffic import DEFAULT_INTERVAL, DemoTraffic
from .server import serve


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m app.embedded_bifrost", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--database", default=":memory:", help="':memory:' or a file path")
    names = [name for generation in GENERATIONS for name in (generation.name, *generation.aliases)]
    parser.add_argument("--generation", choices=names, default="v2", help="the API generation served")
    parser.add_argument("--version", dest="server_version", default=None, help="answer of GET /api/version")
    parser.add_argument("--hide-version", action="store_true", help="GET /api/version answers 404")
    parser.add_argument("--demo", action="store_true", help="seed the demo data set")
    parser.add_argument(
        "--demo-traffic",
        action="store_true",
        help="send a few chat completions a second with the demo keys, so usage moves (v2; implies --demo)",
    )
    parser.add_argument("--auth-user", default=None)
    parser.add_argument("--auth-password", default=None)
    parser.add_argument(
        "--vk-rotation-cooldown",
        default=None,
        metavar="DURATION",
        help="how long a rotated-out virtual key value keeps working, a Go duration such as 5m (0s: none; v2)",
    )
    parser.add_argument(
        "--server",
        choices=("lean", "uvicorn"),
        default="lean",
        help="the HTTP server: the lean one built for this app (default), or uvicorn",
    )
    args = parser.parse_args(argv)
    if (args.auth_user is None) != (args.auth_password is None):
        parser.error("--auth-user and --auth-password go together")
    try:
        app = create_app(
            database=args.database,
            generation=args.generation,
            auth=(args.auth_user, args.auth_password) if args.auth_user is not None else None,
            version=args.server_version,
            expose_version=not args.hide_version,
            demo=args.demo or args.demo_traffic,
            vk_rotation_cooldown=args.vk_rotation_cooldown,
        )
    except ValueError as error:
        parser.error(str(error))
    if args.demo_traffic:
        if not app.context.generation.has(Feature.INFERENCE):
            parser.error(f"--demo-traffic needs a generation with inference (v2), not {app.context.generation}")
        app.background.append(DemoTraffic(app, DEFAULT_INTERVAL))
    if args.server == "lean":
        logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
        serve(app, args.host, args.port)
    else:
        uvicorn.run(app, host=args.host, port=args.port, loop="uvloop", http="httptools", access_log=False)


if __name__ == "__main__":
    main()
