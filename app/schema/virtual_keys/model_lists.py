"""Which models a provider config allows, in the words of the upstream's generation.

Before Bifrost v2 an empty ``allowed_models`` allows every model; from v2 on it allows none (deny by default,
``empty_allowed_models == "none"``), and ``["*"]`` is how to allow all. An empty list is therefore ambiguous
in a client's hands: on v2 the gateway refuses ``allowedModels: []`` unless ``denyAllModels: true`` says the
denial is meant, and while the generation is unknown it refuses ``[]`` either way. ``blacklistedModels`` (v2)
blocks models whatever ``allowedModels`` says.
"""

from __future__ import annotations

from typing import Any

from strawberry import Some

from app.generations import Feature, Generation
from app.schema.capabilities import feature_field
from app.schema.checks import invalid, unsupported
from app.schema.errors import UserError
from app.schema.virtual_keys.inputs import ProviderConfigInput

__all__ = ["model_fields"]

_EMPTY_DENIES = (
    'an empty allowedModels denies every model on this Bifrost version: send ["*"] to allow all, '
    "or denyAllModels: true to deny all"
)
_UNKNOWN = (
    "an empty allowedModels allows every model before Bifrost v2 and none from v2 on, and the upstream's version "
    'is not known yet: send ["*"] or name the models'
)


def model_fields(
    config: ProviderConfigInput, generation: Generation | None, path: list[str]
) -> tuple[dict[str, Any], list[UserError]]:
    """``allowed_models`` and ``blacklisted_models`` of one provider config entry (only those it gives).

    Example:
        >>> from app.generations import V1_5, V2
        >>> config = ProviderConfigInput(provider="openai", weight=None, allowed_models=[])
        >>> model_fields(config, V1_5, ["c"]), [e.code.name for e in model_fields(config, V2, ["c"])[1]]
        (({'allowed_models': []}, []), ['INVALID_INPUT'])
    """
    body: dict[str, Any] = {}
    errors: list[UserError] = []
    if config.deny_all_models:
        at = [*path, "denyAllModels"]
        if generation is None:
            errors.append(
                unsupported(at, "denying every model needs Bifrost v2+, and the upstream's version is not known yet")
            )
        elif generation.empty_allowed_models != "none":
            errors.append(unsupported(at, "this Bifrost version cannot deny every model of a provider config"))
        else:
            body["allowed_models"] = []
    elif config.allowed_models is not None:
        at = [*path, "allowedModels"]
        if config.allowed_models:
            body["allowed_models"] = config.allowed_models
        elif generation is None:
            errors.append(unsupported(at, _UNKNOWN))
        elif generation.empty_allowed_models == "none":
            errors.append(invalid(at, _EMPTY_DENIES))
        else:
            body["allowed_models"] = []
    if config.blacklisted_models is not None:
        errors += feature_field(
            Some(config.blacklisted_models),
            generation,
            Feature.BLACKLISTED_MODELS,
            field="blacklisted_models",
            path=[*path, "blacklistedModels"],
            what="blacklisted models",
            body=body,
        )
    return body, errors
