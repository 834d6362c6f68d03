// End to end: the session lifecycle of the example app in www/vanilla/ against a real oidc-provider,
// in headless Chromium, logged in through the provider's real forms.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/lifecycle.test.mjs
//
// What is checked (each group has its own provider, static server and browser context, and the
// groups run concurrently so the slow ones overlap; the tests inside a group run in order):
//   - proactive refresh: with accessTokenTtl 40 s (handed out for 40 - min(60, 40/2) = 20 s), the
//     worker refreshes the login's token on its own at receipt + 30 s (never sooner than 30 s after
//     a token arrived), with no call pending; the app sees `tokenRefreshed`; a later
//     getAccessToken() returns the new token without another grant; with `autoRefresh: false`
//     nothing happens in the same window, and getAccessToken() refreshes on demand;
//   - a 30-day access token: the proactive-refresh timer's delay is capped at what setTimeout
//     holds, so the worker's timer fires no more than a handful of times in 5 s (counted inside
//     the session holder, a SharedWorker reached through the DevTools protocol), instead of spinning;
//   - per-resource tokens (RFC 8707): getAccessToken({ resource }), ({ resource, scope }) and
//     ({ scope }) each cause one refresh_token grant carrying them, are cached per (resource,
//     scope), single-flight per key; grants for different keys never overlap (every grant presents
//     the refresh token the previous one issued: no invalid_grant, no reuse); the default token
//     stays the login's;
//   - faults (a fault proxy in front of the provider is the issuer): outage → `network` + backoff
//     (a second call in the backoff fails at once, with no request) and a clean recovery; 503
//     without an OAuth body → `network` / `status`; 503 with one → `token_error`; a token endpoint
//     slower than the client's 10 s timeout → `network` / `timeout`; invalid_grant →
//     `sessionExpired`, `login_required`.
//
// The provider's records are the source of truth: op.tokenRequests (every POST /token), the fault
// proxy's op.faults.requests, and the provider's own grant.success / grant.error events, from which
// this file records which refresh token each grant presented (trackGrants) to check the rotation
// chain. No assertion is about how long something took; waiting is done by polling with generous
// limits. A few "nothing happened yet" checks are only made while they are meaningful (the
// machine may be too slow to reach the check in time; then they are skipped with a diagnostic).

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import {
  assertCleanRun,
  assertLibraryBuilt, callAuth, captureConsole, startStack, waitForApp,
} from '../support/harness.mjs';
import { interceptRequests } from '../support/intercept.mjs';
import { completeLogin } from '../support/op-interactions.mjs';
import { evaluateIn, holderOfPage } from '../support/shared-workers.mjs';

/** An RFC 8707 resource indicator: an identifier, nothing listens there. */
const RESOURCE = 'http://127.0.0.1:9999/api';
const RESOURCE_SCOPE = 'api:read';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Poll `fn` until it returns a truthy value (returned), or throw after `timeout` ms. */
async function waitFor(what, fn, { timeout, interval = 200 }) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(interval);
  }
}

/** Sleep until the wall clock reaches `when` (ms since the epoch). */
async function sleepUntil(when) {
  const ms = when - Date.now();
  if (ms > 0) await sleep(ms);
}

/**
 * Record every token endpoint grant the provider handled, from its own events, in order:
 * { grantType, presented (the refresh_token parameter), resource, scope, ok, error,
 *   issuedRefresh, issuedAccess }. Must be installed before the login.
 */
function trackGrants(op) {
  const grants = [];
  const record = (ctx, err) => {
    const params = ctx.oidc?.params ?? {};
    const body = !err && ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body) ? ctx.body : {};
    grants.push({
      grantType: params.grant_type,
      presented: params.refresh_token,
      resource: params.resource,
      scope: params.scope,
      ok: !err,
      error: err?.error,
      issuedRefresh: body.refresh_token,
      issuedAccess: body.access_token,
    });
  };
  op.provider.on('grant.success', (ctx) => record(ctx));
  op.provider.on('grant.error', (ctx, err) => record(ctx, err));
  return grants;
}

/** The refresh token the session should hold: the one the last successful grant issued. */
function chainHead(grants) {
  let head;
  for (const g of grants) if (g.ok && g.issuedRefresh) head = g.issuedRefresh;
  return head;
}

/**
 * Every grant in `grants` is a successful refresh_token grant that presented the refresh token the
 * previous one issued (starting from `start`). Returns the last refresh token issued.
 */
function assertRefreshChain(grants, start, label) {
  let current = start;
  grants.forEach((g, i) => {
    assert.equal(g.grantType, 'refresh_token', `${label}: grant #${i + 1} is a refresh_token grant`);
    assert.ok(g.presented === current,
      `${label}: grant #${i + 1} (resource ${g.resource}, scope ${g.scope}) presented ${
        g.presented === undefined ? 'no' : 'a stale (already used)'} refresh token instead of the one issued by the previous grant`);
    assert.ok(g.ok, `${label}: grant #${i + 1} failed: ${g.error}`);
    assert.ok(g.issuedRefresh, `${label}: grant #${i + 1} rotated the refresh token`);
    current = g.issuedRefresh;
  });
  return current;
}

/** The claims of a JWT (no verification: the provider signed it, the test only reads it). */
function jwtClaims(token) {
  const parts = token.split('.');
  assert.equal(parts.length, 3, 'a JWT access token');
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

/** "200×1, 400×3": token request statuses, counted. */
function statuses(requests) {
  const counts = new Map();
  for (const r of requests) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${status}×${n}`).join(', ') || 'none';
}

/** POSTs to /token the fault proxy received since index `from`. */
function proxyTokenPosts(op, from) {
  return op.faults.requests.slice(from).filter((r) => r.path === '/token' && r.method === 'POST');
}

/**
 * One group's fixture: a stack, a browser context + page on the shared browser, the provider's
 * grant record. `ctx.login()` logs in through the provider's forms (run it inside a test).
 */
function useApp(shared, stackOptions) {
  const ctx = {
    stack: null, context: null, page: null, consoleLog: null, grants: null, loggedIn: false,
  };

  before(async () => {
    // These tests read the tokens through getAccessToken(): the app opts in to see them.
    ctx.stack = await startStack({ quiet: true, ...stackOptions, appOptions: { exposeAccessToken: true, ...stackOptions.appOptions } });
    ctx.grants = trackGrants(ctx.stack.op);
    ctx.context = await shared.browser.newContext();
    ctx.page = await ctx.context.newPage();
    ctx.page.setDefaultTimeout(20_000);
    ctx.consoleLog = captureConsole(ctx.page);
  });

  after(async () => {
    // The page first (its worker's timers would otherwise call a closed provider), then the servers.
    await ctx.context?.close().catch(() => {});
    await ctx.stack?.close();
  });

  /** Log in (again) through the forms; returns the code exchange { at, access, refresh }. */
  ctx.login = async () => {
    const { page, stack } = ctx;
    const mark = stack.op.tokenRequests.length;
    await page.goto(stack.appUrl);
    await waitForApp(page);
    await completeLogin(page, { issuer: stack.op.issuer, login: 'alice', trigger: () => page.locator('#login').click() });
    const app = await waitForApp(page);
    assert.equal(app.callback?.ok, true, `login callback: ${JSON.stringify(app.callback)}`);
    const exchange = stack.op.tokenRequests.slice(mark).filter((r) => r.grantType === 'authorization_code');
    assert.equal(exchange.length, 1, 'one code exchange');
    assert.equal(exchange[0].status, 200, `the code exchange succeeded: ${exchange[0].error}`);
    assert.ok(exchange[0].issued.access_token && exchange[0].issued.refresh_token, 'an access token and a refresh token');
    // Every `error` event in full (the app's own list keeps only code and reason).
    await page.evaluate(() => {
      window.lifecycleErrors = [];
      window.auth.on('error', (e) => window.lifecycleErrors.push({
        code: e.code, reason: e.reason, status: e.status, error: e.error, name: e.name,
      }));
    });
    ctx.loggedIn = true;
    return { at: exchange[0].at, access: exchange[0].issued.access_token, refresh: exchange[0].issued.refresh_token };
  };
  ctx.needLogin = () => assert.ok(ctx.loggedIn, 'depends on the login test, which failed');
  ctx.events = () => ctx.page.evaluate(() => window.app.events);
  ctx.errors = () => ctx.page.evaluate(() => window.lifecycleErrors);
  /** op.tokenRequests of grant_type refresh_token since index `from`. */
  ctx.refreshRequestsSince = (from) => ctx.stack.op.tokenRequests.slice(from).filter((r) => r.grantType === 'refresh_token');
  ctx.checkClean = () => assertCleanRun(ctx.stack.op, ctx.consoleLog);
  return ctx;
}

/**
 * In the page, call auth.getAccessToken(options) for each entry of `calls` ([options, count]) all
 * in the same tick; resolve with, per entry, the settled results. Throws if they do not all settle
 * within 25 s.
 */
async function concurrentCalls(page, calls) {
  const result = await page.evaluate(async (groups) => {
    const describe = (s) => (s.status === 'fulfilled'
      ? { ok: true, value: s.value }
      : { ok: false, error: { code: s.reason?.code, reason: s.reason?.reason, error: s.reason?.error, message: s.reason?.message } });
    const promises = groups.map(([options, count]) => Array.from({ length: count },
      () => (options === null ? window.auth.getAccessToken() : window.auth.getAccessToken(options))));
    let timer;
    const hung = new Promise((resolve) => { timer = setTimeout(() => resolve({ hung: true }), 25000); });
    try {
      const all = await Promise.race([Promise.all(promises.map((p) => Promise.allSettled(p))), hung]);
      if (all.hung) return all;
      return { settled: all.map((group) => group.map(describe)) };
    } finally {
      clearTimeout(timer);
    }
  }, calls);
  if (result.hung) throw new Error('concurrent getAccessToken() calls did not all settle within 25 s');
  return result.settled;
}

/** All fulfilled with one and the same token; returns it. */
function oneToken(results, label) {
  const rejected = results.filter((r) => !r.ok);
  assert.equal(rejected.length, 0,
    `${label}: ${rejected.length}/${results.length} calls rejected (${[...new Set(rejected.map((r) => JSON.stringify(r.error)))].join('; ')})`);
  const values = new Set(results.map((r) => r.value));
  assert.equal(values.size, 1, `${label}: all ${results.length} callers got the same token (got ${values.size} distinct)`);
  const [token] = values;
  assert.equal(typeof token, 'string');
  return token;
}

// ---------------------------------------------------------------------------------------------

describe('session lifecycle', { concurrency: true, timeout: 170_000 }, () => {
  const shared = { browser: null };

  before(async () => {
    assertLibraryBuilt();
    shared.browser = await launchBrowser();
  });

  after(async () => {
    await closeBrowser(shared.browser);
  });

  // -------------------------------------------------------------------------------------------
  describe('proactive refresh (accessTokenTtl 40 s: handed out for 20 s, refreshed by the worker at receipt + 30 s)', { concurrency: 1 }, () => {
    const TTL = 40;
    const on = useApp(shared, { accessTokenTtl: TTL });
    const off = useApp(shared, { accessTokenTtl: TTL, appOptions: { autoRefresh: false } });
    let onLogin;
    let offLogin;
    let proactive; // the provider's record of the proactive grant

    it('logs in two apps: autoRefresh on (default) and autoRefresh: false', async () => {
      [onLogin, offLogin] = await Promise.all([on.login(), off.login()]);
    });

    it('no grant before receipt + 30 s, although getAccessToken() would refresh from receipt + 20 s', async (t) => {
      on.needLogin();
      // The worker's clock has whole seconds: the earliest allowed moment is receipt + 29 s.
      await sleepUntil(onLogin.at + 25_000);
      const grants = on.refreshRequestsSince(0);
      if (Date.now() < onLogin.at + 28_000) {
        assert.deepEqual(grants.map((g) => g.status), [],
          'no refresh_token grant yet: a proactive refresh must not start sooner than 30 s after the token arrived');
      } else {
        t.diagnostic(`not checked: reached ${Date.now() - onLogin.at} ms after the login, too late to tell`);
      }
      assert.deepEqual((await on.events()).map((e) => e.name), ['login']);
    });

    it('the worker refreshes on its own with no call pending: one grant, a tokenRefreshed event', async (t) => {
      on.needLogin();
      const { stack } = on;
      await waitFor('the proactive refresh_token grant', () => on.refreshRequestsSince(0).length > 0,
        { timeout: Math.max(onLogin.at + 90_000 - Date.now(), 5_000) });
      const grants = on.refreshRequestsSince(0);
      assert.equal(grants.length, 1, `one refresh_token grant (statuses: ${statuses(grants)})`);
      [proactive] = grants;
      t.diagnostic(`proactive refresh ${proactive.at - onLogin.at} ms after the code exchange`);
      assert.deepEqual([proactive.status, proactive.error, proactive.origin, proactive.resource, proactive.scope],
        [200, undefined, stack.web.origin, undefined, undefined], 'a successful grant for the login token, from the worker');
      assertRefreshChain(on.grants.filter((g) => g.grantType === 'refresh_token'), onLogin.refresh, 'proactive refresh');

      const events = await waitFor('the tokenRefreshed event',
        async () => { const all = await on.events(); return all.length >= 2 && all; }, { timeout: 10_000 });
      assert.deepEqual(events.map((e) => e.name), ['login', 'tokenRefreshed']);
      const [login, refreshed] = events.map((e) => e.detail);
      assert.equal(refreshed.resource, null, 'the login token was refreshed');
      assert.ok(refreshed.expiresAt > login.expiresAt, 'the new token expires later than the login token');
    });

    it('a later getAccessToken() returns the proactively refreshed token, with no other grant', async () => {
      on.needLogin();
      assert.ok(proactive, 'depends on the proactive refresh test');
      const mark = on.stack.op.tokenRequests.length;
      const got = await callAuth(on.page, 'getAccessToken');
      assert.ok(got.ok, JSON.stringify(got.error));
      assert.equal(got.value, proactive.issued.access_token, 'the access token of the proactive grant');
      assert.notEqual(got.value, onLogin.access);
      assert.equal(on.stack.op.tokenRequests.length, mark, 'no token request');
    });

    it('no loop: no second proactive grant shortly after the first (the next one is 30 s after it)', async (t) => {
      on.needLogin();
      assert.ok(proactive, 'depends on the proactive refresh test');
      await sleepUntil(proactive.at + 10_000);
      const grants = on.refreshRequestsSince(0);
      if (Date.now() < proactive.at + 28_000) {
        assert.equal(grants.length, 1, `still one refresh_token grant (statuses: ${statuses(grants)})`);
      } else {
        t.diagnostic(`not checked: reached ${Date.now() - proactive.at} ms after the proactive grant, too late to tell`);
      }
    });

    it('autoRefresh: false: no grant in the same window (past the real expiry); getAccessToken() then refreshes on demand', async () => {
      off.needLogin();
      const { stack, page } = off;
      // Past receipt + 30 s (when the other app refreshed) and past the token's real expiry (+40 s).
      await sleepUntil(offLogin.at + 45_000);
      assert.deepEqual(off.refreshRequestsSince(0).map((g) => g.status), [], 'no refresh_token grant without a call');
      assert.deepEqual((await off.events()).map((e) => e.name), ['login']);

      const mark = stack.op.tokenRequests.length;
      const got = await callAuth(page, 'getAccessToken');
      assert.ok(got.ok, JSON.stringify(got.error));
      const grants = off.refreshRequestsSince(mark);
      assert.deepEqual(grants.map((g) => [g.status, g.origin]), [[200, stack.web.origin]], 'one grant, on demand');
      assert.equal(got.value, grants[0].issued.access_token);
      assert.equal(stack.op.tokenRequests.length, mark + 1, 'no other token request');
      assert.deepEqual((await off.events()).map((e) => e.name), ['login', 'tokenRefreshed']);
    });

    it('no page error, provider server_error or token in the console', () => {
      on.checkClean();
      off.checkClean();
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('a token living 30 days: the proactive-refresh timer waits instead of spinning (issue 8)', { concurrency: 1 }, () => {
    // 30 days puts the proactive refresh ~2.6e9 ms away, beyond what setTimeout holds (2^31 - 1
    // ms); uncapped, the timer would fire at once, find nothing due, re-arm, and spin.
    const app = useApp(shared, { accessTokenTtl: 30 * 24 * 3600 });

    it('logs in', async () => {
      await app.login();
    });

    it('no more than a handful of timer wake-ups in 5 s, and no grant; the count does see the worker\'s timers', async () => {
      app.needLogin();
      const { page, stack } = app;
      // The session lives in the context's session holder, a SharedWorker (a DevTools target of
      // type shared_worker, which Playwright does not expose).
      const { holder, stop } = await holderOfPage(shared.browser, page);
      try {
        // Count, inside the holder, every timer it arms and every one that fires.
        await evaluateIn(holder, `(() => {
          const native = self.setTimeout.bind(self);
          self.timerCounts = { armed: 0, fired: 0 };
          self.setTimeout = (fn, ms, ...rest) => {
            self.timerCounts.armed += 1;
            return native((...args) => { self.timerCounts.fired += 1; return fn(...args); }, ms, ...rest);
          };
        })()`);
        const counts = () => evaluateIn(holder, '({ ...self.timerCounts })');
        const mark = stack.op.tokenRequests.length;
        await sleep(5_000);
        const quiet = await counts();
        assert.ok(quiet.fired <= 5 && quiet.armed <= 5, `timer wake-ups in 5 s: ${JSON.stringify(quiet)}`);
        assert.equal(stack.op.tokenRequests.length, mark, 'no token request');
        assert.deepEqual((await app.events()).map((e) => e.name), ['login']);
        // Control: a forced refresh moves the proactive refresh, so the holder arms its timer
        // again, and the count sees it.
        assert.equal(typeof (await callAuth(page, 'getAccessToken', { forceRefresh: true })).value, 'string');
        const later = await counts();
        assert.ok(later.armed > quiet.armed, `the holder's own timers are counted: ${JSON.stringify(later)}`);
      } finally {
        await stop();
      }
    });

    it('no page error, provider server_error or token in the console', () => {
      app.checkClean();
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('per-resource tokens (RFC 8707): cached per (resource, scope), single-flight, grants never overlap', { concurrency: 1 }, () => {
    // The login token lives 10 s (handed out for 5 s), so it can be let expire; the resource's
    // tokens live 600 s, so they stay cached. autoRefresh is off here so that every grant the
    // provider sees was caused by the calls under test (the proactive refresh is tested above).
    const LOGIN_TTL = 10;
    const app = useApp(shared, {
      accessTokenTtl: LOGIN_TTL,
      provider: { resources: { [RESOURCE]: { scope: 'api:read api:write', accessTokenTtl: 600 } } },
      appOptions: {
        scope: `openid profile email offline_access ${RESOURCE_SCOPE}`,
        extraAuthParams: { prompt: 'consent', resource: RESOURCE },
        autoRefresh: false,
      },
    });
    let login;
    const tokens = {}; // per key

    /** The access token the provider last issued for the login token (no resource, no scope). */
    const latestDefaultToken = () => app.stack.op.tokenRequests
      .filter((r) => r.status === 200 && r.resource === undefined && r.scope === undefined)
      .at(-1)?.issued.access_token;

    /** The default token: not any per-key token, and the latest one the provider issued for it. */
    async function checkDefaultToken(label) {
      const got = await callAuth(app.page, 'getAccessToken');
      assert.ok(got.ok, `${label}: ${JSON.stringify(got.error)}`);
      assert.ok(!Object.values(tokens).includes(got.value), `${label}: getAccessToken() without options is not a per-resource/scope token`);
      assert.equal(got.value, latestDefaultToken(), `${label}: getAccessToken() without options is the login's token`);
      const res = await fetch(app.stack.op.urls.userinfo, { headers: { Authorization: `Bearer ${got.value}` } });
      assert.equal(res.status, 200, `${label}: the default token is accepted at userinfo`);
    }

    /**
     * `n` concurrent getAccessToken(options) for a key not fetched before: one grant carrying the
     * key's resource/scope, one token; then a second call: the same token, no new grant.
     */
    async function firstFetchForKey(options, n) {
      const { stack, page } = app;
      const mark = stack.op.tokenRequests.length;
      const grantMark = app.grants.length;
      const head = chainHead(app.grants);
      const [results] = await concurrentCalls(page, [[options, n]]);
      const requests = stack.op.tokenRequests.slice(mark);
      assert.deepEqual(requests.map((r) => [r.grantType, r.status, r.error, r.resource, r.scope, r.origin]),
        [['refresh_token', 200, undefined, options.resource, options.scope, stack.web.origin]],
        `exactly one refresh_token grant carrying resource=${options.resource} scope=${options.scope} for ${n} concurrent calls`);
      const token = oneToken(results, `${n} concurrent getAccessToken(${JSON.stringify(options)})`);
      assert.equal(token, requests[0].issued.access_token, 'the access token of that grant');
      assertRefreshChain(app.grants.slice(grantMark), head, 'per-key grant');

      const again = await callAuth(page, 'getAccessToken', options);
      assert.ok(again.ok, JSON.stringify(again.error));
      assert.equal(again.value, token, 'a second call returns the cached token');
      assert.equal(stack.op.tokenRequests.length, mark + 1, 'no new grant for the second call');
      return token;
    }

    it('logs in, asking for the resource and its scope', async () => {
      login = await app.login();
      const [exchange] = app.stack.op.tokenRequests;
      assert.equal(exchange.resource, undefined, 'the code exchange asks for the login token (no resource)');
    });

    it('getAccessToken({ resource }): 10 concurrent calls → one grant with resource=; a JWT for it; cached; tokenRefreshed carries resource', async () => {
      app.needLogin();
      const token = await firstFetchForKey({ resource: RESOURCE }, 10);
      tokens.resource = token;
      const claims = jwtClaims(token);
      assert.deepEqual([claims.aud].flat(), [RESOURCE], 'the token is for the resource');
      assert.equal(claims.scope, RESOURCE_SCOPE, 'with the resource scope granted at login');
      assert.notEqual(token, login.access);

      const events = await app.events();
      const refreshed = events.filter((e) => e.name === 'tokenRefreshed');
      assert.equal(refreshed.length, 1, `one tokenRefreshed event: ${JSON.stringify(events.map((e) => e.name))}`);
      assert.equal(refreshed[0].detail.resource, RESOURCE, 'the event names the resource');
      assert.equal(refreshed[0].detail.scope, RESOURCE_SCOPE);
      await checkDefaultToken('after the resource token');
    });

    it('getAccessToken({ resource, scope }): its own grant with resource= and scope=, its own cached token', async () => {
      app.needLogin();
      const token = await firstFetchForKey({ resource: RESOURCE, scope: RESOURCE_SCOPE }, 3);
      assert.notEqual(token, tokens.resource, 'another key, another token');
      tokens.resourceScope = token;
      const claims = jwtClaims(token);
      assert.deepEqual([claims.aud].flat(), [RESOURCE]);
      assert.equal(claims.scope, RESOURCE_SCOPE);
      const again = await callAuth(app.page, 'getAccessToken', { resource: RESOURCE });
      assert.equal(again.value, tokens.resource, 'the { resource } token is still cached separately');
      const last = (await app.events()).filter((e) => e.name === 'tokenRefreshed').at(-1);
      assert.equal(last.detail.resource, RESOURCE);
    });

    it('getAccessToken({ scope }): its own grant with scope= and no resource, its own cached token', async () => {
      app.needLogin();
      const options = { scope: 'openid profile' };
      const token = await firstFetchForKey(options, 3);
      assert.ok(!Object.values(tokens).includes(token), 'another key, another token');
      tokens.scope = token;
      const last = (await app.events()).filter((e) => e.name === 'tokenRefreshed').at(-1);
      assert.equal(last.detail.resource, null, 'no resource');
      await checkDefaultToken('after the scope token');
    });

    it('concurrent calls for two keys plus the default with an expired login token: all succeed, one grant per key, no overlap, no reuse', async () => {
      app.needLogin();
      const { stack, page } = app;
      // Let the login token expire for the client (it is handed out for LOGIN_TTL / 2 after receipt).
      const lastDefault = stack.op.tokenRequests.filter((r) => r.status === 200 && r.resource === undefined && r.scope === undefined).at(-1);
      await sleepUntil(lastDefault.at + (LOGIN_TTL / 2) * 1000 + 1500);

      const mark = stack.op.tokenRequests.length;
      const grantMark = app.grants.length;
      const head = chainHead(app.grants);
      const A = { resource: RESOURCE, forceRefresh: true };
      const B = { resource: RESOURCE, scope: RESOURCE_SCOPE, forceRefresh: true };
      const [ra, rb, rd] = await concurrentCalls(page, [[A, 5], [B, 5], [null, 5]]);

      const requests = stack.op.tokenRequests.slice(mark);
      assert.deepEqual(requests.filter((r) => r.status !== 200).map((r) => [r.status, r.error, r.resource, r.scope]), [],
        'no token request failed (an overlap would present a used refresh token: invalid_grant)');
      const key = (r) => JSON.stringify([r.resource ?? null, r.scope ?? null]);
      assert.deepEqual(requests.map(key).sort(),
        [key({}), key({ resource: RESOURCE }), key({ resource: RESOURCE, scope: RESOURCE_SCOPE })].sort(),
        'exactly one refresh_token grant per key');
      assertRefreshChain(app.grants.slice(grantMark), head, 'concurrent grants for three keys');

      const byKey = (o) => requests.find((r) => key(r) === key(o)).issued.access_token;
      const ta = oneToken(ra, '{ resource, forceRefresh }');
      const tb = oneToken(rb, '{ resource, scope, forceRefresh }');
      const td = oneToken(rd, 'getAccessToken() with an expired login token');
      assert.equal(ta, byKey({ resource: RESOURCE }));
      assert.equal(tb, byKey({ resource: RESOURCE, scope: RESOURCE_SCOPE }));
      assert.equal(td, byKey({}));
      assert.notEqual(ta, tokens.resource, 'a forced refresh gives a new token');
      tokens.resource = ta;
      tokens.resourceScope = tb;

      // And the session still works: the caches now hold those tokens, with no grant.
      const cachedMark = stack.op.tokenRequests.length;
      assert.equal((await callAuth(page, 'getAccessToken', { resource: RESOURCE })).value, ta);
      assert.equal((await callAuth(page, 'getAccessToken', { resource: RESOURCE, scope: RESOURCE_SCOPE })).value, tb);
      assert.equal(stack.op.tokenRequests.length, cachedMark, 'cached');
    });

    it('the whole session: every refresh grant presented the refresh token the previous one issued; no invalid_grant', async () => {
      app.needLogin();
      const refreshes = app.grants.filter((g) => g.grantType === 'refresh_token');
      assert.ok(refreshes.length >= 6, `${refreshes.length} refresh grants`);
      assertRefreshChain(refreshes, login.refresh, 'the session');
      assert.deepEqual(app.stack.op.tokenRequests.filter((r) => r.status !== 200).map((r) => [r.status, r.error]), []);
      assert.equal(await callAuth(app.page, 'isAuthenticated').then((r) => r.value), true);
      // (Not tested, an oidc-provider quirk: a refresh with a resource it refuses is invalid_target
      // AFTER it used up the refresh token. The client keeps the session, whose next refresh then
      // gets invalid_grant → sessionExpired.)
    });

    it('no page error, provider server_error or token in the console', () => {
      app.checkClean();
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('faults at the token endpoint (a fault proxy is the issuer): outage, 503s, invalid_grant', { concurrency: 1 }, () => {
    const app = useApp(shared, { provider: { faults: true } });

    /**
     * The fault is cleared, the backoff (at most 2 s here) is let pass, and a forced refresh
     * succeeds: exactly one successful refresh_token grant at the provider, presenting the refresh
     * token the session held before the failures.
     */
    async function recover(label, waitMs = 2500) {
      const { stack, page } = app;
      stack.op.faults.clear();
      await sleep(waitMs);
      const mark = stack.op.tokenRequests.length;
      const grantMark = app.grants.length;
      const head = chainHead(app.grants);
      const forced = await callAuth(page, 'getAccessToken', { forceRefresh: true });
      assert.ok(forced.ok, `${label}: the forced refresh after recovery failed: ${JSON.stringify(forced.error)}`);
      const requests = stack.op.tokenRequests.slice(mark);
      assert.deepEqual(requests.map((r) => [r.grantType, r.status, r.origin]), [['refresh_token', 200, stack.web.origin]],
        `${label}: one successful refresh grant after recovery`);
      assert.equal(forced.value, requests[0].issued.access_token);
      assertRefreshChain(app.grants.slice(grantMark), head, `${label}: recovery`);
      assert.equal((await app.events()).at(-1).name, 'tokenRefreshed');
    }

    /** Wait until the wall clock is between `from` and `to` ms into a second. */
    async function alignInSecond(from, to) {
      const ms = Date.now() % 1000;
      if (ms >= from && ms < to) return;
      await sleep((from - ms + 1000) % 1000);
    }

    it('logs in through the proxy', async () => {
      const login = await app.login();
      assert.equal(chainHead(app.grants), login.refresh);
    });

    it('outage: network error, session kept, an error event; a second call in the backoff fails at once with no request; recovery with one grant', async () => {
      app.needLogin();
      const { stack, page } = app;
      const { faults } = stack.op;
      const opMark = stack.op.tokenRequests.length;
      const grantMark = app.grants.length;
      const head = chainHead(app.grants);
      const errorsBefore = (await app.errors()).length;

      // Start early in a clock second, so the immediate second call surely lands within the 1 s
      // backoff even with the worker's whole-second clock (the boundary case is the next test).
      await alignInSecond(50, 300);
      faults.set('/token', 'down');
      const proxyMark = faults.requests.length;
      const first = await callAuth(page, 'getAccessToken', { forceRefresh: true });
      const afterFirst = faults.requests.length;
      const second = await callAuth(page, 'getAccessToken', { forceRefresh: true });
      const afterSecond = faults.requests.length;

      assert.equal(first.ok, false, 'the forced refresh fails during the outage');
      assert.deepEqual([first.error.code, first.error.reason, first.error.isAuthError], ['network', 'failed', true], JSON.stringify(first.error));
      const reached = proxyTokenPosts(stack.op, proxyMark);
      assert.ok(reached.length >= 1 && reached.every((r) => r.fault === 'down'),
        `the refresh reached the proxy and was dropped (${reached.length} POST /token; Chromium may resend once)`);
      assert.equal(second.ok, false);
      assert.deepEqual([second.error.code, second.error.reason], ['network', 'failed'], 'the same network error during the backoff');
      assert.equal(afterSecond, afterFirst, 'the second call sent no request (backoff)');
      assert.equal(stack.op.tokenRequests.length, opMark, 'nothing reached the provider');

      assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true }, 'the session is kept');
      const errors = (await app.errors()).slice(errorsBefore);
      assert.deepEqual(errors.map((e) => [e.code, e.reason, e.name]), [['network', 'failed', 'AuthError']],
        'one error event (for the attempt, none for the call refused by the backoff)');
      assert.equal((await app.events()).at(-1).name, 'error');

      await recover('outage');
      // Exactly one successful refresh at the provider for the whole episode, presenting the
      // refresh token from before the outage.
      assert.deepEqual(stack.op.tokenRequests.slice(opMark).map((r) => r.status), [200], 'nothing duplicated');
      assertRefreshChain(app.grants.slice(grantMark), head, 'outage episode');
    });

    it('backoff: a call 0.1–0.3 s after a failure that landed late in a clock second is refused too (no request)', async (t) => {
      app.needLogin();
      const { stack, page } = app;
      const { faults } = stack.op;
      let failure;
      try {
        await alignInSecond(880, 920);
        faults.set('/token', 'down');
        const first = await callAuth(page, 'getAccessToken', { forceRefresh: true });
        const failedAt = Date.now();
        assert.equal(first.ok, false);
        assert.equal(first.error.code, 'network');
        const afterFirst = faults.requests.length;
        // 100 ms into the next clock second: well within the 1 s backoff.
        await sleepUntil(Math.ceil(failedAt / 1000) * 1000 + 100);
        const gap = Date.now() - failedAt;
        const second = await callAuth(page, 'getAccessToken', { forceRefresh: true });
        t.diagnostic(`second call ${gap} ms after the first failed`);
        assert.equal(second.ok, false);
        const sent = proxyTokenPosts(stack.op, afterFirst);
        assert.equal(sent.length, 0,
          `a call ${gap} ms after a failed refresh must be refused by the 1 s backoff without a request, but ${sent.length} POST /token reached the proxy`);
      } catch (error) {
        failure = error;
      }
      // Up to two failures in a row: a backoff of at most 2 s. (The test's own failure first.)
      try {
        await recover('after the backoff boundary test', 3500);
      } catch (error) {
        failure ??= error;
      }
      if (failure) throw failure;
    });

    it('503 without an OAuth error body: network / status, status 503; session kept; nothing reached the provider', async () => {
      app.needLogin();
      const { stack, page } = app;
      const { faults } = stack.op;
      const opMark = stack.op.tokenRequests.length;
      const proxyMark = faults.requests.length;
      const errorsBefore = (await app.errors()).length;
      faults.set('/token', { status: 503, body: '<html><body>Service Unavailable</body></html>', contentType: 'text/html' });
      const forced = await callAuth(page, 'getAccessToken', { forceRefresh: true });
      assert.equal(forced.ok, false);
      assert.deepEqual([forced.error.code, forced.error.reason, forced.error.status], ['network', 'status', 503], JSON.stringify(forced.error));
      assert.deepEqual(proxyTokenPosts(stack.op, proxyMark).map((r) => [r.fault, r.status]), [['status', 503]], 'one POST /token, answered 503 by the proxy');
      assert.equal(stack.op.tokenRequests.length, opMark, 'nothing reached the provider');
      assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true }, 'the session is kept');
      assert.deepEqual((await app.errors()).slice(errorsBefore).map((e) => [e.code, e.reason, e.status]), [['network', 'status', 503]], 'one error event');
      await recover('503');
    });

    it('503 with an OAuth JSON error body: token_error temporarily_unavailable, status 503; session kept', async () => {
      app.needLogin();
      const { stack, page } = app;
      const { faults } = stack.op;
      const opMark = stack.op.tokenRequests.length;
      const proxyMark = faults.requests.length;
      const errorsBefore = (await app.errors()).length;
      faults.set('/token', { status: 503, body: '{"error":"temporarily_unavailable"}', contentType: 'application/json' });
      const forced = await callAuth(page, 'getAccessToken', { forceRefresh: true });
      assert.equal(forced.ok, false);
      assert.deepEqual([forced.error.code, forced.error.error, forced.error.status], ['token_error', 'temporarily_unavailable', 503], JSON.stringify(forced.error));
      assert.deepEqual(proxyTokenPosts(stack.op, proxyMark).map((r) => [r.fault, r.status]), [['status', 503]]);
      assert.equal(stack.op.tokenRequests.length, opMark, 'nothing reached the provider');
      assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true }, 'the session is kept');
      assert.deepEqual((await app.errors()).slice(errorsBefore).map((e) => [e.code, e.error, e.status]), [['token_error', 'temporarily_unavailable', 503]]);
      assert.ok(!(await app.events()).some((e) => e.name === 'sessionExpired'), 'no sessionExpired');
      await recover('503 temporarily_unavailable');
    });

    it('invalid_grant (the refresh token was used elsewhere): sessionExpired, login_required, signed out', async () => {
      app.needLogin();
      const { stack, page } = app;
      const held = chainHead(app.grants);
      // Someone else redeems the session's refresh token first (node's fetch, not the worker).
      const replay = await fetch(stack.op.urls.token, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.web.origin },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: held, client_id: stack.op.clientId }),
      });
      assert.equal(replay.status, 200, 'the refresh token was valid, and is now used up (rotation)');
      await replay.body?.cancel();

      const opMark = stack.op.tokenRequests.length;
      const grantMark = app.grants.length;
      const forced = await callAuth(page, 'getAccessToken', { forceRefresh: true });
      assert.equal(forced.ok, false);
      assert.equal(forced.error.code, 'login_required', JSON.stringify(forced.error));
      assert.deepEqual(stack.op.tokenRequests.slice(opMark).map((r) => [r.grantType, r.status, r.error, r.origin]),
        [['refresh_token', 400, 'invalid_grant', stack.web.origin]], 'the worker presented it and the provider refused it');
      assert.ok(app.grants.slice(grantMark).every((g) => g.presented === held), 'with the refresh token the session held');

      const events = await app.events();
      assert.equal(events.at(-1).name, 'sessionExpired');
      assert.deepEqual(events.at(-1).detail, { reason: 'invalid_grant' });
      assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });
      assert.deepEqual(await callAuth(page, 'getUser'), { ok: true, value: null });
      const proxyMark = stack.op.faults.requests.length;
      const later = await callAuth(page, 'getAccessToken');
      assert.equal(later.error?.code, 'login_required');
      assert.equal(proxyTokenPosts(stack.op, proxyMark).length, 0, 'without a session, no request');
    });

    it('no page error, provider server_error or token in the console', () => {
      app.checkClean();
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('a logout while a refresh is in flight (its answer held 2 s)', { concurrency: 1 }, () => {
    const app = useApp(shared, { provider: { faults: true } });
    /** The revocation requests the worker sent, as the browser saw them (a browser-wide DevTools
     * interception: Playwright's request events miss a SharedWorker's requests). */
    let intercepted;
    const revocations = () => intercepted.requests.map((r) => r.params);
    after(() => intercepted?.stop());

    it('logs in through the proxy', async () => {
      // Before the login starts the holder: a worker already running is not intercepted.
      intercepted = await interceptRequests(shared.browser, app.stack.op.urls.revocation);
      await app.login();
    });

    it('the late answer is dropped (login_required, no tokenRefreshed, no session) and the tokens it carried are revoked', async () => {
      app.needLogin();
      const { stack, page } = app;
      const mark = stack.op.tokenRequests.length;
      const eventsBefore = (await app.events()).length;
      stack.op.faults.set('/token', { delayMs: 2000 });
      await page.evaluate(() => {
        window.inFlightRefresh = window.auth.getAccessToken({ forceRefresh: true })
          .then(() => ({ ok: true }), (e) => ({ ok: false, code: e.code, reason: e.reason ?? null }));
      });
      await waitFor('the grant to reach the provider', () => app.refreshRequestsSince(mark).length === 1, { timeout: 5_000 });
      const logout = await callAuth(page, 'logout', { redirect: false });
      assert.ok(logout.ok, JSON.stringify(logout.error));
      assert.deepEqual(await page.evaluate(() => window.inFlightRefresh), { ok: false, code: 'login_required', reason: null },
        'the caller of the refresh gets the session as it is now: none');
      const [grant] = app.refreshRequestsSince(mark);
      assert.equal(grant.status, 200, 'the provider answered the grant (and rotated the refresh token)');
      assert.deepEqual((await app.events()).slice(eventsBefore).map((e) => e.name), ['logout'], 'no tokenRefreshed for a dropped answer');
      assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });
      // RFC 7009: the refresh token the late answer rotated in, and its access token, are alive at
      // the provider and no one will use them: the worker revokes them.
      await waitFor('the revocation of the late answer\'s tokens', () => revocations().some((p) => p.get('token') === grant.issued.refresh_token), { timeout: 5_000 });
      const hintOf = (token) => revocations().find((p) => p.get('token') === token)?.get('token_type_hint');
      assert.equal(hintOf(grant.issued.refresh_token), 'refresh_token');
      assert.equal(hintOf(grant.issued.access_token), 'access_token');
      stack.op.faults.clear();
      const after = stack.op.tokenRequests.length;
      const later = await callAuth(page, 'getAccessToken', { forceRefresh: true });
      assert.equal(later.error?.code, 'login_required', JSON.stringify(later));
      assert.equal(stack.op.tokenRequests.length, after, 'no grant after the logout');
    });

    it('no page error, provider server_error or token in the console', () => {
      app.checkClean();
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('slow token endpoint (answer held 12 s; the client gives up after 10 s)', { concurrency: 1 }, () => {
    const app = useApp(shared, { provider: { faults: true } });
    let login;
    let slowGrant;

    it('logs in through the proxy', async () => {
      login = await app.login();
    });

    it('network / timeout; session kept; the request did reach the provider', async () => {
      app.needLogin();
      const { stack, page } = app;
      const { faults } = stack.op;
      const opMark = stack.op.tokenRequests.length;
      const proxyMark = faults.requests.length;
      const errorsBefore = (await app.errors()).length;
      faults.set('/token', { delayMs: 12_000 });
      const forced = await callAuth(page, 'getAccessToken', { forceRefresh: true });
      assert.equal(forced.ok, false);
      assert.deepEqual([forced.error.code, forced.error.reason], ['network', 'timeout'], JSON.stringify(forced.error));
      assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true }, 'the session is kept');
      assert.deepEqual((await app.errors()).slice(errorsBefore).map((e) => [e.code, e.reason]), [['network', 'timeout']], 'one error event');

      const posts = proxyTokenPosts(stack.op, proxyMark);
      assert.deepEqual(posts.map((r) => r.fault), ['delay'], 'one POST /token, held by the proxy');
      await waitFor('the proxy to see the client give up', () => posts[0].aborted === true, { timeout: 5_000 });
      // The provider handled it (and rotated the refresh token); the client never got the answer.
      const requests = stack.op.tokenRequests.slice(opMark);
      assert.deepEqual(requests.map((r) => [r.grantType, r.status]), [['refresh_token', 200]]);
      slowGrant = requests[0];
      assert.ok(app.grants.filter((g) => g.grantType === 'refresh_token').every((g) => g.presented === login.refresh));
    });

    it('documented consequence: the refresh token the unanswered grant used up is refused next (invalid_grant → sessionExpired)', async () => {
      app.needLogin();
      assert.ok(slowGrant, 'depends on the slow test');
      const { stack, page } = app;
      stack.op.faults.clear();
      await sleep(2500); // the backoff after one failure
      const opMark = stack.op.tokenRequests.length;
      const grantMark = app.grants.length;
      const forced = await callAuth(page, 'getAccessToken', { forceRefresh: true });
      assert.equal(forced.error?.code, 'login_required', JSON.stringify(forced));
      assert.deepEqual(stack.op.tokenRequests.slice(opMark).map((r) => [r.status, r.error]), [[400, 'invalid_grant']]);
      assert.ok(app.grants.slice(grantMark).every((g) => g.presented === login.refresh), 'the session still held the login refresh token');
      const events = await app.events();
      assert.deepEqual(events.at(-1), { name: 'sessionExpired', detail: { reason: 'invalid_grant' } });
      assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });
    });

    it('no page error, provider server_error or token in the console', () => {
      app.checkClean();
    });
  });
});
