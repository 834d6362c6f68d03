#!/usr/bin/env bash
# Builds the npm package into pkg/:
#   cargo (wasm32, release) → wasm-bindgen --target web → wasm-opt (--flatten --rereloop -O2 -Os) x2 -ocimfs=25 (npm binaryen, never
#   Debian's: its wasm-opt 108 breaks wasm-bindgen 0.2.130 output) → functions reordered for gzip
#   → tsc (src/js → pkg/, and the worker's entry src/worker/worker.ts → pkg/worker.js) → esbuild
#   (bundle, minify) → terser (compress).
# pkg/ is wiped first so stale files never ship. Prints raw and gzip -9 sizes at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

for tool in node_modules/.bin/wasm-opt node_modules/.bin/tsc node_modules/.bin/esbuild node_modules/.bin/terser; do
  [ -x "$tool" ] || { echo "build: $tool is missing (run npm ci / scripts/setup.sh)" >&2; exit 1; }
done

rm -rf pkg
cargo build --target wasm32-unknown-unknown --release --features tiny   # no_std: see src/lib.rs
# --encode-into always: strings enter wasm by TextEncoder#encodeInto, with no fallback for engines
# without it (every browser the worker runs in has it: AbortSignal.timeout is younger).
wasm-bindgen --target web --encode-into always --out-dir pkg "${CARGO_TARGET_DIR:-target}"/wasm32-unknown-unknown/release/oidc_worker.wasm
rm -f pkg/oidc_worker_bg.wasm.d.ts # types for direct wasm imports: nothing here uses them
# The glue's fallbacks for engines the worker never runs in, cut (see the script): worker.js
# -155 B gzip -9, measured.
node scripts/trim-glue.mjs pkg/oidc_worker.js
# The panic paths become plain traps (the panic handler traps already, formatting nothing), so
# that wasm-opt drops the panic messages' formatting machinery (see the script).
node scripts/stub-panics.mjs pkg/oidc_worker_bg.wasm
# -O2 -Os plus: iterate to a fixed point, and assume the first 1 KiB of memory unused (Rust's
# wasm32 layout puts the stack first, above it), which lets constant addresses shrink. And the
# imports and exports renamed to one or two letters (wasm-bindgen's carry a hash each, in the
# .wasm and in the glue): wasm-opt prints the renaming, minify-names.mjs applies it to the glue
# and checks the glue against the module's imports and exports.
names=$(mktemp)
# (-O2 first, then -Os: ~300 B gzip less than -Oz alone, measured, as is -Os over -Oz after it.)
# --flatten --rereloop first: the control flow of every function rebuilt by binaryen's relooper
# (--rereloop needs flat IR), which -O2 -Os then shrink further: wasm -401 B gzip, measured
# (-Os alone after it: -117 B; -O3 after it: +773 B).
# -ocimfs (--one-caller-inline-max-function-size): a function with one caller is inlined into
# it only when it is small, not whatever its size; the async state machines no longer swallow
# whole functions into one huge body: raw +2.5 KB, but wasm -2,588 B gzip, measured (0: -2,388;
# 10: -2,531; 50: -2,507; 100: -2,203). 25 since LLVM inlines at threshold 8
# (.cargo/config.toml): 25 -32 B against 20 there (15: +39 B; 30: +119 B).
# --strip-target-features: the toolchain's `target_features` custom section (which wasm features
# the code may use; only tools read it, wasm-opt here before it strips it): wasm -119 B gzip.
# The relooping and -O2 -Os twice over: wasm -107 B gzip more, measured (three times: -77 B).
node_modules/.bin/wasm-opt --flatten --rereloop -O2 -Os --flatten --rereloop -O2 -Os -ocimfs=25 --converge --low-memory-unused --strip-producers --strip-target-features \
  --minify-imports-and-exports-and-modules \
  pkg/oidc_worker_bg.wasm -o pkg/oidc_worker_bg.wasm > "$names"
node scripts/minify-names.mjs "$names" pkg/oidc_worker.js pkg/oidc_worker_bg.wasm
rm -f "$names"
# The panic messages' text and file names, which nothing reads any more, blanked, and the panic
# locations (file, line, column) and more panic and formatting text nothing refers to any more
# (see the script): wasm -570, -141 and (core's digit pairs) -201 B gzip -9.
node scripts/blank-panic-text.mjs pkg/oidc_worker_bg.wasm
# The functions reordered so that similar bodies sit within deflate's 32 KiB window of each other
# (the order does nothing else; see the script, which checks that only the order changed): by
# size class (and type) and bytes, then a short deterministic search, whichever gzip -9 makes
# smallest. Last, on the finished module (no name section to renumber). Measured: wasm -1,361 B
# gzip -9 (the size classes alone -1,133 B; the search's 600 steps, ~20 s, -228 B more; Node's
# zlib -675 B, brotli -647 B); the classes by type too, later: -102 B more (1,200 steps instead
# of 600 measured -28 B only).
node scripts/reorder-functions.mjs pkg/oidc_worker_bg.wasm
node_modules/.bin/tsc -p tsconfig.json                                                # src/js: .js (+ bare .d.ts)
node_modules/.bin/tsc -p tsconfig.json --removeComments false --emitDeclarationOnly   # .d.ts with TSDoc
node_modules/.bin/tsc -p tsconfig.worker.json                                         # src/worker/worker.ts
# The worker side is one file: worker.js with the wasm-bindgen glue and the JS primitives
# (src/worker/*.js) bundled in: one request instead of five, and ~800 B less gzip. worker.ts's
# `new URL('oidc_worker_bg.wasm', import.meta.url)` survives, so bundlers still emit the .wasm.
node_modules/.bin/esbuild pkg/worker.js --bundle --minify --format=esm --log-level=warning \
  --outfile=pkg/worker.js --allow-overwrite
rm -rf pkg/oidc_worker.js pkg/oidc_worker.d.ts pkg/snippets
# What apps load unbundled is minified (names, whitespace); exports, `import.meta.url` and the
# literal `new Worker(new URL('./worker.js', import.meta.url), ...)` that bundlers look for survive.
for f in pkg/index.js pkg/auth-store.js pkg/react.js pkg/vue.js; do
  node_modules/.bin/esbuild "$f" --minify --format=esm --log-level=warning --outfile="$f" --allow-overwrite
done
# Then terser's compressor over esbuild's output, twice over (its safe transforms only: no
# `unsafe*` option): worker.js -175 B, index.js -56 B gzip -9, measured (three passes: -3 B more).
for f in pkg/worker.js pkg/index.js pkg/auth-store.js pkg/react.js pkg/vue.js; do
  node_modules/.bin/terser "$f" --module --ecma 2020 --compress passes=2 --mangle --output "$f"
done

# The main-thread bundle: index.js and every module it imports, transitively (relative imports).
main_thread() {
  local queue=(pkg/index.js) seen=() file dep
  while [ "${#queue[@]}" -gt 0 ]; do
    file=${queue[0]}
    queue=("${queue[@]:1}")
    [[ " ${seen[*]-} " == *" $file "* ]] && continue
    seen+=("$file")
    echo "$file"
    while read -r dep; do
      [ -n "$dep" ] && queue+=("$(dirname "$file")/${dep#./}")
    done < <(grep -oE "(from|import)[[:space:]]*['\"]\./[^'\"]+['\"]" "$file" | grep -oE "\./[^'\"]+" || true)
  done
}

raw() { cat "$@" | wc -c; }
gz() { cat "$@" | gzip -9 | wc -c; }
row() { printf '  %-34s %9s B raw %8s B gzip -9\n' "$1" "$2" "$3"; }

mapfile -t index_files < <(main_thread)
worker_files=(pkg/worker.js pkg/oidc_worker_bg.wasm)
echo
echo "pkg/ sizes:"
row "index.js (+ imports: ${#index_files[@]} file(s))" "$(raw "${index_files[@]}")" "$(gz "${index_files[@]}")"
for f in "${worker_files[@]}"; do row "${f#pkg/}" "$(raw "$f")" "$(gz "$f")"; done
total_gz=$(gz "${index_files[@]}")
for f in "${worker_files[@]}"; do total_gz=$(( total_gz + $(gz "$f") )); done
row "total (each file gzipped)" "$(raw "${index_files[@]}" "${worker_files[@]}")" "$total_gz"
echo "  adapters (only apps that import them load them; they import index.js):"
for f in pkg/auth-store.js pkg/react.js pkg/vue.js; do row "${f#pkg/}" "$(raw "$f")" "$(gz "$f")"; done
# The budgets, each with its verdict (reported, not enforced: a build over budget still builds).
budget() {
  if [ "$2" -le "$3" ]; then
    printf '  %-46s %6s B <= %6s B: met, %s B to spare\n' "$1" "$2" "$3" "$(( $3 - $2 ))"
  else
    printf '  %-46s %6s B >  %6s B: NOT met, %s B over\n' "$1" "$2" "$3" "$(( $2 - $3 ))"
  fi
}
echo "budgets (gzip -9):"
budget "main thread (3 KiB)" "$(gz "${index_files[@]}")" 3072
budget "everything (issue 8: 66 KiB)" "$total_gz" 67584
budget "everything, every feature (the release: 72 KiB)" "$total_gz" 73728
