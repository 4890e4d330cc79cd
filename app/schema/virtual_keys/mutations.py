"""Virtual-key mutations: validated locally, forwarded to Bifrost exactly once, never retried.

updateVirtualKey never detaches a key by omission: unless the input names teamId or customerId, the key's
current owner is read and sent again (Bifrost v1.5 clears both when a PUT names neither).
"""

from __future__ import annotations

import strawberry

from app.bifrost import BifrostBadRequest, BifrostHTTPError, BifrostServerError, BifrostSession
from app.schema.changes import list_change
from app.schema.checks import (
    check_owner_exists,
    delete_entity,
    name_taken,
    not_found,
    taken_name,
    user_error_or_raise,
)
from app.schema.context import Info
from app.schema.errors import UserError, UserErrorCode
from app.schema.read_back import existing_virtual_key
from app.schema.stale import Stale, makes_stale
from app.schema.upstream_errors import is_taken_key_name, is_unknown_mcp_client
from app.schema.virtual_keys.bodies import (
    create_virtual_key_body,
    needs_current_key,
    owner_fields,
    update_virtual_key_body,
)
from app.schema.virtual_keys.inputs import (
    CreateVirtualKeyInput,
    DeleteVirtualKeyInput,
    MCPConfigInput,
    ProviderConfigInput,
    UpdateVirtualKeyInput,
)
from app.schema.virtual_keys.merge import check_config_ids
from app.schema.virtual_keys.types import VirtualKey

__all__ = ["CreateVirtualKeyPayload", "DeleteVirtualKeyPayload", "UpdateVirtualKeyPayload", "VirtualKeyMutations"]

_INVALID_PROVIDER = "invalid provider name: "


@strawberry.type(description="The created virtual key, or the reasons it was not created.")
class CreateVirtualKeyPayload:
    virtual_key: VirtualKey | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The updated virtual key, or the reasons it was not updated.")
class UpdateVirtualKeyPayload:
    virtual_key: VirtualKey | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The id of the deleted virtual key, or the reasons it was not deleted.")
class DeleteVirtualKeyPayload:
    deleted_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _user_error(error: BifrostHTTPError, configs: list[ProviderConfigInput] | None) -> UserError:
    """Like ``user_error_or_raise``, but an unknown provider points at the config that names it."""
    if isinstance(error, BifrostBadRequest) and error.message.startswith(_INVALID_PROVIDER):
        provider = error.message.removeprefix(_INVALID_PROVIDER)
        index = next((i for i, config in enumerate(configs or []) if config.provider == provider), None)
        field = ["input", "providerConfigs"] + ([str(index), "provider"] if index is not None else [])
        return UserError(field=field, message=error.message, code=UserErrorCode.INVALID_INPUT)
    return user_error_or_raise(error)


def _unknown_mcp_client(configs: list[MCPConfigInput] | None) -> UserError:
    # Bifrost's text does not say which client it could not find; with one config there is no doubt.
    field = ["input", "mcpConfigs"] + (["0", "mcpClientName"] if len(configs or []) == 1 else [])
    return UserError(
        field=field, message="an MCP client named in mcpConfigs does not exist", code=UserErrorCode.INVALID_INPUT
    )


async def _caller_mistake(
    bifrost: BifrostSession,
    error: BifrostServerError,
    name: str | None,
    configs: list[MCPConfigInput] | None,
    key_id: str | None = None,
) -> UserError | None:
    """The userError behind a 500 of a key write, or None when it is a failure of Bifrost."""
    if is_unknown_mcp_client(error):
        return _unknown_mcp_client(configs)
    if name is not None and is_taken_key_name(error):
        return name_taken("virtual key")
    # Another database may word a taken name differently: a read tells the two apart.
    return await taken_name(bifrost, "virtual key", name, other_than=key_id)


# Teams count their keys, customers list theirs, and a write may move a key between owners.
_KEY_CHANGED = Stale.TEAMS | Stale.CUSTOMERS | Stale.TEAM_KEYS | Stale.BUDGETS | Stale.RATE_LIMITS


@strawberry.type
class VirtualKeyMutations:
    @strawberry.mutation(description="Create a virtual key (`POST /api/governance/virtual-keys`), sent exactly once.")
    @staticmethod
    @makes_stale(_KEY_CHANGED, written="virtual_key")
    async def create_virtual_key(info: Info, input: CreateVirtualKeyInput) -> CreateVirtualKeyPayload:
        errors = input.check()
        if errors:
            return CreateVirtualKeyPayload(user_errors=errors)
        errors = await check_owner_exists(info, team_id=input.team_id, customer_id=input.customer_id)
        if errors:
            return CreateVirtualKeyPayload(user_errors=errors)
        context = info.context
        body, errors = create_virtual_key_body(input, await context.bifrost.api_generation())
        if errors:
            return CreateVirtualKeyPayload(user_errors=errors)
        if context.earlier_attempt_at is not None and (
            existing := await existing_virtual_key(context.bifrost, input.name)
        ):
            return CreateVirtualKeyPayload(virtual_key=existing)  # type: ignore[arg-type]
        try:
            key = await context.bifrost.create_virtual_key(body)
        except BifrostServerError as error:
            # Bifrost answers a taken name and an unknown MCP client with a 500.
            mistake = await _caller_mistake(context.bifrost, error, input.name, input.mcp_configs)
            if mistake is None:
                raise
            return CreateVirtualKeyPayload(user_errors=[mistake])
        except BifrostHTTPError as error:
            return CreateVirtualKeyPayload(user_errors=[_user_error(error, input.provider_configs)])
        context.created_keys.add(key.id)  # Bifrost shows a new key's value to whoever created it
        return CreateVirtualKeyPayload(virtual_key=key)  # type: ignore[arg-type]

    @strawberry.mutation(
        description="Change a virtual key (`PUT /api/governance/virtual-keys/{id}`), sent exactly once. The key "
        "keeps its team or customer unless the input names teamId or customerId."
    )
    @staticmethod
    @makes_stale(_KEY_CHANGED, written="virtual_key")
    async def update_virtual_key(info: Info, input: UpdateVirtualKeyInput) -> UpdateVirtualKeyPayload:
        errors = input.check()
        if errors:
            return UpdateVirtualKeyPayload(user_errors=errors)
        errors = await check_owner_exists(
            info,
            team_id=input.team_id.value if input.team_id is not None else None,
            customer_id=input.customer_id.value if input.customer_id is not None else None,
        )
        if errors:
            return UpdateVirtualKeyPayload(user_errors=errors)
        context = info.context
        configs = list_change(input.provider_configs)
        generation = await context.bifrost.api_generation()
        presence_aware = generation is not None and generation.owners == "presence_aware"
        current = None
        if needs_current_key(input, presence_aware=presence_aware):
            current = await context.loaders.virtual_key.load(input.id)
            if current is None:
                return UpdateVirtualKeyPayload(user_errors=[not_found(["input", "id"], "virtual key")])
            errors = check_config_ids(configs or [], current.provider_configs)
            if errors:
                return UpdateVirtualKeyPayload(user_errors=errors)
        owner = owner_fields(input, current, presence_aware=presence_aware)
        body, errors = update_virtual_key_body(input, generation, owner, current)
        if errors:
            return UpdateVirtualKeyPayload(user_errors=errors)
        try:
            key = await context.bifrost.update_virtual_key(input.id, body)
        except BifrostServerError as error:
            name = input.name.value if input.name is not None else None
            mcp_configs = list_change(input.mcp_configs)
            mistake = await _caller_mistake(context.bifrost, error, name, mcp_configs, input.id)
            if mistake is None:
                raise
            return UpdateVirtualKeyPayload(user_errors=[mistake])
        except BifrostHTTPError as error:
            return UpdateVirtualKeyPayload(user_errors=[_user_error(error, configs)])
        return UpdateVirtualKeyPayload(virtual_key=key)  # type: ignore[arg-type]

    @strawberry.mutation(
        description="Delete a virtual key (`DELETE /api/governance/virtual-keys/{id}`) with its configs, "
        "budgets and rate limit."
    )
    @staticmethod
    @makes_stale(_KEY_CHANGED, written="virtual_key")
    async def delete_virtual_key(info: Info, input: DeleteVirtualKeyInput) -> DeleteVirtualKeyPayload:
        deleted, errors = await delete_entity(
            input.id,
            info.context.bifrost.delete_virtual_key,
            retried=info.context.earlier_attempt_at is not None,
        )
        return DeleteVirtualKeyPayload(deleted_id=deleted, user_errors=errors)
