#!/usr/bin/env bash
# Benchmark of the built package: sizes (gzip -9) and timings in headless Chromium against the local
# oidc-provider (init, login callback, cached token reads), then the session lifecycle (forced
# refresh, concurrent calls on an expired token, auth.fetch overhead against a local API), then the
# example apps (what oidc-worker adds to the builds of www/react, www/vue, www/webpack installed from
# the packed tarball; the React app's time to isLoading false, signed out and on the login callback).
# Measures only; asserts no timing (fails only when a step does not work).
# With BENCH_SESSIONS=1 it then also runs bash bench/sessions/run.sh (sessions across tabs and reloads,
# oidc-worker's modes against auth0-spa-js, oidc-client-ts and msal-browser: section "Sessions across
# tabs and reloads"; ~7 more minutes, and npm ci of the peer libraries in bench/sessions/ the first time).
# With BENCH_DPOP=1 it then (after the sessions, if asked for) also runs node bench/dpop.mjs (what DPoP,
# option dpop: true, costs against bearer tokens: forced refreshes and auth.fetch against a direct
# fetch(), against oidc-provider with DPoP and a DPoP-verifying API, and a browser cold start with
# persist: "dpop-bound" against a page of a browser whose holder is alive: section "DPoP"; ~45 more seconds).
# With BENCH_POPUP=1 it then (after the DPoP figures, if asked for) also runs node bench/popup.mjs (popup
# login against redirect login, click → signed in, through the provider's login and consent forms, each
# login in a fresh browser context, alternating: section "Popup login"; about a minute more).
#
#   bash bench/run.sh        builds pkg/ if it is missing, runs node bench/perf.mjs, which writes
#                            bench/results.md, then node bench/lifecycle.mjs, which adds its
#                            "Session lifecycle" section, then node bench/examples.mjs, which adds
#                            "Example apps"; then prints it. About 2.5 minutes.
#
# Env: OIDC_WORKER_PKG_DIR (bench another build, e.g. an unpacked tarball; never built here),
#      BENCH_INIT_PAGES, BENCH_LOGINS, BENCH_TOKEN_READS, BENCH_TOKEN_WARMUP (see perf.mjs),
#      BENCH_REFRESHES, BENCH_CONCURRENT, BENCH_EXPIRY_TRIALS, BENCH_ACCESS_TTL, BENCH_FETCH_ROUNDS,
#      BENCH_FETCH_PER_ROUND, BENCH_FETCH_WARMUP (see lifecycle.mjs), BENCH_EXAMPLE_LOADS,
#      BENCH_EXAMPLE_LOGINS (see examples.mjs), BENCH_DPOP_REFRESHES, BENCH_DPOP_REFRESH_WARMUP,
#      BENCH_DPOP_FETCHES, BENCH_DPOP_FETCH_BLOCK, BENCH_DPOP_FETCH_WARMUP, BENCH_DPOP_COLD_STARTS,
#      BENCH_DPOP_COLD_WARMUP (see dpop.mjs), BENCH_POPUP_LOGINS (see popup.mjs), BENCH_OUT.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

[ -d node_modules/playwright-core ] && [ -d node_modules/oidc-provider ] && [ -d node_modules/esbuild ] || {
  echo "bench: node_modules is incomplete: run npm ci (or bash scripts/setup.sh) first" >&2
  exit 1
}

if [ -z "${OIDC_WORKER_PKG_DIR:-}" ]; then
  for f in index.js worker.js oidc_worker_bg.wasm; do
    if [ ! -f "pkg/$f" ]; then
      echo "bench: pkg/$f is missing: building (bash scripts/build.sh)" >&2
      bash scripts/build.sh >&2
      break
    fi
  done
fi

out=${BENCH_OUT:-bench/results.md}
export BENCH_OUT=$out
export BENCH_RUNNER=run.sh   # the reports then name `bash bench/run.sh` as the command
timeout --kill-after=15 300 node bench/perf.mjs
# lifecycle.mjs writes what it measured even when a check fails, then exits 1: print, then fail.
# examples.mjs runs either way (it writes its section only when every step worked).
status=0
timeout --kill-after=15 180 node bench/lifecycle.mjs || status=$?
examples_status=0
timeout --kill-after=15 180 node bench/examples.mjs || examples_status=$?
sessions_status=0
if [ "${BENCH_SESSIONS:-0}" = 1 ]; then
  bash bench/sessions/run.sh || sessions_status=$?
fi
# dpop.mjs, like lifecycle.mjs, writes what it measured even when a check fails, then exits 1.
dpop_status=0
if [ "${BENCH_DPOP:-0}" = 1 ]; then
  timeout --kill-after=15 300 node bench/dpop.mjs || dpop_status=$?
fi
# popup.mjs, like dpop.mjs, writes what it measured even when a check fails, then exits 1.
popup_status=0
if [ "${BENCH_POPUP:-0}" = 1 ]; then
  timeout --kill-after=15 300 node bench/popup.mjs || popup_status=$?
fi
cat "$out"
if [ "$status" -ne 0 ]; then
  echo "bench: bench/lifecycle.mjs failed (exit $status)" >&2
  exit "$status"
fi
if [ "$sessions_status" -ne 0 ]; then
  echo "bench: bench/sessions/run.sh failed (exit $sessions_status)" >&2
  exit "$sessions_status"
fi
if [ "$dpop_status" -ne 0 ]; then
  echo "bench: bench/dpop.mjs failed (exit $dpop_status)" >&2
  exit "$dpop_status"
fi
if [ "$popup_status" -ne 0 ]; then
  echo "bench: bench/popup.mjs failed (exit $popup_status)" >&2
  exit "$popup_status"
fi
if [ "$examples_status" -ne 0 ]; then
  echo "bench: bench/examples.mjs failed (exit $examples_status)" >&2
  exit "$examples_status"
fi
