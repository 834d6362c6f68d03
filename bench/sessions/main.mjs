// Sessions across tabs and reloads (issue 9, "Measured"): how long a page of a signed-in browser
// takes to know it is signed in and to hold a usable access token, and how many requests reach the
// provider meanwhile, for oidc-worker's modes and for auth0-spa-js, oidc-client-ts and msal-browser
// with their own persistence, in ONE interleaved run (every round runs every mode once, in order), in
// headless Chromium against one real oidc-provider. It measures and reports; it asserts no timing. A
// rep fails only when a step does not work (a login, a page that reports an error).
//
//   bash bench/sessions/run.sh      installs the peer libraries (npm ci in bench/sessions/) if needed,
//                                   builds pkg/ if it is missing, runs this; ~7 minutes
//   node bench/sessions/main.mjs    (the same, once both are there)
//
// Env: BENCH_SESSIONS_REPS=7 (measured rounds), BENCH_SESSIONS_WARMUP=1 (rounds run first and not
// counted), BENCH_SESSIONS_MODES=id,id (a subset, e.g. the oidc-worker modes only), BENCH_OUT
// (default bench/results.md: this writes its section, "## Sessions across tabs and reloads", and
// keeps the rest), OIDC_WORKER_PKG_DIR (another build of the package).
//
// One rep of one mode: a fresh browser context (for a mode that needs third-party cookies, a
// fresh Chromium profile whose preferences allow them), page A opens the app (signed out), logs in
// through the provider's form, and lands on the app signed in with a token. Then:
//   1. new tab: page B opens the app in the same context, with A still open; timed from
//      page.goto() until the app knows whether it is signed in, and until it holds a token; then B
//      is closed;
//   2. reload of the only tab: page A reloads; timed the same way from page.reload().
// "The app" is bench/sessions/page-runtime.js + the mode's adapter (adapters/*.js): create the
// client, complete a callback if the URL has one, ask "signed in?", then get the access token.
// The provider counts every request it sees in each timed window (and 300 ms after it), and says
// whether the token the page got is an active access token.
//
// The app is https://127.0.0.1:PORT, the provider https://localhost:PORT: two sites, as an app and a
// hosted provider are, so a hidden iframe's request to the provider is a third-party request.
// Chromium blocks third-party cookies by default; the modes marked "3PC allowed" run in a profile
// with cookie_controls_mode 0 (as tests/e2e/restore.test.mjs does), and their "blocked" twins show
// what happens in a default profile.

import { fork } from 'node:child_process';
import {
  mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

import { chromium } from 'playwright-core';

import { CHROMIUM_ARGS, CHROMIUM_PATH, closeBrowser, launchBrowser } from '../../tests/support/browser.mjs';
import {
  DEFAULT_OUT, envInt, log, machine, machineLine, median, packageLine, REPO_ROOT, seconds, SESSIONS_HEADING,
  snapshotPkg, stopOnSignals, withSection,
} from '../lib.mjs';
import { buildAdapters, SESSIONS_DIR } from './build.mjs';

const REPS = envInt('BENCH_SESSIONS_REPS', 7);
const WARMUP = process.env.BENCH_SESSIONS_WARMUP === '0' ? 0 : envInt('BENCH_SESSIONS_WARMUP', 1);
const OUT = resolve(process.env.BENCH_OUT || DEFAULT_OUT);
const SETTLE_MS = 300; // after a timed window: requests still on their way are counted too
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });
const moduleVersion = (name) => {
  try {
    return JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
};

/**
 * The modes, in the order each round runs them. `stores`: where the mode keeps what lets a new
 * page be signed in (checked after each login: see probe()); `thirdPartyCookies`: run in a profile
 * that allows them.
 */
const MODES = [
  {
    id: 'ow-browser', adapter: 'oidc-worker', options: {},
    label: 'oidc-worker, `sharing: "browser"` (default)',
    keeps: 'session in the module SharedWorker (`extendedLifetime`); localStorage: a session hint (a time, no token)',
  },
  {
    id: 'ow-redirect', adapter: 'oidc-worker', options: { sharing: 'tab', restore: 'redirect' },
    label: 'oidc-worker, holder lost (`sharing: "tab"`), `restore: "redirect"` (default)',
    keeps: 'a dedicated worker per page (gone on reload); localStorage: the session hint; the provider\'s session cookie, sent on a top-level navigation',
  },
  {
    id: 'ow-silent', adapter: 'oidc-worker', options: { sharing: 'tab', restore: 'silent' }, thirdPartyCookies: true,
    label: 'oidc-worker, holder lost (`sharing: "tab"`), `restore: "silent"`, 3PC allowed',
    keeps: 'as above, but the `prompt=none` request from a hidden iframe: the provider\'s cookie is a third-party cookie there',
  },
  {
    id: 'ow-silent-3pcb', adapter: 'oidc-worker', options: { sharing: 'tab', restore: 'silent' },
    label: 'oidc-worker, holder lost, `restore: "silent"`, 3PC blocked (Chromium\'s default)',
    keeps: 'as above; the iframe reaches the provider without its cookie',
  },
  {
    id: 'a0-localstorage', adapter: 'auth0-spa-js', options: { cacheLocation: 'localstorage', useRefreshTokens: true },
    label: 'auth0-spa-js, `cacheLocation: "localstorage"`, `useRefreshTokens: true`',
    keeps: 'tokens, refresh token included, in localStorage; a first-party cookie saying a login happened',
  },
  {
    id: 'a0-iframe', adapter: 'auth0-spa-js', options: {}, thirdPartyCookies: true,
    label: 'auth0-spa-js, defaults (memory cache, no refresh token), 3PC allowed',
    keeps: 'nothing but a first-party cookie saying a login happened; each page load asks the provider in a hidden iframe (`prompt=none`, `response_mode=web_message`)',
  },
  {
    id: 'a0-iframe-3pcb', adapter: 'auth0-spa-js', options: {},
    label: 'auth0-spa-js, defaults, 3PC blocked (Chromium\'s default)',
    keeps: 'as above; the iframe reaches the provider without its cookie',
  },
  {
    id: 'octs-session', adapter: 'oidc-client-ts', options: {},
    label: 'oidc-client-ts, defaults (user in sessionStorage)',
    keeps: 'the user, tokens and refresh token included, in sessionStorage: per tab',
  },
  {
    id: 'octs-local', adapter: 'oidc-client-ts', options: { store: 'localStorage' },
    label: 'oidc-client-ts, `userStore: new WebStorageStateStore({ store: localStorage })`',
    keeps: 'the user, tokens and refresh token included, in localStorage',
  },
  {
    id: 'msal-session', adapter: 'msal-browser', options: { cacheLocation: 'sessionStorage' },
    label: 'msal-browser, `cacheLocation: "sessionStorage"` (default)',
    keeps: 'its cache, refresh token included, in sessionStorage: per tab',
  },
  {
    id: 'msal-local', adapter: 'msal-browser', options: { cacheLocation: 'localStorage' },
    label: 'msal-browser, `cacheLocation: "localStorage"`',
    keeps: 'its cache, refresh token included, in localStorage, encrypted with a key kept in a session cookie',
  },
];
const SCENARIOS = [
  { key: 'newTab', title: 'New tab of a signed-in browser', from: '`page.goto()`' },
  { key: 'reload', title: 'Reload of the only tab', from: '`page.reload()`' },
];

// ---------------------------------------------------------------- servers (child process)

let servers;
const pending = new Map();
let seq = 0;
function srv(cmd, args) {
  return new Promise((res, rej) => {
    if (!servers?.connected) { rej(new Error('the servers process is not running')); return; }
    const id = ++seq;
    const t = setTimeout(() => { pending.delete(id); rej(new Error(`servers: ${cmd} timed out`)); }, 10000);
    pending.set(id, { res, rej, t });
    servers.send({ id, cmd, args });
  });
}
function startServers(options, logFile) {
  const fd = openSync(logFile, 'w');
  servers = fork(join(SESSIONS_DIR, 'servers.mjs'), [JSON.stringify(options)], { stdio: ['ignore', fd, fd, 'ipc'] });
  servers.on('message', (m) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    clearTimeout(p.t);
    if (m.ok) p.res(m.result); else p.rej(new Error(m.error));
  });
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error('the servers did not start within 30 s')), 30000);
    servers.once('exit', (code) => rej(new Error(`the servers exited (code ${code}); see ${logFile}`)));
    servers.on('message', (m) => { if (m.ready) { clearTimeout(t); res(m.ready); } });
  });
}
async function stopServers() {
  if (!servers || servers.exitCode !== null) return;
  const exited = new Promise((r) => { servers.once('exit', r); });
  try { servers.send({ id: 0, cmd: 'shutdown' }); } catch { /* gone */ }
  await Promise.race([exited, sleep(3000)]);
  if (servers.exitCode === null) servers.kill('SIGKILL');
}

/** "GET /authorize (prompt=none) 303"-style lines of what the provider saw. */
const describeRequests = (requests) => requests.map((r) => `${r.method} ${r.path}${r.prompt ? ` (prompt=${r.prompt})` : ''} ${r.status}`);

// ---------------------------------------------------------------- browsers

// The servers' certificate is self-signed. Playwright's ignoreHTTPSErrors covers pages and their
// dedicated workers, not a SharedWorker's own requests (oidc-worker's default holder): the whole
// browser ignores certificate errors instead.
const ARGS = [...CHROMIUM_ARGS, '--ignore-certificate-errors'];
let browser; // the default profile: third-party cookies blocked (Chromium's default)
const profiles = new Set();

/** A fresh context for one rep: { context, close() }. */
async function openContext(mode) {
  if (!mode.thirdPartyCookies) {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, serviceWorkers: 'block' });
    return { context, close: () => context.close().catch(() => {}) };
  }
  const dir = mkdtempSync(join(tmpdir(), 'oidcw-sessions-3pc-'));
  profiles.add(dir);
  mkdirSync(join(dir, 'Default'), { recursive: true });
  writeFileSync(join(dir, 'Default', 'Preferences'), JSON.stringify({ profile: { cookie_controls_mode: 0 } }));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM_PATH, headless: true, args: ARGS, ignoreHTTPSErrors: true, serviceWorkers: 'block',
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      profiles.delete(dir);
    },
  };
}

/**
 * The runtime's reports (page-runtime.js calls window.__benchReport when a page load's steps are
 * over), per page, in order. next(page) waits for the next one not taken yet.
 */
function reports(context) {
  const queues = new Map();
  const waiters = new Map();
  const queue = (page) => { if (!queues.has(page)) queues.set(page, []); return queues.get(page); };
  return {
    async install() {
      await context.exposeBinding('__benchReport', ({ page }, report) => {
        if (!page) return;
        queue(page).push(report);
        waiters.get(page)?.();
      });
    },
    clear(page) { queues.set(page, []); },
    async next(page, what, timeoutMs = 30000) {
      const end = Date.now() + timeoutMs;
      while (!queue(page).length) {
        const left = end - Date.now();
        if (left <= 0) throw new Error(`${what}: no report within ${timeoutMs} ms (page at ${page.url()})`);
        await new Promise((r) => {
          const t = setTimeout(r, Math.min(left, 1000));
          waiters.set(page, () => { clearTimeout(t); r(); });
        });
        waiters.delete(page);
      }
      const report = queue(page).shift();
      if (report.state === 'error') throw new Error(`${what}: ${report.error} (at ${report.url})`);
      return report;
    },
  };
}

/** Where the page keeps any of `needles` (storage names and keys, cookie names): not timed. */
function probe(page, needles) {
  return page.evaluate((n) => {
    const has = (s) => typeof s === 'string' && n.some((x) => x && s.includes(x));
    const where = [];
    for (const [name, store] of [['localStorage', localStorage], ['sessionStorage', sessionStorage]]) {
      for (let i = 0; i < store.length; i += 1) if (has(store.getItem(store.key(i)))) where.push(name);
    }
    if (has(document.cookie)) where.push('document.cookie');
    return {
      where: [...new Set(where)],
      localStorage: Object.keys(localStorage).length,
      sessionStorage: Object.keys(sessionStorage).length,
      cookies: document.cookie ? document.cookie.split('; ').map((c) => c.split('=')[0]) : [],
    };
  }, needles);
}

// ---------------------------------------------------------------- one rep

/** One timed window: `go()` starts the navigation; until the page's report, then SETTLE_MS. */
async function timed(page, rep, what, go) {
  rep.clear(page);
  await srv('reset');
  const t0 = Date.now();
  await go();
  const r = await rep.next(page, what);
  await sleep(SETTLE_MS);
  const seen = await srv('stats');
  const [active] = r.token ? await srv('checkTokens', { tokens: [r.token] }) : [null];
  const abs = (t) => (t === undefined ? null : r.timeOrigin + t - t0);
  return {
    signedIn: r.signedIn,
    tokenActive: active,
    viaCallback: r.isCallback, // the page that answered was a callback (a redirect round trip)
    navType: r.nav?.type,
    wallAuthMs: abs(r.t.authDone),
    wallTokenMs: r.signedIn ? abs(r.t.tokenDone) : null,
    navAuthMs: r.t.authDone,
    navTokenMs: r.signedIn ? r.t.tokenDone : null,
    scriptStartMs: r.t.scriptStart,
    initMs: r.t.initDone - r.t.scriptStart,
    callbackMs: r.isCallback ? r.t.callbackDone - r.t.callbackStart : null,
    authCallMs: r.t.authDone - r.t.authStart,
    requests: describeRequests(seen.requests),
    grants: seen.grants.map((g) => `${g.grant_type}${g.ok ? '' : ` ${g.error}`}`),
  };
}

async function runRep(mode, ready) {
  const rec = { mode: mode.id, ok: false, phase: 'context' };
  const { context, close } = await openContext(mode);
  const consoleErrors = [];
  try {
    context.setDefaultTimeout(20000);
    const rep = reports(context);
    await rep.install();
    const watch = (p) => p.on('pageerror', (e) => consoleErrors.length < 10 && consoleErrors.push(String(e.message).slice(0, 200)));
    context.pages().forEach(watch); // a persistent context starts with one page
    context.on('page', watch);
    const base = `${ready.appOrigin}/p/${mode.id}/`;
    const a = context.pages()[0] ?? await context.newPage();

    rec.phase = 'start';
    await a.goto(base, { waitUntil: 'commit' });
    const start = await rep.next(a, 'start page');
    if (start.signedIn) throw new Error('signed in before the login');

    rec.phase = 'login';
    await srv('reset');
    await a.evaluate(() => window.__bench.api.login());
    await a.waitForURL((u) => u.href.startsWith(`${ready.opOrigin}/interaction/`), { waitUntil: 'domcontentloaded' })
      .catch(async (err) => {
        const why = await a.evaluate(() => window.__bench?.error).catch(() => null);
        throw why ? new Error(why) : err;
      });
    const form = await a.evaluate(() => {
      const f = document.querySelector('form#login');
      if (!f) return document.body.innerText.slice(0, 300);
      f.elements.login.value = 'bench-user';
      f.elements.password.value = 'bench-password';
      f.submit();
      return null;
    });
    if (form) throw new Error(`no login form: ${form}`);
    const cb = await rep.next(a, 'callback');
    if (!cb.signedIn || !cb.token) throw new Error('not signed in after the callback');
    const seen = await srv('stats');
    rec.storage = await probe(a, [cb.token, ...seen.refreshTokens]);
    await sleep(SETTLE_MS);

    rec.phase = 'new tab';
    const b = await context.newPage();
    rec.newTab = await timed(b, rep, 'new tab', () => b.goto(base, { waitUntil: 'commit' }));
    await b.close();
    await sleep(SETTLE_MS);

    rec.phase = 'reload';
    rec.reload = await timed(a, rep, 'reload', () => a.reload({ waitUntil: 'commit' }));
    rec.ok = true;
    rec.phase = 'done';
  } catch (err) {
    rec.error = `${rec.phase}: ${String(err.message).split('\n')[0]}`;
  } finally {
    rec.consoleErrors = consoleErrors;
    await close();
  }
  return rec;
}

// ---------------------------------------------------------------- report

const fmt = (v, d = 1) => (v === null || v === undefined ? '–' : v.toFixed(d));
function cell(values, d = 1) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  if (!v.length) return '–';
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return lo === hi ? fmt(lo, d) : `${fmt(median(v), d)} [${fmt(lo, d)}–${fmt(hi, d)}]`;
}
/** The most frequent request list over the reps, and how many reps had it. */
function typicalRequests(list) {
  const counts = new Map();
  for (const r of list) {
    const k = r.join(', ') || 'none';
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const [[k, n]] = [...counts].sort((x, y) => y[1] - x[1]);
  return n === list.length ? k : `${k} (${n} of ${list.length} reps; others: ${[...counts.keys()].filter((x) => x !== k).join(' / ')})`;
}

function renderSection(result) {
  const L = [];
  const { meta } = result;
  L.push(SESSIONS_HEADING, '');
  L.push(`- date: ${meta.finishedAt}`);
  L.push(machineLine(meta.env));
  L.push(packageLine(meta.snapshot));
  L.push(`- peers: ${Object.entries(meta.versions).map(([k, v]) => `${k} ${v}`).join(', ')}; oidc-provider ${meta.oidcProvider}; Playwright ${meta.playwright}`);
  L.push(`- command: \`${meta.command}\``);
  L.push(`- ${meta.warmup} warm-up + ${meta.reps} measured rounds, interleaved (each round runs every mode once, in the order of the tables); run time ${meta.runSeconds.toFixed(0)} s`);
  L.push('');
  L.push('What is timed, per rep (see the header of `bench/sessions/main.mjs`): after a login through the');
  L.push('provider\'s form in a fresh browser context, (1) a **new tab** opens the app while the first is still');
  L.push('open, (2) the first, now the **only tab, reloads**. The app does what an app does at start: create');
  L.push('the client, complete a callback if the URL carries one, ask "signed in?" (`isAuthenticated()`, or the');
  L.push('library\'s equivalent), then get an access token (`getAccessToken()` / `getTokenSilently()` /');
  L.push('`getUser().access_token` / `acquireTokenSilent()`). "goto →" times run from the Playwright call to the');
  L.push('answer in the page (the same clock); "nav start →" from the navigation start of the document that');
  L.push('answered (after a redirect round trip, the callback page: the round trip is in the "goto →" time only);');
  L.push('"before the app\'s code runs": the HTML and the scripts (app.js, and for oidc-worker its `index.js`, a');
  L.push('module of its own here, as an unbundled package is) until the app\'s first line runs.');
  L.push('"inside init" is `createAuthClient()` (or the peer\'s client creation: `createAuth0Client()` includes its');
  L.push('session check; `new UserManager()`; MSAL\'s `initialize()` + `handleRedirectPromise()`). Provider');
  L.push('requests: every request the provider saw from the call until 300 ms after the answer. "usable":');
  L.push('the provider says the token the page got is an active access token. App at https://127.0.0.1,');
  L.push('provider at https://localhost (two sites); 3PC = third-party cookies. Cells: median [min–max].');
  L.push('');
  for (const sc of SCENARIOS) {
    L.push(`### ${sc.title}`, '');
    L.push(`| mode | signed in, usable token (reps) | ${sc.from} → signed in? answered (ms) | nav start → answered (ms) | … of which before the app's code runs (ms) | … inside init (ms) | ${sc.from} → token in hand (ms) | provider requests (median) | what they were |`);
    L.push('|---|--:|--:|--:|--:|--:|--:|--:|---|');
    for (const mode of result.modes) {
      const reps = result.reps[mode.id].filter((r) => r.ok).map((r) => r[sc.key]);
      if (!reps.length) {
        L.push(`| ${mode.label} | 0/${result.reps[mode.id].length}: ${[...new Set(result.reps[mode.id].map((r) => r.error))].join('; ')} | | | | | | | |`);
        continue;
      }
      const signed = reps.filter((r) => r.signedIn && r.tokenActive).length;
      const redirected = reps.filter((r) => r.viaCallback).length;
      L.push(`| ${mode.label} | ${signed}/${reps.length}${redirected ? ` (${redirected} via a redirect)` : ''} | ${cell(reps.map((r) => r.wallAuthMs))} | ${cell(reps.map((r) => r.navAuthMs))} | ${cell(reps.map((r) => r.scriptStartMs))} | ${cell(reps.map((r) => r.initMs))} | ${cell(reps.map((r) => r.wallTokenMs))} | ${cell(reps.map((r) => r.requests.length), 0)} | ${typicalRequests(reps.map((r) => r.requests))} |`);
    }
    L.push('');
  }
  L.push('Notes, by design of the libraries rather than from the figures: a new tab has an empty');
  L.push('sessionStorage (a tab the user opens has no opener to copy it from), so the sessionStorage modes start');
  L.push('it signed out. In the "3PC blocked" modes the new tab\'s attempt fails (the provider answers');
  L.push('`login_required`: its cookie did not reach it) and both libraries then stop trying: oidc-worker');
  L.push('spends its session hint, auth0-spa-js removes its "is.authenticated" cookie; the reload after it');
  L.push('therefore makes no request and starts signed out.');
  L.push('');
  L.push('### What each mode keeps', '');
  L.push('| mode | keeps (configuration) | where the login\'s access or refresh token was found in the page\'s storage, after the login |');
  L.push('|---|---|---|');
  for (const mode of result.modes) {
    const probes = result.reps[mode.id].filter((r) => r.storage).map((r) => r.storage.where.join(' + ') || 'nowhere');
    L.push(`| ${mode.label} | ${mode.keeps} | ${probes.length ? [...new Set(probes)].join(' / ') : '–'} |`);
  }
  L.push('');
  const failures = Object.values(result.reps).flat().filter((r) => !r.ok);
  if (failures.length) {
    L.push(`Failed reps: ${failures.map((r) => `${r.mode} round ${r.round}: ${r.error}`).join('; ')}.`, '');
  }
  const errors = [...new Set(Object.values(result.reps).flat().flatMap((r) => r.consoleErrors ?? []))];
  if (errors.length) L.push(`Uncaught page errors: ${errors.slice(0, 5).join(' | ')}.`, '');
  return L.join('\n');
}

// ---------------------------------------------------------------- main

async function main() {
  const only = (process.env.BENCH_SESSIONS_MODES || '').split(',').filter(Boolean);
  const unknown = only.filter((id) => !MODES.some((m) => m.id === id));
  if (unknown.length) throw new Error(`unknown mode(s) ${unknown.join(', ')} (have ${MODES.map((m) => m.id).join(', ')})`);
  const modes = only.length ? MODES.filter((m) => only.includes(m.id)) : MODES;
  const snapshot = await snapshotPkg();
  const work = mkdtempSync(join(tmpdir(), 'oidcw-sessions-'));
  try {
    const built = await buildAdapters([...new Set(modes.map((m) => m.adapter))], join(work, 'dist'));
    const ready = await startServers({
      modes: modes.map(({ id, adapter, options }) => ({ id, adapter, options })),
      dist: join(work, 'dist'), pkgDir: snapshot.dir, tlsDir: join(work, 'tls'), opHost: 'localhost',
    }, join(work, 'servers.log'));
    browser = await launchBrowser({ args: ['--ignore-certificate-errors'] });
    const env = machine(browser.version());
    log(`app ${ready.appOrigin}, provider ${ready.issuer}; Chromium ${env.chromium}; ${modes.length} modes, ${WARMUP} warm-up + ${REPS} rounds`);
    const reps = Object.fromEntries(modes.map((m) => [m.id, []]));
    for (let round = 0; round < WARMUP + REPS; round += 1) {
      const warm = round < WARMUP;
      for (const mode of modes) {
        const rec = await Promise.race([
          runRep(mode, ready),
          sleep(90000).then(() => ({ mode: mode.id, ok: false, error: 'rep timed out after 90 s' })),
        ]);
        rec.round = round;
        if (!warm) reps[mode.id].push(rec);
        const show = (s) => (s ? `${s.signedIn ? 'in' : 'OUT'} ${fmt(s.wallAuthMs)}/${fmt(s.wallTokenMs)} ms, ${s.requests.length} req` : '');
        log(`${warm ? 'warm-up' : `round ${round - WARMUP + 1}/${REPS}`} ${mode.id}: ${rec.ok ? `new tab ${show(rec.newTab)}; reload ${show(rec.reload)}` : `FAILED ${rec.error}`}`);
      }
    }
    const versions = {};
    for (const b of Object.values(built)) Object.assign(versions, b.versions);
    const result = {
      meta: {
        finishedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        env,
        snapshot,
        versions,
        oidcProvider: moduleVersion('oidc-provider'),
        playwright: moduleVersion('playwright-core'),
        command: [
          ...Object.keys(process.env).filter((k) => k.startsWith('BENCH_SESSIONS_') || k === 'OIDC_WORKER_PKG_DIR').sort().map((k) => `${k}=${process.env[k]}`),
          process.env.BENCH_RUNNER === 'sessions-run.sh' ? 'bash bench/sessions/run.sh' : 'node bench/sessions/main.mjs',
        ].join(' '),
        reps: REPS,
        warmup: WARMUP,
        runSeconds: seconds(),
      },
      modes: modes.map(({ id, adapter, options, label, keeps, thirdPartyCookies }) => ({
        id, adapter, options, label, keeps, thirdPartyCookies: !!thirdPartyCookies,
      })),
      reps,
    };
    writeFileSync(join(SESSIONS_DIR, 'results.json'), `${JSON.stringify({ ...result, meta: { ...result.meta, snapshot: { ...snapshot, dir: undefined } } }, null, 2)}\n`);
    writeFileSync(OUT, withSection(OUT, SESSIONS_HEADING, renderSection(result)));
    log(`wrote ${relative(process.cwd(), OUT)} (section "${SESSIONS_HEADING.slice(3)}") and ${relative(process.cwd(), join(SESSIONS_DIR, 'results.json'))}`);
    return Object.values(reps).flat().every((r) => r.ok) ? 0 : 1;
  } finally {
    await closeBrowser(browser);
    await stopServers();
    for (const dir of profiles) rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    rmSync(snapshot.dir, { recursive: true, force: true });
  }
}

stopOnSignals(() => [closeBrowser(browser), stopServers()]);
let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(err);
}
process.exit(code);
