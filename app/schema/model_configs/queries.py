"""modelConfigs (a connection with scope filters) and modelConfig(id)."""

from __future__ import annotations

import strawberry

from app.bifrost import BifrostNotFound, is_valid_id
from app.bifrost.model_configs import get_model_config, list_model_configs
from app.generations import Feature
from app.schema.capabilities import lacks
from app.schema.context import Info
from app.schema.errors import GatewayError, GatewayErrorCode
from app.schema.model_configs.types import ModelConfig, ModelConfigScope
from app.schema.names import MAX_NAME_LENGTH, check_name
from app.schema.pagination import Connection, connection_of, page_window

__all__ = ["MAX_SEARCH_LENGTH", "ModelConfigQueries"]

MAX_SEARCH_LENGTH = MAX_NAME_LENGTH


def _bad(argument: str, message: str) -> GatewayError:
    return GatewayError(message, GatewayErrorCode.BAD_USER_INPUT, argument=argument)


@strawberry.type
class ModelConfigQueries:
    @strawberry.field(
        description="Model configs, filtered by scope, scope id (a key's or user's id), provider and a search of model "
        "names (`GET /api/governance/model-configs`). Bifrost before v2 has none: the connection is empty."
    )
    @staticmethod
    async def model_configs(
        info: Info,
        first: int | None = 25,
        after: str | None = None,
        scope: ModelConfigScope | None = None,
        scope_id: strawberry.ID | None = None,
        provider: str | None = None,
        search: str | None = None,
    ) -> Connection[ModelConfig]:
        window = page_window(first, after)
        params: dict[str, str | int] = dict(window.params)
        if scope is not None:
            params["scope"] = scope.value
        if scope_id is not None:
            if not is_valid_id(scope_id):
                raise _bad("scopeId", "scopeId is not a valid id")
            params["scope_id"] = scope_id
        for name, value in (("provider", provider), ("search", search)):
            if value is not None:
                # Both filter on names, so they follow the names' rule: a NUL is a 500 from a Postgres-backed
                # Bifrost, and a value no name can hold could only ever match nothing.
                problems = check_name(value, [name]) if value else []
                if problems:
                    raise _bad(name, problems[0].message)
                params[name] = value
        if await lacks(info.context.bifrost, Feature.MODEL_CONFIGS):
            return connection_of([], window, 0)
        page = await list_model_configs(info.context.bifrost, params)
        return connection_of(page.model_configs or [], window, page.total_count)  # type: ignore[arg-type]

    @strawberry.field(description="A model config by id; null when it does not exist (and always before Bifrost v2).")
    @staticmethod
    async def model_config(info: Info, id: strawberry.ID) -> ModelConfig | None:
        if not is_valid_id(id) or await lacks(info.context.bifrost, Feature.MODEL_CONFIGS):
            return None
        try:
            return await get_model_config(info.context.bifrost, id)  # type: ignore[return-value]
        except BifrostNotFound:
            return None
