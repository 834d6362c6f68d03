// End to end: DPoP (RFC 9449, `dpop: true`) against a real oidc-provider with its DPoP feature on
// (tests/op/provider.mjs `dpop`: nonceSecret, rotateRefreshToken: true) and a protected API that
// verifies proofs (tests/support/api-server.mjs `dpop: true`), in headless Chromium, logged in
// through the provider's real forms, with the default session holder (a SharedWorker).
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/dpop.test.mjs
//
// What is checked, each against what the provider and the API recorded:
//   - the authorization request carries dpop_jkt; the code exchange's access token is DPoP-bound at
//     the provider (introspection: token_type DPoP, cnf.jkt = that dpop_jkt);
//   - a refresh rotates the refresh token and the new access token stays bound to the same key;
//   - auth.fetch sends `Authorization: DPoP` and a proof the API accepts (signature, htm, htu, iat,
//     jti, ath), made with the same key; getUser({ fresh: true }) (UserInfo with a proof) works;
//   - a captured proof replayed from node is refused by the API (jti seen);
//   - the API demanding a nonce: exactly one retry, carrying it, then success;
//   - the access token presented from node without a proof, as a Bearer token, or with a proof of
//     another key is refused by the provider's UserInfo and by the API;
//   - a second tab (same session holder) presents proofs of the same key;
//   - logout's revocations (sent with proofs) succeed;
//   - with the provider requiring nonces: the code exchange and the refresh each get exactly one
//     `use_dpop_nonce` answer and one retry;
//   - no CryptoKey is reachable from the page's globals or the client object;
//   - sharing: "tab": the callback page's own worker redeems the code with the key stored beside
//     the pending login (the worker that started the login ended with its page);
//   - dpop: "auto": DPoP with a provider that advertises ES256 for DPoP, bearer tokens (no
//     dpop_jkt) with one that has DPoP off.

import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign as cryptoSign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { startApiServer } from '../support/api-server.mjs';
import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import {
  assertCleanRun, assertLibraryBuilt, callAuth, captureConsole, startStack, waitForApp,
} from '../support/harness.mjs';
import { completeLogin } from '../support/op-interactions.mjs';

const b64u = (data) => Buffer.from(data).toString('base64url');

/** A DPoP proof made in node with a key of its own (not the worker's). */
function foreignProof({ method, url, token }) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const header = b64u(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } }));
  const u = new URL(url);
  const claims = b64u(JSON.stringify({
    jti: randomBytes(16).toString('base64url'),
    htm: method,
    htu: `${u.origin}${u.pathname}`,
    iat: Math.floor(Date.now() / 1000),
    ath: createHash('sha256').update(token).digest('base64url'),
  }));
  const signature = cryptoSign('sha256', Buffer.from(`${header}.${claims}`), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${header}.${claims}.${b64u(signature)}`;
}

/** auth.fetch(url) in the page → { status, json } or { error }. */
async function pageFetch(page, url) {
  return page.evaluate(async (u) => {
    try {
      const res = await window.auth.fetch(u);
      const text = await res.text();
      let json;
      try { json = JSON.parse(text); } catch { json = undefined; }
      return { status: res.status, json };
    } catch (e) {
      return { error: { code: e?.code, reason: e?.reason, message: e?.message } };
    }
  }, url);
}

/** One stack (provider with `providerDpop`, app with dpop: true, DPoP API) and a browser per describe. */
function useDpopStack(providerDpop, appExtra = {}) {
  const ctx = { consoleLogs: [] };
  before(async () => {
    assertLibraryBuilt();
    ctx.stack = await startStack({
      provider: { introspection: true, dpop: providerDpop },
      appOptions: () => ({ dpop: true, exposeAccessToken: true, apiOrigins: [ctx.api.origin], ...appExtra }),
    });
    const { op, web } = ctx.stack;
    ctx.api = await startApiServer({ allowOrigin: web.origin, introspect: (token) => op.introspect(token), dpop: true });
    ctx.browser = await launchBrowser();
  });
  after(async () => {
    await closeBrowser(ctx.browser);
    await ctx.api?.close();
    await ctx.stack?.close();
  });
  /** Logs in on a fresh context; returns the dpop_jkt of the authorization request. */
  ctx.login = async () => {
    const { stack } = ctx;
    ctx.context = await ctx.browser.newContext();
    const page = await ctx.context.newPage();
    page.setDefaultTimeout(20_000);
    ctx.page = page;
    ctx.consoleLogs.push(captureConsole(page));
    const authorizeUrls = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (r.isNavigationRequest() && u.origin === stack.op.issuer && u.pathname === '/auth' && u.searchParams.has('client_id')) authorizeUrls.push(r.url());
    });
    await page.goto(stack.appUrl);
    await waitForApp(page);
    const { steps } = await completeLogin(page, {
      issuer: stack.op.issuer, trigger: () => page.locator('#login').click(),
    });
    const app = await waitForApp(page);
    assert.deepEqual(steps, ['login', 'consent']);
    assert.equal(app.callback?.ok, true, `login callback: ${JSON.stringify(app.callback)}`);
    assert.equal(authorizeUrls.length, 1, 'one authorization request');
    return stack.op.authorizationParams(authorizeUrls[0]).get('dpop_jkt');
  };
  return ctx;
}

describe('DPoP (dpop: true) with oidc-provider and a DPoP API', { timeout: 120_000 }, () => {
  const ctx = useDpopStack({});
  let jkt;
  let exchange;

  it('login: dpop_jkt on the authorization request, the code exchange gives DPoP-bound tokens', async () => {
    jkt = await ctx.login();
    assert.match(jkt ?? '', /^[A-Za-z0-9_-]{43}$/, 'dpop_jkt is a SHA-256 thumbprint');
    const { op } = ctx.stack;
    const exchanges = op.tokenRequests.filter((r) => r.grantType === 'authorization_code');
    assert.equal(exchanges.length, 1, 'one code exchange');
    [exchange] = exchanges;
    assert.equal(exchange.status, 200, `code exchange: ${exchange.error}`);
    const info = await op.introspect(exchange.issued.access_token);
    assert.equal(info.active, true);
    assert.equal(info.token_type, 'DPoP', 'the provider issued a DPoP token');
    assert.equal(info.cnf?.jkt, jkt, 'bound to the key of dpop_jkt');
    assert.ok(exchange.issued.refresh_token, 'a refresh token');
  });

  it('getAccessToken({ forceRefresh }) rotates the refresh token; the new access token stays bound', async () => {
    assert.ok(jkt, 'depends on the login');
    const { op } = ctx.stack;
    const from = op.tokenRequests.length;
    const res = await callAuth(ctx.page, 'getAccessToken', { forceRefresh: true });
    assert.equal(res.ok, true, JSON.stringify(res.error));
    const grants = op.tokenRequests.slice(from);
    assert.deepEqual(grants.map((g) => [g.grantType, g.status]), [['refresh_token', 200]]);
    assert.ok(grants[0].issued.refresh_token, 'a new refresh token');
    assert.notEqual(grants[0].issued.refresh_token, exchange.issued.refresh_token, 'rotated');
    assert.equal(res.value, grants[0].issued.access_token);
    const info = await op.introspect(res.value);
    assert.equal(info.cnf?.jkt, jkt, 'the same key');
  });

  it('getUser({ fresh: true }): UserInfo with Authorization: DPoP and a proof', async () => {
    assert.ok(jkt, 'depends on the login');
    const res = await callAuth(ctx.page, 'getUser', { fresh: true });
    assert.equal(res.ok, true, JSON.stringify(res.error));
    assert.equal(res.value.sub, 'alice');
  });

  it('auth.fetch: Authorization: DPoP and a proof with ath the API accepts, made with the same key', async () => {
    assert.ok(jkt, 'depends on the login');
    const { api } = ctx;
    const from = api.requests.length;
    const res = await pageFetch(ctx.page, `${api.origin}/me?x=1`);
    assert.equal(res.status, 200, JSON.stringify(res));
    assert.equal(res.json.jkt, jkt);
    const [entry] = api.requests.slice(from).filter((r) => r.method === 'GET');
    assert.match(entry.authorization, /^DPoP /);
    assert.ok(entry.dpop?.ath, 'the proof has ath');
    assert.equal(entry.dpop.jkt, jkt);
  });

  it('a captured proof replayed from node is refused by the API (jti seen)', async () => {
    assert.ok(jkt, 'depends on the login');
    const { api } = ctx;
    const last = api.requests.filter((r) => r.status === 200 && r.dpopProof).at(-1);
    assert.ok(last, 'a request the API accepted');
    const res = await fetch(`${api.origin}${last.url}`, { headers: { authorization: last.authorization, dpop: last.dpopProof } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate'), /^DPoP .*error="invalid_dpop_proof".*replayed/);
  });

  it('the API demands a nonce: exactly one retry with it, then success', async () => {
    assert.ok(jkt, 'depends on the login');
    const { api } = ctx;
    const nonce = api.demandNonce();
    const from = api.requests.length;
    const res = await pageFetch(ctx.page, `${api.origin}/me`);
    assert.equal(res.status, 200, JSON.stringify(res));
    const sent = api.requests.slice(from).filter((r) => r.method === 'GET');
    assert.deepEqual(sent.map((r) => [r.status, r.dpop?.nonce ?? null]), [[401, null], [200, nonce]]);
    // The nonce is kept for the origin: the next call needs no retry.
    const again = api.requests.length;
    assert.equal((await pageFetch(ctx.page, `${api.origin}/me`)).status, 200);
    assert.deepEqual(api.requests.slice(again).filter((r) => r.method === 'GET').map((r) => r.status), [200]);
  });

  it('the access token from node without a proof, as Bearer, or with another key\'s proof is refused', async () => {
    assert.ok(jkt, 'depends on the login');
    const { op } = ctx.stack;
    const { api } = ctx;
    const res = await callAuth(ctx.page, 'getAccessToken');
    const token = res.value;
    const userinfo = `${op.issuer}/me`;
    const statuses = {};
    statuses.userinfoNoProof = (await fetch(userinfo, { headers: { authorization: `DPoP ${token}` } })).status;
    statuses.userinfoBearer = (await fetch(userinfo, { headers: { authorization: `Bearer ${token}` } })).status;
    statuses.userinfoForeign = (await fetch(userinfo, {
      headers: { authorization: `DPoP ${token}`, dpop: foreignProof({ method: 'GET', url: userinfo, token }) },
    })).status;
    const me = `${api.origin}/me`;
    statuses.apiNoProof = (await fetch(me, { headers: { authorization: `DPoP ${token}` } })).status;
    statuses.apiBearer = (await fetch(me, { headers: { authorization: `Bearer ${token}` } })).status;
    api.demandNonce(undefined); // (nonce off again: the foreign proof carries none)
    statuses.apiForeign = (await fetch(me, {
      headers: { authorization: `DPoP ${token}`, dpop: foreignProof({ method: 'GET', url: me, token }) },
    })).status;
    // (oidc-provider answers `Authorization: DPoP` without a proof 400 invalid_request.)
    assert.deepEqual(statuses, {
      userinfoNoProof: 400, userinfoBearer: 401, userinfoForeign: 401, apiNoProof: 401, apiBearer: 401, apiForeign: 401,
    });
  });

  it('a second tab shares the session holder, and so its key', async () => {
    assert.ok(jkt, 'depends on the login');
    const page = await ctx.context.newPage();
    ctx.consoleLogs.push(captureConsole(page));
    await page.goto(ctx.stack.appUrl);
    await waitForApp(page);
    const res = await pageFetch(page, `${ctx.api.origin}/me`);
    assert.equal(res.status, 200, JSON.stringify(res));
    assert.equal(res.json.jkt, jkt, 'one key for every tab');
    await page.close();
  });

  it('no CryptoKey is reachable from the page: its globals and the client hold none', async () => {
    assert.ok(jkt, 'depends on the login');
    const found = await ctx.page.evaluate(() => {
      const hits = [];
      const seen = new WeakSet();
      const walk = (value, path, depth) => {
        if (value instanceof CryptoKey) hits.push(path);
        if (depth === 0 || value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) return;
        seen.add(value);
        for (const name of Object.getOwnPropertyNames(value)) {
          let child;
          try { child = value[name]; } catch { continue; }
          walk(child, `${path}.${name}`, depth - 1);
        }
      };
      walk(window.auth, 'auth', 4);
      for (const name of Object.getOwnPropertyNames(window)) {
        let child;
        try { child = window[name]; } catch { continue; }
        if (child !== window.auth) walk(child, name, 1);
      }
      return hits;
    });
    assert.deepEqual(found, []);
  });

  it('logout revokes with proofs; no errors, no token in any console', async () => {
    assert.ok(jkt, 'depends on the login');
    const { op } = ctx.stack;
    const from = op.requests.length;
    const res = await callAuth(ctx.page, 'logout', { redirect: false });
    assert.equal(res.ok, true, JSON.stringify(res.error));
    const revocations = op.requests.slice(from).filter((r) => r.route === 'revocation');
    assert.deepEqual(revocations.map((r) => r.status), [200, 200], 'refresh token, then access token');
    assertCleanRun(ctx.stack.op, ...ctx.consoleLogs);
  });
});

describe('DPoP with a provider that requires nonces', { timeout: 120_000 }, () => {
  // (par: false, so that the code exchange is the first request that needs a nonce.)
  const ctx = useDpopStack({ requireNonce: true }, { par: false });

  it('the code exchange and a refresh each get one use_dpop_nonce answer and one retry', async () => {
    const jkt = await ctx.login();
    const { op } = ctx.stack;
    const exchanges = op.tokenRequests.filter((r) => r.grantType === 'authorization_code');
    assert.deepEqual(exchanges.map((r) => [r.status, r.error ?? null]), [[400, 'use_dpop_nonce'], [200, null]]);
    const info = await op.introspect(exchanges[1].issued.access_token);
    assert.equal(info.cnf?.jkt, jkt);
    const from = op.tokenRequests.length;
    const res = await callAuth(ctx.page, 'getAccessToken', { forceRefresh: true });
    assert.equal(res.ok, true, JSON.stringify(res.error));
    // The nonce of the code exchange's answer is still good: no second demand (oidc-provider's
    // nonces last a while); at most one retry either way.
    const refreshes = op.tokenRequests.slice(from);
    assert.ok(refreshes.length <= 2, JSON.stringify(refreshes.map((r) => r.status)));
    assert.equal(refreshes.at(-1).status, 200);
    assertCleanRun(op, ...ctx.consoleLogs);
  });
});

describe('DPoP with a pushed authorization request (RFC 9126 with RFC 9449 §10.1) and required nonces', { timeout: 120_000 }, () => {
  const ctx = useDpopStack({ requireNonce: true });

  it('the push carries a proof, gets one use_dpop_nonce answer and one retry; the code exchange reuses the nonce', async () => {
    const jkt = await ctx.login();
    const { op } = ctx.stack;
    assert.deepEqual(op.pushedRequests.map((r) => [r.status, r.error ?? null]), [[400, 'use_dpop_nonce'], [201, null]]);
    assert.ok(op.pushedRequests.every((r) => r.dpop), 'a DPoP proof on each push');
    assert.equal(op.pushedRequests[1].params.dpop_jkt, jkt);
    const exchanges = op.tokenRequests.filter((r) => r.grantType === 'authorization_code');
    assert.deepEqual(exchanges.map((r) => [r.status, r.error ?? null]), [[200, null]], 'the nonce of the push answer is reused');
    assert.equal((await op.introspect(exchanges[0].issued.access_token)).cnf?.jkt, jkt);
    assertCleanRun(op, ...ctx.consoleLogs);
  });
});

describe('DPoP with sharing: "tab": the callback\'s worker redeems the code with the key stored with the login', { timeout: 120_000 }, () => {
  const ctx = useDpopStack({}, { sharing: 'tab' });

  it('login through a full-page redirect: the code exchange succeeds, bound to the key of dpop_jkt', async () => {
    // The page that started the login and its dedicated worker are gone when the callback
    // loads; without the key stored beside the pending login the provider would refuse the code.
    const jkt = await ctx.login();
    assert.equal(await ctx.page.evaluate(() => window.auth.sharing), 'tab');
    const { op } = ctx.stack;
    const exchanges = op.tokenRequests.filter((r) => r.grantType === 'authorization_code');
    assert.deepEqual(exchanges.map((r) => r.status), [200]);
    const info = await op.introspect(exchanges[0].issued.access_token);
    assert.equal(info.cnf?.jkt, jkt);
    const res = await pageFetch(ctx.page, `${ctx.api.origin}/me`);
    assert.equal(res.status, 200, JSON.stringify(res));
    assert.equal(res.json.jkt, jkt, 'the callback\'s worker signs with that key');
    assertCleanRun(op, ...ctx.consoleLogs);
  });
});

describe('dpop: "auto" uses DPoP exactly when discovery advertises ES256', { timeout: 120_000 }, () => {
  const withDpop = useDpopStack({}, { dpop: 'auto' });

  it('a provider with DPoP: dpop_jkt and DPoP-bound tokens', async () => {
    const jkt = await withDpop.login();
    assert.match(jkt ?? '', /^[A-Za-z0-9_-]{43}$/);
    const { op } = withDpop.stack;
    const [exchange] = op.tokenRequests.filter((r) => r.grantType === 'authorization_code');
    const info = await op.introspect(exchange.issued.access_token);
    assert.equal(info.token_type, 'DPoP');
    assert.equal(info.cnf?.jkt, jkt);
  });

  const without = useDpopStack(false, { dpop: 'auto' });

  it('a provider without DPoP: no dpop_jkt, bearer tokens', async () => {
    const jkt = await without.login();
    assert.equal(jkt, null, 'no dpop_jkt');
    const { op } = without.stack;
    const [exchange] = op.tokenRequests.filter((r) => r.grantType === 'authorization_code');
    const info = await op.introspect(exchange.issued.access_token);
    assert.equal(info.token_type, 'Bearer');
    assert.equal(info.cnf, undefined);
    assertCleanRun(op, ...without.consoleLogs);
  });
});
