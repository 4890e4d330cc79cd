"""Byte-for-byte pins of v2's team, customer, budget and rate-limit answers on a fixed data set.

The data set covers customers with several budgets, a rate limit and calendar alignment, teams with and
without a customer, budgets, rate limit and alignment, and a team-scoped key (counted, never embedded).
Virtual keys' own shapes are pinned elsewhere, so no key here is customer-scoped. Calendar-aligned budgets
are all monthly: two aligned windows of different units may start at the same instant (a Monday that is the
1st), which would change how the normalised timestamps pair up from one day to the next.
Regenerate the pinned file (after a deliberate change of shape) with ``BIFROST_GOLDEN_WRITE=1``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
from bifrost_helpers import client_for, normalise_answers

from app.embedded_bifrost import create_app

GOVERNANCE = "/api/governance"
PINNED = Path(__file__).parent / "data" / "golden-owners-v2.txt"


async def _write(client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any]) -> bytes:
    response = await client.request(method, f"{GOVERNANCE}/{path}", json=body)
    assert response.status_code == 200, response.text
    return f"{method} {path} ".encode() + response.content


async def test_v2_owner_answers_match_pinned_bytes() -> None:
    async with client_for(create_app(generation="v2")) as client:
        writes = []
        rate_limit = {"request_max_limit": 10, "request_reset_duration": "1m"}
        acme = {"name": "acme", "calendar_aligned": True, "rate_limit": rate_limit,
                "budgets": [{"max_limit": 50, "reset_duration": "1M"}]}  # fmt: skip
        writes.append(await _write(client, "POST", "customers", acme))
        writes.append(await _write(client, "POST", "customers", {"name": "bare"}))
        writes.append(
            await _write(
                client, "POST", "customers", {"name": "legacy", "budget": {"max_limit": 9, "reset_duration": "1w"}}
            )
        )
        customers = (await client.get(f"{GOVERNANCE}/customers")).json()["customers"]
        acme_id, bare_id, legacy_id = (customer["id"] for customer in customers)
        teams = [
            {"name": "alpha", "customer_id": acme_id, "budgets": [{"max_limit": 5, "reset_duration": "1d"},
                                                                   {"max_limit": 20, "reset_duration": "1w"}]},
            {"name": "beta", "customer_id": bare_id, "calendar_aligned": True, "rate_limit": rate_limit,
             "budgets": [{"max_limit": 30, "reset_duration": "1M"}]},
            {"name": "gamma"},
        ]  # fmt: skip
        for team in teams:
            writes.append(await _write(client, "POST", "teams", team))
        team_ids = [team["id"] for team in (await client.get(f"{GOVERNANCE}/teams")).json()["teams"]]
        key = {"name": "k-alpha", "team_id": team_ids[0]}
        assert (await client.post(f"{GOVERNANCE}/virtual-keys", json=key)).status_code == 200
        legacy_update = {"budget": {"max_limit": 12}, "calendar_aligned": False}
        writes.append(await _write(client, "PUT", f"customers/{legacy_id}", legacy_update))
        budgets = {"budgets": [{"max_limit": 60, "reset_duration": "1M"}, {"max_limit": 2, "reset_duration": "1h"}]}
        writes.append(await _write(client, "PUT", f"customers/{acme_id}", budgets))
        writes.append(await _write(client, "PUT", f"teams/{team_ids[2]}", {"calendar_aligned": False, "name": "g"}))
        urls = [
            "teams",
            "teams?limit=2&offset=1",
            f"teams?customer_id={acme_id}",
            "customers",
            "customers?limit=1&offset=0",
            "budgets",
            "rate-limits",
            *(f"teams/{team_id}" for team_id in team_ids),
            *(f"customers/{customer_id}" for customer_id in (acme_id, bare_id, legacy_id)),
        ]
        reads = []
        for url in urls:
            response = await client.get(f"{GOVERNANCE}/{url}")
            assert response.status_code == 200, (url, response.text)
            reads.append(f"GET {url} ".encode() + response.content)
    answers = normalise_answers(writes + reads)
    if os.environ.get("BIFROST_GOLDEN_WRITE"):
        PINNED.write_bytes(answers)
    assert answers == PINNED.read_bytes()
