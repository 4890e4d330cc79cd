// graphql-codegen's client preset: typed documents and result types for the operations in src/.
// The schema is this repository's SDL; GATEWAY_SCHEMA_URL points it at a running gateway instead
// (GET /graphql/schema.graphql works in production, where introspection is off).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: process.env.GATEWAY_SCHEMA_URL ?? "../../graphql_schema.graphql",
  documents: ["src/**/*.ts", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "./src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        // Plain strings with their types attached: no GraphQL runtime needed to send them.
        documentMode: "string",
        useTypeImports: true,
        enumsAsTypes: true,
        strictScalars: true,
        scalars: {
          // ISO 8601, as sent; parse with new Date(value) where a Date is wanted.
          DateTime: "string",
          // Int64 arrives as a decimal string so no digit is lost above 2^53; the gateway takes a string or a
          // number, but only a string is exact in JavaScript: use BigInt(value) to compute with it.
          Int64: { input: "string", output: "string" },
          JSON: "../json#JsonValue",
        },
      },
    },
  },
};

export default config;
