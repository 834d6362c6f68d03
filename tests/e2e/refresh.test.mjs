// End to end: refresh token grants of the example app in www/vanilla/ against a real oidc-provider,
// in headless Chromium, logged in through the provider's real forms (scope
// "openid profile email offline_access", prompt=consent, as the app does).
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/refresh.test.mjs
//
// What is checked:
//   - refresh is single-flight: many callers waiting for an expired access token cause ONE
//     refresh_token grant at the provider, and all get its access token;
//   - concurrent forced refreshes share one grant as well;
//   - the provider rotates the refresh token, and the replaced one is refused (invalid_grant).
// The provider's record of token requests (op.tokenRequests) is the source of truth for how many
// grants the worker sent; every count is checked as a difference from just before the action.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import {
  assertCleanRun,
  assertLibraryBuilt, callAuth, captureConsole, startStack, waitForApp,
} from '../support/harness.mjs';
import { completeLogin } from '../support/op-interactions.mjs';

const LOGIN = 'alice';

/**
 * In the page: call auth.getAccessToken(options) `n` times at once (same tick), and wait for all
 * with Promise.allSettled. Returns [{ status: 'fulfilled', value } | { status: 'rejected', error }].
 * Throws if they do not all settle within 20 s (a hung single-flight must fail, not stall).
 */
async function concurrentGetAccessToken(page, n, options) {
  const result = await page.evaluate(async ([count, opts]) => {
    const calls = Array.from({ length: count }, () => (opts === undefined
      ? window.auth.getAccessToken()
      : window.auth.getAccessToken(opts)));
    let timer;
    const hung = new Promise((resolve) => { timer = setTimeout(() => resolve({ hung: true }), 20000); });
    try {
      const settled = await Promise.race([Promise.allSettled(calls), hung]);
      if (settled.hung) return settled;
      return {
        settled: settled.map((s) => (s.status === 'fulfilled'
          ? { status: 'fulfilled', value: s.value }
          : {
            status: 'rejected',
            error: {
              name: s.reason?.name, message: s.reason?.message, code: s.reason?.code, reason: s.reason?.reason, error: s.reason?.error,
            },
          })),
      };
    } finally {
      clearTimeout(timer);
    }
  }, [n, options]);
  if (result.hung) throw new Error(`${n} concurrent getAccessToken() calls did not all settle within 20 s`);
  return result.settled;
}

/** "200×1, 400×3": the HTTP statuses of token requests, counted. */
function statuses(requests) {
  const counts = new Map();
  for (const r of requests) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${status}×${n}`).join(', ') || 'none';
}

/** Assert every call was fulfilled; returns the distinct values. */
function assertAllFulfilled(settled, n, label) {
  assert.equal(settled.length, n);
  const rejected = settled.filter((s) => s.status !== 'fulfilled');
  const reasons = [...new Set(rejected.map((s) => `${s.error.code}/${s.error.reason ?? ''}/${s.error.error ?? ''}: ${s.error.message}`))];
  assert.equal(rejected.length, 0, `${label}: ${rejected.length}/${n} calls rejected (${reasons.join('; ')})`);
  const values = new Set(settled.map((s) => s.value));
  for (const v of values) assert.equal(typeof v, 'string', `${label}: resolves to a string`);
  return values;
}

/**
 * One shared test fixture per describe(): a stack (provider options), a browser page, and a login
 * through the real forms. Returns accessors; `login()` is run in a test so failures are reported.
 */
function useLoggedInPage(stackOptions) {
  const ctx = { stack: null, browser: null, page: null, consoleLog: null, loggedIn: false };

  before(async () => {
    assertLibraryBuilt();
    // These tests read the tokens through getAccessToken(): the app opts in to see them.
    ctx.stack = await startStack({ ...stackOptions, appOptions: { exposeAccessToken: true, ...stackOptions.appOptions } });
    ctx.browser = await launchBrowser();
    const context = await ctx.browser.newContext();
    ctx.page = await context.newPage();
    ctx.page.setDefaultTimeout(20_000);
    ctx.consoleLog = captureConsole(ctx.page);
  });

  after(async () => {
    await closeBrowser(ctx.browser);
    await ctx.stack?.close();
  });

  ctx.login = async () => {
    const { page, stack } = ctx;
    await page.goto(stack.appUrl);
    await waitForApp(page);
    const { steps } = await completeLogin(page, {
      issuer: stack.op.issuer, login: LOGIN, trigger: () => page.locator('#login').click(),
    });
    const app = await waitForApp(page);
    assert.deepEqual(steps, ['login', 'consent']);
    assert.deepEqual(app.callback?.ok, true, `login callback: ${JSON.stringify(app.callback)}`);
    const exchange = stack.op.tokenRequests.filter((r) => r.grantType === 'authorization_code');
    assert.equal(exchange.length, 1, 'one code exchange');
    assert.equal(exchange[0].status, 200);
    assert.ok(exchange[0].issued.access_token, 'the code exchange issued an access token');
    assert.ok(exchange[0].issued.refresh_token, 'offline_access + prompt=consent yields a refresh token');
    ctx.loggedIn = true;
    return { loggedInAt: exchange[0].at, access: exchange[0].issued.access_token, refresh: exchange[0].issued.refresh_token };
  };
  ctx.needLogin = () => assert.ok(ctx.loggedIn, 'depends on the login test, which failed');
  /** Token requests of grant_type refresh_token made after index `from` of op.tokenRequests. */
  ctx.refreshGrantsSince = (from) => ctx.stack.op.tokenRequests.slice(from).filter((r) => r.grantType === 'refresh_token');
  ctx.checkClean = () => assertCleanRun(ctx.stack.op, ctx.consoleLog);
  return ctx;
}

describe('refresh is single-flight when the access token expires (short TTL)', { timeout: 120_000 }, () => {
  const ACCESS_TOKEN_TTL = 4; // seconds; the client stops using it after min(60 s skew, TTL / 2) = 2 s
  const CALLERS = 50;
  const ctx = useLoggedInPage({ accessTokenTtl: ACCESS_TOKEN_TTL });
  let login;

  it('logs in through the provider forms', async () => {
    login = await ctx.login();
  });

  it(`${CALLERS} concurrent getAccessToken() after half the lifetime: one refresh_token grant, one token`, async () => {
    ctx.needLogin();
    const { page, stack } = ctx;
    // The token is fresh right after login (the app's own start-up may still be using it).
    const fresh = await callAuth(page, 'getAccessToken');
    assert.ok(fresh.ok, JSON.stringify(fresh.error));
    // (Only checkable while under half the lifetime has passed; a very slow machine may be past it.)
    if (Date.now() - login.loggedInAt < (ACCESS_TOKEN_TTL * 1000) * 0.5 - 300) {
      assert.equal(fresh.value, login.access, 'right after login, getAccessToken() returns the login access token');
    }

    // Wait until more than half the lifetime (2 s) has passed since the provider issued it, with
    // margin, but well before the 4 s expiry.
    const wait = login.loggedInAt + (ACCESS_TOKEN_TTL * 1000) * 0.5 + 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    const mark = stack.op.tokenRequests.length;
    const settled = await concurrentGetAccessToken(page, CALLERS);

    const grants = ctx.refreshGrantsSince(mark);
    assert.equal(grants.length, 1,
      `exactly one refresh_token grant for ${CALLERS} concurrent callers (statuses: ${statuses(grants)})`);
    assert.deepEqual([grants[0].status, grants[0].error, grants[0].origin], [200, undefined, stack.web.origin],
      'the grant succeeded and came from the worker (app origin)');
    const values = assertAllFulfilled(settled, CALLERS, 'concurrent getAccessToken()');
    assert.equal(values.size, 1, `all ${CALLERS} callers got the same token (got ${values.size} distinct)`);
    const [token] = values;
    assert.notEqual(token, login.access, 'it is not the expired-for-the-client login access token');
    assert.equal(token, grants[0].issued.access_token, 'it is the access token of the refresh response');
    assert.equal(stack.op.tokenRequests.length, mark + 1, 'no other token request was made');

    // The grant is still active: the (rotated) refresh token the worker now holds works.
    const mark2 = stack.op.tokenRequests.length;
    const forced = await callAuth(page, 'getAccessToken', { forceRefresh: true });
    assert.ok(forced.ok, `forced refresh after the single-flight refresh failed: ${JSON.stringify(forced.error)}`);
    const grants2 = ctx.refreshGrantsSince(mark2);
    assert.deepEqual(grants2.map((g) => g.status), [200], 'one more successful refresh_token grant');
    assert.equal(forced.value, grants2[0].issued.access_token);
    assert.notEqual(forced.value, token);
    const res = await fetch(stack.op.urls.userinfo, { headers: { Authorization: `Bearer ${forced.value}` } });
    assert.equal(res.status, 200, 'the refreshed access token is accepted at userinfo');
  });

  it('no page error, provider server_error or token in the console', () => {
    ctx.checkClean();
  });
});

describe('forced refreshes and refresh token rotation (normal TTL)', { timeout: 120_000 }, () => {
  const ctx = useLoggedInPage({});
  let login;

  it('logs in through the provider forms', async () => {
    login = await ctx.login();
  });

  it('10 concurrent getAccessToken({ forceRefresh: true }) share one refresh_token grant', async () => {
    ctx.needLogin();
    const { page, stack } = ctx;
    const CALLERS = 10;
    const mark = stack.op.tokenRequests.length;
    const settled = await concurrentGetAccessToken(page, CALLERS, { forceRefresh: true });

    const grants = ctx.refreshGrantsSince(mark);
    assert.equal(grants.length, 1,
      `exactly one refresh_token grant for ${CALLERS} concurrent forced refreshes (statuses: ${statuses(grants)})`);
    assert.equal(grants[0].status, 200, `the grant succeeded: ${grants[0].error}`);
    const values = assertAllFulfilled(settled, CALLERS, 'concurrent forced refreshes');
    assert.equal(values.size, 1, `all ${CALLERS} callers got the same token (got ${values.size} distinct)`);
    const [token] = values;
    assert.notEqual(token, login.access, 'a forced refresh gives a new access token');
    assert.equal(token, grants[0].issued.access_token, 'it is the access token of the refresh response');
    assert.equal(stack.op.tokenRequests.length, mark + 1, 'no other token request was made');
  });

  it('a forced refresh rotates the refresh token, and the old one is then refused (invalid_grant)', async () => {
    ctx.needLogin();
    const { page, stack } = ctx;
    // The refresh token the worker holds now: the latest one the provider issued.
    const refreshBefore = [...stack.op.issuedTokens().refresh];
    const current = refreshBefore.at(-1);
    const accessBefore = (await callAuth(page, 'getAccessToken')).value;
    assert.ok(current, 'a refresh token was issued');
    assert.ok(accessBefore, 'the session is still usable before the rotation test');

    const mark = stack.op.tokenRequests.length;
    const forced = await callAuth(page, 'getAccessToken', { forceRefresh: true });
    assert.ok(forced.ok, `forced refresh failed: ${JSON.stringify(forced.error)}`);
    const grants = ctx.refreshGrantsSince(mark);
    assert.deepEqual(grants.map((g) => [g.status, g.origin]), [[200, stack.web.origin]], 'one successful grant, from the worker');
    assert.notEqual(forced.value, accessBefore, 'a new access token');
    assert.equal(forced.value, grants[0].issued.access_token);

    const rotated = grants[0].issued.refresh_token;
    assert.ok(rotated, 'the refresh response carries a new refresh token');
    assert.ok(!refreshBefore.includes(rotated), 'the new refresh token was never issued before');
    assert.equal(stack.op.issuedTokens().refresh.size, refreshBefore.length + 1, 'the provider issued exactly one new refresh token');

    // Replay the replaced refresh token directly against the token endpoint, as a browser on the
    // app's origin would (public client: no secret). Rotation means it must be refused.
    const replayMark = stack.op.tokenRequests.length;
    const res = await fetch(stack.op.urls.token, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: stack.web.origin },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: current, client_id: stack.op.clientId }),
    });
    const body = await res.json();
    assert.equal(res.status, 400, `replayed refresh token: HTTP ${res.status} ${JSON.stringify(body)}`);
    assert.equal(body.error, 'invalid_grant');
    assert.equal(body.access_token, undefined, 'no token for the replayed refresh token');
    const replay = stack.op.tokenRequests.slice(replayMark);
    assert.deepEqual(replay.map((r) => [r.grantType, r.status, r.error, r.origin]),
      [['refresh_token', 400, 'invalid_grant', stack.web.origin]], 'the provider saw the replay and refused it');
    // (oidc-provider's reuse detection may now revoke the whole grant; that is expected.)
  });

  it('no page error, provider server_error or token in the console', () => {
    ctx.checkClean();
  });
});
