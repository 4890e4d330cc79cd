"""``spend(from, to)`` on teams, customers and virtual keys: checked, then loaded in batches.

The field answers null before Bifrost v2 (no analytics endpoints), with nothing sent. Whether the selection
asks for ``byModel`` decides the call plan (``app.schema.spend.loaders``): the split by model costs more calls
for teams and customers, so it is read only when asked for.
"""

from __future__ import annotations

from datetime import datetime

from strawberry.types.nodes import SelectedField, Selection

from app.bifrost import is_valid_id
from app.generations import Feature
from app.schema.capabilities import lacks
from app.schema.context import Info
from app.schema.spend.loaders import OwnerKind
from app.schema.spend.types import SpendSeries
from app.schema.spend.window import SpendWindow

__all__ = ["SPEND_DESCRIPTION", "asks_for_models", "owner_spend"]

SPEND_DESCRIPTION = (
    "Spend between `from` and `to` (both included, RFC 3339 with an offset, at most 366 days apart) from "
    "Bifrost's request log, in Bifrost's time buckets. Bifrost v2; null on older versions."
)


async def owner_spend(kind: OwnerKind, owner_id: str, info: Info, start: datetime, end: datetime) -> SpendSeries | None:
    """The spend series of one owner; batched with every other owner of the same level and range."""
    window = SpendWindow.of(start, end)
    bifrost = info.context.bifrost
    # An id Bifrost answered goes into a comma list: one that is no id (a lying upstream's "a,b") would widen it.
    if not is_valid_id(owner_id) or await lacks(bifrost, Feature.ANALYTICS):
        return None
    by_model = asks_for_models(info.selected_fields)
    return await info.context.loaders.spend.series(kind, window, by_model=by_model).load(owner_id)


def asks_for_models(selections: list[Selection]) -> bool:
    """Whether a ``spend`` selection reaches ``buckets { byModel }`` (through fragments too; directives are not
    evaluated, so a skipped ``byModel`` still counts: more calls, never a wrong answer)."""
    return any(
        part.name == "byModel"
        for spend in _fields(selections)
        for buckets in _fields(spend.selections)
        if buckets.name == "buckets"
        for part in _fields(buckets.selections)
    )


def _fields(selections: list[Selection]) -> list[SelectedField]:
    found: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            found.append(selection)
        else:
            found.extend(_fields(selection.selections))
    return found
