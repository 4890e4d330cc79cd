"""Manifests for the trusted-documents tests, in both formats, written where a gateway can load them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from app.trusted_documents import sha256_of

TEAMS_PAGE = "query TeamsPage { teams(first: 1) { totalCount } }"
CREATE_TEAM = "mutation CreateTeam($name: String!) { createTeam(input: {name: $name}) { team { name } } }"
TWO_OPERATIONS = (
    "query CountTeams { teams(first: 1) { totalCount } }\nquery CountCustomers { customers(first: 1) { totalCount } }"
)
UNLISTED = "query Sneaky { teams(first: 2) { totalCount } }"


def codegen_manifest(directory: Path, *documents: str) -> Path:
    """graphql-codegen's ``persisted-documents.json``: sha256 -> document."""
    return write(directory, {sha256_of(document): document for document in documents})


def apollo_manifest(directory: Path, operations: list[dict[str, Any]]) -> Path:
    """Apollo's persisted-query manifest with these operations."""
    return write(directory, {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations})


def apollo_operation(body: str, name: str, kind: str = "query", id: str | None = None) -> dict[str, Any]:
    return {"id": id or sha256_of(body), "name": name, "type": kind, "body": body}


def write(directory: Path, manifest: object) -> Path:
    path = directory / "manifest.json"
    path.write_bytes(orjson.dumps(manifest))
    return path
