"""GraphQL documents of the v2 domains (rotation, overrides, model configs, provider governance)."""

KEY_FIELDS = "id name value shown: value(reveal: true)"

ROTATE_KEY = f"""
mutation Rotate($id: ID!) {{
  rotateVirtualKey(id: $id) {{ virtualKey {{ {KEY_FIELDS} }} userErrors {{ field message code }} }}
}}
"""

ROTATE_KEY_MASKED = """
mutation Rotate($id: ID!) {
  rotateVirtualKey(id: $id) { virtualKey { id value } userErrors { field message code } }
}
"""

ROTATE_KEYS = f"""
mutation RotateMany($ids: [ID!]!) {{
  rotateVirtualKeys(ids: $ids) {{ virtualKeys {{ {KEY_FIELDS} }} userErrors {{ field message code }} }}
}}
"""

SET_OVERRIDE = """
mutation SetOverride($key: ID!, $budget: ID!, $input: BudgetOverrideInput!) {
  setBudgetOverride(virtualKeyId: $key, budgetId: $budget, input: $input) {
    budget { id maxLimit currentUsage effectiveMaxLimit override { amount mode cyclesRemaining cyclesTotal } }
    effectiveMaxLimit
    userErrors { field message code }
  }
}
"""

CLEAR_OVERRIDE = """
mutation ClearOverride($key: ID!, $budget: ID!) {
  clearBudgetOverride(virtualKeyId: $key, budgetId: $budget) {
    budget { id maxLimit effectiveMaxLimit override { amount } }
    effectiveMaxLimit
    userErrors { field message code }
  }
}
"""

MODEL_CONFIG_FIELDS = """
id modelName provider scope scopeId scopeName calendarAligned createdAt updatedAt
budgets { id maxLimit resetDuration currentUsage }
rateLimit { id tokenMaxLimit tokenResetDuration requestMaxLimit requestResetDuration }
rateLimits { id metric maxLimit resetDuration currentUsage }
"""

MODEL_CONFIGS = f"""
query ModelConfigs($first: Int, $after: String, $scope: ModelConfigScope, $scopeId: ID, $provider: String,
                   $search: String) {{
  modelConfigs(first: $first, after: $after, scope: $scope, scopeId: $scopeId, provider: $provider, search: $search) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {MODEL_CONFIG_FIELDS} }}
  }}
}}
"""

MODEL_CONFIG = f"query ModelConfig($id: ID!) {{ modelConfig(id: $id) {{ {MODEL_CONFIG_FIELDS} }} }}"

CREATE_MODEL_CONFIG = f"""
mutation CreateModelConfig($input: CreateModelConfigInput!) {{
  createModelConfig(input: $input) {{ modelConfig {{ {MODEL_CONFIG_FIELDS} }} userErrors {{ field message code }} }}
}}
"""

UPDATE_MODEL_CONFIG = f"""
mutation UpdateModelConfig($id: ID!, $input: UpdateModelConfigInput!) {{
  updateModelConfig(id: $id, input: $input) {{
    modelConfig {{ {MODEL_CONFIG_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

DELETE_MODEL_CONFIG = """
mutation DeleteModelConfig($id: ID!) {
  deleteModelConfig(id: $id) { deletedId userErrors { field message code } }
}
"""

KEYS_WITH_MODEL_CONFIGS = """
query KeysWithConfigs($first: Int) {
  virtualKeys(first: $first) { nodes { id name modelConfigs { id modelName scopeId } } }
}
"""

PROVIDER_GOVERNANCE = """
{ providerGovernance { provider calendarAligned budgets { id maxLimit resetDuration } rateLimit { id tokenMaxLimit } } }
"""

SET_PROVIDER_GOVERNANCE = """
mutation SetProviderGovernance($provider: String!, $input: ProviderGovernanceInput!) {
  setProviderGovernance(provider: $provider, input: $input) {
    providerGovernance {
      provider calendarAligned budgets { id maxLimit resetDuration } rateLimit { id tokenMaxLimit tokenResetDuration }
    }
    userErrors { field message code }
  }
}
"""

DELETE_PROVIDER_GOVERNANCE = """
mutation DeleteProviderGovernance($provider: String!) {
  deleteProviderGovernance(provider: $provider) { provider userErrors { field message code } }
}
"""
