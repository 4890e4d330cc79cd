// A minimal typed fetch over the generated documents: variables and results are checked by tsc --strict.
import type { TypedDocumentString } from "./gql/graphql";
import { CreateTeam, TeamsPage } from "./operations";

export interface GraphQLError {
  message: string;
  extensions?: { code?: string };
}

export async function execute<TResult, TVariables>(
  endpoint: string,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  headers: Record<string, string> = {},
): Promise<TResult> {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json", ...headers },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  const body = (await response.json()) as { data?: TResult | null; errors?: GraphQLError[] };
  if (body.errors?.length || body.data == null) {
    throw new Error(body.errors?.map((error) => error.message).join("; ") ?? `HTTP ${response.status}`);
  }
  return body.data;
}

/** Creates a team with a token limit above 2^53 and reads the first page of teams. */
export async function createAndList(endpoint: string, name: string): Promise<{ id: string; tokens: bigint; total: number }> {
  const created = await execute(endpoint, CreateTeam, {
    input: {
      name,
      budget: { maxLimit: 100, resetDuration: "1M" },
      rateLimit: { tokenMaxLimit: "9007199254740993", tokenResetDuration: "1h" },
    },
  });
  const { team, userErrors } = created.createTeam;
  if (team == null) {
    throw new Error(userErrors.map((error) => `${error.field?.join(".")}: ${error.message}`).join("; "));
  }
  const tokens: bigint = BigInt(team.rateLimit?.tokenMaxLimit ?? "0"); // exact: a string, not a rounded number
  const createdAt: Date = new Date(team.createdAt);
  if (Number.isNaN(createdAt.getTime())) {
    throw new Error("createdAt is not a date");
  }
  const page = await execute(endpoint, TeamsPage, { first: 10 });
  return { id: team.id, tokens, total: page.teams.totalCount };
}
