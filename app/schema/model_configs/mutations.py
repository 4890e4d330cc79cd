"""createModelConfig, updateModelConfig and deleteModelConfig: checked first, each sent once (Bifrost v2)."""

from __future__ import annotations

import strawberry

from app.bifrost import BifrostBadRequest, BifrostConflict, BifrostHTTPError, BifrostNotFound
from app.bifrost.model_configs import create_model_config, delete_model_config, get_model_config, update_model_config
from app.generations import Feature
from app.schema.capabilities import missing_feature
from app.schema.checks import check_id, not_found, user_error_or_raise
from app.schema.context import Info
from app.schema.errors import UserError, UserErrorCode
from app.schema.model_configs.bodies import create_model_config_body, update_model_config_body
from app.schema.model_configs.inputs import CreateModelConfigInput, UpdateModelConfigInput
from app.schema.model_configs.types import ModelConfig
from app.schema.stale import Stale, makes_stale

__all__ = ["DeleteModelConfigPayload", "ModelConfigMutations", "ModelConfigPayload"]

_UNSUPPORTED = "Bifrost before v2: UNSUPPORTED_BY_UPSTREAM, nothing sent."


@strawberry.type(description="The model config as stored, or the reasons nothing changed.")
class ModelConfigPayload:
    model_config: ModelConfig | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The id of the deleted model config, or the reasons it was not deleted.")
class DeleteModelConfigPayload:
    deleted_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _user_error(error: BifrostHTTPError) -> UserError:
    """Bifrost's refusal of a model-config write, on the field it is about."""
    if isinstance(error, BifrostConflict):
        # The model already has a config for that provider and scope (Bifrost names them in its text).
        return UserError(field=["input", "modelName"], message=error.message, code=UserErrorCode.NAME_TAKEN)
    if isinstance(error, BifrostBadRequest) and error.message.startswith("Virtual key '"):
        return UserError(field=["input", "scopeId"], message=error.message, code=UserErrorCode.NOT_FOUND)
    user_error = user_error_or_raise(error)
    lowered = error.message.lower()
    for hint, field in (("rate limit", "rateLimits"), ("model name", "modelName"), ("scope", "scope")):
        if hint in lowered:
            user_error.field = ["input", field]
            break
    return user_error


@strawberry.type
class ModelConfigMutations:
    @strawberry.mutation(
        description="Create a model config (`POST /api/governance/model-configs`), sent exactly once. A model has at "
        f"most one config per provider and scope (else NAME_TAKEN on modelName). {_UNSUPPORTED}"
    )
    @staticmethod
    @makes_stale(Stale.KEY_MODEL_CONFIGS, written="model_config")
    async def create_model_config(info: Info, input: CreateModelConfigInput) -> ModelConfigPayload:
        errors = input.check()
        if errors:
            return ModelConfigPayload(user_errors=errors)
        bifrost = info.context.bifrost
        if (refusal := await missing_feature(bifrost, Feature.MODEL_CONFIGS)) is not None:
            return ModelConfigPayload(user_errors=[refusal])
        try:
            config = await create_model_config(bifrost, create_model_config_body(input))
        except BifrostHTTPError as error:
            return ModelConfigPayload(user_errors=[_user_error(error)])
        return ModelConfigPayload(model_config=config)  # type: ignore[arg-type]

    @strawberry.mutation(
        description="Change a model config (`PUT /api/governance/model-configs/{id}`), sent exactly once. Its scope "
        f"cannot change. {_UNSUPPORTED}"
    )
    @staticmethod
    @makes_stale(Stale.KEY_MODEL_CONFIGS, written="model_config")
    async def update_model_config(info: Info, id: strawberry.ID, input: UpdateModelConfigInput) -> ModelConfigPayload:
        errors = check_id(id, ["id"]) + input.check()
        if errors:
            return ModelConfigPayload(user_errors=errors)
        bifrost = info.context.bifrost
        if (refusal := await missing_feature(bifrost, Feature.MODEL_CONFIGS)) is not None:
            return ModelConfigPayload(user_errors=[refusal])
        try:
            if input.names_scope():
                current = await get_model_config(bifrost, id)
                errors = input.check_scope_kept(current.scope, current.scope_id)
                if errors:
                    return ModelConfigPayload(user_errors=errors)
            config = await update_model_config(bifrost, id, update_model_config_body(input))
        except BifrostNotFound:
            return ModelConfigPayload(user_errors=[not_found(["id"], "model config")])
        except BifrostHTTPError as error:
            return ModelConfigPayload(user_errors=[_user_error(error)])
        return ModelConfigPayload(model_config=config)  # type: ignore[arg-type]

    @strawberry.mutation(
        description="Delete a model config with its budgets and rate limits (`DELETE /api/governance/model-configs/"
        f"{{id}}`). {_UNSUPPORTED}"
    )
    @staticmethod
    @makes_stale(Stale.KEY_MODEL_CONFIGS, written="model_config")
    async def delete_model_config(info: Info, id: strawberry.ID) -> DeleteModelConfigPayload:
        errors = check_id(id, ["id"])
        if errors:
            return DeleteModelConfigPayload(user_errors=errors)
        context = info.context
        if (refusal := await missing_feature(context.bifrost, Feature.MODEL_CONFIGS)) is not None:
            return DeleteModelConfigPayload(user_errors=[refusal])
        try:
            await delete_model_config(context.bifrost, id)
        except BifrostNotFound:
            # A retry whose first attempt deleted it: the config is gone, as asked.
            if context.earlier_attempt_at is None:
                return DeleteModelConfigPayload(user_errors=[not_found(["id"], "model config")])
        except BifrostHTTPError as error:
            return DeleteModelConfigPayload(user_errors=[user_error_or_raise(error)])
        return DeleteModelConfigPayload(deleted_id=id)
