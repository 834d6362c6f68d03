#!/usr/bin/env bash
# Try oidc-worker in a browser: set up, build, then serve the example app (www/vanilla/) and a real
# OpenID Provider (oidc-provider with dev login pages) on 127.0.0.1 until Ctrl-C.
#
#   bash scripts/demo.sh [--port N] [--op-port N]   serve (default: free ports; env DEMO_PORT / DEMO_OP_PORT)
#   bash scripts/demo.sh --smoke                    (or SMOKE=1) one headless login end to end instead,
#                                                   timing each step; exit status says whether it worked
#   --no-build                                      skip setup + build (use the pkg/ already built)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

smoke=${SMOKE:-0}
build=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --no-build) build=0 ;;
    --port|--op-port) [ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }; args+=("$1" "$2"); shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$build" = 1 ]; then
  bash scripts/setup.sh
  bash scripts/build.sh
fi

# One node process runs both servers (and, for --smoke, the headless browser) and stops them all
# itself on exit, Ctrl-C (SIGINT) or SIGTERM.
if [ "$smoke" = 1 ] || [ "$smoke" = true ]; then
  exec node tests/support/smoke.mjs
fi
exec node tests/support/demo-server.mjs "${args[@]}"
