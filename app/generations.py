"""The generations of Bifrost's governance API, each one object of capabilities.

Both sides read these objects: the gateway (which bodies to send, which fields and mutations the upstream
has) and the embedded Bifrost-compatible server (which shapes and messages to answer). Nothing else in the
code compares generation names: a branch asks a capability (``generation.customer_budgets == "array"``,
``Feature.KEY_ROTATION in generation.features``). Adding a generation is one new object in ``GENERATIONS``
plus its tests.

* ``seed`` (the January 2026 contract, Bifrost before v1.5): one ``budget`` per owner, rate limits patched
  field by field, key checks inside the transaction (500).
* ``v1.5`` (alias ``current``, CONTRACT.md): ``budgets`` arrays on teams, keys and provider configs, team and
  customer rate limits, a key update naming neither owner detaches the key.
* ``v2`` (CONTRACT-v2.md, Bifrost v2.0.0 of 2026-08-26 onwards): customers with ``budgets`` arrays,
  presence-aware owners, duplicate names refused with 409 at create, key expiry and rotation, budget
  overrides, model configs, provider governance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Literal

__all__ = [
    "GENERATIONS",
    "SEED",
    "V1_5",
    "V2",
    "DuplicateNames",
    "Feature",
    "Generation",
    "generation_named",
    "generation_of_version",
]


class Feature(Enum):
    """Something a generation has that an older one lacks (fields, inputs, endpoints)."""

    OWNER_RATE_LIMITS = "owner_rate_limits"  # teams and customers have rate limits
    TEAM_VIRTUAL_KEY_COUNT = "team_virtual_key_count"  # teams carry ``virtual_key_count``
    CUSTOMER_VIRTUAL_KEY_COUNT = "customer_virtual_key_count"  # customers carry ``virtual_key_count``
    CALENDAR_ALIGNED = "calendar_aligned"  # owners take and answer ``calendar_aligned``
    KEY_EXPIRY = "key_expiry"  # keys take and answer ``expires_at``
    KEY_ROTATION = "key_rotation"  # POST .../virtual-keys/{id}/rotate and the bulk form
    ALLOW_ALL_PROVIDERS = "allow_all_providers"  # keys answer ``allow_all_providers``
    RESET_BUDGET_USAGE = "reset_budget_usage"  # key updates take ``reset_budget_usage``
    BLACKLISTED_MODELS = "blacklisted_models"  # provider configs take ``blacklisted_models``
    ALLOW_ALL_KEYS = "allow_all_keys"  # provider configs answer ``allow_all_keys`` (``key_ids: ["*"]``)
    MODEL_BUDGETS = "model_budgets"  # provider configs answer ``model_budgets``
    BUDGET_OVERRIDES = "budget_overrides"  # PUT/DELETE .../budgets/{id}/override, ``override_*`` fields
    RATE_LIMIT_METRIC = "rate_limit_metric"  # rate limits answer ``metric`` (model-config rules)
    MODEL_CONFIGS = "model_configs"  # /api/governance/model-configs
    PROVIDER_GOVERNANCE = "provider_governance"  # /api/governance/providers
    KEY_QUOTA = "key_quota"  # GET /api/governance/virtual-keys/quota
    ANALYTICS = "analytics"  # GET /api/logs/stats, /histogram/cost[/by-dimension], /rankings[/by-dimension]
    DEPRECATED_ALIASES = "deprecated_aliases"  # /api/teams... answer as /api/governance/teams..., with Deprecation
    BUDGET_OWNER_IDS = "budget_owner_ids"  # budgets answer their owner's id (``team_id``, ``virtual_key_id``...)
    MCP_CLIENT_IDS = "mcp_client_ids"  # MCP configs answer ``mcp_client_id`` and an ``mcp_client`` object
    MCP_CLIENT_NAME_INPUT_ONLY = "mcp_client_name_input_only"  # MCP configs no longer answer ``mcp_client_name``
    VERSION_NEEDS_AUTH = "version_needs_auth"  # with auth on, ``GET /api/version`` needs credentials (401)
    UNPAGED_LIST_TOTALS = "unpaged_list_totals"  # unpaged team, customer and key lists answer total_count...
    BUDGET_IDS = "budget_ids"  # key, provider-config and customer budgets matched by ``id`` (teams': by duration)
    KEY_LIST_PAGING = "key_list_paging"  # the key list always answers paging fields; filters turn paging on
    KEY_VALUE_LAST = "key_value_last"  # keys write ``value`` last and answer ``assigned_user`` (null without users)
    INFERENCE = "inference"  # POST /v1/chat/completions, governed by virtual keys (the embedded server's mock provider)


@dataclass(frozen=True, slots=True)
class DuplicateNames:
    """How a generation answers a name already taken (``None``: the name is not unique there).

    Attributes:
        team_create: Status of a team create with a taken name.
        team_update: Status of a team rename to a taken name.
        customer_create: Status of a customer create with a taken name (None: duplicates are stored).
        customer_update: Status of a customer rename to a taken name (None: duplicates are stored).
        key_create: Status of a virtual key create with a taken name.
        key_update: Status of a virtual key rename to a taken name.
    """

    team_create: int
    team_update: int
    customer_create: int | None
    customer_update: int | None
    key_create: int
    key_update: int


@dataclass(frozen=True, slots=True)
class Generation:
    """What one generation of the governance API looks like on the wire.

    Attributes:
        name: The canonical name (``seed``, ``v1.5``, ``v2``), used in settings and on the command line.
        aliases: Other names accepted for it (``current`` for v1.5, the name of earlier releases).
        since: The first Bifrost ``(major, minor)`` of the generation.
        version: What an embedded server of this generation answers on ``GET /api/version``.
        owner_budgets: ``single`` (one ``budget`` per team, key and provider config) or ``array`` (``budgets``).
        customer_budgets: The same for customers (a single ``budget`` until v2).
        rate_limit_update: ``patch`` (only the fields sent change; none can be removed) or ``replace`` (all
            four fields are overwritten; both max limits null removes it).
        key_checks_status: The status of a key body that fails Bifrost's up-front checks (the seed generation
            validates inside its transaction and answers 500).
        owners: How a key update reads ``team_id``/``customer_id``: ``absent_detaches`` (v1.5: naming neither
            clears both) or ``presence_aware`` (v2: leaving both out keeps them, ``null`` or ``""`` detaches).
        empty_allowed_models: What ``allowed_models: []`` on a provider config means: ``all`` or ``none``.
        no_provider_configs: What a key without provider configs may reach: ``all`` providers or ``none``.
        duplicate_names: How a taken name is answered.
        features: What this generation has beyond the seed.
        provider_weight_default: The ``weight`` stored for a provider config sent without one.
        rate_limit_problem_prefix: What the message of a refused rate limit starts with.
        bad_duration_wording: How a refused reset duration is described (``invalid reset duration <this>: X``).
        owner_rate_limit_update_status: The status of an invalid rate limit in a team or customer update.
    """

    name: str
    aliases: tuple[str, ...]
    since: tuple[int, int]
    version: str
    owner_budgets: Literal["single", "array"]
    customer_budgets: Literal["single", "array"]
    rate_limit_update: Literal["patch", "replace"]
    key_checks_status: int
    owners: Literal["absent_detaches", "presence_aware"]
    empty_allowed_models: Literal["all", "none"]
    no_provider_configs: Literal["all", "none"]
    duplicate_names: DuplicateNames
    features: frozenset[Feature]
    provider_weight_default: float | None  # seed stores 0.0, later generations leave it null
    rate_limit_problem_prefix: str  # "" (seed) or "Invalid rate limit: "
    bad_duration_wording: str  # "format" until v2, then "(must be a positive duration)"
    owner_rate_limit_update_status: int  # 400 checked up front; v2 checks inside its transaction: 500

    def has(self, feature: Feature) -> bool:
        """Whether this generation has ``feature``."""
        return feature in self.features

    def __str__(self) -> str:
        return self.name


SEED = Generation(
    name="seed",
    aliases=(),
    since=(0, 0),
    version="v1.4.0",
    owner_budgets="single",
    customer_budgets="single",
    rate_limit_update="patch",
    key_checks_status=500,
    owners="absent_detaches",
    empty_allowed_models="all",
    no_provider_configs="all",
    duplicate_names=DuplicateNames(
        team_create=500, team_update=500, customer_create=None, customer_update=None, key_create=500, key_update=500
    ),
    features=frozenset(),
    provider_weight_default=0.0,
    rate_limit_problem_prefix="",
    bad_duration_wording="format",
    owner_rate_limit_update_status=400,
)

V1_5 = Generation(
    name="v1.5",
    aliases=("current",),
    since=(1, 5),
    version="v1.5.2",
    owner_budgets="array",
    customer_budgets="single",
    rate_limit_update="replace",
    key_checks_status=400,
    owners="absent_detaches",
    empty_allowed_models="all",
    no_provider_configs="all",
    duplicate_names=DuplicateNames(
        team_create=409, team_update=500, customer_create=None, customer_update=None, key_create=500, key_update=500
    ),
    features=frozenset(
        {Feature.OWNER_RATE_LIMITS, Feature.TEAM_VIRTUAL_KEY_COUNT, Feature.BUDGET_OWNER_IDS, Feature.MCP_CLIENT_IDS}
    ),
    provider_weight_default=None,
    rate_limit_problem_prefix="Invalid rate limit: ",
    bad_duration_wording="format",
    owner_rate_limit_update_status=400,
)

V2 = Generation(
    name="v2",
    aliases=(),
    since=(2, 0),
    version="v2.2.5",
    owner_budgets="array",
    customer_budgets="array",
    rate_limit_update="replace",
    key_checks_status=400,
    owners="presence_aware",
    empty_allowed_models="none",
    no_provider_configs="none",
    duplicate_names=DuplicateNames(
        team_create=409, team_update=500, customer_create=409, customer_update=500, key_create=409, key_update=409
    ),
    features=V1_5.features
    | {
        Feature.CUSTOMER_VIRTUAL_KEY_COUNT,
        Feature.CALENDAR_ALIGNED,
        Feature.KEY_EXPIRY,
        Feature.KEY_ROTATION,
        Feature.ALLOW_ALL_PROVIDERS,
        Feature.RESET_BUDGET_USAGE,
        Feature.BLACKLISTED_MODELS,
        Feature.ALLOW_ALL_KEYS,
        Feature.MODEL_BUDGETS,
        Feature.BUDGET_OVERRIDES,
        Feature.RATE_LIMIT_METRIC,
        Feature.MODEL_CONFIGS,
        Feature.PROVIDER_GOVERNANCE,
        Feature.KEY_QUOTA,
        Feature.ANALYTICS,
        Feature.DEPRECATED_ALIASES,
        Feature.MCP_CLIENT_NAME_INPUT_ONLY,
        Feature.VERSION_NEEDS_AUTH,
        Feature.UNPAGED_LIST_TOTALS,
        Feature.BUDGET_IDS,
        Feature.KEY_LIST_PAGING,
        Feature.KEY_VALUE_LAST,
        Feature.INFERENCE,
    },
    provider_weight_default=None,
    rate_limit_problem_prefix="Invalid rate limit: ",
    bad_duration_wording="(must be a positive duration)",
    owner_rate_limit_update_status=500,
)

GENERATIONS: tuple[Generation, ...] = (SEED, V1_5, V2)  # oldest first
"""Every generation the gateway and the embedded server speak."""

_BY_NAME = {name: generation for generation in GENERATIONS for name in (generation.name, *generation.aliases)}
_VERSION = re.compile(r"v?(\d+)\.(\d+)")


def generation_named(name: str) -> Generation:
    """The generation called ``name`` (or one of its aliases).

    Raises:
        ValueError: No generation has that name; the message lists the names there are.

    Example:
        >>> generation_named("current") is V1_5, generation_named("v2").name
        (True, 'v2')
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        names = ", ".join(repr(known) for known in _BY_NAME)
        raise ValueError(f"unknown Bifrost API generation {name!r}; expected one of {names}") from None


def generation_of_version(version: str) -> Generation | None:
    """The generation of a Bifrost version string (``"v2.2.5"``, ``"1.5.2"``), None when it is not a version.

    Example:
        >>> [str(generation_of_version(v)) for v in ("v1.4.0", "v1.5.2", "v2.2.5", "3.0.0", "dev")]
        ['seed', 'v1.5', 'v2', 'v2', 'None']
    """
    match = _VERSION.match(version.strip())
    if match is None:
        return None
    release = (int(match.group(1)), int(match.group(2)))
    found = None
    for generation in GENERATIONS:
        if release >= generation.since:
            found = generation
    return found
