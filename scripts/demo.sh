#!/usr/bin/env bash
# Try oidc-worker in a browser: set up, build, then serve the example apps and a real OpenID Provider
# (oidc-provider with dev login pages) on 127.0.0.1 until Ctrl-C: www/vanilla/ (no bundler), and
# www/react/, www/vue/, www/webpack/ built from the packed package (npm pack) with a protected API.
#
#   bash scripts/demo.sh [--port N] [--op-port N]   serve (default: free ports; env DEMO_PORT / DEMO_OP_PORT)
#   bash scripts/demo.sh --smoke                    (or SMOKE=1) one headless login end to end instead,
#                                                   timing each step; exit status says whether it worked
#   --no-build                                      skip setup + build (use the pkg/ already built)
#   --no-examples                                   (or DEMO_EXAMPLES=0) only the vanilla app, no npm/bundler
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

smoke=${SMOKE:-0}
build=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --no-build) build=0 ;;
    --no-examples) args+=("$1") ;;
    --port|--op-port) [ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }; args+=("$1" "$2"); shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$build" = 1 ]; then
  bash scripts/setup.sh
  bash scripts/build.sh
fi

# One node process runs every server (and, for --smoke, the headless browser) and stops them all
# itself on exit, Ctrl-C (SIGINT) or SIGTERM.
if [ "$smoke" = 1 ] || [ "$smoke" = true ]; then
  exec node tests/support/smoke.mjs
fi
exec node tests/support/demo-server.mjs "${args[@]}"
