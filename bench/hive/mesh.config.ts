// Composes a supergraph from Bifrost's governance OpenAPI spec (Apache-2.0, see
// openapi-governance.json). The upstream base URL comes from BIFROST_URL at compose
// time; bench/run.py composes once per run against the upstream it started.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

const endpoint = process.env.BIFROST_URL || 'http://127.0.0.1:8080';

export const composeConfig = defineConfig({
  output: process.env.SUPERGRAPH_OUT || 'supergraph.graphql',
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('Bifrost', {
        source: process.env.OPENAPI_SPEC || './openapi-governance.json',
        endpoint,
      }),
    },
  ],
});
