"""What each field of the schema costs: the price list behind ``app.schema.cost``.

The units (the README's "Query cost" section shows the same numbers):

- a scalar or enum costs nothing; each object the answer may hold costs ``OBJECT_COST``;
- a list multiplies the cost of one item by its size: a connection's ``edges`` and ``nodes`` by the
  field's ``first`` (its default when absent, at most ``MAX_PAGE_SIZE``), a list Bifrost does not page
  by the estimate in ``LIST_SIZES``;
- a field that may need an upstream call of its own adds ``UPSTREAM_CALL_COST`` (``RELATIONS``, which
  mirrors the loaders' call plan in ``app.schema.loaders`` and ``app.schema.relations``): once per parent
  object for a read by id (fields of one object served by the same read share it), once per place in
  the document for a list call that answers every parent at once;
- every root query field is an upstream call, every mutation ``MUTATION_COST``;
- a list sized by one of its arguments (``SIZED_BY``: ``_entities`` by its representations) holds that many
  items, and the references cost the reads by id a few of them take (more share pages of a list).

Example:
    >>> RELATIONS[("Customer", "teams")].source
    'GET /customers/{id}'
"""

from __future__ import annotations

from dataclasses import dataclass

from app.schema.loaders import KEYS_LIST_ALL_THRESHOLD
from app.schema.model_configs.loaders import KEY_CONFIGS_LIST_ALL_THRESHOLD
from app.schema.pagination import MAX_PAGE_SIZE
from app.schema.references import BY_ID_AT_MOST
from app.schema.rotation.inputs import MAX_ROTATE_IDS

__all__ = [
    "DEFAULT_LIST_SIZE",
    "LIST_SIZES",
    "MAX_PAGE_SIZE",
    "MUTATION_COST",
    "OBJECT_COST",
    "REFERENCE_LOOKUPS",
    "RELATIONS",
    "SIZED_BY",
    "SPEND_MODELS",
    "UPSTREAM_CALL_COST",
    "Relation",
    "list_size",
]

OBJECT_COST = 1
# An upstream call costs the gateway about as much CPU as completing ten objects, and costs Bifrost a query.
UPSTREAM_CALL_COST = 10
MUTATION_COST = 10


@dataclass(frozen=True, slots=True)
class Relation:
    """How a field that its parent's payload may not embed is loaded.

    Attributes:
        source: the upstream read that serves it; fields of one object with the same source share it.
        batched: one read answers every parent of a level (priced once per place in the document).
        calls: upstream calls that read may take.
    """

    source: str
    batched: bool = False
    calls: int = 1


# Embeds the customer's teams, keys, budget(s), rate limit and (v2) key count; a customer embedded in a team or a
# key lacks them, one read from a customer list or by id has them (then nothing is called).
_CUSTOMER = Relation("GET /customers/{id}")
_TEAM = Relation("GET /teams/{id}")  # a team embedded in a key lacks its budgets
_BUDGETS = Relation("GET /budgets", batched=True)
_RATE_LIMITS = Relation("GET /rate-limits", batched=True)
# A few teams' keys are filtered lists, one per team; more teams share one unfiltered list.
_TEAM_KEYS = Relation("GET /virtual-keys", batched=True, calls=KEYS_LIST_ALL_THRESHOLD)
# Bifrost's quota route answers one key per call (its value is the credential): no batch form exists.
_KEY_QUOTA = Relation("GET /virtual-keys/quota")
# One key's model configs are one filtered list; more keys share the list of every key-scoped config.
_KEY_MODEL_CONFIGS = Relation("GET /model-configs", batched=True, calls=KEY_CONFIGS_LIST_ALL_THRESHOLD)

# Spend (``app.schema.spend.loaders``): the series of a level of teams or customers come from one by-dimension
# call; their split by model from one call naming the models, then one per model (or one per owner, if fewer),
# priced at ``SPEND_MODELS`` models. A key is no dimension upstream: one call per key (``byModel`` included,
# though it is priced as for owners: the bucket type is shared).
SPEND_MODELS = 10
_OWNER_SPEND = Relation("GET /logs/histogram/cost/by-dimension", batched=True)
_KEY_SPEND = Relation("GET /logs/histogram/cost?virtual_key_ids={id}")
_SPEND_BY_MODEL = Relation("GET /logs/histogram/cost (models)", batched=True, calls=1 + SPEND_MODELS)

RELATIONS: dict[tuple[str, str], Relation] = {
    ("Team", "customer"): _CUSTOMER,
    ("Team", "budget"): _TEAM,
    ("Team", "budgets"): _TEAM,
    ("Team", "rateLimit"): _RATE_LIMITS,
    ("Team", "virtualKeys"): _TEAM_KEYS,
    ("Customer", "teams"): _CUSTOMER,
    ("Customer", "virtualKeys"): _CUSTOMER,
    ("Customer", "budget"): _CUSTOMER,
    ("Customer", "budgets"): _CUSTOMER,
    ("Customer", "budgetId"): _CUSTOMER,  # v2 has no budget_id: the first budget's id
    ("Customer", "virtualKeyCount"): _CUSTOMER,
    ("Customer", "rateLimit"): _CUSTOMER,
    ("VirtualKey", "team"): _TEAM,
    ("VirtualKey", "customer"): _CUSTOMER,
    ("VirtualKey", "budget"): _BUDGETS,
    ("VirtualKey", "budgets"): _BUDGETS,
    ("VirtualKey", "rateLimit"): _RATE_LIMITS,
    ("ProviderConfig", "budget"): _BUDGETS,
    ("ProviderConfig", "budgets"): _BUDGETS,
    ("ProviderConfig", "rateLimit"): _RATE_LIMITS,
    ("VirtualKey", "modelConfigs"): _KEY_MODEL_CONFIGS,
    ("VirtualKey", "usage"): _KEY_QUOTA,
    ("Team", "spend"): _OWNER_SPEND,
    ("Customer", "spend"): _OWNER_SPEND,
    ("VirtualKey", "spend"): _KEY_SPEND,
    ("SpendBucket", "byModel"): _SPEND_BY_MODEL,
}

# Lists whose size is the length of one of their arguments: the federation router's references.
SIZED_BY: dict[tuple[str, str], str] = {("Query", "_entities"): "representations"}
# Upstream calls that looking references up may take beside the root call: a few by id, else list pages.
REFERENCE_LOOKUPS = BY_ID_AT_MOST

# Lists Bifrost does not page: how many items one is priced at. Bifrost bounds none of them; these are
# generous for governance data (a team with more than ten keys is rare), and real sizes beyond them are
# caught at run time by the ceilings on upstream calls and response bytes.
DEFAULT_LIST_SIZE = 10
LIST_SIZES: dict[tuple[str, str], int] = {
    ("Query", "budgets"): 100,
    ("Query", "rateLimits"): 100,
    ("Customer", "teams"): 10,
    ("Customer", "virtualKeys"): 10,
    ("Team", "virtualKeys"): 10,
    ("Team", "budgets"): 3,
    ("VirtualKey", "budgets"): 3,
    ("VirtualKey", "providerConfigs"): 3,
    ("VirtualKey", "mcpConfigs"): 3,
    ("ProviderConfig", "budgets"): 3,
    ("ProviderConfig", "keys"): 3,
    ("Customer", "budgets"): 3,
    # Per-model budgets under a provider config are the exception (most configs have none): one model with a
    # couple of budgets keeps a dashboard that asks for them under the default cost limit.
    ("ProviderConfig", "modelBudgets"): 1,
    ("ModelBudget", "budgets"): 2,
    ("VirtualKey", "modelConfigs"): 5,
    ("ModelConfig", "budgets"): 3,
    ("ModelConfig", "rateLimits"): 3,
    ("Query", "providerGovernance"): 20,
    ("ProviderGovernance", "budgets"): 3,
    ("RotateVirtualKeysPayload", "virtualKeys"): MAX_ROTATE_IDS,  # as many keys as ids, at most
    # Bifrost sizes buckets by the range: a day by the hour, a month by the day (a couple of hours by the minute
    # makes up to 120, caught at run time by the ceiling on response bytes).
    ("SpendSeries", "buckets"): 31,
    ("SpendBucket", "byModel"): 5,
    ("SpendBreakdown", "buckets"): 31,
    ("SpendBreakdown", "groups"): 20,
    ("SpendGroup", "buckets"): 31,
    ("*", "userErrors"): 5,
    # A key's quota: its own budgets and configs (as a key's), usage per model (a key uses a handful).
    ("KeyUsage", "budgets"): 3,
    ("MyVirtualKey", "budgets"): 3,
    ("MyVirtualKey", "providerConfigs"): 3,
    ("MyVirtualKey", "modelConfigs"): 5,
    ("KeyProviderConfig", "budgets"): 3,
    ("KeyModelConfig", "budgets"): 3,
    ("KeyBudget", "perModelUsage"): 5,
    # A push of budgetUsage: a few counters per watched owner (its budgets, its rate limit, a key's provider configs).
    ("BudgetUsageUpdate", "counters"): 20,
}


def list_size(type_name: str, field_name: str) -> int:
    """The size an unpaged list of ``type_name.field_name`` is priced at."""
    return LIST_SIZES.get((type_name, field_name)) or LIST_SIZES.get(("*", field_name)) or DEFAULT_LIST_SIZE
