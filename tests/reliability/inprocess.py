"""The gateway in-process over the embedded server (demo data), and the checks every hostile request gets."""

from __future__ import annotations

from typing import Any

import httpx

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.settings import Settings
from app.web import create_app
from tests.reliability.documents import assert_nothing_leaks, error_codes

UPSTREAM_URL = "http://bifrost-fuzz.internal:8080"


def demo_gateway() -> tuple[httpx.AsyncClient, Any]:
    """The gateway in-process over the embedded server (demo data), with an upstream URL to look for."""
    upstream = create_embedded_bifrost(database=":memory:", generation="current", demo=True)
    app = create_app(Settings(bifrost_url=UPSTREAM_URL), transport=httpx.ASGITransport(app=upstream))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway"), upstream


def demo_ids(upstream: Any) -> list[str]:
    """Ids of existing entities, so generated lookups and mutations also hit real data."""
    db = upstream.state.store.db
    ids = [row[0] for table in ("teams", "customers", "virtual_keys") for row in db.execute(f"SELECT id FROM {table}")]
    assert ids
    return ids


def check(response: httpx.Response, document: str) -> None:
    assert response.status_code < 500, response.text
    text = response.text
    # value(reveal: true) is the one way to ask for a key's value
    revealed = "reveal" in document
    assert_nothing_leaks(text.replace(UPSTREAM_URL.removeprefix("http://"), "@@"), UPSTREAM_URL, revealed=revealed)
    assert "bifrost-fuzz.internal" not in text
    if response.headers.get("content-type", "").startswith("application/"):
        body = response.json()
        assert "INTERNAL_SERVER_ERROR" not in error_codes(body), (document, body)
