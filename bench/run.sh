#!/usr/bin/env bash
# Benchmark of the built package: sizes (gzip -9) and timings in headless Chromium against the local
# oidc-provider (init, login callback, cached token reads). Measures only; asserts no timing.
#
#   bash bench/run.sh        builds pkg/ if it is missing, runs node bench/perf.mjs, which writes
#                            bench/results.md; then prints it. About 1 minute.
#
# Env: OIDC_WORKER_PKG_DIR (bench another build, e.g. an unpacked tarball; never built here),
#      BENCH_INIT_PAGES, BENCH_LOGINS, BENCH_TOKEN_READS, BENCH_TOKEN_WARMUP, BENCH_OUT (see perf.mjs).
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
timeout --kill-after=15 300 node bench/perf.mjs
cat "$out"
