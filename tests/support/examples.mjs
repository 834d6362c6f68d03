// The example apps www/react/ (Vite), www/vue/ (Vite + vue-router) and www/webpack/ (webpack 5) as a
// user gets them: the package packed (npm pack) and installed from that tarball by explicit path
// (never a cached oidc-worker of the same version), the framework packages at exactly the
// repository's devDependency versions (from the npm cache when it has them), built by the
// repository's Vite / webpack (tests/support/bundle.mjs), and served statically with /config.json
// ({ issuer, clientId, apiOrigin }) next to them. Used by tests/e2e/examples.test.mjs, the demo and
// bench/examples.mjs. The vanilla example (no bundler) has its own two: installVanilla, serveVanilla.
//
//   const { tgz } = await packPackage(tmp);                 // $OIDC_WORKER_PACK_FROM=<dir> packs that dir
//   const { dir } = await installExample('react', { tgz, into: join(tmp, 'react') });
//   const { distDir, output } = await buildExample('react', dir);
//   const web = await serveExample('react', distDir, { config: () => ({ issuer, clientId, apiOrigin }) });

import { execFile, execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';

import { viteBuild, webpackBuild } from './bundle.mjs';
import { REPO_ROOT, startStaticServer } from './static-server.mjs';

const run = promisify(execFile);

/**
 * bundler: how the app is built. staticDir: files copied into the build output as they are (what
 * the example's `npm run build` does after webpack). spaRoutes: history-mode routes the server must
 * answer with index.html (a reload there).
 */
export const EXAMPLES = {
  react: { bundler: 'vite', spaRoutes: [] },
  vue: { bundler: 'vite', spaRoutes: ['/profile'] },
  webpack: { bundler: 'webpack', staticDir: 'public', spaRoutes: [] },
};

export const exampleSource = (name) => join(REPO_ROOT, 'www', name);

async function npm(args, cwd, timeout = 120_000) {
  try {
    return await run('npm', args, { cwd, timeout, killSignal: 'SIGKILL', maxBuffer: 16 << 20 });
  } catch (err) {
    throw new Error(`npm ${args.join(' ')} failed in ${cwd}:\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

/**
 * `npm pack` of the repository (or of $OIDC_WORKER_PACK_FROM, or of options.from: a directory with
 * package.json and pkg/) into destDir. Returns { tgz, from }.
 */
export async function packPackage(destDir, options = {}) {
  const from = resolve(options.from || process.env.OIDC_WORKER_PACK_FROM || REPO_ROOT);
  const { stdout } = await npm(['pack', '--pack-destination', destDir, '--json', '--silent'], from);
  return { tgz: join(destDir, JSON.parse(stdout)[0].filename), from };
}

/** Does `version` (x.y.z) satisfy the caret range `^a.b.c` (a > 0)? */
function satisfiesCaret(version, range) {
  const m = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(range);
  const v = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!m || !v || m[1] === '0') return false;
  const [a, b] = [m, v].map((x) => x.slice(1).map(Number));
  return a[0] === b[0] && (b[1] > a[1] || (b[1] === a[1] && b[2] >= a[2]));
}

/**
 * The packages `npm install` gets for an example: the tarball for oidc-worker, and each other
 * dependency its package.json names at the repository's devDependency version (which must satisfy
 * the example's range, so the examples cannot drift from what is tested). Returns [spec].
 */
export async function installSpecs(name, tgz) {
  const example = JSON.parse(await readFile(join(exampleSource(name), 'package.json'), 'utf8'));
  const repo = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8'));
  const specs = [];
  for (const [dep, range] of Object.entries(example.dependencies ?? {})) {
    if (dep === 'oidc-worker') {
      specs.push(tgz);
      continue;
    }
    const version = repo.devDependencies?.[dep];
    if (!version) throw new Error(`www/${name}: dependency ${dep} is not a devDependency of the repository`);
    if (!satisfiesCaret(version, range)) {
      throw new Error(`www/${name}: ${dep}@${range} does not admit the repository's ${dep}@${version}`);
    }
    specs.push(`${dep}@${version}`);
  }
  if (!specs.includes(tgz)) throw new Error(`www/${name}/package.json does not depend on oidc-worker`);
  return specs;
}

/**
 * Copy www/<name>/ (without node_modules/ and dist/) to `into` and install its dependencies there
 * (installSpecs): no lockfile, nothing saved, no install scripts. The copied package.json loses its
 * dependency lists, so nothing but these specs is installed (the bundler is the repository's).
 * Returns { dir, specs }.
 */
export async function installExample(name, { tgz, into }) {
  const source = exampleSource(name);
  await cp(source, into, {
    recursive: true,
    filter: (path) => !/^(node_modules|dist)(\/|$)/.test(relative(source, path)),
  });
  const specs = await installSpecs(name, tgz);
  const pkg = JSON.parse(await readFile(join(into, 'package.json'), 'utf8'));
  delete pkg.dependencies;
  delete pkg.devDependencies;
  await writeFile(join(into, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-save', '--no-package-lock',
    '--ignore-scripts', '--loglevel=error', ...specs], into);
  return { dir: into, specs };
}

/**
 * The vanilla example (www/vanilla/: no bundler, an import map that points `oidc-worker` at
 * /pkg/index.js) as a user gets the package: `into` gets a package.json and the tarball installed by
 * explicit path (same npm flags as installExample); nothing else. serveVanilla() then serves the
 * app's own files from www/vanilla/ and /pkg/ from the installed node_modules/oidc-worker/pkg/.
 * Returns { dir, specs, pkgDir }.
 */
export async function installVanilla({ tgz, into }) {
  await mkdir(into, { recursive: true });
  await writeFile(join(into, 'package.json'),
    `${JSON.stringify({ name: 'oidc-worker-example-vanilla', private: true, type: 'module' }, null, 2)}\n`);
  const specs = [tgz];
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-save', '--no-package-lock',
    '--ignore-scripts', '--loglevel=error', ...specs], into);
  return { dir: into, specs, pkgDir: join(into, 'node_modules', 'oidc-worker', 'pkg') };
}

/**
 * Serve www/vanilla/ at '/' of its own origin (its redirect URI is then `${origin}/`), its import
 * map's target /pkg/ from `pkgDir` (the installed package's pkg/), and `/demo-config.json` from
 * config() (asked per request: { issuer, clientId, options? }). Returns startStaticServer()'s server.
 */
export async function serveVanilla(pkgDir, { config, headers, port, onRequest } = {}) {
  return startStaticServer({
    port,
    mounts: { '/pkg/': pkgDir, '/': exampleSource('vanilla') },
    json: { '/demo-config.json': config },
    headers,
    onRequest,
  });
}

/** Every file under dir, as '/'-separated paths relative to it, sorted. */
export async function listFiles(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)).split('\\').join('/'))
    .sort();
}

/**
 * Build the installed example in `dir`: `vite build` (no config file, no plugin) or webpack with
 * the example's webpack.config.mjs, plus its staticDir copied in. Returns { distDir, output,
 * warnings }: output as the bundler reported it ([{ type, fileName }]).
 */
export async function buildExample(name, dir) {
  const { bundler, staticDir } = EXAMPLES[name];
  const distDir = join(dir, 'dist');
  if (bundler === 'vite') return { distDir, output: await viteBuild(dir), warnings: [] };
  const { output, warnings } = await webpackBuild(dir);
  if (staticDir) await cp(join(dir, staticDir), distDir, { recursive: true });
  return { distDir, output, warnings };
}

/**
 * What a built example ships, by role, each with its raw and gzip -9 bytes (GNU gzip):
 * { html, wasm, worker, mainJs: [...], css: [...] } — worker: the JS file that loads and
 * instantiates the .wasm (the page's bundle names the .wasm too: it fetches and compiles it
 * while the worker starts); mainJs: every other JS file (the page's bundle and its chunks).
 */
export async function describeBuild(distDir) {
  const files = await listFiles(distDir);
  const sized = async (file) => {
    const bytes = await readFile(join(distDir, file));
    // GNU gzip -9 (-n: no name or time in the header), the measure of the README's budgets and of
    // scripts/build.sh; Node's zlib at level 9 compresses the wasm ~170 B worse.
    return { file, raw: bytes.length, gzip: execFileSync('gzip', ['-9', '-n'], { input: bytes, maxBuffer: 1 << 26 }).length };
  };
  const wasmFiles = files.filter((f) => f.endsWith('.wasm'));
  const js = files.filter((f) => f.endsWith('.js'));
  const workers = [];
  for (const f of js) {
    const text = await readFile(join(distDir, f), 'utf8');
    // (The worker instantiates the module, with wasm-bindgen's initSync; the page only compiles it.)
    if (wasmFiles.some((w) => text.includes(basename(w))) && text.includes('WebAssembly.Instance')) workers.push(f);
  }
  return {
    files,
    html: files.includes('index.html') ? await sized('index.html') : undefined,
    wasm: await Promise.all(wasmFiles.map(sized)),
    worker: await Promise.all(workers.map(sized)),
    mainJs: await Promise.all(js.filter((f) => !workers.includes(f)).map(sized)),
    css: await Promise.all(files.filter((f) => f.endsWith('.css')).map(sized)),
  };
}

/**
 * Serve a built example at the root of its own origin: dist/ at '/', `/config.json` from
 * config() (asked per request), its history-mode routes answered with index.html, `headers` on
 * every response (e.g. a Content-Security-Policy). Returns startStaticServer()'s server.
 */
export async function serveExample(name, distDir, { config, headers, port, onRequest } = {}) {
  const indexHtml = await readFile(join(distDir, 'index.html'), 'utf8');
  return startStaticServer({
    port,
    mounts: { '/': distDir },
    json: { '/config.json': config },
    html: Object.fromEntries(EXAMPLES[name].spaRoutes.map((route) => [route, () => indexHtml])),
    headers,
    onRequest,
  });
}
