"""The session the v2 contract scenario runs in: every answer checked against CONTRACT-v2.md's shapes.

:class:`Session` sends one request per step, checks the answer with :mod:`contract_shapes` (endpoint, status,
shape) and the status and message the step expects, and collects what departs from the contract. The
scenario's sections (:mod:`v2_owners`, :mod:`v2_domains`) add the behaviour checks a shape cannot express.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from contract_shapes import contract_problems, endpoint_of

__all__ = [
    "CONFIG",
    "CUSTOMERS",
    "FOREIGN_ID",
    "GOV",
    "KEYS",
    "LEGACY_TEAMS",
    "MISSING_VK",
    "MODEL_CONFIGS",
    "PROVIDERS",
    "REQUESTS_PER_MINUTE",
    "TEAMS",
    "TOKENS_PER_HOUR",
    "Session",
    "StepFailed",
    "budget",
    "rfc3339",
    "rule",
]

GOV = "/api/governance"
TEAMS = f"{GOV}/teams"
LEGACY_TEAMS = "/api/teams"
CUSTOMERS = f"{GOV}/customers"
KEYS = f"{GOV}/virtual-keys"
MODEL_CONFIGS = f"{GOV}/model-configs"
PROVIDERS = f"{GOV}/providers"
CONFIG = "/api/config"
FOREIGN_ID = "00000000-0000-4000-8000-000000000000"
REQUESTS_PER_MINUTE = {"request_max_limit": 100, "request_reset_duration": "1m"}
TOKENS_PER_HOUR = {"token_max_limit": 10_000, "token_reset_duration": "1h"}
MISSING_VK = (
    "Missing virtual key. Provide it via x-bf-vk header, Authorization Bearer, x-api-key, x-goog-api-key, or api-key"
    " header."
)
_NO_BODY = object()


def budget(max_limit: float, reset_duration: str, **more: Any) -> dict[str, Any]:
    """A budget item of a request body."""
    return {"max_limit": max_limit, "reset_duration": reset_duration, **more}


def rule(metric: str, max_limit: int, reset_duration: str, **more: Any) -> dict[str, Any]:
    """A model-config rate-limit rule."""
    return {"metric": metric, "max_limit": max_limit, "reset_duration": reset_duration, **more}


def rfc3339(moment: datetime) -> str:
    """A UTC instant as RFC 3339 with a ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StepFailed(AssertionError):
    """A step answered another status than the contract says; later steps depend on it, so the run stops."""


@dataclass
class Session:
    """A client that checks every answer against the contract and collects what departs from it.

    Attributes:
        client: The client of the server under test.
        problems: Every departure found so far (shape, status table, message, behaviour).
        answered: The ``(endpoint, status)`` pairs seen, to prove the scenario covers the endpoint table.
        ids: Ids and values later sections use.
    """

    client: httpx.AsyncClient
    problems: list[str] = field(default_factory=list)
    answered: set[tuple[str, int]] = field(default_factory=set)
    ids: dict[str, Any] = field(default_factory=dict)

    async def call(
        self,
        method: str,
        path: str,
        body: Any = _NO_BODY,
        *,
        status: int = 200,
        message: str | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        fatal: bool = True,
    ) -> Any:
        """Send one request; check its answer; return the decoded body.

        ``fatal=False`` is for a step nothing later depends on: a wrong status is recorded as a problem and
        the scenario goes on.

        Raises:
            StepFailed: The status is not ``status`` (and the step is fatal).
        """
        if body is not _NO_BODY:
            response = await self.client.request(method, path, json=body, headers=headers)
        else:
            response = await self.client.request(method, path, content=content, headers=headers)
        step = f"{method} {path}"
        self.problems += contract_problems(response)
        endpoint = endpoint_of(method, response.request.url.path)
        if endpoint is not None:
            self.answered.add((endpoint.key, response.status_code))
        if response.status_code != status:
            mismatch = f"{step}: expected {status}, got {response.status_code} {response.text[:300]}"
            if fatal:
                raise StepFailed(mismatch)
            self.problems.append(mismatch)
        answer = response.json()
        if message is not None:
            # The error envelope's message, or the message of an answer that is not one (a bulk rotation
            # where every id failed).
            got = None
            if isinstance(answer, dict):
                got = answer["error"].get("message") if isinstance(answer.get("error"), dict) else answer.get("message")
            self.check(got == message, f"{step}: message {got!r}, the contract says {message!r}")
        return answer

    def check(self, condition: bool, problem: str) -> None:
        """Record ``problem`` unless ``condition`` holds."""
        if not condition:
            self.problems.append(problem)
