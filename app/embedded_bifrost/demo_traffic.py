"""Demo traffic: a few chat completions per second with the demo keys, so a newcomer sees usage move.

Each :meth:`DemoTraffic.tick` sends one request through the server's real endpoint (``POST
/v1/chat/completions`` via :meth:`~app.embedded_bifrost.BifrostApp.respond`, so it is checked, charged and
logged like any other, and shows in the request log). The requests follow a fixed schedule of demo keys,
models and prompt lengths; keys are looked up by name at each tick, so a rotated or deleted key is simply
skipped. :meth:`DemoTraffic.run` ticks every ``interval`` seconds until :meth:`DemoTraffic.stop`.

The volume stays far from the demo data's limits. At the default two requests a second, prompts of 10 to 50
tokens cost a few thousandths of a cent each: the busiest key (``platform-prod``, two requests in seven)
spends about ten cents an hour of its USD 500 monthly budget and about 90,000 of its team's million daily
tokens, and Acme's keys (four in seven) stay under 4,200 of their customer's 10,000 requests an hour.

Example:
    >>> from app.embedded_bifrost import create_app
    >>> app = create_app(generation="v2", demo=True)
    >>> traffic = DemoTraffic(app)
    >>> traffic.tick()
    200
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from .app import BifrostApp

__all__ = ["DEFAULT_INTERVAL", "SCHEDULE", "DemoTraffic"]

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.5
"""Seconds between two demo requests."""

# (demo key name, model): the keys of demo.py and models their provider configs allow.
SCHEDULE: tuple[tuple[str, str], ...] = (
    ("platform-prod", "openai/gpt-4o-mini"),
    ("acme-shared", "openai/gpt-4o-mini"),
    ("globex-batch", "openai/gpt-4o-mini"),
    ("research-sandbox", "azure/gpt-4o"),
    ("platform-prod", "anthropic/claude-haiku-4-5"),
    ("local-dev", "anthropic/claude-sonnet-4-5"),
    ("local-dev", "openai/gpt-4o-mini"),
)
_PROMPT_LENGTHS = (40, 120, 200, 80, 160)  # characters: 10 to 50 prompt tokens (a count prime to the schedule's)
_PROMPT = "Summarise the governance state of our gateway, budgets and rate limits included. "
_PATH = "/v1/chat/completions"


class DemoTraffic:
    """Sends demo chat completions through an embedded server.

    Args:
        app: The embedded server.
        interval: Seconds between two requests.
        sleep: How to wait between requests (tests pass their own; nothing sleeps in them).
    """

    def __init__(
        self,
        app: BifrostApp,
        interval: float = DEFAULT_INTERVAL,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.app = app
        self.interval = interval
        self.sleep = sleep
        self.sent = 0
        self._task: asyncio.Task[None] | None = None

    def tick(self) -> int | None:
        """Send the next request of the schedule; its HTTP status, or None when its key does not exist."""
        step = self.sent
        self.sent += 1
        name, model = SCHEDULE[step % len(SCHEDULE)]
        row = self.app.context.store.db.execute("SELECT value FROM virtual_keys WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        length = _PROMPT_LENGTHS[step % len(_PROMPT_LENGTHS)]
        content = (_PROMPT * (length // len(_PROMPT) + 1))[:length]
        body = orjson.dumps({"model": model, "messages": [{"role": "user", "content": content}]})
        headers = [(b"content-type", b"application/json"), (b"x-bf-vk", row[0].encode())]
        status, _, _ = self.app.respond("POST", _PATH.encode(), _PATH, b"", body, headers)
        return status

    async def run(self) -> None:
        """Tick every ``interval`` seconds until cancelled; a failing tick is logged, not fatal."""
        while True:
            try:
                self.tick()
            except Exception:  # the demo must never take the server down
                logger.exception("demo traffic: a request failed")
            await self.sleep(self.interval)

    @property
    def running(self) -> bool:
        """Whether :meth:`start` has started the loop and :meth:`stop` not ended it."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start :meth:`run` in the running event loop (once; a second call does nothing)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="demo-traffic")

    async def stop(self) -> None:
        """Stop the loop and wait until it has ended."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
