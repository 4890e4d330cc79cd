#!/usr/bin/env bash
# Installs the pinned Hive Gateway + GraphQL Mesh toolchain into bench/.cache/hive (npm ci from the
# committed lock file) and, when BIFROST_URL is set, composes the supergraph for that upstream.
#   bash bench/hive/setup.sh                              # install only
#   BIFROST_URL=http://127.0.0.1:8080 bash bench/hive/setup.sh [OUT.graphql]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="$here/../.cache/hive"
mkdir -p "$cache"
cp "$here/package.json" "$here/package-lock.json" "$here/mesh.config.ts" "$here/openapi-governance.json" "$cache/"
stamp="$cache/.installed-lock"
if [ ! -x "$cache/node_modules/.bin/hive-gateway" ] || ! cmp -s "$here/package-lock.json" "$stamp"; then
  (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$here/package-lock.json" "$stamp"
fi
if [ -n "${BIFROST_URL:-}" ]; then
  out="${1:-$cache/supergraph.graphql}"
  (cd "$cache" && SUPERGRAPH_OUT="$out" ./node_modules/.bin/mesh-compose >/dev/null)
  echo "composed $out for $BIFROST_URL"
fi
