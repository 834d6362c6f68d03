// End to end: one session shared by the tabs of an example app (www/react/, www/vue/), built from
// the packed package the way tests/e2e/examples.test.mjs builds them (tests/support/examples.mjs),
// served with /config.json against a real oidc-provider (introspection on) and the protected API,
// in headless Chromium, through the provider's real forms. Two tabs (pages) of one browser context:
//
//   - both open signed out; the session panel says the session is held by the browser (one
//     SharedWorker) and nobody is signed in;
//   - sign in in tab A (its Sign-in button, the provider's login and consent): tab B shows the user
//     within a few seconds without a reload (the `login` event), its panel logs the login and knows
//     the access token's expiry from it; B calls the API through auth.fetch from its panel;
//   - a third tab opened afterwards is signed in at once (no request to the provider), and its
//     panel says honestly that it does not know the expiry (it has had no event yet); the storage
//     line names the session hint, never a token;
//   - sign out in tab B (its Sign-out button and the provider's confirmation): tabs A and C show
//     signed-out within a few seconds without a reload, and log "logout (from any tab)"; the
//     access token is revoked;
//   - no uncaught page error, no console error of the app, in any tab.
//
//   node --test --test-force-exit tests/e2e/tabs-examples.test.mjs          (after bash scripts/build.sh)

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { startProvider } from '../op/provider.mjs';
import { startApiServer } from '../support/api-server.mjs';
import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import {
  buildExample, installExample, packPackage, serveExample,
} from '../support/examples.mjs';
import { completeLogin, confirmLogout } from '../support/op-interactions.mjs';

const LOGIN = 'alice';
const NAME = 'Alice';
/** How long another tab may take to show a login or logout it learnt from an event. */
const PROPAGATION_MS = 5000;

let tmp;
let packed;
let browser;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'oidc-worker-tabs-examples-'));
  packed = await packPackage(tmp);
  browser = await launchBrowser();
});

after(async () => {
  await closeBrowser(browser);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/**
 * Watch a page: uncaught errors, console errors of the app (the provider's own pages are left out:
 * they @import a web font that is unreachable here) and requests to the app that failed, each
 * tagged with the tab.
 */
function watch(page, tab, origin, seen) {
  page.on('pageerror', (err) => seen.pageErrors.push(`${tab}: ${err?.stack ?? err}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error' || !page.url().startsWith(`${origin}/`)) return;
    seen.consoleErrors.push(`${tab}: ${msg.text()} (at ${msg.location()?.url ?? page.url()})`);
  });
  page.on('requestfailed', (r) => {
    if (r.url().startsWith(`${origin}/`)) seen.failed.push(`${tab}: ${r.url()} ${r.failure()?.errorText}`);
  });
}

/** The panel's texts of a page. */
const panelOf = (page) => page.evaluate(() => {
  const text = (id) => document.getElementById(id)?.textContent ?? null;
  return {
    user: text('session-user'),
    expiry: text('session-expiry'),
    holder: text('session-holder'),
    storage: text('session-storage'),
    events: [...document.querySelectorAll('#session-events li[data-event]')].map((li) => ({ name: li.dataset.event, text: li.textContent })),
  };
});

/** Waits until the page's panel satisfies `pred`; fails with the last panel seen. */
async function waitForPanel(page, what, pred, timeout = PROPAGATION_MS) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await panelOf(page);
    if (pred(last)) return last;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeout} ms; the panel shows ${JSON.stringify(last)}`);
    await new Promise((resolve) => { setTimeout(resolve, 100); });
  }
}

/** Marks the page's document, to tell later that it was not reloaded. */
const mark = (page) => page.evaluate(() => { window.__sameDocument = true; });
const sameDocument = (page) => page.evaluate(() => window.__sameDocument === true);

function tabsSuite(name) {
  const s = {};
  before(async () => {
    const { dir } = await installExample(name, { tgz: packed.tgz, into: join(tmp, name) });
    const { distDir } = await buildExample(name, dir);
    s.web = await serveExample(name, distDir, {
      config: () => ({ issuer: s.op.issuer, clientId: s.op.clientId, apiOrigin: s.api.origin }),
    });
    const appUrl = `${s.web.origin}/`;
    s.op = await startProvider({ redirectUris: [appUrl], postLogoutRedirectUris: [appUrl], introspection: true });
    s.api = await startApiServer({ allowOrigin: [s.web.origin], introspect: (token) => s.op.introspect(token) });
  });
  after(async () => {
    await Promise.allSettled([s.op?.close(), s.api?.close(), s.web?.close()]);
  });

  it('a sign-in in one tab shows in the other without a reload, a new tab is signed in at once, a sign-out in one signs every tab out', async () => {
    const { origin } = s.web;
    const context = await browser.newContext();
    const seen = { pageErrors: [], consoleErrors: [], failed: [] };
    try {
      const open = async (tab) => {
        const page = await context.newPage();
        page.setDefaultTimeout(20_000);
        watch(page, tab, origin, seen);
        await page.goto(`${origin}/`);
        return page;
      };
      const a = await open('A');
      const b = await open('B');
      for (const page of [a, b]) {
        await page.locator('#sign-in').waitFor();
        const panel = await waitForPanel(page, 'the panel of a signed-out tab', (p) => /^browser\b/.test(p.holder) && p.user.startsWith('nobody'));
        assert.equal(panel.expiry, '—');
        assert.deepEqual(panel.events, []);
      }
      await mark(b);

      // Sign in in A, through the provider's forms.
      const login = await completeLogin(a, { issuer: s.op.issuer, login: LOGIN, trigger: () => a.locator('#sign-in').click() });
      assert.deepEqual(login.steps, ['login', 'consent']);
      assert.equal(new URL(login.url).origin, origin, 'back at the app');
      await a.locator('#user-name').waitFor();
      assert.equal(await a.locator('#user-name').textContent(), NAME);
      const panelA = await waitForPanel(a, 'A logs the login of its callback', (p) => p.events.some((e) => e.name === 'login'));
      assert.equal(panelA.user, `${NAME} (sub ${LOGIN})`);
      assert.match(panelA.expiry, /^in \d+ (min|s)/, 'A knows the expiry from its login event');

      // B learns it from the `login` event, without a reload.
      await b.locator('#user-name').waitFor({ timeout: PROPAGATION_MS });
      assert.equal(await b.locator('#user-name').textContent(), NAME);
      assert.equal(await sameDocument(b), true, 'B was not reloaded');
      const panelB = await waitForPanel(b, 'B logs the login of tab A', (p) => p.events.some((e) => e.name === 'login') && p.user.startsWith(NAME));
      assert.equal(panelB.events.length, 1, JSON.stringify(panelB.events));
      assert.match(panelB.events[0].text, /login \(here or in another tab\), access token until \d\d:\d\d:\d\d$/);
      assert.match(panelB.expiry, /^in \d+ (min|s)/, 'B knows the expiry from the login event');

      // B calls the API through auth.fetch (its worker, the shared one, attaches the token).
      const before = s.api.requests.length;
      await b.locator('#session-call-api').click();
      await b.locator('#session-api-result').waitFor();
      assert.equal(await b.locator('#session-api-result').textContent(), `GET /me: 200, sub ${LOGIN}`);
      const calls = s.api.requests.slice(before).filter((r) => r.method === 'GET' && r.path === '/me');
      assert.equal(calls.length, 1);
      const token = /^Bearer (\S+)$/.exec(calls[0].authorization ?? '')?.[1];
      assert.ok(token, `a Bearer token: ${calls[0].authorization}`);
      assert.equal((await s.op.introspect(token)).active, true);

      // A third tab opened now is signed in at once, from the shared session: no provider request.
      const providerRequests = s.op.requests.length;
      const c = await open('C');
      await c.locator('#user-name').waitFor();
      assert.equal(await c.locator('#user-name').textContent(), NAME);
      const panelC = await waitForPanel(c, 'C shows the user', (p) => p.user.startsWith(NAME) && p.storage !== '…');
      assert.deepEqual(s.op.requests.slice(providerRequests).map((r) => r.path), [], 'the new tab asked the provider nothing');
      assert.match(panelC.expiry, /^unknown until the next login or refresh/, 'C has had no event: it does not claim an expiry');
      assert.deepEqual(panelC.events, []);
      assert.ok(panelC.storage.includes(`“oidc-worker session ${s.op.issuer} ${s.op.clientId}”`), panelC.storage);
      assert.ok(!panelC.storage.includes(token), 'no token in the storage line');
      await mark(a);
      await mark(c);

      // Sign out in B (its Sign-out button, the provider's confirmation): A and C follow.
      const landed = await confirmLogout(b, { issuer: s.op.issuer, trigger: () => b.locator('#sign-out').click() });
      assert.equal(new URL(landed).origin, origin, 'the provider sent B back to the app');
      await b.locator('#sign-in').waitFor();
      for (const [tab, page] of [['A', a], ['C', c]]) {
        await page.locator('#sign-in').waitFor({ timeout: PROPAGATION_MS });
        assert.equal(await page.locator('#user-name').count(), 0, `${tab} shows no user`);
        assert.equal(await sameDocument(page), true, `${tab} was not reloaded`);
        const panel = await waitForPanel(page, `${tab} logs the logout of tab B`, (p) => p.events[0]?.name === 'logout' && p.user.startsWith('nobody')
          && !p.storage.includes('oidc-worker session'));
        assert.match(panel.events[0].text, /logout \(from any tab\)$/);
        assert.equal(panel.expiry, '—');
        assert.ok(!panel.storage.includes('oidc-worker session'), `the session hint is gone: ${panel.storage}`);
      }
      assert.equal((await s.op.introspect(token)).active, false, 'the access token was revoked at sign-out');

      assert.deepEqual(seen.pageErrors, [], 'page errors');
      assert.deepEqual(seen.consoleErrors, [], 'console errors');
      // The SharedWorker's script: Chromium reports the page's request for it as aborted when that
      // page leaves (here: tab A, for the provider's login), although the server answered it (200;
      // the worker itself lives on). Any other failure counts.
      const worker = /\/assets\/worker-[\w-]+\.js net::ERR_ABORTED$/;
      assert.deepEqual(seen.failed.filter((f) => !worker.test(f)), [], 'failed requests to the app');
      assert.ok(s.web.requests.some((q) => /^\/assets\/worker-[\w-]+\.js$/.test(q.path) && q.status === 200), 'the worker script was served');
    } finally {
      await context.close();
    }
  });
}

describe('www/react: two tabs, one session', { timeout: 180_000 }, () => tabsSuite('react'));
describe('www/vue: two tabs, one session', { timeout: 180_000 }, () => tabsSuite('vue'));
