// Benchmark of the built package (pkg/): what an app downloads, and how long the client takes in
// headless Chromium against the real local oidc-provider. It measures and reports; it asserts no
// timing (it only fails when a step does not work at all, e.g. a login that does not complete).
//
//   bash bench/run.sh            (builds pkg/ if missing, runs this, bench/lifecycle.mjs and bench/examples.mjs, prints
//                                bench/results.md)
//   node bench/perf.mjs          (pkg/ must be built; keeps the "Session lifecycle" section
//                                lifecycle.mjs wrote in results.md)
//
// Env (for quick trials; the defaults are what results.md reports):
//   BENCH_INIT_PAGES=20  BENCH_LOGINS=10  BENCH_TOKEN_READS=2000  BENCH_TOKEN_WARMUP=100
//   BENCH_OUT=bench/results.md
//
// The bench page (bench/page/) is served with COOP same-origin + COEP require-corp (+ CORP
// same-origin on every response, so the worker and the wasm pass COEP), which makes it
// cross-origin isolated: performance.now() then has ~5 µs resolution instead of 100 µs.
// Shared helpers (pkg snapshot, statistics, report environment): bench/lib.mjs.

import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

import { build as esbuild } from 'esbuild';

import { startProvider } from '../tests/op/provider.mjs';
import { closeBrowser, launchBrowser } from '../tests/support/browser.mjs';
import { completeLogin } from '../tests/support/op-interactions.mjs';
import { startStaticServer } from '../tests/support/static-server.mjs';
import {
  commandLine, DEFAULT_OUT, envInt, int, ISOLATION_HEADERS, joinResults, log, machine, machineLine, ms,
  packageLine, PAGE_DIR, percentile, readResults, seconds, snapshotPkg, summary, us, waitForBench,
  stopOnSignals,
} from './lib.mjs';

const INIT_PAGES = envInt('BENCH_INIT_PAGES', 20);
const LOGINS = envInt('BENCH_LOGINS', 10);
const TOKEN_READS = envInt('BENCH_TOKEN_READS', 2000);
const TOKEN_WARMUP = process.env.BENCH_TOKEN_WARMUP === '0' ? 0 : envInt('BENCH_TOKEN_WARMUP', 100);
const OUT = resolve(process.env.BENCH_OUT || DEFAULT_OUT);

// ---------------------------------------------------------------- 1. size

/** Files bundled from `entry` (static and dynamic imports, transitively), per esbuild's metafile. */
async function moduleGraph(entry) {
  const result = await esbuild({
    entryPoints: [entry], bundle: true, write: false, metafile: true, format: 'esm', logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs).map((f) => resolve(f)).sort((a, b) => (a === entry ? -1 : b === entry ? 1 : a.localeCompare(b)));
}

/** `new URL('x', import.meta.url)` references in `files` (worker scripts, wasm), resolved. */
function assetReferences(files) {
  const out = new Set();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/new URL\(\s*(["'`])([^"'`]+)\1\s*,\s*import\.meta\.url\s*\)/g)) {
      out.add(resolve(dirname(file), m[2]));
    }
  }
  return [...out];
}

// GNU gzip -9 -n: the measure of the budgets and of scripts/build.sh (Node's zlib differs by ~150 B).
const gzip9 = (buf) => execFileSync('gzip', ['-9', '-n'], { input: buf, maxBuffer: 1 << 26 }).length;

async function measureSizes(pkgDir) {
  const index = join(pkgDir, 'index.js');
  const mainFiles = await moduleGraph(index);
  const workerEntries = assetReferences(mainFiles).filter((f) => f.endsWith('.js'));
  const workerFiles = [];
  for (const entry of workerEntries) for (const f of await moduleGraph(entry)) if (!workerFiles.includes(f)) workerFiles.push(f);
  const wasmFiles = assetReferences(workerFiles).filter((f) => f.endsWith('.wasm'));
  const row = (part, files) => {
    const each = files.map((f) => {
      const buf = readFileSync(f);
      return { file: `pkg/${relative(pkgDir, f)}`, raw: buf.length, gzip: gzip9(buf) };
    });
    return {
      part,
      files: each,
      raw: each.reduce((a, b) => a + b.raw, 0),
      gzip: each.reduce((a, b) => a + b.gzip, 0),
    };
  };
  const rows = [
    row('main thread JS', mainFiles),
    row('worker JS', workerFiles),
    row('wasm', wasmFiles),
  ];
  const total = {
    part: 'total',
    files: rows.flatMap((r) => r.files),
    raw: rows.reduce((a, b) => a + b.raw, 0),
    gzip: rows.reduce((a, b) => a + b.gzip, 0),
  };
  return { rows, total };
}

// ---------------------------------------------------------------- 2. init

async function measureInit(browser, server, appUrl) {
  const inPage = [];
  const navToReady = [];
  const toFirstAnswer = [];
  const navToFirstAnswer = [];
  const navToScript = [];
  const config = [];
  let isolated = 0;
  let fetched = null;
  for (let i = 0; i < INIT_PAGES; i += 1) {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(20000);
      const first = server.requests.length;
      await page.goto(appUrl);
      const bench = await waitForBench(page);
      inPage.push(bench.t.createEnd - bench.t.createStart);
      navToReady.push(bench.t.createEnd);
      toFirstAnswer.push(bench.t.firstAnswer - bench.t.createStart);
      navToFirstAnswer.push(bench.t.firstAnswer);
      navToScript.push(bench.t.scriptStart);
      config.push(bench.t.configFetched - bench.t.scriptStart);
      if (bench.crossOriginIsolated) isolated += 1;
      if (i === 0) {
        await page.waitForLoadState('load');
        fetched = server.requests.slice(first).map((r) => `${r.path} ${r.status}`);
      }
    } finally {
      await context.close();
    }
  }
  return {
    inPage: summary(inPage),
    navToReady: summary(navToReady),
    toFirstAnswer: summary(toFirstAnswer),
    navToFirstAnswer: summary(navToFirstAnswer),
    navToScript: summary(navToScript),
    config: summary(config),
    isolated,
    fetched,
  };
}

// ---------------------------------------------------------------- 3 + 4. callback, token reads

async function measureLogins(browser, op, appUrl) {
  const fromNavStart = [];
  const fromFetchStart = [];
  const inCallback = [];
  const createOnCallback = [];
  const redirects = [];
  const fetchToScript = [];
  const config = [];
  let isolated = 0;
  let reads = null;
  for (let i = 0; i < LOGINS; i += 1) {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(20000);
      await page.goto(appUrl);
      await waitForBench(page);
      const { steps } = await completeLogin(page, {
        issuer: op.issuer, login: `bench${i}`, trigger: () => page.locator('#login').click(),
      });
      const bench = await waitForBench(page, { callback: true });
      if (JSON.stringify(bench.appState) !== '{"bench":true}') {
        throw new Error(`login ${i + 1}: unexpected appState ${JSON.stringify(bench.appState)} (steps ${steps.join(',')})`);
      }
      fromNavStart.push(bench.t.callbackEnd);
      fromFetchStart.push(bench.t.callbackEnd - bench.nav.fetchStart);
      inCallback.push(bench.t.callbackEnd - bench.t.callbackStart);
      createOnCallback.push(bench.t.firstAnswer - bench.t.createStart);
      redirects.push(bench.nav.fetchStart);
      fetchToScript.push(bench.t.scriptStart - bench.nav.fetchStart);
      config.push(bench.t.configFetched - bench.t.scriptStart);
      if (bench.crossOriginIsolated) isolated += 1;

      if (i === LOGINS - 1) {
        const resolution = await page.evaluate(() => window.benchTimerResolution());
        const grantsBefore = op.tokenRequests.length;
        const result = await page.evaluate(([n, w]) => window.benchTokenReads(n, w), [TOKEN_READS, TOKEN_WARMUP]);
        const grantsDuring = op.tokenRequests.length - grantsBefore;
        if (result.distinct !== 1 || grantsDuring !== 0) {
          throw new Error(`token reads were not all cached: ${result.distinct} distinct tokens, ${grantsDuring} token requests`);
        }
        const s = result.samples;
        reads = {
          ...summary(s),
          p50: percentile(s, 50),
          p99: percentile(s, 99),
          isolated: bench.crossOriginIsolated,
          resolution,
        };
      }
    } finally {
      await context.close();
    }
  }
  return {
    fromNavStart: summary(fromNavStart),
    fromFetchStart: summary(fromFetchStart),
    inCallback: summary(inCallback),
    createOnCallback: summary(createOnCallback),
    preFetch: summary(redirects),
    fetchToScript: summary(fetchToScript),
    config: summary(config),
    isolated,
    reads,
  };
}

// ---------------------------------------------------------------- report

function report({
  sizes, init, logins, env, runSeconds, snapshot,
}) {
  const L = [];
  L.push('# oidc-worker benchmark');
  L.push('');
  L.push(`- date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`);
  L.push(machineLine(env));
  L.push(packageLine(snapshot));
  L.push(process.env.BENCH_RUNNER === 'run.sh'
    ? `- command: \`${commandLine('perf.mjs')}\` (runs \`node bench/perf.mjs\`, which writes everything down to "Cached token reads", then \`node bench/lifecycle.mjs\` ("Session lifecycle") and \`node bench/examples.mjs\` ("Example apps"))`
    : `- command: \`${commandLine('perf.mjs')}\``);
  L.push(`- run time: ${runSeconds.toFixed(0)} s (perf.mjs)`);
  L.push('');
  L.push('> Timings are wall clock in headless Chromium on a shared 2-core machine, with the provider, the');
  L.push('> static server and the browser all on it: they are noisy (expect ±20 % or more between runs).');
  L.push('> Compare medians, not single runs. Nothing here is asserted.');
  L.push('');

  L.push('## Size');
  L.push('');
  L.push('What an app loads from the package, each file compressed on its own with GNU `gzip -9 -n`');
  L.push('(the budgets\' measure, as `scripts/build.sh` prints it), as it is served (one HTTP response per file). Files found by following');
  L.push('imports (esbuild metafile) and the `new URL(…, import.meta.url)` worker/wasm references from `pkg/index.js`.');
  L.push('');
  L.push('| part | files | raw (B) | gzip -9 (B) |');
  L.push('|---|---|--:|--:|');
  for (const r of [...sizes.rows, sizes.total]) {
    const files = r.part === 'total' ? `${r.files.length} files` : r.files.map((f) => `\`${f.file}\``).join(' + ');
    const bold = (s) => (r.part === 'total' ? `**${s}**` : s);
    L.push(`| ${bold(r.part)} | ${files} | ${bold(int(r.raw))} | ${bold(int(r.gzip))} |`);
  }
  if (init.fetched) {
    L.push('');
    L.push(`Requests of one bench page load (server log): ${init.fetched.map((f) => `\`${f}\``).join(', ')}.`);
  }
  L.push('');

  L.push('## Timings');
  L.push('');
  L.push(`All in-page times are \`performance.now()\` in the bench page (\`bench/page/\`), served with`);
  L.push('`Cross-Origin-Opener-Policy: same-origin`, `Cross-Origin-Embedder-Policy: require-corp` and');
  L.push('`Cross-Origin-Resource-Policy: same-origin` (the provider, a different origin, is reached by CORS).');
  L.push(`\`crossOriginIsolated\`: ${init.isolated}/${INIT_PAGES} init pages, ${logins.isolated}/${LOGINS} callback pages; `
    + `measured \`performance.now()\` step in the token-read page: ${us(logins.reads.resolution)}.`);
  L.push('');
  L.push('| measurement | n | median | min | max |');
  L.push('|---|--:|--:|--:|--:|');
  const tr = (name, s, fmt = ms) => L.push(`| ${name} | ${s.n} | ${fmt(s.median)} | ${fmt(s.min)} | ${fmt(s.max)} |`);
  tr('**init**: `createAuthClient()` → resolved, in page (it starts the worker and does not wait for it)', init.inPage);
  tr('**init**: navigation start → `createAuthClient()` resolved', init.navToReady);
  tr('**first answer**: `createAuthClient()` call → first call (`isAuthenticated()`) answered (worker spawn, wasm fetch + compile + instantiate, configure, restore check)', init.toFirstAnswer);
  tr('**first answer**: navigation start → first call answered', init.navToFirstAnswer);
  tr('&nbsp;&nbsp;of which: navigation start → page script runs (HTML, `bench.js`, `pkg/index.js`)', init.navToScript);
  tr('&nbsp;&nbsp;of which: `/bench-config.json` fetch', init.config);
  tr('**callback**: callback document fetch start → `handleRedirectCallback()` resolved', logins.fromFetchStart);
  tr('&nbsp;&nbsp;of which: fetch start → page script runs', logins.fetchToScript);
  tr('&nbsp;&nbsp;of which: `/bench-config.json` fetch', logins.config);
  tr('&nbsp;&nbsp;of which: start-up, `createAuthClient()` call → first call answered', logins.createOnCallback);
  tr('&nbsp;&nbsp;of which: **inside `handleRedirectCallback()` alone** (IndexedDB take, discovery, token request, ID token checks)', logins.inCallback);
  tr('callback: navigation start (`timeOrigin`, the consent form POST) → `handleRedirectCallback()` resolved', logins.fromNavStart);
  tr('&nbsp;&nbsp;of which: consent POST + the provider\'s two 303 redirects (`timeOrigin` → `fetchStart`)', logins.preFetch);
  L.push('');
  L.push('The "of which" rows are medians of their own, so they need not add up exactly to the row above.');
  L.push(`Init: ${INIT_PAGES} page loads, each in a fresh browser context (empty cache; the server sends \`Cache-Control: no-store\`).`);
  L.push(`Callback: ${LOGINS} logins, each in a fresh browser context, through the provider's real login and consent forms`);
  L.push('(`tests/support/op-interactions.mjs`), scope `openid profile email offline_access`, `prompt=consent`.');
  L.push('The callback document is the last hop of a navigation that starts with the consent form\'s POST to the provider');
  L.push('(303 → `/auth/…` → 303 → redirect URI), so its `timeOrigin` includes the provider\'s work; "callback document fetch');
  L.push('start" is `PerformanceNavigationTiming.fetchStart`, when the browser starts fetching the redirect URI. The callback page');
  L.push('is a fresh document, so it creates its client (new worker, wasm) before it can handle the callback.');
  L.push('');

  const r = logins.reads;
  L.push('### Cached token reads');
  L.push('');
  L.push(`\`getAccessToken()\` with a valid access token, ${int(r.n)} sequential calls in one page (after ${TOKEN_WARMUP} unmeasured warm-up calls),`);
  L.push(`each timed with \`performance.now()\`; the page ${r.isolated ? 'was' : '**was not**'} cross-origin isolated. `
    + 'Every call returned the same token and the provider saw no token request meanwhile (all served from the worker\'s memory).');
  L.push('');
  L.push('| n | p50 | p99 | mean | min | max |');
  L.push('|--:|--:|--:|--:|--:|--:|');
  L.push(`| ${int(r.n)} | ${us(r.p50)} | ${us(r.p99)} | ${us(r.mean)} | ${us(r.min)} | ${us(r.max)} |`);
  L.push('');
  return L.join('\n');
}

// ---------------------------------------------------------------- main

let snapshot;
let server;
let op;
let browser;
let exitCode = 0;
// Interrupted (Ctrl-C, or run.sh's timeout): stop the servers and the browser, remove the copy.
const interrupted = stopOnSignals(() => {
  if (snapshot) rmSync(snapshot.dir, { recursive: true, force: true });
  return [closeBrowser(browser, 4000), server?.close(), op?.close()];
});
try {
  snapshot = await snapshotPkg();
  const sizes = await measureSizes(snapshot.dir);
  log(`sizes measured (pkg/ copied to ${snapshot.dir})`);

  server = await startStaticServer({
    mounts: { '/pkg/': snapshot.dir, '/': PAGE_DIR },
    json: { '/bench-config.json': () => ({ issuer: op.issuer, clientId: op.clientId }) },
    headers: ISOLATION_HEADERS,
  });
  const appUrl = `${server.origin}/`;
  op = await startProvider({ redirectUris: [appUrl], quiet: true });
  browser = await launchBrowser();
  const env = machine(browser.version());
  log(`servers up (app ${appUrl}, provider ${op.issuer}), Chromium ${env.chromium}`);

  const init = await measureInit(browser, server, appUrl);
  log(`init: ${INIT_PAGES} pages`);
  const logins = await measureLogins(browser, op, appUrl);
  log(`callback: ${LOGINS} logins, ${TOKEN_READS} token reads`);
  if (op.serverErrors.length) throw new Error(`the provider reported ${op.serverErrors.length} server error(s)`);

  const text = report({
    sizes, init, logins, env, snapshot, runSeconds: seconds(),
  });
  // Keep the sections bench/lifecycle.mjs and bench/examples.mjs added (run.sh runs them next).
  writeFileSync(OUT, joinResults(text, readResults(OUT).sections));
  log(`wrote ${relative(process.cwd(), OUT) || OUT}`);
} catch (err) {
  exitCode = 1;
  if (!interrupted()) console.error(`bench: FAILED: ${err?.stack ?? err}`);
} finally {
  await closeBrowser(browser);
  await Promise.allSettled([server?.close(), op?.close()]);
  if (snapshot) rmSync(snapshot.dir, { recursive: true, force: true });
}
process.exit(exitCode);
