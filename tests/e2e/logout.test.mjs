// End to end: logout of the example app in www/vanilla/ against a real oidc-provider, in headless
// Chromium, logged in through the provider's real forms (scope "openid profile email
// offline_access", prompt=consent, as the app does, so there is a refresh token).
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/logout.test.mjs
//
// What is checked:
//   - logout({ redirect: false }) ends the local session (login_required, signed out, no user) and
//     resolves with no URL;
//   - it revokes the refresh token and the access token at the provider (RFC 7009): one POST each
//     to the revocation endpoint, from the worker (app origin), with client_id=spa, the right
//     token_type_hint and the token the provider issued;
//   - the refresh token is really revoked: replaying it at the token endpoint gives invalid_grant;
//   - a failing revocation (network error) does not keep the local session alive;
//   - logout() with redirect goes to end_session (client_id, post_logout_redirect_uri, state; no
//     id_token_hint, so the URL the page sees holds no ID token) only after the revocation requests
//     were sent, and oidc-provider returns to post_logout_redirect_uri on client_id alone;
//   - over a full session (login, getUser, fresh getUser, getAccessToken, a forced refresh, auth.fetch
//     with its invalid_token refresh, logout without and with redirect) no message the page receives
//     from the worker (reply or event) and no URL the page visits contains an ID token the provider
//     issued.
// The provider's request log (op.requests: method, path, route, status, in order of completion) is
// the source of truth for what reached the provider; the request bodies and Origin header are read
// by a browser-wide DevTools interception (tests/support/intercept.mjs), which also makes the
// revocation fail: the session holder is a SharedWorker (`sharing: "browser"`), whose requests
// Playwright's request events and page.route() never see.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startApiServer } from '../support/api-server.mjs';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import { interceptRequests } from '../support/intercept.mjs';
import {
  assertCleanRun,
  assertLibraryBuilt, callAuth, captureConsole, startStack, waitForApp,
} from '../support/harness.mjs';
import { captureNavigations, completeLogin, confirmLogout } from '../support/op-interactions.mjs';

const LOGIN = 'alice';

describe('logout revokes the tokens (RFC 7009) and ends the session', { timeout: 180_000 }, () => {
  let stack;
  let browser;
  let context;
  let page;
  let consoleLog;
  let navigations;
  let loggedIn = false;
  let firstSession; // { access, refresh, id } issued for the first login
  /** The browser's requests to the revocation endpoint (from any page or worker), in order. */
  let intercepted;
  const revocations = () => intercepted.requests.map((r) => ({
    method: r.method, params: r.params, origin: r.headers.origin, contentType: r.headers['content-type'], failed: r.failed,
  }));

  const needLogin = () => assert.ok(loggedIn, 'depends on the login test, which failed');
  /** Provider log entries of the revocation endpoint from index `from` on. */
  const revocationLog = (from = 0) => stack.op.requests.slice(from).filter((r) => r.route === 'revocation');

  async function openApp() {
    await page.goto(stack.appUrl);
    return waitForApp(page);
  }

  /** Log in through the provider forms; returns the tokens of that login's code exchange. */
  async function login(expectedSteps) {
    await openApp();
    const mark = stack.op.tokenRequests.length;
    const { steps } = await completeLogin(page, {
      issuer: stack.op.issuer, login: LOGIN, trigger: () => page.locator('#login').click(),
    });
    const app = await waitForApp(page);
    if (expectedSteps) assert.deepEqual(steps, expectedSteps);
    assert.equal(app.callback?.ok, true, `login callback: ${JSON.stringify(app.callback)}`);
    const exchange = stack.op.tokenRequests.slice(mark).filter((r) => r.grantType === 'authorization_code');
    assert.deepEqual(exchange.map((r) => [r.status, r.origin]), [[200, stack.web.origin]], 'one code exchange, from the worker');
    const { access_token: access, refresh_token: refresh, id_token: id } = exchange[0].issued;
    assert.ok(access, 'the code exchange issued an access token');
    assert.ok(refresh, 'offline_access + prompt=consent yields a refresh token');
    assert.ok(id, 'the code exchange issued an ID token');
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true });
    return { access, refresh, id };
  }

  async function assertSignedOut(label) {
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false }, `${label}: isAuthenticated()`);
    assert.deepEqual(await callAuth(page, 'getUser'), { ok: true, value: null }, `${label}: getUser()`);
    const token = await callAuth(page, 'getAccessToken');
    assert.equal(token.ok, false, `${label}: getAccessToken() must reject`);
    assert.equal(token.error.code, 'login_required', `${label}: getAccessToken(): ${JSON.stringify(token.error)}`);
    const forced = await callAuth(page, 'getAccessToken', { forceRefresh: true });
    assert.equal(forced.ok, false, `${label}: getAccessToken({ forceRefresh: true }) must reject`);
    assert.equal(forced.error.code, 'login_required', `${label}: forced refresh: ${JSON.stringify(forced.error)}`);
  }

  /** Assert `captured` are exactly one revocation of `refresh` and one of `access`, well formed. */
  function assertRevocationRequests(captured, { access, refresh }) {
    const summary = captured.map((r) => `${r.method} hint=${r.params.get('token_type_hint')} origin=${r.origin}`);
    assert.ok(captured.every((r) => r.method === 'POST'), `only POSTs: ${summary.join('; ')}`);
    const byHint = (hint) => captured.filter((r) => r.params.get('token_type_hint') === hint);
    const [rt, at] = [byHint('refresh_token'), byHint('access_token')];
    assert.equal(rt.length, 1, `one revocation with token_type_hint=refresh_token (saw: ${summary.join('; ') || 'none'})`);
    assert.equal(at.length, 1, `one revocation with token_type_hint=access_token (saw: ${summary.join('; ') || 'none'})`);
    assert.equal(captured.length, 2, `exactly two revocation requests (saw: ${summary.join('; ')})`);
    for (const [r, token, what] of [[rt[0], refresh, 'refresh'], [at[0], access, 'access']]) {
      assert.equal(r.params.get('client_id'), stack.op.clientId, `${what} token revocation carries client_id=spa`);
      assert.ok(r.params.get('token') === token, `${what} token revocation carries the ${what} token the provider issued`);
      assert.equal(r.origin, stack.web.origin, `${what} token revocation is a CORS request from the app origin`);
      assert.match(r.contentType ?? '', /^application\/x-www-form-urlencoded/, `${what} token revocation is form-encoded`);
      assert.equal(r.params.get('client_secret'), null, 'public client: no secret');
    }
  }

  before(async () => {
    assertLibraryBuilt();
    // assertSignedOut reads getAccessToken(): the app opts in to see the access token.
    stack = await startStack({ appOptions: { exposeAccessToken: true } });
    browser = await launchBrowser();
    context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    consoleLog = captureConsole(page);
    navigations = captureNavigations(page);
    intercepted = await interceptRequests(browser, stack.op.urls.revocation);
  });

  after(async () => {
    await closeBrowser(browser);
    await stack?.close();
  });

  it('logs in through the provider login and consent forms', async () => {
    firstSession = await login(['login', 'consent']);
    assert.equal(await page.evaluate(() => window.auth.sharing), 'browser', 'the session holder is a SharedWorker');
    loggedIn = true;
  });

  it('logout({ redirect: false }) resolves and ends the local session', async () => {
    needLogin();
    const urlBefore = page.url();
    const out = await callAuth(page, 'logout', { redirect: false });
    assert.ok(out.ok, `logout rejected: ${JSON.stringify(out.error)}`);
    assert.deepEqual(out.value, { url: null }, 'no URL: the page is not sent anywhere, and gets nothing to send');
    assert.equal(page.url(), urlBefore, 'no navigation');
    await assertSignedOut('after logout({ redirect: false })');
  });

  it('logout revoked the refresh token and the access token at the provider, from the worker', async () => {
    needLogin();
    const log = revocationLog();
    assert.deepEqual(log.map((r) => [r.method, r.status]), [['POST', 200], ['POST', 200]],
      'the provider handled two POSTs to its revocation endpoint, both 200');
    assertRevocationRequests(revocations(), firstSession);
  });

  it('the revoked refresh token is refused at the token endpoint (invalid_grant)', async () => {
    needLogin();
    const mark = stack.op.tokenRequests.length;
    const res = await fetch(stack.op.urls.token, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: stack.web.origin },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: firstSession.refresh, client_id: stack.op.clientId }),
    });
    const body = await res.json();
    assert.equal(res.status, 400, `replayed refresh token: HTTP ${res.status} ${JSON.stringify(body)}`);
    assert.equal(body.error, 'invalid_grant');
    assert.equal(body.access_token, undefined);
    assert.deepEqual(stack.op.tokenRequests.slice(mark).map((r) => [r.grantType, r.status, r.error]),
      [['refresh_token', 400, 'invalid_grant']]);
    // The access token is gone too.
    const me = await fetch(stack.op.urls.userinfo, { headers: { Authorization: `Bearer ${firstSession.access}` } });
    assert.equal(me.status, 401, 'the revoked access token is refused at userinfo');
  });

  it('a logout whose revocation fails (network error) still ends the local session', async () => {
    needLogin();
    const session = await login(['consent']);
    const logMark = stack.op.requests.length;
    const capMark = revocations().length;
    intercepted.fail = 'ConnectionRefused';
    try {
      const out = await callAuth(page, 'logout', { redirect: false });
      assert.ok(out.ok, `logout must resolve even though revocation failed: ${JSON.stringify(out.error)}`);
      await assertSignedOut('after a logout with failing revocation');
    } finally {
      intercepted.fail = null;
    }
    const failed = revocations().slice(capMark);
    assert.ok(failed.length >= 1, 'the interception saw the worker\'s revocation request(s)');
    assert.ok(failed.every((r) => r.failed === 'ConnectionRefused'), 'every revocation request failed with a network error');
    assert.deepEqual(revocationLog(logMark), [], 'no revocation request reached the provider');
    // (Not revoked, so the refresh token still works at the provider: the abort was real.)
    const res = await fetch(stack.op.urls.token, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: stack.web.origin },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: session.refresh, client_id: stack.op.clientId }),
    });
    assert.equal(res.status, 200, 'the un-revoked refresh token is still valid at the provider');
  });

  it('logout() with redirect revokes first, then goes to end_session with client_id, post_logout_redirect_uri, state (no id_token_hint)', async () => {
    needLogin();
    const session = await login(['consent']);
    const logMark = stack.op.requests.length;
    const capMark = revocations().length;
    const navMark = navigations.urls.length;

    const landed = await confirmLogout(page, {
      issuer: stack.op.issuer, trigger: () => page.locator('#logout').click(),
    });
    const endSession = navigations.urls.slice(navMark).find((u) => u.startsWith(stack.op.urls.endSession));
    assert.ok(endSession, 'navigated to end_session_endpoint');
    const params = new URL(endSession).searchParams;
    // RP-Initiated Logout §2: client_id identifies the RP; the ID token stays in the worker.
    assert.deepEqual([...params.keys()], ['client_id', 'post_logout_redirect_uri', 'state']);
    assert.ok(!endSession.includes(session.id), 'the end-session URL does not hold the ID token');
    assert.equal(params.get('client_id'), stack.op.clientId);
    assert.equal(params.get('post_logout_redirect_uri'), stack.appUrl);
    const state = params.get('state');
    assert.ok(state, 'end_session request carries state');
    const back = new URL(landed);
    assert.equal(back.origin + back.pathname, stack.appUrl, 'back at post_logout_redirect_uri');
    assert.equal(back.searchParams.get('state'), state, 'the provider echoes state');

    // Order at the provider: both revocations were handled before the end_session page was asked for.
    const log = stack.op.requests.slice(logMark);
    const revIdx = log.map((r, i) => (r.route === 'revocation' ? i : -1)).filter((i) => i >= 0);
    const endIdx = log.findIndex((r) => r.route === 'end_session' && r.method === 'GET');
    const order = log.map((r) => `${r.method} ${r.route ?? r.path} ${r.status}`).join(' | ');
    assert.ok(endIdx >= 0, `the provider served end_session (log: ${order})`);
    assert.equal(revIdx.length, 2, `two revocation requests reached the provider (log: ${order})`);
    assert.ok(revIdx.every((i) => i < endIdx), `revocations before end_session (log: ${order})`);
    assert.ok(log.filter((r) => r.route === 'revocation').every((r) => r.status === 200));
    assertRevocationRequests(revocations().slice(capMark), session);

    await waitForApp(page);
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });
  });

  it('no page error, provider server_error or token in the console', () => {
    assertCleanRun(stack.op, consoleLog);
  });
});

describe('no message the page receives ever holds the raw ID token (a full session)', { timeout: 180_000 }, () => {
  let stack;
  let api;
  let browser;
  let page;
  let consoleLog;
  let navigations;
  /** Every message the page received from its worker (replies and events), as text. */
  const received = [];

  before(async () => {
    assertLibraryBuilt();
    stack = await startStack({
      provider: { introspection: true },
      // getAccessToken() is part of the session under test: the app opts in to it.
      appOptions: () => ({ apiOrigins: [api.origin], exposeAccessToken: true }),
    });
    api = await startApiServer({ allowOrigin: stack.web.origin, introspect: (token) => stack.op.introspect(token) });
    browser = await launchBrowser();
    const context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    consoleLog = captureConsole(page);
    navigations = captureNavigations(page);
    // Record what the page's client receives: every message event of every Worker the page
    // creates, and of the port of every SharedWorker it connects to (the session holder, the
    // default), with bodies of auth.fetch responses as latin1 text, before the client sees it.
    await page.exposeFunction('__recordWorkerMessage', (text) => { received.push(text); });
    await page.addInitScript(() => {
      const text = (data) => JSON.stringify(data, (_, v) => (v instanceof ArrayBuffer
        ? String.fromCharCode(...new Uint8Array(v)) : v));
      const record = (target) => target.addEventListener('message', (event) => window.__recordWorkerMessage(text(event.data)));
      const { Worker: NativeWorker, SharedWorker: NativeShared } = window;
      window.Worker = class extends NativeWorker {
        constructor(...args) {
          super(...args);
          record(this);
        }
      };
      window.SharedWorker = class extends NativeShared {
        constructor(...args) {
          super(...args);
          record(this.port);
        }
      };
    });
  });

  after(async () => {
    await closeBrowser(browser);
    await api?.close();
    await stack?.close();
  });

  it('login, getUser, refresh, auth.fetch, logout without and with redirect: no ID token in any of it', async () => {
    await page.goto(stack.appUrl);
    await waitForApp(page);
    await completeLogin(page, { issuer: stack.op.issuer, login: LOGIN, trigger: () => page.locator('#login').click() });
    assert.equal((await waitForApp(page)).callback?.ok, true);
    const ok = async (method, ...args) => {
      const out = await callAuth(page, method, ...args);
      assert.ok(out.ok, `${method}: ${JSON.stringify(out.error)}`);
      return out.value;
    };
    assert.equal((await ok('getUser')).sub, LOGIN);
    assert.equal((await ok('getUser', { fresh: true })).sub, LOGIN);
    await ok('getAccessToken');
    await ok('getAccessToken', { forceRefresh: true });
    api.rejectNext(1); // invalid_token: the worker refreshes once and retries
    const me = await page.evaluate(async (url) => (await window.auth.fetch(url)).json(), `${api.origin}/me`);
    assert.equal(me.sub, LOGIN);
    assert.deepEqual(await ok('logout', { redirect: false }), { url: null }, 'logout({ redirect: false }) resolves with no URL');

    await page.goto(stack.appUrl);
    await waitForApp(page);
    await completeLogin(page, { issuer: stack.op.issuer, login: LOGIN, trigger: () => page.locator('#login').click() });
    assert.equal((await waitForApp(page)).callback?.ok, true);
    await confirmLogout(page, { issuer: stack.op.issuer, trigger: () => page.locator('#logout').click() });
    await waitForApp(page);

    const grants = stack.op.tokenRequests.map((r) => r.grantType);
    assert.deepEqual(grants, ['authorization_code', 'refresh_token', 'refresh_token', 'authorization_code'],
      'two logins and two refreshes (forced, and after invalid_token)');
    const idTokens = [...stack.op.issuedTokens().id];
    assert.ok(idTokens.length >= 2, `an ID token from each login at least (${idTokens.length})`);
    const kinds = new Set(received.map((t) => (t.includes('"event"') ? 'event' : 'reply')));
    assert.deepEqual([...kinds].sort(), ['event', 'reply'], 'replies and events were recorded');
    assert.ok(received.some((t) => t.includes('"sub":"alice"')), 'the recording holds what the page got (claims)');
    // The whole token, and its signature alone (the part the claims the page gets do not hold).
    const probes = idTokens.flatMap((t) => [t, t.split('.')[2]]);
    const leaks = [...received, ...navigations.urls].filter((t) => probes.some((p) => t.includes(p)));
    assert.deepEqual(leaks.map((t) => t.slice(0, 120)), [], 'no reply, event or visited URL holds an ID token');
  });

  it('no page error, provider server_error or token in the console', () => {
    assertCleanRun(stack.op, consoleLog);
  });
});
