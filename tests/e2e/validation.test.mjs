// End to end: every ID token / callback / discovery / userinfo rejection of the "trust nothing
// unverified" milestone, in headless Chromium, against the deliberately misbehaving provider
// (tests/misbehaving-op/server.mjs). The example app in www/vanilla/ is used where it can be; cases
// that need client options it does not pass through (trustedAudiences) use a bare page and
// createAuthClient() directly.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/validation.test.mjs
//
// One browser for the file, a fresh context (so a fresh worker, IndexedDB and JWKS cache) per
// case, one provider whose scenario is set per case. Every rejection is checked for its exact
// code/reason, for no session afterwards, and, from the provider's request log, for no request
// after it (after an ID token rejection: no userinfo and no further token request; after a
// callback rejection: no token request at all).

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import { assertLibraryBuilt, callAuth, waitForApp } from '../support/harness.mjs';
import { halfHash } from '../misbehaving-op/server.mjs';
import {
  attemptLogin, loginInPlace, startMisbehavingStack,
} from '../misbehaving-op/stack.mjs';

const OTHER_ISSUER = 'http://127.0.0.1:1';
/** How long to watch the provider's log for late requests after an outcome. */
const QUIET_MS = 300;

describe('ID token, callback and userinfo validation against a misbehaving provider', { timeout: 300_000 }, () => {
  let stack;
  let browser;
  let op;

  before(async () => {
    assertLibraryBuilt();
    stack = await startMisbehavingStack();
    op = stack.op;
    browser = await launchBrowser();
  });

  after(async () => {
    await closeBrowser(browser);
    await stack?.close();
  });

  /** Run fn(page, context) in a fresh browser context; always closes it. */
  async function withPage(fn) {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      return await fn(page, context);
    } finally {
      await context.close().catch(() => {});
    }
  }

  const describeOutcome = (outcome) => JSON.stringify(outcome);
  const routes = (entries) => entries.map((r) => `${r.method} ${r.route}`);
  const authorizeEntry = () => op.requests.find((r) => r.route === 'authorize');
  /** JWKS requests after the authorization request (i.e. by the worker handling the callback). */
  const jwksAfterAuthorize = () => {
    const a = authorizeEntry();
    return (a ? op.after(a) : op.requests).filter((r) => r.route === 'jwks').length;
  };

  /** The provider saw nothing more within QUIET_MS (the rejection was the end of it). */
  async function assertQuietAfter(mark, label) {
    await sleep(QUIET_MS);
    assert.deepEqual(routes(op.requests.slice(mark)), [], `${label}: no request after the outcome`);
  }

  async function assertSignedOut(page) {
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false }, 'no session afterwards');
  }

  function assertRejected(outcome, code, reason, stage = 'callback') {
    assert.equal(outcome.ok, false, `expected ${code}/${reason}, got ${describeOutcome(outcome)}`);
    assert.equal(outcome.stage, stage, `rejected at the ${stage} stage: ${describeOutcome(outcome)}`);
    assert.equal(outcome.error.name, 'AuthError', describeOutcome(outcome));
    assert.deepEqual({ code: outcome.error.code, reason: outcome.error.reason }, { code, reason }, describeOutcome(outcome));
  }

  /** An ID token rejection: one code exchange, then at most JWKS requests; never userinfo. */
  function assertNothingAfterTokenResponse() {
    const tokenPosts = op.requests.filter((r) => r.route === 'token' && r.method === 'POST');
    assert.equal(tokenPosts.length, 1, `exactly one token request: ${routes(op.requests)}`);
    assert.equal(tokenPosts[0].status, 200);
    const later = op.after(tokenPosts[0]).filter((r) => r.route !== 'jwks');
    assert.deepEqual(routes(later), [], 'after the token response: nothing but the JWKS');
    assert.equal(op.count('userinfo'), 0, 'no userinfo request');
  }

  /** Cases expected to fail ID token validation: invalid_id_token/<reason>. */
  async function expectIdTokenRejected(scenario, reason, { clientOptions, jwksRequests } = {}) {
    op.setScenario(scenario);
    await withPage(async (page) => {
      const outcome = await attemptLogin(page, stack, { clientOptions });
      const mark = op.requests.length;
      assertRejected(outcome, 'invalid_id_token', reason);
      assertNothingAfterTokenResponse();
      if (jwksRequests !== undefined) {
        assert.equal(jwksAfterAuthorize(), jwksRequests, `JWKS requests while handling the callback: ${routes(op.requests)}`);
      }
      await assertSignedOut(page);
      await assertQuietAfter(mark, scenario.name);
      assert.equal(op.count('attacker-jwks'), 0, 'never fetches keys from a URL in the token');
    });
  }

  /** Cases expected to log in: a session with the ID token's claims, keys from the JWKS. */
  async function expectLogin(scenario, { clientOptions, jwksRequests } = {}) {
    op.setScenario(scenario);
    await withPage(async (page) => {
      const outcome = await attemptLogin(page, stack, { clientOptions });
      assert.equal(outcome.ok, true, `login should succeed: ${describeOutcome(outcome)}`);
      assert.equal(outcome.stage, 'callback');
      assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true });
      const user = await callAuth(page, 'getUser');
      assert.equal(user.ok, true, JSON.stringify(user.error));
      assert.equal(user.value?.sub, 'alice');
      assert.equal(user.value?.iss, op.issuer);
      assert.equal(op.count('token', 'POST'), 1);
      assert.ok(jwksAfterAuthorize() >= 1, `the JWKS was fetched to verify the signature: ${routes(op.requests)}`);
      if (jwksRequests !== undefined) assert.equal(jwksAfterAuthorize(), jwksRequests, `JWKS requests: ${routes(op.requests)}`);
      assert.equal(op.count('attacker-jwks'), 0);
    });
  }

  /** RFC 9207 cases: issuer_mismatch/callback (by default), and no token request at all. */
  async function expectCallbackRejected(scenario, { code, reason } = { code: 'issuer_mismatch', reason: 'callback' }) {
    op.setScenario(scenario);
    await withPage(async (page) => {
      const outcome = await attemptLogin(page, stack);
      const mark = op.requests.length;
      assertRejected(outcome, code, reason);
      assert.equal(op.count('token'), 0, `no token request (not even a preflight): ${routes(op.requests)}`);
      assert.equal(op.count('userinfo'), 0);
      await assertSignedOut(page);
      await assertQuietAfter(mark, scenario.name);
    });
  }

  describe('signatures', () => {
    it('bad signature (RS256) → invalid_id_token/signature', () => expectIdTokenRejected(
      { name: 'bad RS256 signature', alg: 'RS256', tamper: true }, 'signature'));

    it('bad signature (ES256) → invalid_id_token/signature', () => expectIdTokenRejected(
      { name: 'bad ES256 signature', alg: 'ES256', tamper: true }, 'signature'));

    it('alg none → invalid_id_token/alg', () => expectIdTokenRejected(
      { name: 'alg none', alg: 'none', header: { kid: undefined } }, 'alg'));

    it('alg none, even when the metadata lists none → invalid_id_token/alg', () => expectIdTokenRejected(
      { name: 'alg none advertised', alg: 'none', header: { kid: undefined }, discovery: { id_token_signing_alg_values_supported: ['RS256', 'none'] } },
      'alg'));

    it('HS256 signed with the provider RSA public key (PEM) as HMAC secret → invalid_id_token/alg', () => expectIdTokenRejected(
      { name: 'HS256 key confusion', alg: 'HS256', hmacSecret: 'rsa-public-pem' }, 'alg'));

    it('HS256 key confusion, even when the metadata lists HS256 → invalid_id_token/alg', () => expectIdTokenRejected(
      { name: 'HS256 advertised', alg: 'HS256', hmacSecret: 'rsa-public-pem', discovery: { id_token_signing_alg_values_supported: ['RS256', 'HS256'] } },
      'alg'));

    it('an algorithm not advertised (RS384 while metadata says RS256) → invalid_id_token/alg', () => expectIdTokenRejected(
      { name: 'RS384 not advertised', alg: 'RS384', discovery: { id_token_signing_alg_values_supported: ['RS256'] } }, 'alg'));

    it('metadata without id_token_signing_alg_values_supported: RS256 only (ES256 → alg)', () => expectIdTokenRejected(
      { name: 'ES256 without metadata', alg: 'ES256', discovery: { id_token_signing_alg_values_supported: undefined } }, 'alg'));

    it('metadata without id_token_signing_alg_values_supported: RS256 is accepted', () => expectLogin(
      { name: 'RS256 without metadata', alg: 'RS256', discovery: { id_token_signing_alg_values_supported: undefined } }));

    it('a key embedded in the header (jwk) is never used → invalid_id_token/signature', () => expectIdTokenRejected(
      { name: 'embedded jwk', key: 'rsa2', jwks: ['rsa'], header: { kid: 'rsa-1', jwk: ({ keys }) => ({ ...keys.rsa2.publicJwk }) } },
      'signature'));

    it('a jku in the header is never fetched (signed by an unpublished key) → invalid_id_token/kid', () => expectIdTokenRejected(
      { name: 'jku', key: 'rsa2', jwks: ['rsa'], header: { jku: ({ issuer }) => `${issuer}/attacker/jwks` } },
      'kid', { jwksRequests: 2 }));
  });

  describe('algorithms that verify', () => {
    it('RS256 (JWK with alg, typ JWT) logs in', () => expectLogin(
      { name: 'RS256', alg: 'RS256', jwks: [{ key: 'rsa', alg: 'RS256' }], header: { typ: 'JWT' } }));
    it('PS256 logs in', () => expectLogin({ name: 'PS256', alg: 'PS256' }));
    it('ES256 logs in', () => expectLogin({ name: 'ES256', alg: 'ES256' }));
    it('ES384 logs in', () => expectLogin({ name: 'ES384', alg: 'ES384' }));
    it('EdDSA (Ed25519) logs in', () => expectLogin({ name: 'EdDSA', alg: 'EdDSA' }));
  });

  describe('key selection and rotation', () => {
    it('unknown kid, JWKS never has it: exactly 2 JWKS requests → invalid_id_token/kid', () => expectIdTokenRejected(
      { name: 'unknown kid', key: 'rsa2', jwks: ['rsa'] }, 'kid', { jwksRequests: 2 }));

    it('unknown kid, the JWKS\'s 2nd response has it (rotation) → logs in after one refetch', () => expectLogin(
      { name: 'rotation', key: 'rsa2', jwksResponses: [['rsa'], ['rsa', 'rsa2']] }, { jwksRequests: 2 }));

    it('no kid, one key in the JWKS → logs in', () => expectLogin(
      { name: 'no kid, one key', header: { kid: undefined }, jwks: ['rsa'] }));

    it('no kid, one RSA key next to an EC key → logs in (only one compatible key)', () => expectLogin(
      { name: 'no kid, one compatible key', header: { kid: undefined }, jwks: ['p256', 'rsa'] }));

    it('no kid, several compatible keys → invalid_id_token/kid', () => expectIdTokenRejected(
      { name: 'no kid, two RSA keys', header: { kid: undefined }, jwks: ['rsa', 'rsa2'] }, 'kid'));
  });

  describe('header typ', () => {
    it('typ at+jwt → invalid_id_token/typ', () => expectIdTokenRejected(
      { name: 'typ at+jwt', header: { typ: 'at+jwt' } }, 'typ'));
    it('typ application/JWT (any case) logs in', () => expectLogin({ name: 'typ application/JWT', header: { typ: 'application/JWT' } }));
    it('typ jwt (lower case) logs in', () => expectLogin({ name: 'typ jwt', header: { typ: 'jwt' } }));
  });

  describe('claims', () => {
    const now = () => Math.floor(Date.now() / 1000);

    it('wrong iss → invalid_id_token/iss', () => expectIdTokenRejected(
      { name: 'wrong iss', claims: { iss: OTHER_ISSUER } }, 'iss'));

    it('wrong aud → invalid_id_token/aud', () => expectIdTokenRejected(
      { name: 'wrong aud', claims: { aud: 'another-client' } }, 'aud'));

    it('an extra untrusted aud (with azp) → invalid_id_token/aud', () => expectIdTokenRejected(
      { name: 'extra untrusted aud', claims: { aud: ['spa', 'evil-api'], azp: 'spa' } }, 'aud'));

    it('several aud (extra one trusted) without azp → invalid_id_token/azp', () => expectIdTokenRejected(
      { name: 'several aud, no azp', claims: { aud: ['spa', 'api'] } }, 'azp', { clientOptions: { trustedAudiences: ['api'] } }));

    it('several aud (extra one trusted) with azp = client → logs in', () => expectLogin(
      { name: 'trusted extra aud', claims: { aud: ['spa', 'api'], azp: 'spa' } }, { clientOptions: { trustedAudiences: ['api'] } }));

    it('wrong azp → invalid_id_token/azp', () => expectIdTokenRejected(
      { name: 'wrong azp', claims: { azp: 'another-client' } }, 'azp'));

    it('expired beyond the 60 s skew → invalid_id_token/exp', () => expectIdTokenRejected(
      { name: 'expired', claims: { exp: () => now() - 120, iat: () => now() - 720 } }, 'exp'));

    it('iat in the future beyond the skew → invalid_id_token/iat', () => expectIdTokenRejected(
      { name: 'iat future', claims: { iat: () => now() + 300, exp: () => now() + 900 } }, 'iat'));

    it('nbf in the future beyond the skew → invalid_id_token/nbf', () => expectIdTokenRejected(
      { name: 'nbf future', claims: { nbf: () => now() + 300 } }, 'nbf'));

    it('missing sub → invalid_id_token/sub', () => expectIdTokenRejected({ name: 'no sub', claims: { sub: undefined } }, 'sub'));
    it('missing iat → invalid_id_token/iat', () => expectIdTokenRejected({ name: 'no iat', claims: { iat: undefined } }, 'iat'));
    it('missing exp → invalid_id_token/exp', () => expectIdTokenRejected({ name: 'no exp', claims: { exp: undefined } }, 'exp'));

    it('wrong nonce → invalid_id_token/nonce', () => expectIdTokenRejected(
      { name: 'wrong nonce', claims: { nonce: ({ nonce }) => `${nonce}x` } }, 'nonce'));
    it('missing nonce → invalid_id_token/nonce', () => expectIdTokenRejected(
      { name: 'no nonce', claims: { nonce: undefined } }, 'nonce'));

    it('wrong at_hash → invalid_id_token/at_hash', () => expectIdTokenRejected(
      { name: 'wrong at_hash', claims: { at_hash: ({ accessToken }) => halfHash('RS256', `${accessToken}x`) } }, 'at_hash'));
  });

  describe('discovery and the authorization response (RFC 8414, RFC 9207)', () => {
    it('discovery issuer ≠ configured issuer → issuer_mismatch/discovery from loginWithRedirect, before any navigation', async () => {
      op.setScenario({ name: 'discovery issuer', discovery: { issuer: OTHER_ISSUER } });
      await withPage(async (page) => {
        const outcome = await attemptLogin(page, stack);
        const mark = op.requests.length;
        assertRejected(outcome, 'issuer_mismatch', 'discovery', 'login');
        assert.equal(new URL(page.url()).href, stack.appUrl, 'still on the app page');
        assert.deepEqual(routes(op.requests).filter((r) => r !== 'GET discovery'), [],
          'only the discovery document was fetched: no authorization request, no JWKS from the rejected document');
        await assertSignedOut(page);
        await assertQuietAfter(mark, 'discovery issuer');
      });
    });

    it('callback iss wrong → issuer_mismatch/callback, no token request', () => expectCallbackRejected(
      { name: 'callback wrong iss', callback: { iss: OTHER_ISSUER } }));

    it('callback iss missing while the metadata promises it → issuer_mismatch/callback, no token request', () => expectCallbackRejected(
      { name: 'callback no iss', callback: { iss: undefined } }));

    it('error=access_denied with a wrong iss → issuer_mismatch/callback (not authorization_error)', () => expectCallbackRejected(
      { name: 'error with wrong iss', callback: { code: undefined, error: 'access_denied', iss: OTHER_ISSUER } }));

    it('(control) error=access_denied with the right iss → authorization_error', () => expectCallbackRejected(
      { name: 'error with right iss', callback: { code: undefined, error: 'access_denied' } }, { code: 'authorization_error', reason: undefined }));

    it('(control) iss missing while the metadata does not promise it → logs in', () => expectLogin(
      { name: 'no iss, not promised', callback: { iss: undefined }, discovery: { authorization_response_iss_parameter_supported: undefined } }));
  });

  describe('userinfo (getUser({ fresh: true }))', () => {
    async function loginThenFresh(scenario) {
      op.setScenario(scenario);
      return withPage(async (page) => {
        const outcome = await attemptLogin(page, stack);
        assert.equal(outcome.ok, true, `login: ${describeOutcome(outcome)}`);
        const before = op.count('userinfo');
        const fresh = await callAuth(page, 'getUser', { fresh: true });
        const mark = op.requests.length;
        const userinfoRequests = op.requests.filter((r) => r.route === 'userinfo' && r.method !== 'OPTIONS');
        return { fresh, before, mark, userinfoRequests, authenticated: await callAuth(page, 'isAuthenticated') };
      });
    }

    it('userinfo sub = ID token sub → resolves to the userinfo claims', async () => {
      const { fresh, userinfoRequests, before } = await loginThenFresh({ name: 'userinfo ok', userinfo: { name: 'Alice From Userinfo' } });
      assert.equal(before, 0);
      assert.equal(fresh.ok, true, JSON.stringify(fresh.error));
      assert.deepEqual(fresh.value, { sub: 'alice', name: 'Alice From Userinfo', email: 'alice@example.test' },
        'the userinfo claims (not the ID token claims)');
      assert.equal(userinfoRequests.length, 1, 'one userinfo request');
      assert.equal(userinfoRequests[0].status, 200, 'with the access token');
      assert.equal(userinfoRequests[0].origin, stack.web.origin, 'from the worker (page origin)');
    });

    it('a signed userinfo response (application/jwt) is verified → resolves to its claims', async () => {
      const { fresh, userinfoRequests } = await loginThenFresh({ name: 'userinfo signed', alg: 'ES256', userinfoSigned: true });
      assert.equal(fresh.ok, true, JSON.stringify(fresh.error));
      assert.equal(fresh.value.sub, 'alice');
      assert.equal(fresh.value.email, 'alice@example.test');
      assert.equal(userinfoRequests.length, 1);
    });

    it('a signed userinfo response whose signature fails → invalid_response/signature (not invalid_id_token); the session stays', async () => {
      const { fresh, authenticated, mark } = await loginThenFresh({ name: 'userinfo signed, tampered', alg: 'ES256', userinfoSigned: { tamper: true } });
      assert.equal(fresh.ok, false, `expected invalid_response/signature, got ${JSON.stringify(fresh)}`);
      assert.equal(fresh.error.name, 'AuthError');
      assert.deepEqual({ code: fresh.error.code, reason: fresh.error.reason }, { code: 'invalid_response', reason: 'signature' });
      assert.deepEqual(authenticated, { ok: true, value: true }, 'the session stays');
      await sleep(QUIET_MS);
      assert.deepEqual(routes(op.requests.slice(mark)), [], 'no request after the rejection');
    });

    it('userinfo sub ≠ ID token sub → invalid_response/sub; the session stays', async () => {
      const { fresh, userinfoRequests, authenticated, mark } = await loginThenFresh({ name: 'userinfo other sub', userinfo: { sub: 'mallory' } });
      assert.equal(fresh.ok, false, `expected invalid_response/sub, got ${JSON.stringify(fresh)}`);
      assert.equal(fresh.error.name, 'AuthError');
      assert.deepEqual({ code: fresh.error.code, reason: fresh.error.reason }, { code: 'invalid_response', reason: 'sub' });
      assert.equal(userinfoRequests.length, 1, 'the userinfo endpoint was asked once');
      assert.deepEqual(authenticated, { ok: true, value: true }, 'the session stays');
      await sleep(QUIET_MS);
      assert.deepEqual(routes(op.requests.slice(mark)), [], 'no request after the rejection');
    });
  });

  describe('a refreshed ID token (OIDC Core §12.2): a failed check ends the session', () => {
    const EVENT_NAMES = ['login', 'tokenRefreshed', 'sessionExpired', 'logout', 'error'];

    /** Log in (bare page, events recorded in window.__events), then getAccessToken({ forceRefresh: true }). */
    async function loginThenRefresh(page, scenario) {
      op.setScenario(scenario);
      const outcome = await attemptLogin(page, stack, { clientOptions: { exposeAccessToken: true } });
      assert.equal(outcome.ok, true, `login: ${describeOutcome(outcome)}`);
      await page.evaluate((names) => {
        window.__events = [];
        for (const name of names) {
          window.auth.on(name, (detail) => window.__events.push({ name, detail: name === 'error' ? { code: detail.code, reason: detail.reason } : detail }));
        }
      }, EVENT_NAMES);
      assert.equal(op.issued.length, 1, 'one token response so far: the login');
      const refreshed = await callAuth(page, 'getAccessToken', { forceRefresh: true });
      return { refreshed, events: await page.evaluate(() => window.__events) };
    }

    for (const [label, claims, reason] of [
      ['another sub', { sub: 'mallory' }, 'sub'],
      ['another auth_time', { auth_time: ({ now }) => now }, 'auth_time'],
      ['expired', { exp: ({ now }) => now - 3600 }, 'exp'],
    ]) {
      it(`${label} → invalid_id_token/${reason}, sessionExpired, the rotated-in refresh token revoked, no grant after`, () => withPage(async (page) => {
        const { refreshed, events } = await loginThenRefresh(page, { name: `refresh: ${label}`, refresh: { claims } });
        assert.equal(refreshed.ok, false, `expected invalid_id_token/${reason}: ${JSON.stringify(refreshed)}`);
        assert.equal(refreshed.error.isAuthError, true);
        assert.deepEqual({ code: refreshed.error.code, reason: refreshed.error.reason }, { code: 'invalid_id_token', reason });
        assert.deepEqual(events, [{ name: 'sessionExpired', detail: { reason: 'invalid_id_token' } }]);
        // One grant, presenting the login's refresh token; the provider rotated a new one in.
        assert.equal(op.refreshGrants.length, 1, JSON.stringify(op.refreshGrants));
        const [{ presented, status, issued: rotatedIn }] = op.refreshGrants;
        assert.equal(status, 200);
        // The rotated-in token reached the provider's revocation endpoint (RFC 7009), first.
        assert.ok(op.revocations.length >= 1, 'a revocation request');
        assert.deepEqual(op.revocations[0], { token: rotatedIn, tokenTypeHint: 'refresh_token', clientId: op.clientId });
        assert.equal(op.refreshTokenState(rotatedIn), 'revoked');
        assert.ok(!op.revocations.some((r) => r.token === presented), 'the rotated-out token is not sent again, not even to be revoked');
        // Later calls: login_required, without any request for a grant.
        const mark = op.requests.length;
        for (const options of [{ forceRefresh: true }, {}]) {
          const later = await callAuth(page, 'getAccessToken', options);
          assert.equal(later.error?.code, 'login_required', JSON.stringify(later));
        }
        await assertSignedOut(page);
        assert.deepEqual(await callAuth(page, 'getUser'), { ok: true, value: null });
        await sleep(QUIET_MS);
        assert.deepEqual(routes(op.requests.slice(mark)), [], 'no request after the session ended');
        assert.equal(op.refreshGrants.length, 1, 'neither refresh token is presented again');
      }));
    }

    it('(control) a refreshed ID token that passes: tokenRefreshed, the session stays, nothing revoked', () => withPage(async (page) => {
      const { refreshed, events } = await loginThenRefresh(page, { name: 'refresh: honest', refresh: {} });
      assert.equal(refreshed.ok, true, JSON.stringify(refreshed));
      assert.deepEqual(events.map((e) => e.name), ['tokenRefreshed']);
      assert.deepEqual(op.revocations, []);
      const again = await callAuth(page, 'getAccessToken', { forceRefresh: true });
      assert.equal(again.ok, true, JSON.stringify(again));
      assert.equal(op.refreshGrants[1].presented, op.refreshGrants[0].issued, 'the rotated-in token is the one presented next');
      assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true });
    }));
  });

  describe('the JWKS cache of one worker (logins without leaving the page)', () => {
    /** Open the vanilla app in a fresh context and run fn(page) with it. */
    const inApp = (fn) => withPage(async (page) => {
      await page.goto(stack.appUrl);
      await waitForApp(page);
      return fn(page);
    });

    it('a second login with a known kid fetches no JWKS', () => inApp(async (page) => {
      op.setScenario({ name: 'cache 1' });
      const first = await loginInPlace(page, stack);
      assert.equal(first.ok, true, describeOutcome(first));
      assert.ok(op.count('jwks') >= 1, 'fetched once');
      op.setScenario({ name: 'cache 2' });
      const second = await loginInPlace(page, stack);
      assert.equal(second.ok, true, describeOutcome(second));
      assert.equal(op.count('authorize'), 1, 'the second login went through the provider');
      assert.equal(op.count('jwks'), 0, `no JWKS request: the keys are cached in the worker (${routes(op.requests)})`);
    }));

    it('rotation seen by a running worker: the new kid triggers one refetch and the login succeeds', () => inApp(async (page) => {
      op.setScenario({ name: 'before rotation', jwks: ['rsa'] });
      const first = await loginInPlace(page, stack);
      assert.equal(first.ok, true, describeOutcome(first));
      op.setScenario({ name: 'after rotation', key: 'rsa2', jwks: ['rsa2', 'rsa'] });
      const second = await loginInPlace(page, stack);
      assert.equal(second.ok, true, describeOutcome(second));
      assert.equal(op.count('jwks'), 1, `exactly one refetch (${routes(op.requests)})`);
      assert.equal((await callAuth(page, 'getUser')).value?.sub, 'alice');
    }));

    it('at most one refetch per 60 s: a second unknown kid right after the first gets no refetch', () => inApp(async (page) => {
      op.setScenario({ name: 'unknown kid 1', key: 'rsa2', jwks: ['rsa'] });
      const first = await loginInPlace(page, stack);
      assertRejected(first, 'invalid_id_token', 'kid');
      // Another unknown kid, which the JWKS now has: only a refetch would find it. (Same alg: the
      // worker keeps the discovery document of the first login.)
      op.setScenario({ name: 'unknown kid 2', key: 'rsa2', header: { kid: 'rsa-3' }, jwks: ['rsa', { key: 'rsa2', kid: 'rsa-3' }] });
      const second = await loginInPlace(page, stack);
      assertRejected(second, 'invalid_id_token', 'kid');
      assert.equal(op.count('jwks'), 0, `no refetch within 60 s of the last one (${routes(op.requests)})`);
      assert.equal(op.count('userinfo'), 0);
      await assertSignedOut(page);
    }));
  });
});
