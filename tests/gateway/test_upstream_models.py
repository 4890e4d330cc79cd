"""The hot upstream models parse without per-instance Python hooks, and embedded customers stay partial.

A team page or a virtual-key list is hundreds of models per answer: a private attribute makes pydantic run
Python for every instance it builds, so ``Customer`` keeps none; a customer read from inside a team's or a
key's payload is an ``EmbeddedCustomer`` instead (its class says it is partial), and answers exactly as the
marked customer did: no trusted key count, budgets not known to be loaded on v2.
"""

from __future__ import annotations

import pytest

from app.bifrost import models

CUSTOMER = (
    b'{"id": "c", "name": "Acme", "virtual_key_count": 0, "created_at": "2026-01-01T00:00:00Z",'
    b' "updated_at": "2026-01-01T00:00:00Z"}'
)
STAMPS = b'"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"'


@pytest.mark.parametrize(
    "model", [models.Customer, models.EmbeddedCustomer, models.Team, models.VirtualKey, models.Budget]
)
def test_hot_models_have_no_private_attributes(model: type[models.BifrostModel]) -> None:
    assert model.__private_attributes__ == {}


def test_a_customer_read_on_its_own_is_whole() -> None:
    customer = models.CustomerEnvelope.model_validate_json(b'{"customer": ' + CUSTOMER + b"}").customer
    assert type(customer) is models.Customer
    assert customer.own_virtual_key_count == 0
    assert customer.has_budgets_loaded


def test_a_customer_inside_a_team_or_a_key_is_partial() -> None:
    team = models.Team.model_validate_json(b'{"id": "t", "name": "T", "customer": ' + CUSTOMER + b", " + STAMPS + b"}")
    key = models.VirtualKey.model_validate_json(
        b'{"id": "k", "name": "K", "customer": '
        + CUSTOMER
        + b', "team": {"id": "t", "name": "T", "customer": '
        + CUSTOMER
        + b", "
        + STAMPS
        + b"}, "
        + STAMPS
        + b"}"
    )
    assert key.team is not None
    for customer in (team.customer, key.customer, key.team.customer):
        assert isinstance(customer, models.EmbeddedCustomer)
        assert customer.own_virtual_key_count is None  # v2 serialises 0 there: not to be trusted
        assert not customer.has_budgets_loaded


def test_an_embedded_customer_stays_partial_through_copies_and_alignment() -> None:
    aligned = CUSTOMER.replace(
        b'"virtual_key_count": 0',
        b'"virtual_key_count": 0, "calendar_aligned": true, "budgets": [{"id": "b", "max_limit": 1,'
        b' "reset_duration": "1M", ' + STAMPS + b"}]",
    )
    team = models.Team.model_validate_json(b'{"id": "t", "name": "T", "customer": ' + aligned + b", " + STAMPS + b"}")
    customer = team.customer
    assert isinstance(customer, models.EmbeddedCustomer)
    assert customer.budgets is not None and customer.budgets[0].calendar_aligned  # the customer's alignment stamped
    copied = customer.model_copy(update={"budgets": []})
    assert isinstance(copied, models.EmbeddedCustomer) and copied.own_virtual_key_count is None
