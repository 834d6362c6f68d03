// End to end: one session holder per browser (issue 9). Several pages of the example app in
// www/vanilla/ in ONE browser context share the session of the package's SharedWorker, against a
// real oidc-provider, in headless Chromium.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/sessions.test.mjs
//
// What is checked:
//   - a new page of a signed-in browser is signed in at once, and the provider sees no request;
//   - a reload (with another page open, and as the only page: Chromium's `extendedLifetime`)
//     finds the session, with no request to the provider;
//   - 50 concurrent getAccessToken() over 3 pages with an expired access token: 1 refresh grant,
//     0 failures, one token for all;
//   - logout in one page: every page gets `logout`, then login_required; login in one page:
//     every page gets `login`;
//   - a page closed in the middle of a refresh does not break the other pages' calls;
//   - the holder drops the ports of closed pages (live MessagePort objects in the holder, read
//     through the DevTools Protocol);
//   - a configuration with other options (here another scope) is another session: it never
//     sees this one;
//   - no token in any storage of the origin, cookie, URL, or console.
// The provider's request log (op.requests) is the source of truth for what reached it.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import {
  assertCleanRun, assertLibraryBuilt, callAuth, captureConsole, collectStoredStrings, findLeaks, startStack, waitForApp,
} from '../support/harness.mjs';
import { attachHolder } from '../support/holder.mjs';
import { completeLogin } from '../support/op-interactions.mjs';

// Handed out by getAccessToken() for ttl - min(60, ttl / 2) = 15 s; then it is refreshed first.
const ACCESS_TOKEN_TTL = 30;
const HANDED_OUT_FOR = ACCESS_TOKEN_TTL - Math.min(60, ACCESS_TOKEN_TTL / 2);

const events = (page) => page.evaluate(() => window.app.events.map((e) => e.name));
const waitForEvent = (page, name, after) => page.waitForFunction(
  ([n, a]) => window.app.events.slice(a).some((e) => e.name === n), [name, after], { timeout: 10_000 },
);

describe('one session holder per browser: pages share the session', { timeout: 240_000 }, () => {
  let stack;
  let browser;
  let context;
  const logs = [];
  const pages = [];
  let loggedIn = false;
  const needLogin = () => assert.ok(loggedIn, 'depends on the login test, which failed');

  /** A new page of the app in the shared browser context, started. */
  async function open(url = stack.appUrl) {
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    logs.push(captureConsole(page));
    await page.goto(url);
    await waitForApp(page);
    pages.push(page);
    return page;
  }

  /** Requests the provider saw from index `from` on, as "METHOD route" strings. */
  const seenSince = (from) => stack.op.requests.slice(from).map((r) => `${r.method} ${r.route ?? r.path}`);
  before(async () => {
    assertLibraryBuilt();
    stack = await startStack({
      accessTokenTtl: ACCESS_TOKEN_TTL,
      appOptions: { exposeAccessToken: true, autoRefresh: false },
    });
    browser = await launchBrowser();
    context = await browser.newContext();
  });

  after(async () => {
    await closeBrowser(browser);
    await stack?.close();
  });

  it('logs in on page A (the holder is a SharedWorker: auth.sharing is "browser")', async () => {
    const a = await open();
    assert.equal(await a.evaluate(() => window.auth.sharing), 'browser');
    assert.deepEqual(await callAuth(a, 'isAuthenticated'), { ok: true, value: false });
    await completeLogin(a, { issuer: stack.op.issuer, trigger: () => a.locator('#login').click() });
    const app = await waitForApp(a);
    assert.equal(app.callback?.ok, true, JSON.stringify(app.callback));
    assert.deepEqual(await callAuth(a, 'isAuthenticated'), { ok: true, value: true });
    loggedIn = true;
  });

  it('a new page B is signed in at once, and the provider sees no request', async () => {
    needLogin();
    const from = stack.op.requests.length;
    const b = await open();
    assert.deepEqual(await callAuth(b, 'isAuthenticated'), { ok: true, value: true });
    const user = await callAuth(b, 'getUser');
    assert.equal(user.value?.sub, 'alice');
    assert.equal(await b.locator('#status').getAttribute('data-state'), 'signed-in');
    assert.deepEqual(seenSince(from), [], 'no request reached the provider');
  });

  it('a reload of B, with A still open, keeps the session with no request to the provider', async () => {
    needLogin();
    const from = stack.op.requests.length;
    const b = pages[1];
    await b.reload();
    await waitForApp(b);
    assert.deepEqual(await callAuth(b, 'isAuthenticated'), { ok: true, value: true });
    assert.deepEqual(seenSince(from), []);
  });

  it('50 concurrent getAccessToken() over 3 pages with an expired access token: one refresh grant, no failure', async () => {
    needLogin();
    const c = await open();
    const three = pages.slice(0, 3);
    // Wait until the login's token is no longer handed out.
    await sleep((HANDED_OUT_FOR + 1) * 1000);
    const grants = stack.op.tokenRequestCount('refresh_token');
    // Every page waits for one BroadcastChannel message, then fires its share at once.
    const shares = [17, 17, 16];
    const runs = three.map((page, i) => page.evaluate(async (n) => {
      await new Promise((resolve) => { new BroadcastChannel('test-go').onmessage = resolve; });
      const settled = await Promise.allSettled(Array.from({ length: n }, () => window.auth.getAccessToken()));
      return settled.map((s) => (s.status === 'fulfilled' ? { token: s.value } : { error: `${s.reason?.code}/${s.reason?.reason}` }));
    }, shares[i]));
    await sleep(200); // every page is listening
    await c.evaluate(() => new BroadcastChannel('test-go').postMessage('go'));
    const results = (await Promise.all(runs)).flat();
    assert.equal(results.length, 50);
    assert.deepEqual(results.filter((r) => r.error), [], 'no call failed');
    assert.equal(new Set(results.map((r) => r.token)).size, 1, 'every caller got the one refreshed token');
    assert.equal(stack.op.tokenRequestCount('refresh_token') - grants, 1, 'exactly one refresh grant');
  });

  it('logout on B: every page gets `logout`, then login_required', async () => {
    needLogin();
    const [a, b, c] = pages;
    const marks = await Promise.all([a, c].map((p) => events(p).then((e) => e.length)));
    const out = await callAuth(b, 'logout', { redirect: false });
    assert.ok(out.ok, JSON.stringify(out.error));
    await Promise.all([a, c].map((p, i) => waitForEvent(p, 'logout', marks[i])));
    for (const page of [a, b, c]) {
      assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });
      const token = await callAuth(page, 'getAccessToken');
      assert.equal(token.error?.code, 'login_required');
    }
    await a.waitForFunction(() => document.querySelector('#status').dataset.state === 'signed-out');
  });

  it('login on A: every page gets `login` and is signed in', async () => {
    needLogin();
    const [a, b, c] = pages;
    const marks = await Promise.all([b, c].map((p) => events(p).then((e) => e.length)));
    await completeLogin(a, { issuer: stack.op.issuer, trigger: () => a.locator('#login').click() });
    await waitForApp(a);
    await Promise.all([b, c].map((p, i) => waitForEvent(p, 'login', marks[i])));
    for (const page of [b, c]) {
      assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true });
      await page.waitForFunction(() => document.querySelector('#status').dataset.state === 'signed-in');
    }
  });

  it('page A closed in the middle of a refresh: the other pages\' calls succeed', async () => {
    needLogin();
    const [a, b, c] = pages;
    const grants = stack.op.tokenRequestCount('refresh_token');
    // A starts a forced refresh and B joins it; A closes before the grant can have been answered.
    void a.evaluate(() => window.auth.getAccessToken({ forceRefresh: true })).catch(() => {});
    const joined = b.evaluate(() => window.auth.getAccessToken({ forceRefresh: true }).then((t) => ({ token: t }), (e) => ({ error: e.code })));
    await a.close({ runBeforeUnload: false });
    pages.shift();
    const result = await joined;
    assert.equal(typeof result.token, 'string', JSON.stringify(result));
    assert.ok(stack.op.tokenRequestCount('refresh_token') - grants >= 1);
    // Later calls of the remaining pages work.
    for (const page of [b, c]) {
      const token = await callAuth(page, 'getAccessToken');
      assert.ok(token.ok, JSON.stringify(token.error));
    }
  });

  it('the holder drops the ports of closed pages', async () => {
    needLogin();
    const holder = await attachHolder(browser);
    try {
      const before = await holder.livePorts();
      assert.ok(before >= pages.length, `one port per open page (${before} ports, ${pages.length} pages)`);
      const extra = [];
      for (let i = 0; i < 5; i += 1) extra.push(await open());
      const withExtra = await holder.livePorts();
      assert.ok(withExtra >= before + 5, `5 more pages, 5 more ports (${before} → ${withExtra})`);
      for (const page of extra) {
        await page.close();
        pages.splice(pages.indexOf(page), 1);
      }
      // The holder learns of a closed page when it gets that page's Web Lock.
      let now = withExtra;
      for (let i = 0; i < 50 && now > before; i += 1) {
        await sleep(100);
        now = await holder.livePorts();
      }
      assert.equal(now, before, `the 5 closed pages' ports were dropped (${withExtra} → ${now})`);
    } finally {
      await holder.detach();
    }
  });

  it('another configuration of the same client (another scope) is another session', async () => {
    needLogin();
    // A second client in the same page, with one option changed.
    const page = pages[0];
    const other = await page.evaluate(async () => {
      const { createAuthClient } = await import('oidc-worker');
      const auth = await createAuthClient({
        issuer: window.app.config.issuer,
        clientId: window.app.config.clientId,
        redirectUri: window.app.redirectUri,
        scope: 'openid',
        restore: 'none',
      });
      const result = { sharing: auth.sharing, authenticated: await auth.isAuthenticated(), user: await auth.getUser() };
      auth.close();
      return result;
    });
    assert.deepEqual(other, { sharing: 'browser', authenticated: false, user: null });
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true }, 'this session is untouched');
  });

  it('the only page, reloaded: the holder outlives it (extendedLifetime), signed in with no request', async () => {
    needLogin();
    while (pages.length > 1) await pages.pop().close();
    const [only] = pages;
    const from = stack.op.requests.length;
    await only.reload();
    await waitForApp(only);
    assert.deepEqual(await callAuth(only, 'isAuthenticated'), { ok: true, value: true });
    const token = await callAuth(only, 'getAccessToken');
    assert.ok(token.ok, JSON.stringify(token.error));
    assert.deepEqual(seenSince(from).filter((r) => !r.endsWith('token')), [], 'no request but a possible refresh grant');
  });

  it('no token in any storage, cookie, URL or console', async () => {
    needLogin();
    const secrets = stack.op.issuedTokens().all();
    assert.ok(secrets.length > 0);
    for (const page of pages) {
      const { entries } = await collectStoredStrings(page, context);
      assert.deepEqual(findLeaks(entries, secrets), []);
    }
    assertCleanRun(stack.op, ...logs);
  });
});

for (const fallback of ['sharing: "tab"', 'no SharedWorker in the page']) {
  describe(`fallback (${fallback}): each tab has its own session, logout still reaches every tab`, { timeout: 120_000 }, () => {
    let stack;
    let browser;
    let context;
    const logs = [];

    before(async () => {
      assertLibraryBuilt();
      stack = await startStack({ appOptions: fallback.startsWith('sharing') ? { sharing: 'tab' } : {} });
      browser = await launchBrowser();
      context = await browser.newContext();
      // Android WebView and Chrome Android < 148 have no SharedWorker.
      if (!fallback.startsWith('sharing')) await context.addInitScript(() => { delete window.SharedWorker; });
    });

    after(async () => {
      await closeBrowser(browser);
      await stack?.close();
    });

    it('works per tab, and a logout in one tab signs the others out', async () => {
      const open = async () => {
        const page = await context.newPage();
        page.setDefaultTimeout(20_000);
        logs.push(captureConsole(page));
        await page.goto(stack.appUrl);
        await waitForApp(page);
        return page;
      };
      const a = await open();
      assert.equal(await a.evaluate(() => window.auth.sharing), 'tab');
      await completeLogin(a, { issuer: stack.op.issuer, trigger: () => a.locator('#login').click() });
      await waitForApp(a);
      assert.deepEqual(await callAuth(a, 'isAuthenticated'), { ok: true, value: true });
      // B has its own worker: its session is its own, restored from the provider's (one more code grant).
      const codes = stack.op.tokenRequestCount('authorization_code');
      const b = await open();
      assert.equal(await b.evaluate(() => window.auth.sharing), 'tab');
      assert.deepEqual(await callAuth(b, 'isAuthenticated'), { ok: true, value: true });
      assert.equal(stack.op.tokenRequestCount('authorization_code') - codes, 1, 'B redeemed its own code');
      // Two sessions: a forced refresh in A does not touch B's tokens, and both work.
      for (const page of [a, b]) {
        const user = await callAuth(page, 'getUser');
        assert.equal(user.value?.sub, 'alice');
      }
      const mark = (await events(b)).length;
      const out = await callAuth(a, 'logout', { redirect: false });
      assert.ok(out.ok, JSON.stringify(out.error));
      await waitForEvent(b, 'logout', mark);
      assert.deepEqual(await callAuth(b, 'isAuthenticated'), { ok: true, value: false });
      await b.waitForFunction(() => document.querySelector('#status').dataset.state === 'signed-out');
      assertCleanRun(stack.op, ...logs);
    });
  });
}

describe('pending logins in a shared holder: two tabs log in at once, a callback may land in any tab', { timeout: 120_000 }, () => {
  let stack;
  let browser;
  let context;

  before(async () => {
    assertLibraryBuilt();
    stack = await startStack();
    browser = await launchBrowser();
    context = await browser.newContext();
  });

  after(async () => {
    await closeBrowser(browser);
    await stack?.close();
  });

  it('A and B start logins at once; A\'s is finished in another tab C, where its callback lands; both complete', async () => {
    const open = async (url = stack.appUrl) => {
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      await page.goto(url);
      return page;
    };
    const [a, b] = [await open(), await open()];
    await Promise.all([waitForApp(a), waitForApp(b)]);
    // Both leave for the provider before either comes back: two pending logins at once.
    await Promise.all([a.locator('#login').click(), b.locator('#login').click()]);
    const atProvider = (u) => u.href.startsWith(stack.op.issuer);
    await Promise.all([a.waitForURL(atProvider), b.waitForURL(atProvider)]);
    await a.waitForLoadState('domcontentloaded');
    const providerPageOfA = a.url();
    await completeLogin(b, { issuer: stack.op.issuer });
    const appB = await waitForApp(b);
    assert.equal(appB.callback?.ok, true, JSON.stringify(appB.callback));
    // The user finishes A's login in another tab: its callback lands in C, A is closed.
    await a.close();
    const mark = (await events(b)).length;
    const c = await context.newPage();
    c.setDefaultTimeout(20_000);
    await completeLogin(c, { issuer: stack.op.issuer, trigger: () => c.goto(providerPageOfA) });
    const appC = await waitForApp(c);
    assert.equal(appC.callback?.ok, true, `C completed A's login: ${JSON.stringify(appC.callback)}`);
    await waitForEvent(b, 'login', mark);
    assert.equal(stack.op.tokenRequestCount('authorization_code'), 2, 'both codes redeemed');
    for (const page of [b, c]) assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true });
    const { entries } = await collectStoredStrings(c, context);
    assert.deepEqual(findLeaks(entries, stack.op.issuedTokens().all()), []);
  });
});
