#!/usr/bin/env bash
# Sessions across tabs and reloads (issue 9): oidc-worker's modes and auth0-spa-js, oidc-client-ts,
# msal-browser with their own persistence, one interleaved run in headless Chromium against a local
# oidc-provider (see the header of bench/sessions/main.mjs). Writes the section "Sessions across
# tabs and reloads" of bench/results.md (keeps the rest) and bench/sessions/results.json (every rep).
# Measures only; asserts no timing. About 7 minutes with the defaults.
#
#   bash bench/sessions/run.sh
#   BENCH_SESSIONS_MODES=ow-browser,ow-redirect BENCH_SESSIONS_REPS=3 bash bench/sessions/run.sh   # a quick trial
#
# Needs the project's node_modules (npm ci at the root: playwright-core, oidc-provider, esbuild),
# /usr/bin/chromium and openssl. The peer libraries are pinned in bench/sessions/package-lock.json
# (the versions of the shared peer benchmark) and installed here by npm ci when missing.
# Env: BENCH_SESSIONS_REPS, BENCH_SESSIONS_WARMUP, BENCH_SESSIONS_MODES, BENCH_OUT, OIDC_WORKER_PKG_DIR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="$HOME/.cargo/bin:$PATH"

[ -d node_modules/playwright-core ] && [ -d node_modules/oidc-provider ] && [ -d node_modules/esbuild ] || {
  echo "bench/sessions: node_modules is incomplete: run npm ci (or bash scripts/setup.sh) first" >&2
  exit 1
}
if [ ! -d bench/sessions/node_modules/oidc-client-ts ] || [ ! -d bench/sessions/node_modules/@auth0/auth0-spa-js ] \
   || [ ! -d bench/sessions/node_modules/@azure/msal-browser ] \
   || [ bench/sessions/package-lock.json -nt bench/sessions/node_modules/.package-lock.json ]; then
  echo "bench/sessions: installing the peer libraries (npm ci in bench/sessions/)" >&2
  (cd bench/sessions && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ -z "${OIDC_WORKER_PKG_DIR:-}" ]; then
  for f in index.js worker.js oidc_worker_bg.wasm; do
    if [ ! -f "pkg/$f" ]; then
      echo "bench/sessions: pkg/$f is missing: building (bash scripts/build.sh)" >&2
      bash scripts/build.sh >&2
      break
    fi
  done
fi

export BENCH_RUNNER=sessions-run.sh   # the report then names `bash bench/sessions/run.sh` as the command
exec timeout --kill-after=15 900 node bench/sessions/main.mjs
