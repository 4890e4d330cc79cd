"""``python -m app``: run the gateway with uvicorn."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import sys
import tempfile

import uvicorn

from app import native
from app.http_limits import server_options
from app.metrics_listener import MetricsAccess, MetricsServer
from app.observability import configure_logging
from app.settings import Settings, SettingsError, load_settings
from app.workers import reserve_port, serve_workers


def main() -> None:
    """Start uvicorn with the settings from the environment; a bad setting stops start-up."""
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level)
    check_trusted_documents(settings)
    if settings.uses_embedded_bifrost:
        upstream = f"the embedded Bifrost-compatible server ({settings.embedded_generation} API)"
        if settings.is_production:
            print(
                "warning: GATEWAY_ENV=production serves the embedded Bifrost-compatible server "
                "(EMBEDDED_BIFROST=true), not a real Bifrost",
                file=sys.stderr,
                flush=True,
            )
    else:
        upstream = "the Bifrost at BIFROST_URL"
    endpoint = f"http://{settings.gateway_host}:{settings.gateway_port}/graphql"
    # Production serves no GraphiQL: the start line names the endpoint, not a page that is not there.
    what = "GraphQL endpoint" if settings.is_production else "GraphiQL"
    print(f"{what}: {endpoint}  (upstream: {upstream})", flush=True)
    print(f"Compiled modules: {native.STATUS}", flush=True)  # app/native.py: on, off, not built or stale
    share_worker_metrics(settings)
    share_redis_key_secret(settings)
    metrics = start_metrics_server(settings)
    try:
        _run_uvicorn(settings)
    finally:
        if metrics is not None:
            metrics.close()


def check_trusted_documents(settings: Settings) -> None:
    """Load and check the trusted-documents manifest once here, so that a bad one stops start-up with its
    reason rather than every worker failing (and being restarted) on it. Only with a manifest: the web
    modules stay out of this process otherwise."""
    if settings.trusted_documents is None:
        return
    from app.web.app import build_executor
    from app.web.trusted_documents import TrustedDocumentsError, load_trusted_documents

    try:
        load_trusted_documents(settings, build_executor(settings))
    except TrustedDocumentsError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def share_worker_metrics(settings: Settings) -> None:
    """With several workers, have every scrape see all of them (prometheus-client's multiprocess mode).

    Without it a scrape of /metrics reads whichever worker took the connection, and the listener on
    METRICS_PORT (in this process, which serves no requests) reads nothing. The directory is one of its own
    unless PROMETHEUS_MULTIPROC_DIR names one; it is set before the workers start, as they read it when they
    import the metrics.
    """
    if settings.web_concurrency > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        directory = tempfile.mkdtemp(prefix="gateway-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        atexit.register(shutil.rmtree, directory, ignore_errors=True)


def share_redis_key_secret(settings: Settings) -> None:
    """With ``REDIS_URL`` and no ``REDIS_KEY_SECRET`` (refused in production), give this process's workers one
    random secret, so that they at least share among themselves, and say once that other replicas do not.

    The workers read it from the environment, as they read every setting.
    """
    if settings.redis_url is None or settings.redis_key_secret is not None:
        return
    os.environ["REDIS_KEY_SECRET"] = secrets.token_hex(32)
    print(
        "warning: REDIS_KEY_SECRET is not set: the names this gateway writes into Redis are keyed with a random "
        "secret of this process, so other replicas share no idempotency keys, live pollers or login counts with "
        "it; set REDIS_KEY_SECRET (at least 32 characters, the same on every replica)",
        file=sys.stderr,
        flush=True,
    )


def start_metrics_server(settings: Settings) -> MetricsServer | None:
    """Serve /metrics on METRICS_PORT from this process, if set."""
    if settings.metrics_port is None:
        return None
    try:
        server = MetricsServer(settings.metrics_host, settings.metrics_port, MetricsAccess(settings.metrics_token))
    except OSError as error:
        print(f"error: METRICS_PORT: cannot listen on it ({error.strerror})", file=sys.stderr)
        raise SystemExit(2) from None
    server.start()
    print(f"Metrics: http://{settings.metrics_host}:{server.port}/metrics", flush=True)
    return server


def _run_uvicorn(settings: Settings) -> None:
    options = {
        "loop": "uvloop",
        **server_options(settings),  # httptools, with header and body limits unless HTTP_EDGE_LIMITS=false
        "access_log": False,  # one JSON line per request comes from the gateway itself
        "log_config": None,  # uvicorn's own lines go through the JSON handler too
        "log_level": settings.log_level.lower(),
        "timeout_graceful_shutdown": 20,
    }
    host, port = settings.gateway_host, settings.gateway_port
    if settings.web_concurrency == 1 or not settings.worker_reuse_port:
        uvicorn.run("app.web.asgi:app", host=host, port=port, workers=settings.web_concurrency, **options)
        return
    # A listening socket per worker (app.workers): the kernel spreads connections over them.
    try:
        reserved = reserve_port(host, port)
    except OSError as error:
        print(f"error: GATEWAY_PORT: cannot listen on {host}:{port} ({error.strerror})", file=sys.stderr)
        raise SystemExit(2) from None
    with reserved:
        port = reserved.getsockname()[1]
        config = uvicorn.Config("app.web.asgi:app", host=host, port=port, **options)
        status = serve_workers(config, settings.web_concurrency, host, port)
    if status:
        raise SystemExit(status)


if __name__ == "__main__":
    main()
