// The two operations this client is generated from (`npm run generate` writes src/gql/).
import { graphql } from "./gql";

export const CreateTeam = graphql(`
  mutation CreateTeam($input: CreateTeamInput!) {
    createTeam(input: $input) {
      team {
        id
        name
        config
        createdAt
        budget { id maxLimit resetDuration currentUsage }
        rateLimit { id tokenMaxLimit tokenResetDuration tokenCurrentUsage requestMaxLimit requestResetDuration }
      }
      userErrors { field message code }
    }
  }
`);

export const TeamsPage = graphql(`
  query TeamsPage($first: Int = 25, $after: String, $search: String) {
    teams(first: $first, after: $after, search: $search) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        id
        name
        createdAt
        rateLimit { tokenMaxLimit tokenCurrentUsage }
      }
    }
  }
`);
