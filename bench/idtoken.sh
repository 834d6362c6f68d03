#!/usr/bin/env bash
# Benchmark of ID token validation inside the worker (parse + key selection + WebCrypto verify +
# claims), RS256 and ES256, in headless Chromium. Measures only; asserts no timing.
#
#   bash bench/idtoken.sh    builds a bench-only wasm (--features tiny,bench, into
#                            target/bench-idtoken; pkg/ is untouched), runs node bench/idtoken.mjs,
#                            which writes bench/idtoken-results.md; then prints it.
#
# Env: BENCH_IDTOKEN_RUNS (200), BENCH_IDTOKEN_WARMUP (20), BENCH_OUT (see idtoken.mjs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

[ -d node_modules/playwright-core ] && [ -x node_modules/.bin/wasm-opt ] || {
  echo "bench: node_modules is incomplete: run npm ci (or bash scripts/setup.sh) first" >&2
  exit 1
}

out=${BENCH_OUT:-bench/idtoken-results.md}
export BENCH_OUT=$out BENCH_IDTOKEN_COMMAND="bash bench/idtoken.sh"
timeout --kill-after=15 600 node bench/idtoken.mjs
cat "$out"
