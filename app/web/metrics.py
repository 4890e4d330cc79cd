"""Who may read ``/metrics`` on the public port: nobody, anybody, or the holder of a token.

* ``METRICS_PORT`` set: ``/metrics`` is served only by a listener of its own (``app.metrics_listener``, on
  ``METRICS_HOST``, ``127.0.0.1`` unless told otherwise, started by ``python -m app``); the public port
  answers 404.
* Otherwise: with ``METRICS_TOKEN`` only to ``Authorization: Bearer <token>`` (401 without it or with
  another); without a token, open in development and 404 in production.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.metrics_listener import CHALLENGE, MetricsAccess
from app.observability import metrics_payload
from app.settings import Settings

__all__ = ["public_metrics_route"]


def public_metrics_route(settings: Settings) -> Route | None:
    """The ``/metrics`` route of the public port, or None where it must not be served there (404)."""
    if settings.metrics_port is not None:
        return None
    if settings.metrics_token is None and settings.is_production:
        return None
    access = MetricsAccess(settings.metrics_token)

    async def metrics(request: Request) -> Response:
        if not access.allows(request.headers.get("authorization")):
            return Response(status_code=401, headers=CHALLENGE)
        payload, content_type = metrics_payload()
        return Response(payload, media_type=content_type)

    return Route("/metrics", metrics, methods=["GET"])
