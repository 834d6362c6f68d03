// Popup login against redirect login: how long a person waits from the click to a signed-in app,
// in headless Chromium against the real local oidc-provider (tests/op/provider.mjs through
// tests/support/harness.mjs startStack), with the vanilla example (www/vanilla) and its two buttons,
// "Log in" (#login: loginWithRedirect) and "Log in (popup)" (#login-popup: loginWithPopup). It
// measures and reports; it asserts no timing. It fails (exit 1) when a login does not work (see
// the checks below), after writing what it measured with the problem stated.
//
//   BENCH_POPUP=1 bash bench/run.sh   (runs this after the other scripts)
//   node bench/popup.mjs              (pkg/ must be built; replaces the "Popup login" section of
//                                     bench/results.md, or adds it, and keeps the rest)
//
// Every login in a fresh browser context (no provider session, no SharedWorker: the provider shows
// its login form, then its consent form, both filled by tests/support/op-interactions.mjs
// completeLogin, the same way each time), the app loaded and started first (not timed). The two
// kinds alternate (popup, redirect, popup, ...): one unmeasured warm-up of each, then
// BENCH_POPUP_LOGINS measured of each. Timed in the page, with the page's own clock
// (performance.timeOrigin + performance.now(), from a script Playwright adds to every document of the
// context before the app's own):
//   - popup: the click on #login-popup (a capture listener on window, before the app's handler) →
//     the promise loginWithPopup returned resolved, on the opener (the page never navigates, so both
//     marks are of the same document);
//   - redirect: the click on #login (the mark kept in the tab's sessionStorage) → the promise
//     handleRedirectCallback returned resolved, on the page the provider redirected back to (a new
//     document: the app's start on it, the worker and wasm, the code exchange, are inside).
// Both include the provider's pages and the harness filling its two forms (the same in both).
// Checked for every login (warm-ups included): the provider's forms were login then consent; the
// provider saw exactly one token request, an authorization_code grant answered 200; the app is
// signed in (isAuthenticated() true, the page shows the session); popup: loginWithPopup resolved
// with the appState, the popup closed itself, the opener never navigated; redirect:
// handleRedirectCallback resolved with the appState; the page's figure within node's own span of
// the same login (before Playwright's click → the marks read), a check of the marks (for the
// redirect, of two documents' clocks), not of a timing. No server_error at the provider.
//
// Env: BENCH_POPUP_LOGINS=10 (measured logins of each kind), BENCH_OUT=bench/results.md

import { rmSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

import { closeBrowser, launchBrowser } from '../tests/support/browser.mjs';
import { APP_PATH, callAuth, startStack, waitForApp } from '../tests/support/harness.mjs';
import { completeLogin } from '../tests/support/op-interactions.mjs';
import {
  DEFAULT_OUT, envInt, log, machine, median, ms, percentile, POPUP_HEADING, seconds, sectionHead,
  snapshotPkg, stopOnSignals, summary, withSection,
} from './lib.mjs';

const LOGINS = envInt('BENCH_POPUP_LOGINS', 10);
const WARMUP = 1;
const OUT = resolve(process.env.BENCH_OUT || DEFAULT_OUT);
const TIMEOUT = 30_000;

const describeGrants = (grants) => grants.map((g) => `${g.grantType} ${g.status}${g.error ? ` ${g.error}` : ''}`).join(', ') || 'none';
const stats = (samples) => ({ ...summary(samples), p90: percentile(samples, 90) });
const signedMs = (v, digits = 1) => {
  const rounded = Number(v.toFixed(digits));
  if (rounded === 0) return ms(0, digits);
  return `${rounded < 0 ? '−' : '+'}${ms(Math.abs(rounded), digits)}`;
};

/**
 * Added to every document of a login's context before its scripts: marks the click on #login or
 * #login-popup (window.benchClick, and sessionStorage for the page the redirect comes back to) and
 * wraps the client's loginWithPopup and handleRedirectCallback the moment the app stores it in
 * window.auth, marking when their promises settle (window.benchPopup, window.benchCallback).
 */
function instrument() {
  const now = () => performance.timeOrigin + performance.now();
  const CLICK = 'oidc-worker-bench-click';
  window.addEventListener('click', (event) => {
    const id = event.target?.closest?.('button')?.id;
    if (id !== 'login' && id !== 'login-popup') return;
    window.benchClick = { id, at: now() };
    sessionStorage.setItem(CLICK, JSON.stringify(window.benchClick));
  }, true);
  const settle = (promise, record) => {
    promise.then(
      (value) => Object.assign(record, { settled: true, ok: true, at: now(), value: JSON.parse(JSON.stringify(value ?? null)) }),
      (e) => Object.assign(record, {
        settled: true, ok: false, at: now(), error: { name: e?.name, message: e?.message, code: e?.code, reason: e?.reason, error: e?.error },
      }),
    );
    return promise;
  };
  let auth;
  Object.defineProperty(window, 'auth', {
    configurable: true,
    get: () => auth,
    set(client) {
      auth = client;
      if (!client || client.benchWrapped) return;
      const { loginWithPopup, handleRedirectCallback } = client;
      client.benchWrapped = true;
      client.loginWithPopup = (...args) => {
        const record = { click: window.benchClick ?? null };
        window.benchPopup = record;
        return settle(loginWithPopup(...args), record); // called synchronously: the popup opens in the click
      };
      client.handleRedirectCallback = (...args) => {
        let click = null;
        try { click = JSON.parse(sessionStorage.getItem(CLICK)); } catch { /* none */ }
        const record = { click };
        window.benchCallback = record;
        return settle(handleRedirectCallback(...args), record);
      };
    },
  });
}

/** A fresh context with the app open and started (not timed). */
async function openApp(browser, stack) {
  const context = await browser.newContext();
  await context.addInitScript(instrument);
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err?.message ?? err)));
  await page.goto(stack.appUrl);
  const app = await waitForApp(page);
  if (app.callback !== null) throw new Error(`the app started with a callback: ${JSON.stringify(app.callback)}`);
  const signedIn = await callAuth(page, 'isAuthenticated');
  if (!signedIn.ok || signedIn.value !== false) throw new Error(`a fresh context is not signed out: ${JSON.stringify(signedIn)}`);
  return { context, page, errors };
}

/** The page shows a session and the client says so; a problem otherwise. */
async function signedInProblem(page) {
  try {
    await page.waitForFunction(() => document.querySelector('#status')?.dataset.state === 'signed-in', null, { timeout: 10_000 });
  } catch {
    return `the page does not show a session (#status ${await page.locator('#status').getAttribute('data-state')})`;
  }
  const authed = await callAuth(page, 'isAuthenticated');
  if (!authed.ok || authed.value !== true) return `isAuthenticated() ${JSON.stringify(authed)}`;
  const user = await callAuth(page, 'getUser');
  if (!user.ok || user.value?.sub !== 'alice') return `getUser() ${JSON.stringify(user)}`;
  return null;
}

/**
 * The page's figure must lie within what node saw (from before Playwright's click to the page's
 * answer read: an upper bound): a check of the page's marks (for the redirect, of two documents'
 * clocks), not of a timing. → { ms, nodeMs }
 */
function clockChecked(pageMs, nodeMs, problems) {
  if (!(pageMs > 0 && pageMs <= nodeMs + 1)) {
    problems.push(`the page's marks give ${ms(pageMs)}, outside node's span of the same login (0 … ${ms(nodeMs)})`);
  }
  return { ms: pageMs, nodeMs };
}

/** The provider's token requests since `before`: exactly one authorization_code grant answered 200. */
function grantProblem(op, before) {
  const grants = op.tokenRequests.slice(before);
  return grants.length === 1 && grants[0].grantType === 'authorization_code' && grants[0].status === 200
    ? null
    : `expected one authorization_code grant answered 200, the provider saw ${describeGrants(grants)}`;
}

/** One popup login: click #login-popup → loginWithPopup resolved, on the opener. → { ms, problems } */
async function popupLogin(browser, stack) {
  const { op } = stack;
  const { context, page, errors } = await openApp(browser, stack);
  const problems = [];
  try {
    const navigations = [];
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });
    const before = op.tokenRequests.length;
    const nodeStart = performance.now();
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.locator('#login-popup').click()]);
    popup.setDefaultTimeout(TIMEOUT);
    const closed = popup.isClosed() ? Promise.resolve() : popup.waitForEvent('close', { timeout: TIMEOUT });
    closed.catch(() => {});
    const { steps } = await completeLogin(popup, { issuer: op.issuer, login: 'alice', timeout: TIMEOUT });
    if (steps.join(',') !== 'login,consent') problems.push(`the provider's forms were ${steps.join(',') || 'none'}, not login,consent`);
    await page.waitForFunction(() => window.benchPopup?.settled, null, { timeout: TIMEOUT });
    const record = await page.evaluate(() => window.benchPopup);
    const nodeSpan = performance.now() - nodeStart;
    if (!record.ok) {
      problems.push(`loginWithPopup rejected: ${JSON.stringify(record.error)}`);
      return { problems };
    }
    if (JSON.stringify(record.value) !== '{"appState":{"from":"popup"}}') problems.push(`loginWithPopup resolved with ${JSON.stringify(record.value)}`);
    if (record.click?.id !== 'login-popup') problems.push(`no click mark on #login-popup: ${JSON.stringify(record.click)}`);
    try {
      await closed;
    } catch {
      problems.push('the popup did not close itself');
    }
    const signed = await signedInProblem(page);
    if (signed) problems.push(signed);
    const grants = grantProblem(op, before);
    if (grants) problems.push(grants);
    if (navigations.length) problems.push(`the opener navigated: ${navigations.join(', ')}`);
    if (errors.length) problems.push(`uncaught errors in the page: ${errors.join('; ')}`);
    return { ...clockChecked(record.at - record.click.at, nodeSpan, problems), problems };
  } finally {
    await context.close().catch(() => {});
  }
}

/** One redirect login: click #login → handleRedirectCallback resolved on the page it came back to. → { ms, problems } */
async function redirectLogin(browser, stack) {
  const { op } = stack;
  const { context, page, errors } = await openApp(browser, stack);
  const problems = [];
  try {
    const before = op.tokenRequests.length;
    const nodeStart = performance.now();
    const { steps, url } = await completeLogin(page, {
      issuer: op.issuer, login: 'alice', timeout: TIMEOUT, trigger: () => page.locator('#login').click(),
    });
    if (steps.join(',') !== 'login,consent') problems.push(`the provider's forms were ${steps.join(',') || 'none'}, not login,consent`);
    if (!url.startsWith(stack.appUrl) || !new URL(url).searchParams.has('code')) problems.push(`the provider sent the browser to ${url}`);
    await page.waitForFunction(() => window.benchCallback?.settled, null, { timeout: TIMEOUT });
    const record = await page.evaluate(() => window.benchCallback);
    const nodeSpan = performance.now() - nodeStart;
    if (!record.ok) {
      problems.push(`handleRedirectCallback rejected: ${JSON.stringify(record.error)}`);
      return { problems };
    }
    if (JSON.stringify(record.value) !== JSON.stringify({ appState: { returnTo: APP_PATH } })) {
      problems.push(`handleRedirectCallback resolved with ${JSON.stringify(record.value)}`);
    }
    if (record.click?.id !== 'login') {
      problems.push(`no click mark on #login in sessionStorage: ${JSON.stringify(record.click)}`);
      return { problems };
    }
    const app = await waitForApp(page);
    if (!app.callback?.ok) problems.push(`the app's callback: ${JSON.stringify(app.callback)}`);
    const signed = await signedInProblem(page);
    if (signed) problems.push(signed);
    const grants = grantProblem(op, before);
    if (grants) problems.push(grants);
    if (errors.length) problems.push(`uncaught errors in the page: ${errors.join('; ')}`);
    return { ...clockChecked(record.at - record.click.at, nodeSpan, problems), problems };
  } finally {
    await context.close().catch(() => {});
  }
}

// ---------------------------------------------------------------- report

function report({
  env, snapshot, samples, nodeSamples, runSeconds, problems, loginsDone,
}) {
  const L = sectionHead(POPUP_HEADING, 'popup.mjs', { env, snapshot, runSeconds });
  L.push('How long a person waits from the click to a signed-in app, popup login (`loginWithPopup`) against redirect login');
  L.push('(`loginWithRedirect` + `handleRedirectCallback`), in one run against the local oidc-provider (`tests/support/harness.mjs`');
  L.push('`startStack`: the vanilla example `www/vanilla`, shared holder, scope `openid profile email offline_access`, `prompt=consent`,');
  L.push('PAR as discovered). Every login in a fresh browser context (no provider session, no SharedWorker), the app loaded and');
  L.push('started first (not timed); the provider asks for its login form, then its consent form, both filled by the harness');
  L.push('(`tests/support/op-interactions.mjs` `completeLogin`, Playwright fills and clicks), the same way for both kinds:');
  L.push('**that form filling and the provider\'s pages are inside both figures** (the same work in both).');
  L.push('Timed with the page\'s own clock (`performance.timeOrigin + performance.now()`, marked by a script Playwright adds before');
  L.push('the app\'s: a capture click listener, and wrappers of the client\'s two methods):');
  L.push('- **popup**: the click on "Log in (popup)" (`#login-popup`) → the promise `loginWithPopup` returned resolved, on the opener');
  L.push('  (one document: it never navigates); inside: the popup opening, the pushed authorization request, the provider\'s pages in the');
  L.push('  popup, the popup\'s page loading the app and handing the callback to the waiting worker, the code exchange and the ID token\'s checks;');
  L.push('- **redirect**: the click on "Log in" (`#login`; the mark kept in the tab\'s `sessionStorage`) → the promise `handleRedirectCallback`');
  L.push('  returned resolved, on the page the provider redirected back to (a new document; the two marks are of two documents of the');
  L.push('  same tab, each `timeOrigin`-based); inside: the pushed authorization request, the navigations, the provider\'s pages,');
  L.push('  the app page loading again (its module scripts, `createAuthClient` starting a new worker with its wasm: the context\'s');
  L.push('  only page left, so its holder ended), the code exchange and the ID token\'s checks.');
  L.push(`Alternating popup, redirect, popup, …: ${WARMUP} unmeasured warm-up login of each, then ${LOGINS} measured of each.`);
  L.push(`Checked for every login (${loginsDone} logins, warm-ups included): the provider's forms were login then consent; it saw exactly`
    + ' one token request per login, an `authorization_code` grant answered 200; the app signed in (`isAuthenticated()` true, `getUser()`'
    + ' the user, the page shows the session); popup: `loginWithPopup` resolved with the appState, the popup closed itself, the opener'
    + ' never navigated; redirect: `handleRedirectCallback` resolved with the appState; each figure within node\'s own span of'
    + ' the same login (from before Playwright\'s click to the page\'s marks read: an upper bound, a check of the marks). The provider runs in this node process on the'
    + ' same machine as the browser (2 shared cores: ratios within one run count, not absolute figures).');
  if (problems.length) {
    L.push('');
    L.push('**Problems (the run failed):**');
    for (const p of problems) L.push(`- ${p}`);
  }
  L.push('');
  const n = Math.min(samples.popup.length, samples.redirect.length);
  if (!n) {
    L.push('Nothing measured (see Problems).');
    L.push('');
    return L.join('\n');
  }
  L.push('| click → signed in | n | median | p90 | mean | min | max |');
  L.push('|---|--:|--:|--:|--:|--:|--:|');
  const p = stats(samples.popup);
  const r = stats(samples.redirect);
  for (const [label, s] of [['popup: click → `loginWithPopup` resolved', p], ['redirect: click → `handleRedirectCallback` resolved', r]]) {
    L.push(`| ${label} | ${s.n} | ${ms(s.median, 0)} | ${ms(s.p90, 0)} | ${ms(s.mean, 0)} | ${ms(s.min, 0)} | ${ms(s.max, 0)} |`);
  }
  L.push('');
  const paired = samples.popup.slice(0, n).map((v, i) => v - samples.redirect[i]);
  L.push(`**Popup median − redirect median = ${signedMs(p.median - r.median, 0)}** (popup / redirect ${(p.median / r.median).toFixed(2)});`
    + ` median of the ${n} per-pair differences (popup login − the redirect login after it) ${signedMs(median(paired), 0)}.`
    + ` For scale, node's spans of the same logins (Playwright's click and its polling for the marks included): medians`
    + ` popup ${ms(median(nodeSamples.popup), 0)}, redirect ${ms(median(nodeSamples.redirect), 0)}.`);
  L.push('');
  return L.join('\n');
}

// ---------------------------------------------------------------- main

let stack;
let browser;
let snapshot;
let exitCode = 0;
const interrupted = stopOnSignals(() => [closeBrowser(browser, 4000), stack?.close()]);
try {
  // startStack serves pkg/ itself: the snapshot only names the build measured (its copy is not
  // served; removed at once), and a second one at the end tells whether pkg/ changed meanwhile.
  snapshot = await snapshotPkg();
  rmSync(snapshot.dir, { recursive: true, force: true });
  stack = await startStack({ quiet: true });
  browser = await launchBrowser();
  const env = machine(browser.version());
  log(`popup: app ${stack.appUrl}, provider ${stack.op.issuer}`);

  const samples = { popup: [], redirect: [] };
  const nodeSamples = { popup: [], redirect: [] };
  const problems = [];
  const kinds = { popup: popupLogin, redirect: redirectLogin };
  let loginsDone = 0;
  rounds: for (let round = 0; round < WARMUP + LOGINS; round += 1) {
    for (const kind of ['popup', 'redirect']) {
      const at = `${kind} login ${round + 1}/${WARMUP + LOGINS}${round < WARMUP ? ' (warm-up)' : ''}`;
      let result;
      try {
        result = await kinds[kind](browser, stack);
      } catch (err) {
        result = { problems: [`failed: ${err?.message ?? err}`] };
      }
      if (result.problems.length || typeof result.ms !== 'number') {
        problems.push(...(result.problems.length ? result.problems : ['no time measured']).map((p) => `${at}: ${p}`));
        break rounds;
      }
      loginsDone += 1;
      if (round >= WARMUP) {
        samples[kind].push(result.ms);
        nodeSamples[kind].push(result.nodeMs);
      }
      log(`popup: ${at}: ${ms(result.ms, 0)}`);
    }
  }
  if (stack.op.serverErrors.length) problems.push(`the provider reported ${stack.op.serverErrors.length} server error(s): ${stack.op.serverErrors.map(String).join('; ')}`);
  const after = await snapshotPkg();
  rmSync(after.dir, { recursive: true, force: true });
  if (after.fingerprint !== snapshot.fingerprint) problems.push(`pkg/ changed during the run (${snapshot.fingerprint}… → ${after.fingerprint}…)`);

  const text = report({
    env, snapshot, samples, nodeSamples, runSeconds: seconds(), problems, loginsDone,
  });
  writeFileSync(OUT, withSection(OUT, POPUP_HEADING, text));
  log(`popup: wrote the "${POPUP_HEADING.slice(3)}" section of ${relative(process.cwd(), OUT) || OUT}`);
  if (samples.popup.length && samples.redirect.length) {
    log(`popup: medians: popup ${ms(median(samples.popup), 0)}, redirect ${ms(median(samples.redirect), 0)}`);
  }
  if (problems.length) throw new Error(`a step did not work as documented:\n  ${problems.join('\n  ')}`);
} catch (err) {
  exitCode = 1;
  if (!interrupted()) console.error(`bench: FAILED: ${err?.stack ?? err}`);
} finally {
  await closeBrowser(browser);
  await stack?.close();
}
process.exit(exitCode);
