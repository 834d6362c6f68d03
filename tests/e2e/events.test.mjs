// End to end: session events (auth.on) of the example app in www/vanilla/ against the real
// oidc-provider, in headless Chromium. The app subscribes to every event right after
// createAuthClient(), before it handles the callback, and keeps them in window.app.events.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/events.test.mjs
//
// Checked: `login` after the callback and `tokenRefreshed` after a refresh, each with expiresAt and
// scope and no token; an unsubscribed listener is not called; `logout`; `sessionExpired` (and
// login_required for the caller) when the provider no longer knows the grant; no event ever
// carries a token the provider issued.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import { assertLibraryBuilt, callAuth, startStack, waitForApp } from '../support/harness.mjs';
import { completeLogin } from '../support/op-interactions.mjs';

describe('session events', { timeout: 180_000 }, () => {
  let stack;
  let browser;
  let page;

  const events = () => page.evaluate(() => window.app.events);
  const names = async () => (await events()).map((e) => e.name);

  async function login() {
    await page.goto(stack.appUrl);
    await waitForApp(page);
    await completeLogin(page, { issuer: stack.op.issuer, login: 'alice', trigger: () => page.locator('#login').click() });
    const app = await waitForApp(page);
    assert.equal(app.callback?.ok, true, `login callback: ${JSON.stringify(app.callback)}`);
  }

  function assertNoTokens(all) {
    const text = JSON.stringify(all);
    for (const token of stack.op.issuedTokens().all()) {
      assert.ok(!text.includes(token), 'an event carries a token');
    }
  }

  before(async () => {
    assertLibraryBuilt();
    stack = await startStack({ quiet: true, appOptions: { exposeAccessToken: true } });
    browser = await launchBrowser();
    page = await (await browser.newContext()).newPage();
  });

  after(async () => {
    await closeBrowser(browser);
    await stack?.close();
  });

  it('login: one event with expiresAt and scope, no token', async () => {
    const before = Date.now();
    await login();
    const all = await events();
    assert.deepEqual(all.map((e) => e.name), ['login']);
    const { expiresAt, scope, resource } = all[0].detail;
    assert.ok(expiresAt > before + 500_000 && expiresAt < Date.now() + 700_000, `expiresAt ${expiresAt} is about now + 600 s`);
    assert.ok(scope.split(' ').includes('openid') && scope.split(' ').includes('offline_access'), scope);
    assert.equal(resource, null);
    assertNoTokens(all);
  });

  it('tokenRefreshed after a refresh; an unsubscribed listener is not called', async () => {
    const seen = await page.evaluate(async () => {
      const calls = [];
      const off = window.auth.on('tokenRefreshed', () => calls.push('first'));
      await window.auth.getAccessToken({ forceRefresh: true });
      off();
      await window.auth.getAccessToken({ forceRefresh: true });
      return calls;
    });
    assert.deepEqual(seen, ['first'], 'called once, then unsubscribed');
    assert.deepEqual(await names(), ['login', 'tokenRefreshed', 'tokenRefreshed']);
    const refreshed = (await events())[1].detail;
    assert.ok(refreshed.expiresAt > Date.now() && typeof refreshed.scope === 'string');
    assertNoTokens(await events());
  });

  it('logout', async () => {
    assert.equal((await callAuth(page, 'logout', { redirect: false })).ok, true);
    assert.deepEqual((await names()).at(-1), 'logout');
  });

  it('sessionExpired when the provider no longer knows the grant; the caller gets login_required', async () => {
    await login();
    assert.deepEqual(await names(), ['login']);
    // Revoke the session's refresh token behind the client's back (RFC 7009, from node).
    const refresh = [...stack.op.issuedTokens().refresh].at(-1);
    const res = await fetch(stack.op.urls.revocation, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.web.origin },
      body: new URLSearchParams({ token: refresh, token_type_hint: 'refresh_token', client_id: stack.op.clientId }),
    });
    assert.equal(res.status, 200);
    const forced = await callAuth(page, 'getAccessToken', { forceRefresh: true });
    assert.equal(forced.ok, false);
    assert.equal(forced.error.code, 'login_required', JSON.stringify(forced.error));
    const all = await events();
    assert.deepEqual(all.map((e) => e.name), ['login', 'sessionExpired']);
    assert.deepEqual(all[1].detail, { reason: 'invalid_grant' });
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });
    assertNoTokens(all);
  });
});
