"""The Bifrost client: one pooled HTTP client per process, typed methods per caller.

``BifrostClient`` owns the connection pool, timeouts, retries of idempotent reads and the detection
of the upstream's API generation. ``BifrostSession`` is a cheap per-request view that carries the
headers worked out for the caller and counts the calls made on the caller's behalf. The client holds
no credentials of its own: whose credentials go with a call is decided once per request, by the web edge.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, Literal, TypeVar, cast, overload

import orjson
from pydantic import BaseModel, ValidationError

from app.bifrost import analytics, models
from app.bifrost.breaker import CircuitBreaker
from app.bifrost.coalesce import ReadCoalescer
from app.bifrost.deadline import CallDeadline, CallDeadlines
from app.bifrost.errors import (
    BifrostError,
    RequestCeilingExceeded,
    TooManyUpstreamCalls,
    UpstreamDataTooLarge,
    UpstreamOutcomeUnknown,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
    error_from_response,
)
from app.bifrost.generation import GenerationDetector
from app.bifrost.ids import is_valid_id
from app.bifrost.memo import ParseMemo
from app.bifrost.wire import (
    DeadlineWire,
    UpstreamResponse,
    Wire,
    WireConnectError,
    WireConnectionError,
    WireConnectTimeout,
    WireTimeout,
    WireTooLarge,
)
from app.generations import Generation
from app.tracing import NO_TRACING, Tracing

__all__ = ["BifrostClient", "BifrostSession", "UpstreamResponse"]

M = TypeVar("M", bound=BaseModel)
Method = Literal["GET", "POST", "PUT", "DELETE"]
_RETRY_STATUSES = frozenset({502, 503, 504})
_GOVERNANCE = "/api/governance"
_GOVERNANCE_SLASH = _GOVERNANCE + "/"
_TEAMS = f"{_GOVERNANCE}/teams"
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie"})
# Path segments after ``/api/governance/<collection>/`` that are words of a route, not ids.
_ROUTE_WORDS = frozenset({"rotate", "quota", "override"})

logger = logging.getLogger(__name__)
# The field of each envelope that holds its one entity (``BifrostSession._entity``).
_ENVELOPE_FIELDS: dict[type[BaseModel], str] = {
    models.TeamEnvelope: "team",
    models.CustomerEnvelope: "customer",
    models.VirtualKeyEnvelope: "virtual_key",
}


class BifrostClient:
    """One per process: the pooled HTTP client and everything that is not per caller.

    Example:
        >>> import httpx
        >>> from app.bifrost.wire import HttpxWire
        >>> client = BifrostClient(HttpxWire(httpx.AsyncClient(base_url="http://127.0.0.1:8080")))
        >>> session = client.session({"authorization": "Bearer t"})
    """

    def __init__(
        self,
        wire: Wire,
        *,
        generation: Generation | None = None,
        total_timeout: float = 15.0,
        max_response_bytes: int = 16 * 1024 * 1024,
        read_retries: int = 2,
        breaker: CircuitBreaker | None = None,
        observe: Callable[[str, str, float], None] | None = None,
        tracing: Tracing = NO_TRACING,
        coalesce_reads: bool = True,
        lean_team_pages: bool = True,
        on_shared_read: Callable[[str], None] | None = None,
        on_deprecated: Callable[[str], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.wire = wire
        self.total_timeout = total_timeout
        # The total deadlines of calls over a wire that keeps none of its own, on one timer (untraced calls).
        self._deadlines = CallDeadlines()
        self.max_response_bytes = max_response_bytes
        self.read_retries = read_retries
        self.breaker = breaker or CircuitBreaker()
        self.observe = observe
        self.tracing = tracing
        # None: detected from the upstream (BIFROST_API_GENERATION=auto).
        self.generation = GenerationDetector(fixed=generation)
        self.parse_memo = ParseMemo()
        # Identical GETs in flight at once share one call (see app/bifrost/coalesce.py).
        self.on_shared_read = on_shared_read
        # A request's own ceiling stopping the call it sent is no answer for the others: they send it again.
        self.reads = ReadCoalescer(self._shared_read, callers_own=(RequestCeilingExceeded,)) if coalesce_reads else None
        # Whatever shares work between requests in flight: each starts a new period when a write is sent
        # (the endpoint adds its shared queries).
        self.periods: list[ReadCoalescer] = [self.reads] if self.reads is not None else []
        self.on_deprecated = on_deprecated
        # False: ``list_teams(lean=True)`` parses whole teams too (LEAN_TEAM_PAGES=false).
        self.lean_team_pages = lean_team_pages
        self._deprecated_routes: set[str] = set()  # logged once each
        # How the client waits between attempts of a read; tests pass a recorder to see the delays asked for.
        self.sleep = sleep

    def session(
        self,
        headers: Mapping[str, str] | None = None,
        *,
        session_headers: Mapping[str, str] | None = None,
        max_calls: int | None = None,
        max_bytes: int | None = None,
    ) -> BifrostSession:
        """A per-request view that sends exactly ``headers`` with every governance call.

        ``session_headers`` go with login and logout instead; when omitted, those get ``headers`` without
        any credentials (never somebody else's). ``max_calls`` and ``max_bytes`` are the request's ceilings
        on upstream calls and on the bytes of their answers together (None: none).
        """
        headers = headers or {}
        if session_headers is None:
            session_headers = {name: value for name, value in headers.items() if name not in _CREDENTIAL_HEADERS}
        return BifrostSession(self, headers, session_headers, max_calls=max_calls, max_bytes=max_bytes)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.wire.aclose()

    def request(
        self,
        method: Method,
        path: str,
        *,
        headers: Mapping[str, str],
        body: Any = None,
        params: Mapping[str, str | int] | None = None,
        max_bytes: int | None = None,
    ) -> Coroutine[Any, Any, UpstreamResponse]:
        """Send one request (await it); GETs are retried on connection errors and 502/503/504, nothing else is.

        ``max_bytes`` lowers the size of answer accepted (a request's remaining allowance); a larger answer
        is then ``UpstreamDataTooLarge`` and is not read further.

        Raises:
            BifrostError: a typed upstream failure (see ``app.bifrost.errors``); a write that was sent and
                whose answer was lost raises ``UpstreamOutcomeUnknown``.
        """
        if method != "GET" and self.periods:
            return self._write(method, path, headers, body, params, max_bytes)
        # The call itself, not a coroutine awaiting it: one frame less to pass through on every resume.
        return self._send(method, path, headers, body, params, max_bytes)

    async def _write(
        self,
        method: Method,
        path: str,
        headers: Mapping[str, str],
        body: Any,
        params: Mapping[str, str | int] | None,
        max_bytes: int | None,
    ) -> UpstreamResponse:
        # Reads (and queries) that start from now on must not join a call sent before this write.
        for coalescer in self.periods:
            coalescer.new_period()
        try:
            return await self._send(method, path, headers, body, params, max_bytes)
        finally:
            for coalescer in self.periods:
                coalescer.new_period()  # nor one sent while it was on its way

    async def _send(
        self,
        method: Method,
        path: str,
        headers: Mapping[str, str],
        body: Any,
        params: Mapping[str, str | int] | None,
        max_bytes: int | None = None,
    ) -> UpstreamResponse:
        attempts = 1 + (self.read_retries if method == "GET" else 0)
        allowance = self.max_response_bytes if max_bytes is None else min(max_bytes, self.max_response_bytes)
        content = orjson.dumps(body) if body is not None else None
        send_headers = {"accept": "application/json", **headers}
        if content is not None:
            send_headers["content-type"] = "application/json"
        route = f"{method} {route_of(path)}"  # metrics and spans name the route, never the ids
        breaker = self.breaker
        tracing = self.tracing
        for attempt in range(attempts):
            last = attempt == attempts - 1
            wire = self.wire
            if not breaker.allow():
                raise UpstreamUnavailable("Bifrost is unavailable (circuit open)")
            probe = breaker.probing  # this call is the half-open probe (no await since allow())
            started = time.perf_counter()
            settled = False  # whether the breaker heard how this attempt ended
            response: UpstreamResponse | None
            try:
                if tracing is not NO_TRACING:
                    with tracing.upstream(route, send_headers):
                        response = await self._over_wire(method, path, send_headers, content, params, allowance)
                elif getattr(wire, "enforces_total_timeout", False):
                    # The wire folds the deadline into its own read timer: no second timer, no frame around it.
                    deadline = asyncio.get_running_loop().time() + self.total_timeout
                    response = await cast(DeadlineWire, wire).send(
                        method, path, send_headers, content, params, allowance, deadline=deadline
                    )
                else:
                    # ``_within_total_timeout``'s body, in this frame (one coroutine less on every resume), on the
                    # timer the calls in flight share rather than one per call.
                    timer = self._deadlines.start(asyncio.get_running_loop(), self.total_timeout)
                    try:
                        response = await wire.send(method, path, send_headers, content, params, allowance)
                    except BaseException as error:
                        timer.close(error)  # raises TimeoutError when the deadline ended the call
                        raise
                    timer.close(None)
            except WireConnectionError as error:
                self._observe(route, "connection_error", started)
                breaker.record_failure()
                settled = True
                # Nothing usable came back; only reads are safe to send again (below: no ``continue`` in a
                # ``try`` with ``finally``, which mypyc does not compile).
                if last:
                    if method != "GET" and not isinstance(error, WireConnectError):
                        raise UpstreamOutcomeUnknown("Bifrost's answer to the write was lost") from None
                    raise UpstreamUnavailable("Bifrost is unreachable") from None
                response = None
            except (WireTimeout, TimeoutError) as error:
                self._observe(route, "timeout", started)
                breaker.record_failure()
                settled = True
                if method != "GET" and not isinstance(error, WireConnectTimeout):
                    # The total timeout only fires once connected: the connect timeout is never longer.
                    raise UpstreamOutcomeUnknown("Bifrost did not answer the write in time") from None
                raise UpstreamTimeout("Bifrost did not answer in time") from None
            except WireTooLarge:
                self._observe(route, "too_large", started)
                breaker.record_success()
                settled = True
                if allowance < self.max_response_bytes:
                    raise UpstreamDataTooLarge(_DATA_TOO_LARGE, allowance) from None
                raise UpstreamProtocolError("Bifrost's answer is larger than the gateway accepts") from None
            except Exception:
                # Anything the wire does not map is no usable answer either; it propagates as it is.
                self._observe(route, "error", started)
                breaker.record_failure()
                settled = True
                raise
            else:
                settled = True  # an answer: recorded below, with no await in between
            finally:
                if not settled and probe:
                    # The caller left (cancelled) or the task is being torn down: that says nothing about
                    # Bifrost, but a half-open probe must end, or the circuit would stay open for good. (A call
                    # that was not the probe leaves the slot alone: freeing it would let a second probe out.)
                    breaker.abandon()
            if response is None:
                await self.sleep(_backoff_delay(attempt, None))
                continue
            status = response.status
            if self.observe is not None:
                self.observe(route, str(status), time.perf_counter() - started)
            if response.deprecated:
                self._deprecated(method, path)
            if status in _RETRY_STATUSES:
                breaker.record_failure()
                if not last:
                    await self.sleep(_backoff_delay(attempt, response.retry_after))
                    continue
            else:
                breaker.record_success()
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _over_wire(
        self,
        method: Method,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        allowance: int,
    ) -> Awaitable[UpstreamResponse]:
        """The wire's call of a traced attempt, bounded by the total timeout: handed to a wire that keeps it on a
        timer of its own; a ``CallDeadline`` around others. (Untraced, ``_send`` does the same in its own frame.)"""
        wire = self.wire
        if getattr(wire, "enforces_total_timeout", False):
            # The wire folds the deadline into its own read timer: no second timer per call.
            deadline = asyncio.get_running_loop().time() + self.total_timeout
            return cast(DeadlineWire, wire).send(method, path, headers, content, params, allowance, deadline=deadline)
        return self._within_total_timeout(wire.send(method, path, headers, content, params, allowance))

    async def _within_total_timeout(self, call: Awaitable[UpstreamResponse]) -> UpstreamResponse:
        # ``asyncio.timeout``'s behaviour on a bare timer (app/bifrost/deadline.py).
        timer = CallDeadline(asyncio.get_running_loop(), self.total_timeout)
        try:
            response = await call
        except BaseException as error:
            timer.close(error)
            raise
        timer.close(None)
        return response

    def _shared_read(self, key: Any) -> None:
        if self.on_shared_read is not None:
            self.on_shared_read(route_of(key[0]))

    def _deprecated(self, method: str, path: str) -> None:
        # Bifrost v2 keeps some routes as aliases for one more release: say so before they go away.
        route = f"{method} {route_of(path)}"
        if self.on_deprecated is not None:
            self.on_deprecated(route)
        if route not in self._deprecated_routes:
            self._deprecated_routes.add(route)
            logger.warning(
                "Bifrost marks an upstream route as deprecated (Deprecation: true); it may be removed in a "
                "later release",
                extra={"route": route},
            )

    def _observe(self, route: str, outcome: str, started: float) -> None:
        if self.observe is not None:
            self.observe(route, outcome, time.perf_counter() - started)


def route_of(path: str) -> str:
    """The route template of an upstream path: ids replaced by ``{id}`` (words of the API stay).

    Example:
        >>> route_of("/api/governance/teams/3f2b")
        '/api/governance/teams/{id}'
        >>> route_of("/api/governance/virtual-keys/3f2b/budgets/9c1d/override")
        '/api/governance/virtual-keys/{id}/budgets/{id}/override'
    """
    if path.startswith(_GOVERNANCE_SLASH):
        collection, _, rest = path[len(_GOVERNANCE_SLASH) :].partition("/")
        if rest and "/" not in rest:  # ``/<collection>/<id>``: nearly every call, without splitting the path
            return path if rest in _ROUTE_WORDS else f"{_GOVERNANCE_SLASH}{collection}/{{id}}"
    parts = path.split("/")
    if parts[1:3] == ["api", "governance"]:
        # ``/<collection>/<id>/<relation>/<id>/...``: every second segment from the fifth on is an id.
        for i in range(4, len(parts), 2):
            if parts[i] not in _ROUTE_WORDS:
                parts[i] = "{id}"
    return "/".join(parts)


def _backoff_delay(attempt: int, retry_after: str | None) -> float:
    """Seconds to wait before the next attempt: exponential backoff with full jitter; a numeric Retry-After
    (capped at 2 s) wins.

    Example:
        >>> _backoff_delay(0, "30")
        2.0
        >>> 0 <= _backoff_delay(1, None) <= 0.1
        True
    """
    if retry_after is not None and (seconds := retry_after.strip()).isascii() and seconds.isdigit():
        # ASCII only: "²" is a digit to isdigit() and no number to float(), whose error would quote it.
        return min(float(seconds), 2.0)
    return random.uniform(0, 0.05 * (2**attempt))


_TOO_MANY_CALLS = "This request needs more calls to Bifrost than the gateway allows one request"
_DATA_TOO_LARGE = "This request reads more data from Bifrost than the gateway allows one request"
_ANSWERS = frozenset({200})  # the statuses that are an answer to a call, unless it says otherwise


class BifrostSession:
    """The typed governance API for one caller; counts the upstream calls it makes and the bytes they bring.

    With ``max_calls``, a call past the ceiling raises ``TooManyUpstreamCalls`` without being sent; with
    ``max_bytes``, answers are read only up to what remains of it (``UpstreamDataTooLarge`` past it), so
    what one request holds from Bifrost is bounded while it runs, not only once it is done.

    Example:
        >>> # team = await client.session(headers, max_calls=200).get_team("3f2b...")
    """

    def __init__(
        self,
        client: BifrostClient,
        headers: Mapping[str, str],
        session_headers: Mapping[str, str] | None = None,
        *,
        max_calls: int | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self.client = client
        self.headers = headers
        self.session_headers = session_headers if session_headers is not None else {}
        self.calls = 0
        self.received_bytes = 0
        self.max_calls = max_calls
        self.max_bytes = max_bytes

    async def call(
        self,
        method: Method,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        answers: frozenset[int] = _ANSWERS,
    ) -> UpstreamResponse:
        """Send one request with the caller's headers (or ``headers``); raise the typed error for any status
        not in ``answers`` (a bulk write's 500 may still be an answer: ``app.bifrost.rotation``)."""
        remaining = self._counted()
        if headers is None:
            headers = self.headers
        try:
            response = await self.client.request(
                method, path, headers=headers, body=body, params=params, max_bytes=remaining
            )
        except UpstreamDataTooLarge:
            raise self._spent() from None
        return self._answered(response, answers)

    def _counted(self) -> int | None:
        """Count one more call, within the request's ceilings: what remains of its bytes (None: no ceiling)."""
        if self.max_calls is not None and self.calls >= self.max_calls:
            raise TooManyUpstreamCalls(_TOO_MANY_CALLS, self.max_calls)
        remaining = None
        if self.max_bytes is not None:
            remaining = self.max_bytes - self.received_bytes
            if remaining <= 0:
                raise UpstreamDataTooLarge(_DATA_TOO_LARGE, self.max_bytes)
        self.calls += 1
        return remaining

    def _spent(self) -> UpstreamDataTooLarge:
        """An answer went past what remained of the request's bytes: nothing more of this request goes upstream."""
        assert self.max_bytes is not None
        self.received_bytes = self.max_bytes
        return UpstreamDataTooLarge(_DATA_TOO_LARGE, self.max_bytes)

    def _answered(self, response: UpstreamResponse, answers: frozenset[int] = _ANSWERS) -> UpstreamResponse:
        """``response`` counted against the request's bytes; the typed error for a status not in ``answers``."""
        self.received_bytes += len(response.content)
        if response.status not in answers:
            raise error_from_response(response.status, response.content)
        return response

    async def fetch(
        self,
        model: type[M],
        method: Method,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> M:
        """One call, its answer parsed into ``model``: reads shared and memoised as every typed read, writes sent
        once. The typed calls of the newer domains (``app.bifrost.model_configs`` ...) are built on it."""
        return await self._parsed(model, method, path, body=body, params=params)

    async def _parsed(
        self,
        model: type[M],
        method: Method,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> M:
        if method != "GET":
            response = await self.call(method, path, body=body, params=params)
            return _parse_settled(model, response.content)
        query = tuple(sorted(params.items())) if params else None
        headers = self.headers
        reads = self.client.reads
        if reads is None:
            return await self._read(model, path, params, query, headers)
        # Shared only with callers that send the same credentials (see app/bifrost/coalesce.py).
        key = (path, query, model, headers.get("authorization"), headers.get("cookie"))
        waiters = reads.lead(key)
        if waiters is None:  # an identical read is in flight: its answer
            return await reads.run(key, self._read, model, path, params, query, headers)
        try:
            # ``_read``'s body and ``call``'s, in this frame: no coroutine between the caller and the wire's call.
            remaining = self._counted()
            try:
                response = await self.client.request("GET", path, headers=headers, params=params, max_bytes=remaining)
            except UpstreamDataTooLarge:
                raise self._spent() from None
            content = self._answered(response).content
            value = self.client.parse_memo.parse(model, (path, query), content, _parse_settled)
        except BaseException as error:
            reads.abandon(key, waiters, error)
            raise
        reads.settle(key, waiters, value)
        return value

    async def _entity(self, model: type[BaseModel], method: Method, path: str, body: Any = None) -> Any:
        """The one entity of an envelope answer (``{"team": {...}}``), settled as it was parsed (``_parse_settled``):
        the typed calls of one entity hand this coroutine back, with no frame of their own around it."""
        return getattr(await self._parsed(model, method, path, body=body), _ENVELOPE_FIELDS[model])

    async def _read(
        self,
        model: type[M],
        path: str,
        params: Mapping[str, str | int] | None,
        query: tuple[Any, ...] | None,
        headers: Mapping[str, str],
    ) -> M:
        response = await self.call("GET", path, params=params, headers=headers)
        return self.client.parse_memo.parse(model, (path, query), response.content, _parse_settled)

    # Generation -----------------------------------------------------------------------------------

    def api_generation(self) -> Coroutine[Any, Any, Generation | None]:
        """The upstream's API generation, detected once per process and remembered (None: not known yet).

        Await it: the detector's own call is handed back, without a coroutine of this method around it.
        """
        return self.client.generation.get(self)

    # Teams ----------------------------------------------------------------------------------------

    def create_team(self, body: dict[str, Any]) -> Coroutine[Any, Any, models.Team]:
        """``POST /api/governance/teams``, sent exactly once (await it)."""
        return self._entity(models.TeamEnvelope, "POST", _TEAMS, body)

    def get_team(self, team_id: str) -> Coroutine[Any, Any, models.Team]:
        """``GET /api/governance/teams/{id}`` (await it); raises BifrostNotFound for a missing team."""
        if not is_valid_id(team_id):
            return _invalid_id()
        return self._entity(models.TeamEnvelope, "GET", f"{_TEAMS}/{team_id}")

    @overload
    async def list_teams(
        self, params: Mapping[str, str | int] | None = None, *, lean: Literal[False] = False
    ) -> models.TeamList: ...

    @overload
    async def list_teams(
        self, params: Mapping[str, str | int] | None = None, *, lean: bool
    ) -> models.TeamList | models.LeanTeamList: ...

    async def list_teams(
        self, params: Mapping[str, str | int] | None = None, *, lean: bool = False
    ) -> models.TeamList | models.LeanTeamList:
        """``GET /api/governance/teams`` with optional ``customer_id``, ``limit``, ``offset``, ``search``.

        ``lean``: for a document that reads no more of the teams than ``models.LeanTeam`` keeps (parsed as a
        ``LeanTeamList``, unless the client was made with ``lean_team_pages=False``).
        """
        model = models.LeanTeamList if lean and self.client.lean_team_pages else models.TeamList
        return await self._parsed(model, "GET", f"{_GOVERNANCE}/teams", params=params)

    # Customers ------------------------------------------------------------------------------------

    def get_customer(self, customer_id: str) -> Coroutine[Any, Any, models.Customer]:
        """``GET /api/governance/customers/{id}`` (await it); raises BifrostNotFound for a missing customer."""
        if not is_valid_id(customer_id):
            return _invalid_id()
        return self._entity(models.CustomerEnvelope, "GET", f"{_GOVERNANCE}/customers/{customer_id}")

    async def list_customers(self, params: Mapping[str, str | int] | None = None) -> models.CustomerList:
        """``GET /api/governance/customers``."""
        return await self._parsed(models.CustomerList, "GET", f"{_GOVERNANCE}/customers", params=params)

    # Virtual keys ---------------------------------------------------------------------------------

    def get_virtual_key(self, key_id: str) -> Coroutine[Any, Any, models.VirtualKey]:
        """``GET /api/governance/virtual-keys/{id}`` (await it)."""
        if not is_valid_id(key_id):
            return _invalid_id()
        return self._entity(models.VirtualKeyEnvelope, "GET", f"{_GOVERNANCE}/virtual-keys/{key_id}")

    async def list_virtual_keys(self, params: Mapping[str, str | int] | None = None) -> models.VirtualKeyList:
        """``GET /api/governance/virtual-keys`` with filters, paging and sorting."""
        return await self._parsed(models.VirtualKeyList, "GET", f"{_GOVERNANCE}/virtual-keys", params=params)

    # Budgets and rate limits ----------------------------------------------------------------------

    async def list_budgets(self) -> models.BudgetList:
        """``GET /api/governance/budgets`` (no paging upstream)."""
        return await self._parsed(models.BudgetList, "GET", f"{_GOVERNANCE}/budgets")

    async def list_rate_limits(self) -> models.RateLimitList:
        """``GET /api/governance/rate-limits``."""
        return await self._parsed(models.RateLimitList, "GET", f"{_GOVERNANCE}/rate-limits")

    # Analytics (Bifrost v2: app.bifrost.analytics) ------------------------------------------------

    async def log_stats(self, params: analytics.Params = None) -> analytics.LogStats:
        """``GET /api/logs/stats``: total requests, tokens and cost of the rows ``params`` selects."""
        return await analytics.log_stats(self, params)

    async def cost_histogram(self, params: analytics.Params = None) -> analytics.CostHistogram:
        """``GET /api/logs/histogram/cost``: cost per time bucket, split by model."""
        return await analytics.cost_histogram(self, params)

    async def cost_by_dimension(
        self, dimension: analytics.CostDimension, params: analytics.Params = None
    ) -> analytics.CostByDimension:
        """``GET /api/logs/histogram/cost/by-dimension``: cost per time bucket, split by ``dimension``."""
        return await analytics.cost_by_dimension(self, dimension, params)

    async def model_rankings(self, params: analytics.Params = None) -> analytics.ModelRankings:
        """``GET /api/logs/rankings``: totals per model, with the trend against the previous period."""
        return await analytics.model_rankings(self, params)

    async def dimension_rankings(
        self, dimension: analytics.RankingDimension, params: analytics.Params = None
    ) -> analytics.DimensionRankings:
        """``GET /api/logs/rankings/by-dimension``: totals per team, customer, user or business unit."""
        return await analytics.dimension_rankings(self, dimension, params)

    # Session --------------------------------------------------------------------------------------

    async def login(self, username: str, password: str) -> UpstreamResponse:
        """``POST /api/session/login`` with the session headers; the answer's Set-Cookie carries the token."""
        body = {"username": username, "password": password}
        return await self.call("POST", "/api/session/login", body=body, headers=self.session_headers)

    async def logout(self) -> UpstreamResponse:
        """``POST /api/session/logout`` with the session headers (the caller's own credentials)."""
        return await self.call("POST", "/api/session/logout", headers=self.session_headers)

    async def health(self) -> bool:
        """True when ``GET /health`` answers 200."""
        try:
            await self.call("GET", "/health")
        except BifrostError:
            return False
        return True

    # Writes (each sent exactly once: only GETs are retried) -----------------------------------------

    async def update_team(self, team_id: str, body: dict[str, Any]) -> models.Team:
        """``PUT /api/governance/teams/{id}``; ``budgets`` is the full desired set."""
        # Settled as it was parsed (``_parse_settled``), as every team envelope is.
        return (await self._parsed(models.TeamEnvelope, "PUT", _entity_path("teams", team_id), body=body)).team

    async def delete_team(self, team_id: str) -> str:
        """``DELETE /api/governance/teams/{id}``; Bifrost detaches the team's virtual keys. Returns its message."""
        return (await self._parsed(models.MessageEnvelope, "DELETE", _entity_path("teams", team_id))).message

    async def create_customer(self, body: dict[str, Any]) -> models.Customer:
        """``POST /api/governance/customers``."""
        envelope = await self._parsed(models.CustomerEnvelope, "POST", f"{_GOVERNANCE}/customers", body=body)
        return envelope.customer  # settled as it was parsed

    async def update_customer(self, customer_id: str, body: dict[str, Any]) -> models.Customer:
        """``PUT /api/governance/customers/{id}``; ``budget: {}`` removes the budget."""
        path = _entity_path("customers", customer_id)
        return (await self._parsed(models.CustomerEnvelope, "PUT", path, body=body)).customer  # settled as parsed

    async def delete_customer(self, customer_id: str) -> str:
        """``DELETE /api/governance/customers/{id}``; Bifrost detaches its teams and virtual keys."""
        path = _entity_path("customers", customer_id)
        return (await self._parsed(models.MessageEnvelope, "DELETE", path)).message

    async def create_virtual_key(self, body: dict[str, Any]) -> models.VirtualKey:
        """``POST /api/governance/virtual-keys``; Bifrost generates the key's value."""
        envelope = await self._parsed(models.VirtualKeyEnvelope, "POST", f"{_GOVERNANCE}/virtual-keys", body=body)
        return envelope.virtual_key

    async def update_virtual_key(self, key_id: str, body: dict[str, Any]) -> models.VirtualKey:
        """``PUT /api/governance/virtual-keys/{id}``. Bifrost v1.5 detaches the key when the body names no owner."""
        path = _entity_path("virtual-keys", key_id)
        return (await self._parsed(models.VirtualKeyEnvelope, "PUT", path, body=body)).virtual_key

    async def delete_virtual_key(self, key_id: str) -> str:
        """``DELETE /api/governance/virtual-keys/{id}``, with its configs, budgets and rate limit."""
        path = _entity_path("virtual-keys", key_id)
        return (await self._parsed(models.MessageEnvelope, "DELETE", path)).message


def parse(model: type[M], content: bytes) -> M:
    """Parse an upstream body into ``model``, or raise UpstreamProtocolError (without the body)."""
    try:
        # ``model_validate_json`` without its frame: it checks its keyword arguments, then makes this call.
        return cast(M, model.__pydantic_validator__.validate_json(content))
    except ValidationError:
        raise UpstreamProtocolError("Bifrost answered with an unexpected body") from None


def _parse_settled(model: type[M], content: bytes) -> M:
    """``parse``, then settle what team and customer endpoints leave ambiguous, once per body (the memo keeps
    the result): an absent budget list of a team they answer means none (``Team.settled_budgets``). The teams
    are settled in place (``settle_parsed_team``): nothing else holds them before this returns."""
    parsed = parse(model, content)
    if isinstance(parsed, models.TeamEnvelope):
        models.settle_parsed_team(parsed.team)
    elif isinstance(parsed, models.CustomerEnvelope):
        _settle_customer(parsed.customer)
    elif isinstance(parsed, (models.TeamList, models.LeanTeamList)):
        for team in parsed.teams:
            models.settle_parsed_team(team)
    elif isinstance(parsed, models.CustomerList):
        for customer in parsed.customers:
            _settle_customer(customer)
    return parsed


def _settle_customer(customer: models.Customer) -> None:
    # Customer endpoints embed their teams with budgets: an absent list there means none.
    for team in customer.teams or ():
        models.settle_parsed_team(team)


async def _invalid_id() -> Any:
    # As ``_entity_path`` raises it, when the call is awaited.
    raise ValueError("invalid id")


def _entity_path(collection: str, entity_id: str) -> str:
    # Callers validate ids first; this is the last line of defence against path traversal.
    if not is_valid_id(entity_id):
        raise ValueError("invalid id")
    return f"{_GOVERNANCE}/{collection}/{entity_id}"
