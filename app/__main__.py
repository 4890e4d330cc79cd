"""``python -m app``: run the gateway with uvicorn."""

from __future__ import annotations

import sys

import uvicorn

from app.observability import configure_logging
from app.settings import SettingsError, load_settings


def main() -> None:
    """Start uvicorn with the settings from the environment; a bad setting stops start-up."""
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level)
    if settings.uses_embedded_bifrost:
        upstream = f"the embedded Bifrost-compatible server ({settings.embedded_bifrost_generation} API)"
        if settings.is_production:
            print(
                "warning: GATEWAY_ENV=production serves the embedded Bifrost-compatible server "
                "(EMBEDDED_BIFROST=true), not a real Bifrost",
                file=sys.stderr,
                flush=True,
            )
    else:
        upstream = "the Bifrost at BIFROST_URL"
    print(
        f"GraphiQL: http://{settings.gateway_host}:{settings.gateway_port}/graphql  (upstream: {upstream})", flush=True
    )
    uvicorn.run(
        "app.web.asgi:app",
        host=settings.gateway_host,
        port=settings.gateway_port,
        workers=settings.web_concurrency,
        loop="uvloop",
        http="httptools",
        access_log=False,  # one JSON line per request comes from the gateway itself
        log_config=None,  # uvicorn's own lines go through the JSON handler too
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()
