#!/usr/bin/env bash
# Install what building and testing oidc-worker needs. Idempotent, and quick when everything is
# already there (each step checks first):
#   1. Debian chromium + chromium-driver (headless browser for wasm-bindgen-test and the e2e tests;
#      never a downloaded browser build)
#   2. the rustup target wasm32-unknown-unknown
#   3. wasm-bindgen-cli at exactly the version Cargo.toml pins (wasm-bindgen = "=X")
#   4. node_modules from package-lock.json (npm ci): playwright-core, oidc-provider,
#      binaryen (node_modules/.bin/wasm-opt — never Debian's binaryen, its wasm-opt 108 breaks the wasm),
#      typescript
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

started=$SECONDS
log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root to run: $*"
  fi
}

# 1. Browser + driver (Debian packages, same build for both).
if [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null 2>&1; then
  log "chromium + chromedriver: present"
else
  log "installing chromium + chromium-driver (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver
fi

# 2. Rust wasm target.
command -v rustup >/dev/null 2>&1 || die "rustup not found (expected in \$HOME/.cargo/bin)"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rust target wasm32-unknown-unknown: present"
else
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 3. wasm-bindgen CLI, exactly the crate's version (it also provides wasm-bindgen-test-runner).
#    Not --locked: its lockfile pins a webpki-roots release the registry mirror does not have.
wb_version=$(sed -n -E \
  -e 's/^[[:space:]]*wasm-bindgen[[:space:]]*=[[:space:]]*"=([0-9][0-9A-Za-z.+-]*)".*/\1/p' \
  -e 's/^[[:space:]]*wasm-bindgen[[:space:]]*=[[:space:]]*\{.*version[[:space:]]*=[[:space:]]*"=([0-9][0-9A-Za-z.+-]*)".*/\1/p' \
  Cargo.toml | head -n1)
[ -n "$wb_version" ] || die 'no exact wasm-bindgen = "=X" pin found in Cargo.toml'
if [ "$(wasm-bindgen --version 2>/dev/null || true)" = "wasm-bindgen $wb_version" ] \
   && command -v wasm-bindgen-test-runner >/dev/null 2>&1; then
  log "wasm-bindgen-cli $wb_version: present"
else
  log "installing wasm-bindgen-cli $wb_version (cargo install, takes a few minutes)"
  cargo install wasm-bindgen-cli --version "$wb_version"
  [ "$(wasm-bindgen --version)" = "wasm-bindgen $wb_version" ] || die "wasm-bindgen --version is not $wb_version after install"
fi

# 4. JS tooling from the committed lockfile. npm keeps node_modules/.package-lock.json up to date on
#    every install, so it being older than package-lock.json means node_modules is stale.
command -v node >/dev/null 2>&1 || die "node not found"
command -v npm >/dev/null 2>&1 || die "npm not found"
if [ -d node_modules ] && [ -f node_modules/.package-lock.json ] \
   && ! [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "node_modules: up to date with package-lock.json"
else
  log "npm ci"
  npm ci --no-audit --no-fund
fi
[ -x node_modules/.bin/wasm-opt ] || die "node_modules/.bin/wasm-opt missing after npm ci"

log "done in $((SECONDS - started))s"
