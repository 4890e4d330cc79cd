// Composes a supergraph from running subgraphs, as a registry would: each one's SDL read from `_service { sdl }`.
// Usage: node compose.mjs <supergraph file to write> <name>=<graphql url> ...
import { writeFile } from "node:fs/promises";
import { composeServices } from "@theguild/federation-composition";
import { parse } from "graphql";

const [output, ...services] = process.argv.slice(2);

async function subgraph(service) {
  const at = service.indexOf("=");
  const name = service.slice(0, at);
  const url = service.slice(at + 1);
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: "{ _service { sdl } }" }),
  });
  const body = await response.json();
  const sdl = body?.data?._service?.sdl;
  if (typeof sdl !== "string") {
    throw new Error(`${name} answered ${response.status} without _service.sdl: ${JSON.stringify(body).slice(0, 500)}`);
  }
  return { name, url, typeDefs: parse(sdl) };
}

const result = composeServices(await Promise.all(services.map(subgraph)));
if (result.errors && result.errors.length > 0) {
  for (const error of result.errors) console.error(error.message);
  process.exit(1);
}
await writeFile(output, result.supergraphSdl);
console.log(`composed ${services.length} subgraphs into ${output}`);
