// Bundles each adapter of bench/sessions with the page runtime into dist/<adapter>/app.js (esbuild,
// minified), as the shared peer benchmark does: an iife with the library inlined for npm libraries;
// for oidc-worker (its adapter says `local: true`) an ES module that leaves `oidc-worker` to the page's import map,
// which sends it to /pkg/index.js (page.json). Returns { [adapter]: { local, versions } }.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

export const SESSIONS_DIR = path.dirname(fileURLToPath(import.meta.url));
const RUNTIME = path.join(SESSIONS_DIR, 'page-runtime.js');

function version(pkg) {
  try {
    return JSON.parse(fs.readFileSync(path.join(SESSIONS_DIR, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

export async function buildAdapters(names, dist) {
  const out = {};
  for (const name of names) {
    const file = path.join(SESSIONS_DIR, 'adapters', `${name}.js`);
    const text = fs.readFileSync(file, 'utf8');
    const local = /\blocal: true\b/.test(text);
    const packages = [...text.matchAll(/^import .* from '([^'.][^']*)';$/gm)].map((m) => m[1]);
    const dir = path.join(dist, name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const entry = `import adapter from ${JSON.stringify(file)};\nimport { boot } from ${JSON.stringify(RUNTIME)};\nboot(adapter);\n`;
    const external = local ? [{
      name: 'local-package',
      setup(b) { b.onResolve({ filter: /^oidc-worker$/ }, (a) => ({ path: a.path, external: true })); },
    }] : [];
    await esbuild.build({
      stdin: { contents: entry, resolveDir: SESSIONS_DIR, loader: 'js' },
      bundle: true,
      minify: true,
      format: local ? 'esm' : 'iife',
      platform: 'browser',
      target: ['es2022'],
      legalComments: 'none',
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': '"production"' },
      outfile: path.join(dir, 'app.js'),
      plugins: external,
    });
    const page = local ? { module: true, importMap: { imports: { 'oidc-worker': '/pkg/index.js' } } } : {};
    fs.writeFileSync(path.join(dir, 'page.json'), JSON.stringify(page));
    out[name] = { local, versions: Object.fromEntries(packages.filter((p) => p !== 'oidc-worker').map((p) => [p, version(p)])) };
  }
  return out;
}
