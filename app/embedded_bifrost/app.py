"""The ASGI application: request log, auth, dispatch and error envelopes.

Each request is handled in two phases: the body is read (the only ``await``), then the handler runs
synchronously, doing all of its database work in one transaction. On one event loop that makes every request
atomic with respect to every other.
"""

from __future__ import annotations

import collections
import logging
from typing import Any, NamedTuple, Protocol

import orjson
from starlette.datastructures import State

from ..generations import Feature, Generation, generation_named
from .auth import KEY_CREDENTIAL_PATHS, OPEN_PATHS, is_authorised
from .cache import AnswerCache
from .catalog import seed_catalog
from .context import Context, Request, Response
from .db import Store
from .durations import parse_go_duration_ns
from .errors import ApiError, error_body
from .rotation import MAX_COOLDOWN_NS, set_rotation_cooldown
from .routes import PER_CALLER, Handler, Router
from .views import Views

__all__ = ["Background", "BifrostApp", "RequestRecord", "create_app"]

logger = logging.getLogger(__name__)

_JSON_HEADERS = [(b"content-type", b"application/json")]
_GOVERNANCE = "/api/governance/"


class RequestRecord(NamedTuple):
    """One received request, as kept in ``app.state.request_log``.

    Attributes:
        method: The HTTP method.
        path: The raw path as received (percent-encoding kept).
        query: The raw query string.
    """

    method: str
    path: str
    query: str


class Background(Protocol):
    """Work that runs beside the server while it serves (the demo traffic): started and stopped with it."""

    def start(self) -> None:
        """Start in the running event loop."""

    async def stop(self) -> None:
        """Stop and wait until stopped."""


class BifrostApp:
    """A Bifrost-compatible governance server as an ASGI application.

    Build it with :func:`create_app`.

    Attributes:
        state: ``request_log`` (a deque of :class:`RequestRecord`), ``store`` and ``context``.
        background: What :meth:`startup` starts and :meth:`shutdown` stops (ASGI lifespan and the lean server
            call them).
    """

    def __init__(self, context: Context, expose_version: bool) -> None:
        self.context = context
        self.expose_version = expose_version
        self.state = State()
        self.state.request_log = collections.deque(maxlen=100_000)
        self.state.store = context.store
        self.state.context = context
        self.answers = AnswerCache(context.store.db)
        self.router = Router(context.generation)
        # The quota endpoint's credential is the virtual key itself: dashboard auth does not apply to it.
        generation = context.generation
        open_paths = OPEN_PATHS | (KEY_CREDENTIAL_PATHS if generation.has(Feature.KEY_QUOTA) else frozenset())
        if generation.has(Feature.VERSION_NEEDS_AUTH):
            open_paths -= {"/api/version"}
        self.open_paths = open_paths
        self.background: list[Background] = []

    async def startup(self) -> None:
        """Start the background work (the server calls this once it listens)."""
        for work in self.background:
            work.start()

    async def shutdown(self) -> None:
        """Stop the background work, last started first."""
        for work in reversed(self.background):
            await work.stop()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        status, payload, headers = self.respond(
            scope["method"], raw_path, scope["path"], scope.get("query_string", b""), body, scope["headers"]
        )
        headers = [*headers, (b"content-length", b"%d" % len(payload))]  # as Bifrost's fasthttp sends it
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def respond(
        self,
        method: str,
        raw_path: bytes,
        path: str,
        query_string: bytes,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """Answer one request whose body has been read: synchronously, so no other request runs meanwhile.

        Both ways of serving the app call this: the ASGI interface above and the lean HTTP server
        (:mod:`.server`).

        Args:
            method: The HTTP method.
            raw_path: The path as received (percent-encoding kept); the request log records it.
            path: The percent-decoded path, which routing uses.
            query_string: The raw query string.
            body: The whole request body.
            headers: Header names (lower-cased) and values, in the order received.

        Returns:
            The status, the body and the response headers.
        """
        self.state.request_log.append(
            RequestRecord(method, raw_path.split(b"?", 1)[0].decode("latin-1"), query_string.decode("latin-1"))
        )
        return self._dispatch(method, path, query_string, body, headers)

    def _dispatch(
        self, method: str, path: str, query_string: bytes, body: bytes, raw_headers: list[tuple[bytes, bytes]]
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        ctx = self.context
        try:
            request = Request(method, "", query_string, body, dict(raw_headers))
            if ctx.auth is not None and path.startswith("/api/") and path not in self.open_paths:
                if not is_authorised(ctx, request):
                    raise ApiError(401, "Unauthorized")
            if path == "/api/version" and not self.expose_version:
                raise ApiError(404, "Not found")
            handler, params = self.router.resolve(method, path)
            if params:
                request.params = params
                request.param = params[0]
            if method == "GET" and path.startswith(_GOVERNANCE) and handler not in PER_CALLER:
                return 200, self._governance_get(handler, request, path, query_string), _JSON_HEADERS
            result = handler(ctx, request)
            if isinstance(result, Response):
                return result.status, result.body, _JSON_HEADERS + result.headers
            return 200, orjson.dumps(result), _JSON_HEADERS
        except ApiError as error:
            return error.status, error_body(error.status, error.message), _JSON_HEADERS
        except Exception as error:  # a bug must still answer in Bifrost's envelope, and be visible in logs
            logger.exception("unhandled error in %s %s", method, path)
            return 500, error_body(500, str(error)), _JSON_HEADERS

    def _governance_get(self, handler: Handler, request: Request, path: str, query_string: bytes) -> bytes:
        # Governance reads are pure functions of the database: reuse the answer while it is unchanged.
        key = (path, query_string)
        version = self.answers.version()
        answer = self.answers.get(key, version)
        if answer is None:
            answer = orjson.dumps(handler(self.context, request))
            self.answers.put(key, version, answer)
        return answer

    def close(self) -> None:
        """Close the database connection."""
        self.context.store.close()

    async def _lifespan(self, receive: Any, send: Any) -> None:
        # The database is ready before the first request (create_app opens it): lifespan runs the background.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(
    database: str = ":memory:",
    generation: Generation | str = "v2",
    auth: tuple[str, str] | None = None,
    version: str | None = None,
    expose_version: bool = True,
    demo: bool = False,
    vk_rotation_cooldown: str | None = None,
) -> BifrostApp:
    """Create the embedded Bifrost-compatible governance server.

    The database is initialised here, eagerly, so the app works through ``httpx.ASGITransport`` (which does
    not run lifespan).

    Args:
        database: ``":memory:"`` or a file path (data survives a restart).
        generation: A :class:`~app.generations.Generation` or its name or alias (``"seed"``, ``"v1.5"``,
            ``"current"``, ``"v2"``); by default v2, the Bifrost people run today.
        auth: ``(username, password)`` to turn Bifrost auth on.
        version: The string ``GET /api/version`` answers; defaults to the generation's ``version``.
        expose_version: False makes ``GET /api/version`` answer 404.
        demo: Seed the small demo data set (idempotent).
        vk_rotation_cooldown: The grace period of a rotated-out key value, a Go duration (``"5m"``; ``"0s"``
            none), stored as ``PUT /api/config`` would; None keeps what the database holds.

    Returns:
        The ASGI application.

    Raises:
        ValueError: ``generation`` names no generation (the message lists the names there are), or
            ``vk_rotation_cooldown`` is not a duration within 0 and 30 days or the generation has no rotation.

    Example:
        >>> app = create_app(generation="seed", demo=True)
        >>> len(app.state.request_log)
        0
    """
    served = generation if isinstance(generation, Generation) else generation_named(generation)
    cooldown = None if vk_rotation_cooldown is None else _cooldown(served, vk_rotation_cooldown)
    store = Store(database, served)
    with store.transaction() as db:
        seed_catalog(db)
        if cooldown is not None:
            set_rotation_cooldown(db, cooldown)
    if demo:
        from .demo import seed_demo

        seed_demo(store)
    context = Context(
        store=store,
        views=Views(store.db, served),
        generation=served,
        auth=auth,
        version=version if version is not None else served.version,
    )
    return BifrostApp(context, expose_version)


def _cooldown(generation: Generation, text: str) -> int:
    """A rotation cooldown given at start-up, in nanoseconds."""
    if not generation.has(Feature.KEY_ROTATION):
        raise ValueError(f"the {generation} generation has no key rotation, so no vk_rotation_cooldown")
    cooldown = parse_go_duration_ns(text) if text.strip() else 0
    if cooldown is None or not 0 <= cooldown <= MAX_COOLDOWN_NS:
        raise ValueError(f"vk_rotation_cooldown must be a duration from 0s to 720h (30 days), not {text!r}")
    return cooldown
