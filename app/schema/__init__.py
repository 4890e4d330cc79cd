"""The GraphQL schema (Strawberry), one package per governance domain.

Every domain package (``teams/``, ``customers/``, ``virtual_keys/``, ``budgets/``, ``rate_limits/``,
``model_configs/``, ``provider_governance/``, ``overrides/``, ``rotation/``, and each new one) is laid out the
same way; a package has only the files its domain needs:

* ``types.py``: the GraphQL types, read straight from the upstream models (``app/bifrost/models.py``, or the
  domain's own module in ``app/bifrost/``);
* ``inputs.py``: the create and update inputs (and delete's), each with ``check()``, the validation that needs
  no upstream;
* ``bodies.py``: ``create_<domain>_body`` and ``update_<domain>_body``, input to upstream JSON in the shape
  the upstream's generation understands;
* ``mutations.py``: the create, update and delete resolvers and their payloads, each declaring what its write
  makes stale (``stale.py``);
* ``queries.py`` and ``loaders.py``: a newer domain's root query fields and DataLoaders (teams, customers and
  keys have theirs in ``lookups.py``, ``lists.py`` and ``loaders.py``, which the others share).

Beside the packages, shared by every domain:

* ``checks.py``: every check and userError a mutation shares (ids, names in use, referenced owners, upstream
  refusals), and where the other kinds of check live;
* ``capabilities.py``: what the upstream's generation can do, as the schema asks it;
* ``changes.py``: what a field of an update input says (left out, ``null``, a new value);
* ``stale.py``: what a write makes stale in the request's loaders, cleared in one place;
* ``loaders.py``: the per-request DataLoaders; ``relations.py``: fields that follow a relation through them;
* ``lookups.py`` and ``lists.py``: the root query fields; ``schema.py``: the root types assembled.

Adding a field to Team touches four files: ``app/bifrost/models.py`` (the upstream model), ``teams/types.py``
(the GraphQL field), ``teams/inputs.py`` (the input field and its check) and ``teams/bodies.py`` (what goes
upstream).
"""

from app.schema.schema import GatewaySchema, build_schema

__all__ = ["GatewaySchema", "build_schema"]
