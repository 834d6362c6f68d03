#!/usr/bin/env bash
# Everything CI runs, in order, stopping at the first failure:
#   setup → cargo test (native) → cargo test (wasm32, headless Chromium) → build → node tests
#   (tests/**/*.test.mjs: e2e against a real oidc-provider in headless Chromium) → demo smoke run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

started=$SECONDS
summary=()

finish() {
  local status=$1
  echo
  echo "==================== test.sh summary ===================="
  local line
  for line in "${summary[@]}"; do echo "  $line"; done
  if [ "$status" -eq 0 ]; then
    echo "  result: all ${#summary[@]} steps OK in $((SECONDS - started))s"
  else
    echo "  result: FAILED (exit $status) after $((SECONDS - started))s"
  fi
  echo "=========================================================="
}

step() {
  local name=$1
  shift
  echo
  echo "==> $name"
  local t0=$SECONDS status=0
  "$@" || status=$?
  if [ "$status" -eq 0 ]; then
    summary+=("ok    $name ($((SECONDS - t0))s)")
  else
    summary+=("FAIL  $name ($((SECONDS - t0))s, exit $status)")
    finish "$status"
    exit "$status"
  fi
}

wasm_tests() {
  # Never --quiet: cargo forwards it to wasm-bindgen-test-runner, which rejects it.
  # About one run in eight, wasm-bindgen-test-runner's dedicated-worker harness never starts the
  # tests ("Loading Wasm module..." and then "Failed to detect test as having been run"), in any
  # subset of the tests alike (seen in 3 of ~40 runs here). Only that signature is retried, at
  # most twice. A failing test still fails the step at once; a test of ours that hung would look
  # the same as the runner's stall (the runner prints nothing until the end), so a hang that
  # happens every time still fails the step, and a rare one would be retried.
  local attempt log status
  for attempt in 1 2 3; do
    log=$(mktemp)
    status=0
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    WASM_BINDGEN_TEST_TIMEOUT=60 \
    WASM_BINDGEN_TEST_DRIVER_TIMEOUT=30 \
      cargo test --target wasm32-unknown-unknown 2>&1 | tee "$log" || status=$?
    if [ "$status" -ne 0 ] && [ "$attempt" -lt 3 ] \
      && grep -q "Failed to detect test as having been run" "$log" \
      && ! grep -qE "^test .* FAILED|test result: FAILED|^running [0-9]+ tests" "$log"; then
      echo "wasm tests: the runner's harness did not start (attempt $attempt); retrying"
      rm -f "$log"
      continue
    fi
    rm -f "$log"
    return "$status"
  done
}

build() {
  [ -f scripts/build.sh ] || { echo "scripts/build.sh is missing" >&2; return 1; }
  bash scripts/build.sh
}

node_tests() {
  # Every node test file under tests/ (*.test.mjs / *.test.js / *.test.cjs), e.g. tests/e2e/*.test.mjs.
  # One `node --test` per file, each under its own hard timeout, so that a file that hangs (a stuck
  # browser, a bundler that never exits) is named and bounded instead of stalling the whole step.
  # Every file runs even after a failure; the step fails if any did. --test-force-exit: a file whose
  # event loop stays alive after its tests end must not hang either.
  local files=() f failed=() t0 status
  mapfile -t files < <(find tests -mindepth 2 -path '*/node_modules' -prune -o -type f \( -name '*.test.mjs' -o -name '*.test.js' -o -name '*.test.cjs' \) -print | sort)
  [ "${#files[@]}" -gt 0 ] || { echo "no node test files under tests/" >&2; return 1; }
  for f in "${files[@]}"; do
    echo
    echo "--> node --test $f"
    t0=$SECONDS
    status=0
    timeout --kill-after=15 "${NODE_TEST_FILE_TIMEOUT:-480}" \
      node --test --test-force-exit --test-reporter=spec "$f" || status=$?
    if [ "$status" -eq 0 ]; then
      echo "<-- ok   $f ($((SECONDS - t0))s)"
    else
      [ "$status" -eq 124 ] && echo "<-- $f did not finish within ${NODE_TEST_FILE_TIMEOUT:-480}s"
      echo "<-- FAIL $f ($((SECONDS - t0))s, exit $status)"
      failed+=("$f (exit $status)")
    fi
  done
  if [ "${#failed[@]}" -gt 0 ]; then
    echo
    printf 'failed node test files:\n'; printf '  %s\n' "${failed[@]}"
    return 1
  fi
}

step "setup" bash scripts/setup.sh
step "cargo test (native)" cargo test
step "cargo test (wasm32, headless chromium)" wasm_tests
step "build (scripts/build.sh)" build
step "node tests" node_tests
step "demo smoke (scripts/demo.sh --smoke, no setup/build)" timeout --kill-after=10 300 node tests/support/smoke.mjs
finish 0
