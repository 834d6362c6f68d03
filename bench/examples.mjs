// Benchmark of the example apps (www/react, www/vue, www/webpack) built from the packed package, the
// way tests/e2e/examples.test.mjs builds them (tests/support/examples.mjs): what oidc-worker adds to
// each app's production build, and how long the React app takes to know whether there is a session.
// It measures and reports; it asserts no timing (it fails only when a step does not work: a build, a
// page that shows an error, a login that does not complete).
//
//   bash bench/run.sh            (runs perf.mjs, lifecycle.mjs, then this; prints bench/results.md)
//   node bench/examples.mjs      (pkg/ must be built; replaces the "Example apps" section of
//                                bench/results.md, or adds it at the end, and keeps the rest)
//
// 1. Size. The package is packed from a snapshot of pkg/ (or $OIDC_WORKER_PKG_DIR) with the
//    repository's package.json (npm pack), and installed from that tarball into a copy of each
//    example with the framework at the repository's devDependency versions (installExample). Each app
//    is built twice by the repository's Vite / webpack (buildExample): as it is, and from a second
//    copy of the same installed directory whose node_modules/oidc-worker is replaced by a stub
//    package of the same shape (same package name, same `exports` map, the same named exports from
//    pkg/index.js, pkg/react.js and pkg/vue.js, each a few lines that do nothing: STUB_FILES below).
//    The app's source, its other packages and the bundler are identical, so the difference of the two
//    builds' page JS is what oidc-worker adds to it (minus the stub's own few bytes, which stay in the
//    baseline); the worker JS and the .wasm are the files only the real build emits (the JS file that
//    references the .wasm, and the .wasm). Every file gzip -9 on its own (GNU gzip -9 -n, the budgets'
//    measure), as it is served; tests/support/examples.mjs describeBuild() sorts the files into these roles.
// 2. React timings. The React build is served as the tests serve it (/config.json next to it), with
//    the local oidc-provider, in headless Chromium, each page load in a fresh browser context. An init
//    script (context.addInitScript; www/react is not modified) puts a MutationObserver on the
//    document before the app's scripts run and records performance.now() (ms since the navigation
//    start) at the first DOM mutation after which the page shows "Loading…" (the first render) and
//    at the first one after which it shows #sign-in or #user-name (App.jsx renders them only once
//    useAuth().isLoading is false; #error there fails the run). The observer's callback runs in the
//    microtask right after React's commit, before paint.
//    a. signed out: BENCH_EXAMPLE_LOADS loads of / (after one unmeasured load);
//    b. signed in: tokens live only in the worker, so a reload is signed out again; the signed-in
//       load is the login's callback page: BENCH_EXAMPLE_LOGINS logins through the provider's forms,
//       each measured on the callback document (its navigation starts with the consent form's POST,
//       which the provider answers with two 303 redirects; PerformanceNavigationTiming.fetchStart is
//       when the browser starts fetching the redirect URI).
//
// Env (for quick trials; the defaults are what results.md reports):
//   BENCH_EXAMPLE_LOADS=10  BENCH_EXAMPLE_LOGINS=10  BENCH_OUT=bench/results.md

import {
  cp, mkdir, mkdtemp, readFile, rm, writeFile,
} from 'node:fs/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

import { transform } from 'esbuild';

import { startProvider } from '../tests/op/provider.mjs';
import { startApiServer } from '../tests/support/api-server.mjs';
import { closeBrowser, launchBrowser } from '../tests/support/browser.mjs';
import {
  buildExample, describeBuild, EXAMPLES, installExample, packPackage, serveExample,
} from '../tests/support/examples.mjs';
import { completeLogin } from '../tests/support/op-interactions.mjs';
import {
  commandLine, DEFAULT_OUT, envInt, EXAMPLES_HEADING, int, log, machine, machineLine, ms, packageLine, REPO_ROOT,
  seconds, snapshotPkg, summary, withSection,
  stopOnSignals,
} from './lib.mjs';

const LOADS = envInt('BENCH_EXAMPLE_LOADS', 10);
const LOGINS = envInt('BENCH_EXAMPLE_LOGINS', 10);
const OUT = resolve(process.env.BENCH_OUT || DEFAULT_OUT);
const APPS = ['react', 'vue', 'webpack'];

// ---------------------------------------------------------------- the stub package

/**
 * node_modules/oidc-worker of the baseline builds: the real package's name, version and `exports`
 * (types left out), and modules with the same named exports that do nothing. They import nothing
 * (not even from react or vue), so every framework function the real adapters use counts as added.
 */
const STUB_FILES = {
  'pkg/index.js': `// oidc-worker stub (size baseline): the same exports, no client.
export class AuthError extends Error {}
export async function createAuthClient() { throw new AuthError('oidc-worker stub'); }
`,
  'pkg/react.js': `// oidc-worker/react stub (size baseline): the same exports; always signed out.
const none = async () => { throw new Error('oidc-worker/react stub'); };
const state = { isLoading: false, isAuthenticated: false, user: null, error: null, loginWithRedirect: none, logout: none, getAccessToken: none, fetch: none };
export function AuthProvider({ children }) { return children; }
export function useAuth() { return state; }
export function withAuthenticationRequired(Component) { return Component; }
`,
  'pkg/vue.js': `// oidc-worker/vue stub (size baseline): the same exports; always signed out.
const none = async () => { throw new Error('oidc-worker/vue stub'); };
const auth = { isLoading: { value: false }, isAuthenticated: { value: false }, user: { value: null }, error: { value: null }, loginWithRedirect: none, logout: none, getAccessToken: none, fetch: none, install() {} };
export function createAuth() { return auth; }
export function useAuth() { return auth; }
export function createAuthGuard() { return () => true; }
`,
};

async function writeStubPackage(dir) {
  const target = join(dir, 'node_modules', 'oidc-worker');
  const real = JSON.parse(await readFile(join(target, 'package.json'), 'utf8'));
  await rm(target, { recursive: true, force: true });
  await mkdir(join(target, 'pkg'), { recursive: true });
  const exportsMap = {};
  for (const [key, value] of Object.entries(real.exports)) {
    exportsMap[key] = typeof value === 'string' ? value : value.import ?? value.default;
  }
  const pkg = {
    name: real.name, version: real.version, type: 'module', exports: exportsMap, sideEffects: false,
  };
  await writeFile(join(target, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  for (const [file, text] of Object.entries(STUB_FILES)) await writeFile(join(target, file), text);
  for (const [key, file] of Object.entries(exportsMap)) {
    if (key !== './package.json' && !STUB_FILES[file.replace(/^\.\//, '')]) throw new Error(`the stub has no ${file} (export ${key})`);
  }
}

/** The string each stub module leaves in a bundle that includes it (comments are minified away). */
const STUB_MARKERS = {
  'pkg/index.js': "'oidc-worker stub'", 'pkg/react.js': "'oidc-worker/react stub'", 'pkg/vue.js': "'oidc-worker/vue stub'",
};
/** Raw bytes of each stub module minified on its own (esbuild): about what it leaves in a baseline bundle. */
async function stubMinifiedSizes() {
  const out = {};
  for (const [file, text] of Object.entries(STUB_FILES)) {
    out[file] = (await transform(text, { minify: true, format: 'esm', loader: 'js' })).code.length;
  }
  return out;
}

// ---------------------------------------------------------------- 1. sizes

/** A package directory for npm pack: the repository's package.json, README.md, LICENSE and the pkg/ snapshot. */
async function packSource(tmp, snapshot) {
  const dir = join(tmp, 'package');
  await mkdir(dir, { recursive: true });
  for (const file of ['package.json', 'README.md', 'LICENSE']) await cp(join(REPO_ROOT, file), join(dir, file));
  await cp(snapshot.dir, join(dir, 'pkg'), { recursive: true });
  return dir;
}

const sum = (files, key = 'gzip') => files.reduce((n, f) => n + f[key], 0);

async function measureApp(name, tgz, tmp, wasmBytes) {
  const t0 = performance.now();
  const withDir = join(tmp, name);
  const { dir } = await installExample(name, { tgz, into: withDir });
  const installMs = performance.now() - t0;
  // The baseline: the same installed directory (no dist/, no bundler cache), the package swapped.
  const stubDir = join(tmp, `${name}-stub`);
  await cp(dir, stubDir, {
    recursive: true,
    filter: (path) => !/^(dist|node_modules\/\.vite)(\/|$)/.test(relative(dir, path)),
  });
  await writeStubPackage(stubDir);

  const t1 = performance.now();
  const real = await buildExample(name, dir);
  const withBuild = await describeBuild(real.distDir);
  const t2 = performance.now();
  const stub = await buildExample(name, stubDir);
  const withoutBuild = await describeBuild(stub.distDir);
  const t3 = performance.now();

  const where = `www/${name}`;
  if (withBuild.wasm.length !== 1 || withBuild.worker.length !== 1) {
    throw new Error(`${where}: expected one .wasm and one worker file, got ${withBuild.files.join(', ')}`);
  }
  const wasm = await readFile(join(real.distDir, withBuild.wasm[0].file));
  if (!wasm.equals(wasmBytes)) throw new Error(`${where}: the emitted .wasm is not the package's`);
  if (withoutBuild.wasm.length || withoutBuild.worker.length) {
    throw new Error(`${where}: the stub build still has a worker or a .wasm: ${withoutBuild.files.join(', ')}`);
  }
  // Which stub modules the baseline bundled (the app imports one entry point; a stub imports nothing).
  const stubsIn = [];
  for (const { file } of withoutBuild.mainJs) {
    const text = await readFile(join(stub.distDir, file), 'utf8');
    for (const [module, marker] of Object.entries(STUB_MARKERS)) {
      if (text.includes(marker.slice(1, -1)) && !stubsIn.includes(module)) stubsIn.push(module);
    }
  }
  if (!stubsIn.length) throw new Error(`${where}: the baseline's page JS does not contain the stub`);
  if (real.warnings?.length || stub.warnings?.length) {
    throw new Error(`${where}: bundler warnings: ${JSON.stringify([...(real.warnings ?? []), ...(stub.warnings ?? [])])}`);
  }
  // Everything that is not JS or wasm (HTML, CSS, static files) should be the same in both builds,
  // but for the page JS's file names (Vite puts a content hash in them, and index.html names them).
  const others = async (distDir, build) => {
    const out = {};
    for (const file of build.files.filter((f) => !f.endsWith('.js') && !f.endsWith('.wasm'))) {
      let bytes = await readFile(join(distDir, file));
      if (/\.(html|css)$/.test(file)) {
        let text = bytes.toString('utf8');
        build.mainJs.forEach((js, i) => { text = text.split(js.file).join(`<page JS ${i}>`); });
        bytes = Buffer.from(text);
      }
      out[file] = createHash('sha256').update(bytes).digest('hex');
    }
    return out;
  };
  const othersWith = await others(real.distDir, withBuild);
  const othersWithout = await others(stub.distDir, withoutBuild);
  const otherDiffs = [...new Set([...Object.keys(othersWith), ...Object.keys(othersWithout)])]
    .filter((f) => othersWith[f] !== othersWithout[f]);

  return {
    name,
    with: withBuild,
    without: withoutBuild,
    pageAdded: sum(withBuild.mainJs) - sum(withoutBuild.mainJs),
    pageAddedRaw: sum(withBuild.mainJs, 'raw') - sum(withoutBuild.mainJs, 'raw'),
    worker: sum(withBuild.worker),
    workerRaw: sum(withBuild.worker, 'raw'),
    wasm: sum(withBuild.wasm),
    wasmRaw: sum(withBuild.wasm, 'raw'),
    otherFiles: Object.keys(othersWith).length,
    stubsIn,
    otherDiffs,
    ms: { install: installMs, build: t2 - t1, stubBuild: t3 - t2 },
  };
}

// ---------------------------------------------------------------- 2. React timings

/**
 * Runs in every document of the context before its scripts (the provider's pages too: it does
 * nothing there). window.__exampleTiming = { loading, done, state } in ms since navigation start.
 */
function timingInitScript(appOrigin) {
  if (window.location.origin !== appOrigin) return;
  const t = { loading: null, done: null, state: null };
  window.__exampleTiming = t;
  const observer = new MutationObserver(() => {
    const now = performance.now();
    if (t.loading === null) {
      for (const p of document.querySelectorAll('#root p')) {
        if (p.textContent === 'Loading…') { t.loading = now; break; }
      }
    }
    const shown = document.querySelector('#sign-in, #user-name');
    if (t.done === null && (shown || document.querySelector('#error'))) {
      t.done = now;
      t.state = document.querySelector('#error') ? `error: ${document.querySelector('#error').textContent}` : shown.id;
      observer.disconnect();
    }
  });
  observer.observe(document, { childList: true, subtree: true, characterData: true });
}

async function readTiming(page, what) {
  await page.waitForFunction(() => window.__exampleTiming?.done != null, null, { timeout: 20000 });
  const { t, nav } = await page.evaluate(() => ({
    t: window.__exampleTiming,
    nav: performance.getEntriesByType('navigation')[0]?.toJSON(),
  }));
  if (t.loading === null) throw new Error(`${what}: the page never showed "Loading…" before ${t.state}`);
  return { ...t, fetchStart: nav?.fetchStart ?? 0 };
}

async function measureReact(browser, server, op) {
  const appUrl = `${server.origin}/`;
  const newContext = async () => {
    const context = await browser.newContext();
    await context.addInitScript(timingInitScript, server.origin);
    const page = await context.newPage();
    page.setDefaultTimeout(20000);
    return { context, page };
  };

  const signedOut = [];
  for (let i = -1; i < LOADS; i += 1) { // i = -1: the unmeasured first load
    const { context, page } = await newContext();
    try {
      await page.goto(appUrl);
      const t = await readTiming(page, `signed-out load ${i + 1}`);
      if (t.state !== 'sign-in') throw new Error(`signed-out load ${i + 1}: the app showed ${t.state}, not #sign-in`);
      if (i >= 0) signedOut.push(t);
    } finally {
      await context.close();
    }
  }

  const signedIn = [];
  for (let i = 0; i < LOGINS; i += 1) {
    const { context, page } = await newContext();
    try {
      await page.goto(appUrl);
      await page.locator('#sign-in').waitFor();
      const grants = op.tokenRequests.length;
      const { url, steps } = await completeLogin(page, {
        issuer: op.issuer, login: 'alice', trigger: () => page.locator('#sign-in').click(),
      });
      if (!new URL(url).searchParams.get('code')) throw new Error(`login ${i + 1}: came back without a code: ${url} (steps ${steps.join(',')})`);
      const t = await readTiming(page, `callback ${i + 1}`);
      if (t.state !== 'user-name') throw new Error(`callback ${i + 1}: the app showed ${t.state}, not #user-name`);
      const name = await page.locator('#user-name').textContent();
      if (name !== 'Alice') throw new Error(`callback ${i + 1}: the app shows the user ${JSON.stringify(name)}`);
      const exchanged = op.tokenRequests.slice(grants);
      if (exchanged.length !== 1 || exchanged[0].grantType !== 'authorization_code' || exchanged[0].status !== 200) {
        throw new Error(`callback ${i + 1}: expected one successful code exchange, the provider saw ${JSON.stringify(exchanged.map((g) => [g.grantType, g.status]))}`);
      }
      signedIn.push({ ...t, steps: steps.join(',') });
    } finally {
      await context.close();
    }
  }
  return { signedOut, signedIn };
}

// ---------------------------------------------------------------- report

function report({
  env, snapshot, packed, apps, react, runSeconds, stubSizes,
}) {
  const L = [];
  L.push(EXAMPLES_HEADING);
  L.push('');
  L.push(`- date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`);
  L.push(machineLine(env));
  L.push(packageLine(snapshot));
  L.push(`- tarball: \`npm pack\` of that pkg/ with the repository's package.json, README.md and LICENSE: \`${packed.name}\`, ${int(packed.bytes)} B, sha256 ${packed.sha256.slice(0, 12)}…`);
  L.push(`- command: \`${commandLine('examples.mjs')}\`${process.env.BENCH_RUNNER === 'run.sh' ? ' (this section: `node bench/examples.mjs`)' : ''}`);
  L.push(`- run time: ${runSeconds.toFixed(0)} s (examples.mjs; installs and builds ${apps.map((a) => `${a.name} ${((a.ms.install + a.ms.build + a.ms.stubBuild) / 1000).toFixed(1)} s`).join(', ')})`);
  L.push('');

  L.push('### What oidc-worker adds to each example\'s production build');
  L.push('');
  L.push('Each app installed from the tarball (`tests/support/examples.mjs`, as `tests/e2e/examples.test.mjs` does: framework at the');
  L.push('repository\'s devDependency versions) and built by the repository\'s bundler (Vite with no config and no plugin; webpack with the');
  L.push('app\'s `webpack.config.mjs`) twice: as it is, and from a copy of the same installed directory whose `node_modules/oidc-worker` is a');
  L.push('stub package of the same shape (same name and `exports` map; `pkg/index.js`, `pkg/react.js`, `pkg/vue.js` with the same named');
  L.push('exports, each a few lines that import nothing and do nothing; `STUB_FILES` in `bench/examples.mjs`). Same source, same other');
  L.push('packages, same bundler: "page JS added" is the real build\'s page JS minus the baseline\'s (all JS files but the worker);');
  L.push('the stub module an app bundles stays in its baseline, so the figure is low by about its size (minified by esbuild on its own:');
  L.push(`${Object.entries(stubSizes).map(([f, n]) => `\`${f}\` ${int(n)} B`).join(', ')} raw, less once gzipped with the rest).`);
  L.push('"worker JS" is the emitted file that loads the `.wasm`, "wasm" the emitted `.wasm` (byte for byte the package\'s), both absent');
  L.push('from the baseline. Each file compressed on its own with GNU `gzip -9 -n` (the measure of the size budgets and of `scripts/build.sh`), as it is served.');
  const same = apps.every((a) => a.otherDiffs.length === 0);
  L.push(same
    ? `HTML, CSS and static files are the same in both builds of each app (${apps.map((a) => `${a.name} ${a.otherFiles}`).join(', ')} files), `
      + 'byte for byte once the page JS\'s file name is set aside (Vite\'s `index.html` names it with a content hash).'
    : `Other files that differ between the two builds: ${apps.filter((a) => a.otherDiffs.length).map((a) => `${a.name}: ${a.otherDiffs.join(', ')}`).join('; ')}.`);
  L.push('');
  const files = (list) => list.map((f) => `\`${f.file}\``).join(' + ') || '—';
  for (const a of apps) {
    L.push(`**www/${a.name}** (${EXAMPLES[a.name].bundler}; the baseline bundles the stub's ${a.stubsIn.map((f) => `\`${f}\``).join(', ')}):`);
    L.push('');
    L.push('| part | files (with oidc-worker) | with (gzip -9 B) | without: stub (gzip -9 B) | oidc-worker\'s (gzip -9 B) | oidc-worker\'s (raw B) |');
    L.push('|---|---|--:|--:|--:|--:|');
    L.push(`| page JS | ${files(a.with.mainJs)} | ${int(sum(a.with.mainJs))} | ${int(sum(a.without.mainJs))} | ${int(a.pageAdded)} | ${int(a.pageAddedRaw)} |`);
    L.push(`| worker JS | ${files(a.with.worker)} | ${int(a.worker)} | — | ${int(a.worker)} | ${int(a.workerRaw)} |`);
    L.push(`| wasm | ${files(a.with.wasm)} | ${int(a.wasm)} | — | ${int(a.wasm)} | ${int(a.wasmRaw)} |`);
    const total = a.pageAdded + a.worker + a.wasm;
    L.push(`| **total** | | **${int(sum(a.with.mainJs) + a.worker + a.wasm)}** | **${int(sum(a.without.mainJs))}** | **${int(total)}** | **${int(a.pageAddedRaw + a.workerRaw + a.wasmRaw)}** |`);
    L.push('');
  }
  L.push('All three (gzip -9 B):');
  L.push('');
  L.push('| app | page JS added | worker JS | wasm | **oidc-worker in all** | the page\'s JS without it |');
  L.push('|---|--:|--:|--:|--:|--:|');
  for (const a of apps) {
    L.push(`| www/${a.name} | ${int(a.pageAdded)} | ${int(a.worker)} | ${int(a.wasm)} | **${int(a.pageAdded + a.worker + a.wasm)}** | ${int(sum(a.without.mainJs))} |`);
  }
  L.push('');
  L.push('The page JS added is all a page loads before it starts the worker; the worker JS and the wasm are fetched by the worker');
  L.push('when the client starts. (React\'s adapter imports only what React\'s one CommonJS bundle has anyway; Vue\'s is tree-shaken, so');
  L.push('the Vue functions the adapter uses and the app does not are part of its figure.)');
  L.push('');

  const row = (label, values) => {
    const s = summary(values);
    L.push(`| ${label} | ${s.n} | ${ms(s.median)} | ${ms(s.min)} | ${ms(s.max)} |`);
  };
  L.push('### React example: until `useAuth().isLoading` is `false`');
  L.push('');
  L.push('The React build above served as the tests serve it (a static server with `/config.json`; no cross-origin isolation, so');
  L.push('`performance.now()` steps by 0.1 ms), with the local oidc-provider, in headless Chromium; each page load in a fresh browser');
  L.push('context (empty cache; the server sends `Cache-Control: no-store`). `www/react` is not modified: an init script');
  L.push('(`page.addInitScript`) puts a `MutationObserver` on the document before the app runs and takes `performance.now()` (ms since the');
  L.push('navigation start) at the DOM change that first shows "Loading…" (the first render: HTML, the bundle, `/config.json`, React),');
  L.push('and at the one that first shows `#sign-in` or `#user-name`, which `App.jsx` renders only once `isLoading` is `false` (the');
  L.push('observer runs in the microtask right after React\'s commit, before paint).');
  L.push('');
  L.push('| measurement | n | median | min | max |');
  L.push('|---|--:|--:|--:|--:|');
  const so = react.signedOut;
  row('**signed out**: navigation start → `isLoading` false (`#sign-in`)', so.map((t) => t.done));
  row('&nbsp;&nbsp;of which: navigation start → first render ("Loading…")', so.map((t) => t.loading));
  row('&nbsp;&nbsp;of which: first render → `isLoading` false (worker + wasm start, configure, `isAuthenticated()`)', so.map((t) => t.done - t.loading));
  const si = react.signedIn;
  row('**signed in** (the login\'s callback page): callback document fetch start → `isLoading` false (`#user-name`)', si.map((t) => t.done - t.fetchStart));
  row('&nbsp;&nbsp;of which: fetch start → first render ("Loading…")', si.map((t) => t.loading - t.fetchStart));
  row('&nbsp;&nbsp;of which: first render → `isLoading` false (worker + wasm start, `handleRedirectCallback()` with the code exchange, `getUser()`)', si.map((t) => t.done - t.loading));
  row('callback: navigation start (`timeOrigin`, the consent form POST) → `isLoading` false', si.map((t) => t.done));
  L.push('');
  L.push(`Signed out: ${LOADS} loads of \`/\`, after one unmeasured load. Signed in: tokens live only in the worker, so a reload is signed`);
  L.push(`out again; the signed-in load measured is the callback page of a login: ${LOGINS} logins (each in a fresh context) through the`);
  L.push(`provider's login and consent forms (provider steps: ${[...new Set(si.map((t) => t.steps))].join('; ')}), each with one successful code exchange,`);
  L.push('the callback page showing the user\'s name. Its navigation starts with the consent form\'s POST, which the provider answers with two');
  L.push('303 redirects, so "callback document fetch start" (`PerformanceNavigationTiming.fetchStart`) leaves the provider\'s part out;');
  L.push('the last row keeps it in. The app\'s scope is `openid profile` (no refresh token). The "of which" rows are medians of their own.');
  L.push('');
  return L.join('\n');
}

// ---------------------------------------------------------------- main

let snapshot;
let tmp;
let server;
let op;
let api;
let browser;
let exitCode = 0;
const interrupted = stopOnSignals(() => {
  if (snapshot) rm(snapshot.dir, { recursive: true, force: true }).catch(() => {});
  if (tmp) rm(tmp, { recursive: true, force: true }).catch(() => {});
  return [closeBrowser(browser, 4000), server?.close(), op?.close(), api?.close()];
});
try {
  snapshot = await snapshotPkg();
  tmp = await mkdtemp(join(tmpdir(), 'oidc-worker-bench-examples-'));
  const packed = await packPackage(tmp, { from: await packSource(tmp, snapshot) });
  const tgzBytes = readFileSync(packed.tgz);
  packed.name = packed.tgz.slice(packed.tgz.lastIndexOf('/') + 1);
  packed.bytes = tgzBytes.length;
  packed.sha256 = createHash('sha256').update(tgzBytes).digest('hex');
  log(`examples: packed ${packed.name} (${int(packed.bytes)} B) from a copy of pkg/`);

  const wasmBytes = await readFile(join(snapshot.dir, 'oidc_worker_bg.wasm'));
  const apps = [];
  for (const name of APPS) {
    const a = await measureApp(name, packed.tgz, tmp, wasmBytes);
    apps.push(a);
    log(`examples: ${name}: page JS +${a.pageAdded} B, worker ${a.worker} B, wasm ${a.wasm} B (gzip -9)`);
  }

  const react = apps.find((a) => a.name === 'react');
  let pageConfig;
  server = await serveExample('react', join(tmp, 'react', 'dist'), { config: () => pageConfig });
  const appUrl = `${server.origin}/`;
  op = await startProvider({ redirectUris: [appUrl], postLogoutRedirectUris: [appUrl], quiet: true });
  api = await startApiServer({ allowOrigin: server.origin });
  pageConfig = { issuer: op.issuer, clientId: op.clientId, apiOrigin: api.origin };
  browser = await launchBrowser();
  const env = machine(browser.version());
  log(`examples: React build ${react.with.mainJs[0].file} served at ${appUrl}, provider ${op.issuer}`);
  const timings = await measureReact(browser, server, op);
  log(`examples: React: ${LOADS} signed-out loads, ${LOGINS} logins`);
  const failed = server.requests.filter((r) => r.status >= 400);
  if (failed.length) throw new Error(`the React app's server answered ${failed.map((r) => `${r.path} ${r.status}`).join(', ')}`);
  if (op.serverErrors.length) throw new Error(`the provider reported ${op.serverErrors.length} server error(s)`);

  const text = report({
    env, snapshot, packed, apps, react: timings, runSeconds: seconds(), stubSizes: await stubMinifiedSizes(),
  });
  writeFileSync(OUT, withSection(OUT, EXAMPLES_HEADING, text));
  log(`examples: wrote the "${EXAMPLES_HEADING.slice(3)}" section of ${relative(process.cwd(), OUT) || OUT}`);
} catch (err) {
  exitCode = 1;
  if (!interrupted()) console.error(`bench: FAILED: ${err?.stack ?? err}`);
} finally {
  await closeBrowser(browser);
  await Promise.allSettled([server?.close(), op?.close(), api?.close()]);
  if (snapshot) await rm(snapshot.dir, { recursive: true, force: true });
  if (tmp) await rm(tmp, { recursive: true, force: true });
}
process.exit(exitCode);
