"""CONTRACT-v2.md's response shapes (``data/bifrost_v2_shapes.json``) and the check of one answer against them.

There is no OpenAPI file for Bifrost v2, so the shapes are a JSON Schema transcription of the contract: one
``$defs`` entry per shape, and an ``endpoints`` table naming, for each method and path, the shape of every
status the contract lists. :func:`contract_problems` checks an ``httpx.Response`` in both directions: no field
the contract does not list, no required field missing, no null where the contract allows none, and a status
the endpoint can answer.

Example::

    response = await client.get("/api/governance/teams")
    assert contract_problems(response) == []
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

__all__ = ["ENDPOINTS", "SHAPES", "Endpoint", "contract_problems", "endpoint_of", "shape_problems"]

SHAPES: dict[str, Any] = orjson.loads((Path(__file__).parent / "data" / "bifrost_v2_shapes.json").read_bytes())


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One row of the contract's endpoint table.

    Attributes:
        method: The HTTP method.
        template: The path with ``{name}`` placeholders, as the contract writes it.
        responses: The shape (a ``$defs`` name) of each status the contract names for it.
        headers: Headers every answer carries, each with a regular expression its value must match (the
            deprecation headers of a kept alias).
    """

    method: str
    template: str
    responses: dict[int, str]
    headers: dict[str, str]

    @property
    def key(self) -> str:
        """``METHOD template``, as the shapes file names the endpoint."""
        return f"{self.method} {self.template}"

    def matches(self, method: str, path: str) -> bool:
        """Whether a request of ``method`` on ``path`` is this endpoint."""
        return method == self.method and _pattern(self.template).fullmatch(path) is not None


def _endpoints() -> tuple[Endpoint, ...]:
    rows = []
    for key, row in SHAPES["endpoints"].items():
        method, template = key.split(" ", 1)
        responses = {int(status): shape for status, shape in row["responses"].items()}
        rows.append(Endpoint(method, template, responses, row.get("headers", {})))
    # A literal segment wins over a placeholder (``/virtual-keys/quota`` is not ``/virtual-keys/{vk_id}``).
    return tuple(sorted(rows, key=lambda endpoint: endpoint.template.count("{")))


ENDPOINTS = _endpoints()


@cache
def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)))


@cache
def _validator(shape: str) -> Draft202012Validator:
    if shape not in SHAPES["$defs"]:
        raise KeyError(f"no shape {shape!r} in the shapes file")
    return Draft202012Validator({**SHAPES, "$ref": f"#/$defs/{shape}"})


def endpoint_of(method: str, path: str) -> Endpoint | None:
    """The contract's endpoint for a request, None when the contract has none."""
    return next((endpoint for endpoint in ENDPOINTS if endpoint.matches(method, path)), None)


def shape_problems(shape: str, body: Any) -> list[str]:
    """Where ``body`` departs from the shape named ``shape``, as ``location: message`` lines."""
    return [_describe(error) for error in _validator(shape).iter_errors(body)]


def _describe(error: ValidationError) -> str:
    # An anyOf failure says only "not valid under any of the given schemas": show its closest branch, which
    # for an object sent where the contract says "X or null" is X (not "is not of type 'null'").
    while error.context:
        branches = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        deepest = best_match(branches or error.context)
        if deepest is None:
            break
        error = deepest
    location = ".".join(str(part) for part in error.absolute_path) or "(body)"
    return f"{location}: {error.message}"


def contract_problems(response: httpx.Response) -> list[str]:
    """Every way one answer departs from the contract: endpoint, status, headers, content type, body shape.

    Returns:
        Lines ``METHOD path -> status: problem``; empty when the answer is as the contract says.
    """
    request = response.request
    path = request.url.path
    where = f"{request.method} {path} -> {response.status_code}"
    endpoint = endpoint_of(request.method, path)
    if endpoint is None:
        return [f"{where}: not in the contract's endpoint table"]
    shape = endpoint.responses.get(response.status_code)
    if shape is None:
        statuses = ", ".join(str(status) for status in endpoint.responses)
        return [f"{where}: the contract lists only {statuses} for {endpoint.key}"]
    problems = [
        f"{where}: header {name} {response.headers.get(name)!r} does not match {pattern!r}"
        for name, pattern in endpoint.headers.items()
        if re.search(pattern, response.headers.get(name, "")) is None
    ]
    if not endpoint.headers and "deprecation" in response.headers:
        problems.append(f"{where}: a canonical route answers Deprecation: {response.headers['deprecation']!r}")
    if response.headers.get("content-type", "").split(";")[0] != "application/json":
        problems.append(f"{where}: content-type {response.headers.get('content-type')!r}, not application/json")
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return [*problems, f"{where}: the body is not JSON: {response.content[:80]!r}"]
    problems += [f"{where}: {shape}.{problem}" for problem in shape_problems(shape, body)]
    if shape == "Error" and isinstance(body, dict) and body.get("status_code") != response.status_code:
        problems.append(f"{where}: the envelope's status_code is {body.get('status_code')!r}")
    return problems
