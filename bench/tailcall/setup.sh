#!/usr/bin/env bash
# Installs the pinned Tailcall (a Rust binary shipped as an npm package) into bench/.cache/tailcall
# with npm ci from the committed lock file, when the lock file changed, and checks the config.
#   bash bench/tailcall/setup.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="$here/../.cache/tailcall"
mkdir -p "$cache"
cp "$here/package.json" "$here/package-lock.json" "$cache/"
stamp="$cache/.installed-lock"
if [ ! -x "$cache/node_modules/.bin/tailcall" ] || ! cmp -s "$here/package-lock.json" "$stamp"; then
  (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$here/package-lock.json" "$stamp"
fi
# no usage pings from the benchmark
TAILCALL_TRACKER=false BIFROST_URL=http://127.0.0.1:1 "$cache/node_modules/.bin/tailcall" check "$here/bifrost.graphql" >/dev/null
