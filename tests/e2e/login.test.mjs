// End to end: the example app in www/vanilla/ (built library from pkg/, served unbundled through an
// import map) against a real oidc-provider, in headless Chromium, through the provider's real forms.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/
//
// The tests in the describe() run in order and share one browser page, like a person would. The
// session lives in the browser's session holder (a SharedWorker, `sharing: "browser"`), not in the
// page: a reload finds it, so a test that needs a signed-out start signs out first.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import {
  APP_PATH, assertLibraryBuilt, callAuth, captureConsole, collectStoredStrings, findLeaks,
  startStack, waitForApp,
} from '../support/harness.mjs';
import {
  cancelLogin, captureNavigations, completeLogin, confirmLogout,
} from '../support/op-interactions.mjs';

const LOGIN = 'alice';
const CALLBACK_PARAMS = ['code', 'state', 'iss', 'session_state'];

describe('vanilla app against oidc-provider (real login form)', { timeout: 180_000 }, () => {
  let stack;
  let browser;
  let context;
  let page;
  let consoleLog;
  let navigations;
  let callbackUrl; // the authorization response URL, as the browser requested it (before clean-up)
  let loggedIn = false;

  const needLogin = () => assert.ok(loggedIn, 'depends on the login test, which failed');
  // Every token the provider's token endpoint handed out (recorded server-side: reading a worker's
  // response bodies through the DevTools protocol is unreliable, Chromium may drop them).
  const issued = () => stack.op.issuedTokens();

  async function openApp() {
    await page.goto(stack.appUrl);
    return waitForApp(page);
  }

  /** Click "Log in", go through the provider's pages, wait for the app to handle the callback. */
  async function loginThroughForm() {
    const result = await completeLogin(page, {
      issuer: stack.op.issuer, login: LOGIN, trigger: () => page.locator('#login').click(),
    });
    const app = await waitForApp(page);
    return { ...result, app };
  }

  /** End the holder's session without leaving the page, for a test that starts signed out. */
  async function signOutLocally() {
    const out = await callAuth(page, 'logout', { redirect: false });
    assert.ok(out.ok, JSON.stringify(out.error));
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });
  }

  async function assertNoTokensStored(label) {
    const tokens = issued();
    const secrets = tokens.all();
    assert.ok(tokens.access.size > 0 && tokens.refresh.size > 0 && tokens.id.size > 0,
      `tokens were issued (access ${tokens.access.size}, refresh ${tokens.refresh.size}, id ${tokens.id.size})`);
    const { entries, indexedDB } = await collectStoredStrings(page, context);
    const leaks = findLeaks(entries, secrets);
    assert.deepEqual(leaks, [], `${label}: tokens found in browser storage; IndexedDB: ${JSON.stringify(indexedDB)}`);
  }

  before(async () => {
    assertLibraryBuilt();
    // These tests read the access token through getAccessToken(): the app opts in to see it.
    stack = await startStack({ appOptions: { exposeAccessToken: true } });
    browser = await launchBrowser();
    context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    consoleLog = captureConsole(page);
    navigations = captureNavigations(page);
  });

  after(async () => {
    await closeBrowser(browser);
    await stack?.close();
  });

  it('starts signed out', async () => {
    const app = await openApp();
    assert.equal(app.callback, null);
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });
    assert.deepEqual(await callAuth(page, 'getUser'), { ok: true, value: null });
    const token = await callAuth(page, 'getAccessToken');
    assert.equal(token.ok, false, 'getAccessToken() without a session must reject');
    assert.equal(token.error.code, 'login_required');
    assert.equal(token.error.name, 'AuthError');
    assert.notEqual(token.error.isAuthError, false, 'rejects with an instance of the exported AuthError');
    assert.equal(await page.locator('#status').getAttribute('data-state'), 'signed-out');
  });

  it('logs in through the provider login and consent forms', async () => {
    const { steps, app } = await loginThroughForm();
    assert.deepEqual(steps, ['login', 'consent']);
    assert.equal(app.error, null, `no error shown: ${JSON.stringify(app.error)}`);
    assert.deepEqual(app.callback, { ok: true, appState: { returnTo: APP_PATH } });

    callbackUrl = navigations.findLast((u) => u.startsWith(stack.appUrl) && new URL(u).searchParams.has('code'));
    assert.ok(callbackUrl, 'the browser was redirected back with a code');
    const cb = new URL(callbackUrl);
    assert.equal(cb.origin + cb.pathname, stack.appUrl);
    assert.ok(cb.searchParams.get('state'), 'callback has state');
    assert.equal(cb.searchParams.get('iss'), stack.op.issuer, 'callback has iss (RFC 9207)');

    const authorize = navigations.find((u) => u.startsWith(stack.op.urls.authorization));
    assert.ok(authorize, 'went to the authorization endpoint');
    // oidc-provider offers pushed authorization requests (RFC 9126), and `par: "auto"` (the
    // default) uses them: the browser's URL carries only client_id and request_uri, the
    // parameters went to the provider first.
    assert.deepEqual([...new URL(authorize).searchParams.keys()].sort(), ['client_id', 'request_uri']);
    assert.deepEqual(stack.op.pushedRequests.map((r) => r.status), [201]);
    const req = stack.op.authorizationParams(authorize);
    assert.equal(req.get('client_id'), 'spa');
    assert.equal(req.get('redirect_uri'), stack.appUrl);
    assert.equal(req.get('response_type'), 'code');
    assert.equal(req.get('code_challenge_method'), 'S256');
    assert.match(req.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok(req.get('nonce'), 'authorization request has a nonce');
    assert.deepEqual(new Set(req.get('scope').split(' ')), new Set(['openid', 'profile', 'email', 'offline_access']));
    assert.equal(req.get('prompt'), 'consent');

    // Exactly one code exchange, sent by the browser (CORS origin of the app), and it succeeded.
    assert.deepEqual(stack.op.tokenRequests.map((r) => [r.grantType, r.status, r.origin]),
      [['authorization_code', 200, stack.web.origin]]);
    assert.equal(issued().id.size, 1);
    assert.equal(issued().refresh.size, 1, 'offline_access + prompt=consent yields a refresh token');
    loggedIn = true;
  });

  it('getUser() returns the validated ID token claims', async () => {
    needLogin();
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true });
    const { ok, value: user } = await callAuth(page, 'getUser');
    assert.ok(ok);
    assert.equal(user.sub, LOGIN);
    assert.equal(user.name, 'Alice');
    assert.equal(user.iss, stack.op.issuer);
    assert.equal(user.aud === 'spa' || (Array.isArray(user.aud) && user.aud.includes('spa')), true);
    // The claims are those of the ID token the provider issued.
    const [idToken] = issued().id;
    const payload = JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url'));
    assert.equal(user.sub, payload.sub);
    await page.locator('#user-name', { hasText: 'Alice' }).waitFor();
  });

  it('the access token works at the provider userinfo endpoint', async () => {
    needLogin();
    const { ok, value: accessToken } = await callAuth(page, 'getAccessToken');
    assert.ok(ok);
    assert.equal(typeof accessToken, 'string');
    assert.ok(issued().access.has(accessToken), 'it is the access token the provider issued');
    const res = await fetch(stack.op.urls.userinfo, { headers: { Authorization: `Bearer ${accessToken}` } });
    assert.equal(res.status, 200);
    const claims = await res.json();
    assert.equal(claims.sub, LOGIN);
    assert.equal(claims.name, 'Alice');
    // And the app's own "Call userinfo" button (getUser({ fresh: true }): the worker calls it).
    await page.locator('#userinfo').click();
    await page.locator('#output', { hasText: '"sub": "alice"' }).waitFor();
    assert.equal(stack.op.tokenRequestCount(), 1, 'no extra token request for a fresh access token');
  });

  it('the address bar no longer carries the authorization response', async () => {
    needLogin();
    const url = new URL(page.url());
    const inPage = new URL(await page.evaluate(() => window.location.href));
    for (const u of [url, inPage]) {
      for (const p of CALLBACK_PARAMS) assert.equal(u.searchParams.has(p), false, `${p} removed from ${u}`);
    }
    assert.equal(inPage.origin + inPage.pathname, stack.appUrl);
  });

  it('getAccessToken({ forceRefresh: true }) uses the refresh token grant', async () => {
    needLogin();
    const before = stack.op.tokenRequestCount('refresh_token');
    const [oldAccess] = issued().access;
    const { ok, value: fresh, error } = await callAuth(page, 'getAccessToken', { forceRefresh: true });
    assert.ok(ok, `forced refresh failed: ${JSON.stringify(error)}`);
    assert.equal(stack.op.tokenRequestCount('refresh_token'), before + 1);
    const last = stack.op.tokenRequests.at(-1);
    assert.deepEqual([last.grantType, last.status, last.origin], ['refresh_token', 200, stack.web.origin]);
    assert.notEqual(fresh, oldAccess);
    assert.equal(last.issued.access_token, fresh, 'it is the access token of the refresh response');
    assert.equal(issued().refresh.size, 2, 'the provider rotated the refresh token');
    const res = await fetch(stack.op.urls.userinfo, { headers: { Authorization: `Bearer ${fresh}` } });
    assert.equal(res.status, 200);
    assert.equal((await callAuth(page, 'getUser')).value?.sub, LOGIN, 'still the same user');
  });

  it('no token is kept in browser storage, cookies, IndexedDB or the URL', async () => {
    needLogin();
    await assertNoTokensStored('after login and refresh');
  });

  it('replaying the callback URL fails with state_mismatch and makes no token request', async () => {
    needLogin();
    assert.ok(callbackUrl);
    const before = stack.op.tokenRequestCount();
    await page.goto(callbackUrl);
    const app = await waitForApp(page);
    assert.equal(app.callback?.ok, false, 'the replayed callback must be rejected');
    assert.equal(app.callback.error.code, 'state_mismatch', JSON.stringify(app.callback.error));
    assert.equal(app.callback.error.name, 'AuthError');
    assert.equal(await page.locator('#error').getAttribute('data-code'), 'state_mismatch');
    assert.equal(stack.op.tokenRequestCount(), before, 'the provider saw no additional token request');
    // The session lives in the holder, not the page: the new page finds it, and the rejected
    // replay does not end it.
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true });
    assert.equal((await callAuth(page, 'getUser')).value?.sub, LOGIN, 'still the same user');
    assert.equal(stack.op.tokenRequestCount(), before, 'and still no token request');
  });

  it('cancelling at the provider gives authorization_error / access_denied', async () => {
    await openApp();
    await signOutLocally();
    const before = stack.op.tokenRequestCount();
    const { url: landed } = await cancelLogin(page, {
      issuer: stack.op.issuer, trigger: () => page.locator('#login').click(),
    });
    assert.equal(new URL(landed).searchParams.get('error'), 'access_denied');
    const app = await waitForApp(page);
    assert.equal(app.callback?.ok, false);
    assert.equal(app.callback.error.code, 'authorization_error', JSON.stringify(app.callback.error));
    assert.equal(app.callback.error.error, 'access_denied');
    assert.equal(stack.op.tokenRequestCount(), before);
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });
  });

  it('logout({ redirect: false }) ends the session locally', async () => {
    await openApp();
    const { steps, app } = await loginThroughForm();
    assert.deepEqual(steps, ['consent'], 'the provider session is reused: consent only');
    assert.equal(app.callback?.ok, true, JSON.stringify(app.callback));
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true });
    const urlBefore = page.url();

    const out = await callAuth(page, 'logout', { redirect: false });
    assert.ok(out.ok, JSON.stringify(out.error));
    assert.equal(page.url(), urlBefore, 'no navigation');
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });
    assert.deepEqual(await callAuth(page, 'getUser'), { ok: true, value: null });
    const token = await callAuth(page, 'getAccessToken');
    assert.equal(token.ok, false);
    assert.equal(token.error.code, 'login_required');
    const refreshed = await callAuth(page, 'getAccessToken', { forceRefresh: true });
    assert.equal(refreshed.ok, false);
    assert.equal(refreshed.error.code, 'login_required');
  });

  it('logout() redirects to the provider end_session endpoint and back', async () => {
    await openApp();
    const { app } = await loginThroughForm();
    assert.equal(app.callback?.ok, true, JSON.stringify(app.callback));
    const idToken = [...issued().id].at(-1);
    const mark = navigations.urls.length;

    const landed = await confirmLogout(page, {
      issuer: stack.op.issuer, trigger: () => page.locator('#logout').click(),
    });
    const endSession = navigations.urls.slice(mark).find((u) => u.startsWith(stack.op.urls.endSession));
    assert.ok(endSession, 'navigated to end_session_endpoint');
    const params = new URL(endSession).searchParams;
    assert.equal(params.get('id_token_hint'), null, 'no ID token in a URL the page sees');
    assert.ok(!endSession.includes(idToken));
    assert.equal(params.get('client_id'), stack.op.clientId);
    assert.equal(params.get('post_logout_redirect_uri'), stack.appUrl);
    const back = new URL(landed);
    assert.equal(back.origin + back.pathname, stack.appUrl, 'back at post_logout_redirect_uri');

    await waitForApp(page);
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });
    // The provider session is gone too: the next login asks for the login form again.
    const again = await cancelLogin(page, {
      issuer: stack.op.issuer, trigger: () => page.locator('#login').click(),
    });
    assert.equal(again.prompt, 'login');
    await waitForApp(page);
  });

  it('no token is kept in browser storage after all of that', async () => {
    await assertNoTokensStored('at the end');
  });

  it('no console message or page error mentions a token', async () => {
    const secrets = issued().all();
    const leaks = consoleLog.messages.filter((m) => secrets.some((s) => m.text.includes(s)));
    assert.deepEqual(leaks.map((m) => `${m.source} ${m.type}: ${m.text.slice(0, 80)}`), []);
    const errorLeaks = consoleLog.pageErrors.filter((e) => secrets.some((s) => e.includes(s)));
    assert.deepEqual(errorLeaks, []);
    assert.deepEqual(consoleLog.pageErrors, [], 'no uncaught errors in the page');
    assert.deepEqual(stack.op.serverErrors.map(String), [], 'the provider reported no server_error');
  });
});
