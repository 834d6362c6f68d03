#!/usr/bin/env bash
# The shared peer benchmark (../shared/bench-peers) with oidc-worker loaded the way the other four
# libraries are, in a temporary copy of the harness (the shared one is left as it is):
#   - bundled: app.js is the harness runtime + adapter + oidc-worker's index.js in one esbuild
#     bundle, with worker.js and oidc_worker_bg.wasm copied next to it, as Vite or webpack emit
#     them (the harness as shipped serves pkg/ unbundled: app.js imports /pkg/index.js, one more
#     request after app.js that the bundled peers do not make);
#   - Chromium started with --ignore-certificate-errors as well: Playwright's ignoreHTTPSErrors
#     covers pages and dedicated workers but not a SharedWorker's own connections, so over https
#     (the harness's default scheme, which msal-browser needs) oidc-worker's session holder cannot
#     reach the provider's self-signed certificate. The flag applies to every library alike.
# Everything else (adapters, provider, measurements, report) is the shared harness's.
#
#   bash bench/peers/like-peers.sh [harness options, e.g. --reps 7]   (after bash scripts/build.sh)
#
# Writes bench/peers/like-peers/results.md (and results.json).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
shared=../shared/bench-peers
[ -f "$shared/harness/build.mjs" ] || { echo "like-peers: $shared not found" >&2; exit 1; }
[ -f pkg/index.js ] || { echo "like-peers: pkg/ is not built (bash scripts/build.sh)" >&2; exit 1; }

copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
cp -r "$shared/." "$copy/"
rm -rf "$copy/results"
node - "$copy" <<'EOF'
const fs = require('fs');
const dir = process.argv[2];
const edit = (file, from, to) => {
  const path = `${dir}/harness/${file}`;
  const text = fs.readFileSync(path, 'utf8');
  if (!text.includes(from)) throw new Error(`like-peers: ${file} has changed; this patch no longer applies`);
  fs.writeFileSync(path, text.replace(from, to));
};
edit('build.mjs',
  `  const app = await esbuild.build({ ...common, format: 'esm', stdin: { contents: entry, resolveDir: ROOT, loader: 'js' }, plugins: [external] });
  const appBuf = Buffer.from(app.outputFiles[0].contents);
  fs.writeFileSync(path.join(outDir, 'app.js'), appBuf);
  const page = { module: true, importMap: { imports: { [pkgName]: lp.entryUrl } }, mounts: { [LOCAL_MOUNT]: lp.serveDir } };`,
  `  const bundled = { name: 'bundle-local-package', setup(b) { b.onResolve({ filter: /.*/ }, (a) => (a.path === pkgName ? { path: lp.entry } : undefined)); } };
  const app = await esbuild.build({ ...common, format: 'esm', stdin: { contents: entry, resolveDir: ROOT, loader: 'js' }, plugins: [bundled] });
  const appBuf = Buffer.from(app.outputFiles[0].contents);
  fs.writeFileSync(path.join(outDir, 'app.js'), appBuf);
  for (const f of ['worker.js', 'oidc_worker_bg.wasm']) fs.copyFileSync(path.join(lp.serveDir, f), path.join(outDir, f));
  const page = { module: true, mounts: { [LOCAL_MOUNT]: lp.serveDir } };`);
edit('main.mjs', `const CHROMIUM_ARGS = ['--headless',`, `const CHROMIUM_ARGS = ['--ignore-certificate-errors', '--headless',`);
EOF
# (npm ci of the copy's dependencies is the harness's own, as for the shared one.)
out=bench/peers/like-peers
mkdir -p "$out"
bash "$copy/run.sh" --package . --out "$out" "$@"
# The report's oidc-worker size rows count what the page's requests showed the harness, and
# Playwright does not see a SharedWorker's requests (worker.js, the wasm): the sizes an app loads
# are scripts/build.sh's (README "What an app loads").
node - "$out/results.md" <<'EOF2'
const fs = require('fs');
const file = process.argv[2];
const text = fs.readFileSync(file, 'utf8');
const note = '> Run by `bench/peers/like-peers.sh`: the shared harness with oidc-worker bundled into app.js as the other\n'
  + '> libraries are (worker.js and the wasm next to it) and Chromium started with `--ignore-certificate-errors`.\n'
  + '> Its oidc-worker size rows count only the requests Playwright saw, not the SharedWorker\'s (worker.js, wasm):\n'
  + '> the sizes an app loads are `bash scripts/build.sh`\'s. The note "Served unbundled" below is the adapter\'s own.\n\n';
const at = text.indexOf('Cells:');
fs.writeFileSync(file, text.slice(0, at) + note + text.slice(at));
EOF2
