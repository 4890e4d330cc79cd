"""The embedded server's price table: USD per million prompt and completion tokens, per model.

Bifrost prices a request from its model catalog; the embedded server has a small table of its own, enough for
the demo keys and tests. A model the table does not know costs :data:`DEFAULT_PRICE`, so every successful
request is charged something and budgets always move.

Example:
    >>> price_of("openai", "gpt-4o-mini")
    Price(prompt=0.15, completion=0.6)
    >>> cost_of(price_of("openai", "gpt-4o-mini"), prompt_tokens=1_000_000, completion_tokens=0)
    0.15
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["DEFAULT_PRICE", "PRICES", "Price", "cost_of", "price_of"]


class Price(NamedTuple):
    """USD per million tokens.

    Attributes:
        prompt: The price of a million prompt (input) tokens.
        completion: The price of a million completion (output) tokens.
    """

    prompt: float
    completion: float


# By model name; a (provider, model) entry would win over the model's, none is needed yet.
PRICES: dict[str, Price] = {
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "claude-sonnet-4-5": Price(3.00, 15.00),
    "claude-haiku-4-5": Price(1.00, 5.00),
}

DEFAULT_PRICE = Price(1.00, 2.00)
"""What a model missing from :data:`PRICES` costs."""

_PER_TOKEN = 1_000_000


def price_of(provider: str, model: str) -> Price:
    """The price of a model (``provider`` is the part before ``/`` in the request's ``model``)."""
    return PRICES.get(model, DEFAULT_PRICE)


def cost_of(price: Price, prompt_tokens: int, completion_tokens: int) -> float:
    """The cost in USD of one request's tokens."""
    return (prompt_tokens * price.prompt + completion_tokens * price.completion) / _PER_TOKEN
