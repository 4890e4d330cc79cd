"""GraphQL documents shared by the gateway tests."""

CREATE_TEAM = """
mutation CreateTeam($input: CreateTeamInput!) {
  createTeam(input: $input) {
    team {
      id name customerId budgetId rateLimitId virtualKeyCount profile config claims configHash createdAt updatedAt
      customer {
        id name budgetId configHash createdAt updatedAt
        budget { id maxLimit resetDuration currentUsage lastReset calendarAligned createdAt updatedAt }
        rateLimit { id tokenMaxLimit tokenResetDuration requestMaxLimit requestResetDuration }
        teams { id name }
        virtualKeys { id name value }
      }
      budget { id maxLimit resetDuration currentUsage lastReset calendarAligned configHash createdAt updatedAt }
      budgets { id maxLimit resetDuration }
      rateLimit {
        id tokenMaxLimit tokenResetDuration tokenCurrentUsage tokenLastReset
        requestMaxLimit requestResetDuration requestCurrentUsage requestLastReset configHash createdAt updatedAt
      }
      virtualKeys {
        id name value isActive
        providerConfigs { id provider weight allowedModels keys { id keyId name value { envVar fromEnv isSet } } }
        mcpConfigs { id mcpClientName toolsToExecute }
      }
    }
    userErrors { field message code }
  }
}
"""

CREATE_TEAM_SHORT = """
mutation CreateTeam($input: CreateTeamInput!) {
  createTeam(input: $input) { team { id name } userErrors { field message code } }
}
"""

CREATE_CUSTOMER_REST = {"name": "Acme", "budget": {"max_limit": 500, "reset_duration": "1M"}}

TEAM_BY_ID = """
query Team($id: ID!) {
  team(id: $id) { id name customer { id name } budget { id maxLimit } budgets { id maxLimit } }
}
"""
