"""The filter of the root ``spend``: which requests of Bifrost's log count, each list checked before sending.

Bifrost reads each filter as a comma list and treats an empty one as no filter at all, so ``teamIds: []``
would silently select every team: an empty list is refused, as are values a comma list cannot carry.

Example:
    >>> SpendFilter(team_ids=["t1"], providers=["openai"]).filters()
    {'team_ids': ('t1',), 'providers': ('openai',)}
"""

from __future__ import annotations

import strawberry

from app.bifrost import is_valid_id
from app.schema.names import check_name
from app.schema.spend.window import bad_argument

__all__ = ["MAX_FILTER_VALUES", "SpendFilter"]

MAX_FILTER_VALUES = 100
"""Values per filter list at most (they travel in the query string of one call)."""


@strawberry.input(description="Which requests count: each list given keeps the requests matching one of its values.")
class SpendFilter:
    team_ids: list[strawberry.ID] | None = None
    customer_ids: list[strawberry.ID] | None = None
    virtual_key_ids: list[strawberry.ID] | None = None
    providers: list[str] | None = None
    models: list[str] | None = None

    def filters(self) -> dict[str, tuple[str, ...]]:
        """The analytics filters (``LogQuery`` fields), checked.

        Raises:
            GatewayError: BAD_USER_INPUT naming ``filter.<list>``.
        """
        found: dict[str, tuple[str, ...]] = {}
        lists = (
            ("teamIds", "team_ids", self.team_ids, True),
            ("customerIds", "customer_ids", self.customer_ids, True),
            ("virtualKeyIds", "virtual_key_ids", self.virtual_key_ids, True),
            ("providers", "providers", self.providers, False),
            ("models", "models", self.models, False),
        )
        for name, upstream, values, ids in lists:
            if values is None:
                continue
            argument = f"filter.{name}"
            if not values:
                message = f"{argument} must hold at least one value (leave it out to keep every one)"
                raise bad_argument(argument, message)
            if len(values) > MAX_FILTER_VALUES:
                raise bad_argument(argument, f"{argument} may hold at most {MAX_FILTER_VALUES} values")
            for value in values:
                _check(argument, value, ids)
            found[upstream] = tuple(dict.fromkeys(values))  # each value once, in the order given
        return found


def _check(argument: str, value: str, is_id: bool) -> None:
    if is_id:
        if not is_valid_id(value):
            raise bad_argument(argument, f"{argument} holds a value that is not a valid id")
        return
    problems = check_name(value, [argument], label=argument)
    if problems:
        raise bad_argument(argument, problems[0].message)
    if "," in value:
        # Bifrost splits its filters on commas: "a,b" would be read as two names.
        raise bad_argument(argument, f"{argument} values must not contain a comma")
