"""setProviderGovernance and deleteProviderGovernance: checked first, each sent once (Bifrost v2)."""

from __future__ import annotations

import strawberry

from app.bifrost import BifrostHTTPError, BifrostNotFound, is_valid_id
from app.bifrost.provider_governance import delete_provider_governance, set_provider_governance
from app.generations import Feature
from app.schema.capabilities import missing_feature
from app.schema.checks import invalid, user_error_or_raise
from app.schema.context import Info
from app.schema.errors import UserError, UserErrorCode
from app.schema.provider_governance.bodies import provider_governance_body
from app.schema.provider_governance.inputs import ProviderGovernanceInput
from app.schema.provider_governance.types import ProviderGovernance

__all__ = ["DeleteProviderGovernancePayload", "ProviderGovernanceMutations", "ProviderGovernancePayload"]


@strawberry.type(description="The provider's governance as stored, or the reasons nothing changed.")
class ProviderGovernancePayload:
    provider_governance: ProviderGovernance | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The provider whose governance was removed, or the reasons nothing changed.")
class DeleteProviderGovernancePayload:
    provider: str | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _check_provider(provider: str) -> list[UserError]:
    # The name goes into the upstream path, which Bifrost URL-unescapes: only a plain provider name may pass.
    if is_valid_id(provider):
        return []
    return [invalid(["provider"], "provider must be a provider name (letters, digits, '-' and '_')")]


def _provider_not_found(error: BifrostNotFound) -> UserError:
    return UserError(field=["provider"], message=error.message, code=UserErrorCode.NOT_FOUND)


@strawberry.type
class ProviderGovernanceMutations:
    @strawberry.mutation(
        description="Set a provider's budgets and rate limit (`PUT /api/governance/providers/{provider}`), sent "
        "exactly once. The provider must be one Bifrost has configured (else NOT_FOUND). Bifrost before v2: "
        "UNSUPPORTED_BY_UPSTREAM, nothing sent."
    )
    @staticmethod
    async def set_provider_governance(
        info: Info, provider: str, input: ProviderGovernanceInput
    ) -> ProviderGovernancePayload:
        errors = _check_provider(provider) + input.check()
        if errors:
            return ProviderGovernancePayload(user_errors=errors)
        bifrost = info.context.bifrost
        if (refusal := await missing_feature(bifrost, Feature.PROVIDER_GOVERNANCE)) is not None:
            return ProviderGovernancePayload(user_errors=[refusal])
        try:
            governance = await set_provider_governance(bifrost, provider, provider_governance_body(input))
        except BifrostNotFound as error:
            return ProviderGovernancePayload(user_errors=[_provider_not_found(error)])
        except BifrostHTTPError as error:
            return ProviderGovernancePayload(user_errors=[user_error_or_raise(error)])
        return ProviderGovernancePayload(provider_governance=governance)  # type: ignore[arg-type]

    @strawberry.mutation(
        description="Remove a provider's budgets and rate limit (`DELETE /api/governance/providers/{provider}`); a "
        "provider without any answers the same. Bifrost before v2: UNSUPPORTED_BY_UPSTREAM, nothing sent."
    )
    @staticmethod
    async def delete_provider_governance(info: Info, provider: str) -> DeleteProviderGovernancePayload:
        errors = _check_provider(provider)
        if errors:
            return DeleteProviderGovernancePayload(user_errors=errors)
        bifrost = info.context.bifrost
        if (refusal := await missing_feature(bifrost, Feature.PROVIDER_GOVERNANCE)) is not None:
            return DeleteProviderGovernancePayload(user_errors=[refusal])
        try:
            await delete_provider_governance(bifrost, provider)
        except BifrostNotFound as error:
            return DeleteProviderGovernancePayload(user_errors=[_provider_not_found(error)])
        except BifrostHTTPError as error:
            return DeleteProviderGovernancePayload(user_errors=[user_error_or_raise(error)])
        return DeleteProviderGovernancePayload(provider=provider)
