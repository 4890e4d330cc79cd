"""The issue's fault-injection case over real sockets: createCustomer whose write landed but whose answer was
lost (stall or reset), then the client's retry. With an Idempotency-Key it writes one customer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.reliability.conftest import EmbeddedServer, RealGateway
from tests.reliability.documents import assert_nothing_leaks, error_codes
from tests.reliability.fault_proxy import Fault, FaultProxy

CREATE_CUSTOMER = """
mutation CreateCustomer($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id name } userErrors { code } }
}
"""


async def customers_named(upstream: EmbeddedServer, name: str) -> list[dict[str, Any]]:
    async with upstream.rest() as rest:
        response = await rest.get("/api/governance/customers", params={"search": name, "limit": 100})
    return [c for c in response.json()["customers"] if c["name"] == name]


@pytest.mark.parametrize("fault", [Fault.STALL, Fault.RESET], ids=["stall", "reset"])
async def test_a_retried_create_customer_whose_answer_was_lost_writes_once(
    fault: Fault, gateway: RealGateway, proxy: FaultProxy, upstream: EmbeddedServer
) -> None:
    await proxy.set(fault, match="/api/governance/customers", times=1)
    headers = {"idempotency-key": f"acme-{fault.value}"}
    first = await gateway.graphql(CREATE_CUSTOMER, {"input": {"name": "acme"}}, headers=headers)
    assert error_codes(first) == ["UPSTREAM_OUTCOME_UNKNOWN"]
    assert_nothing_leaks(str(first), upstream.url, proxy.url)
    assert len(await customers_named(upstream, "acme")) == 1  # the write happened

    retry = await gateway.graphql(CREATE_CUSTOMER, {"input": {"name": "acme"}}, headers=headers)
    [stored] = await customers_named(upstream, "acme")
    assert retry["data"]["createCustomer"]["customer"] == {"id": stored["id"], "name": "acme"}
    assert len(proxy.requests("POST")) == 1


async def test_without_a_key_the_retry_after_a_lost_answer_duplicates(
    gateway: RealGateway, proxy: FaultProxy, upstream: EmbeddedServer
) -> None:
    # The finding the key exists for: Bifrost v1.5 keeps two customers of the same name.
    await proxy.set(Fault.RESET, match="/api/governance/customers", times=1)
    assert error_codes(await gateway.graphql(CREATE_CUSTOMER, {"input": {"name": "dup"}})) == [
        "UPSTREAM_OUTCOME_UNKNOWN"
    ]
    await gateway.graphql(CREATE_CUSTOMER, {"input": {"name": "dup"}})
    assert len(await customers_named(upstream, "dup")) == 2
