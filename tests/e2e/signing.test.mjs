// End to end: signed ID tokens from the REAL provider (oidc-provider, tests/op/provider.mjs) verified
// by the library in headless Chromium: RS256, ES256, and signing key rotation between logins. The
// part an honest provider cannot show (a token still signed by a removed key) runs against the
// misbehaving provider.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/signing.test.mjs

import assert from 'node:assert/strict';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import {
  assertLibraryBuilt, callAuth, startStack, waitForApp,
} from '../support/harness.mjs';
import { completeLogin } from '../support/op-interactions.mjs';
import { generateSigningKey } from '../op/provider.mjs';
import { attemptLogin, startMisbehavingStack } from '../misbehaving-op/stack.mjs';

const LOGIN = 'alice';

const decodeJwt = (jwt) => {
  const [h, p, s] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url')),
    claims: JSON.parse(Buffer.from(p, 'base64url')),
    input: `${h}.${p}`,
    signature: Buffer.from(s, 'base64url'),
  };
};

/** Whether `jwt` verifies with the public JWK (node:crypto; RS256 / ES256 only, what the provider uses here). */
function verifiesWith(jwt, jwk) {
  const { header, input, signature } = decodeJwt(jwt);
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  if (header.alg === 'RS256') return jwk.kty === 'RSA' && cryptoVerify('sha256', Buffer.from(input), key, signature);
  if (header.alg === 'ES256') {
    return jwk.kty === 'EC' && cryptoVerify('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }, signature);
  }
  throw new Error(`unexpected alg ${header.alg}`);
}

describe('signed ID tokens from oidc-provider, verified in the worker', { timeout: 240_000 }, () => {
  let browser;

  before(async () => {
    assertLibraryBuilt();
    browser = await launchBrowser();
  });

  after(async () => {
    await closeBrowser(browser);
  });

  /**
   * Open the app in a fresh context (a fresh worker: nothing cached), log in through the provider's
   * forms, return { app, idToken, jwksRequests } where jwksRequests are the provider's JWKS
   * requests made since the login started.
   */
  async function loginFresh(stack) {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      await page.goto(stack.appUrl);
      await waitForApp(page);
      const mark = stack.op.requests.length;
      const tokensBefore = stack.op.tokenRequests.length;
      await completeLogin(page, { issuer: stack.op.issuer, login: LOGIN, trigger: () => page.locator('#login').click() });
      const app = await waitForApp(page);
      const tokenRequests = stack.op.tokenRequests.slice(tokensBefore);
      assert.deepEqual(tokenRequests.map((r) => [r.grantType, r.status]), [['authorization_code', 200]], 'one code exchange');
      const idToken = tokenRequests[0].issued.id_token;
      const user = await callAuth(page, 'getUser');
      const authenticated = await callAuth(page, 'isAuthenticated');
      const jwksRequests = stack.op.requests.slice(mark).filter((r) => r.route === 'jwks');
      return { app, idToken, user, authenticated, jwksRequests };
    } finally {
      await context.close().catch(() => {});
    }
  }

  function assertLoggedIn({ app, user, authenticated, jwksRequests }, stack) {
    assert.equal(app.callback?.ok, true, `login failed: ${JSON.stringify(app.callback ?? app.error)}`);
    assert.deepEqual(authenticated, { ok: true, value: true });
    assert.equal(user.ok, true);
    assert.equal(user.value.sub, LOGIN);
    assert.equal(user.value.name, 'Alice');
    assert.equal(user.value.email, 'alice@example.test');
    assert.equal(user.value.iss, stack.op.issuer);
    assert.ok(jwksRequests.length >= 1, 'the worker fetched the provider JWKS to verify the signature');
    assert.ok(jwksRequests.every((r) => r.status === 200 && r.method === 'GET'));
  }

  describe('RS256 (the provider default)', () => {
    let stack;
    before(async () => { stack = await startStack(); });
    after(async () => { await stack?.close(); });

    it('logs in with an RS256-signed ID token; getUser() has its claims; the JWKS was fetched', async () => {
      const discovery = await (await fetch(stack.op.urls.discovery)).json();
      assert.ok(discovery.id_token_signing_alg_values_supported.includes('RS256'));
      const result = await loginFresh(stack);
      assertLoggedIn(result, stack);
      const { header } = decodeJwt(result.idToken);
      assert.equal(header.alg, 'RS256');
      const rsa = stack.op.publicJwks().keys.find((k) => k.kty === 'RSA');
      assert.equal(header.kid, rsa.kid);
      assert.ok(verifiesWith(result.idToken, rsa), 'sanity: the token verifies with the published RSA key');
    });
  });

  describe('ES256 (client id_token_signed_response_alg)', () => {
    let stack;
    before(async () => { stack = await startStack({ provider: { idTokenSignedResponseAlg: 'ES256' } }); });
    after(async () => { await stack?.close(); });

    it('logs in with an ES256-signed ID token; getUser() has its claims; the JWKS was fetched', async () => {
      const discovery = await (await fetch(stack.op.urls.discovery)).json();
      assert.ok(discovery.id_token_signing_alg_values_supported.includes('ES256'), JSON.stringify(discovery.id_token_signing_alg_values_supported));
      const result = await loginFresh(stack);
      assertLoggedIn(result, stack);
      const { header } = decodeJwt(result.idToken);
      assert.equal(header.alg, 'ES256');
      const ec = stack.op.publicJwks().keys.find((k) => k.kty === 'EC');
      assert.equal(header.kid, ec.kid);
      assert.ok(verifiesWith(result.idToken, ec), 'sanity: the token verifies with the published EC key');
    });
  });

  describe('key rotation at the provider between two logins', () => {
    const keyA = generateSigningKey('rsa');
    const keyB = generateSigningKey('rsa');
    const publicOf = ({ d, p, q, dp, dq, qi, ...pub }) => pub;
    let stack;
    let tokenA;

    before(async () => { stack = await startStack({ provider: { jwks: { keys: [keyA] } } }); });
    after(async () => { await stack?.close(); });

    it('login 1 is signed with key A', async () => {
      assert.deepEqual(stack.op.publicJwks().keys.map((k) => k.kid), [keyA.kid]);
      const result = await loginFresh(stack);
      assertLoggedIn(result, stack);
      assert.equal(decodeJwt(result.idToken).header.kid, keyA.kid);
      tokenA = result.idToken;
    });

    it('overlap: the provider signs with B, publishing B first and A still → login 2 succeeds, JWKS fetched again', async () => {
      const published = await stack.op.rotateKeys({ keys: [keyB, keyA] });
      assert.deepEqual(published.keys.map((k) => k.kid), [keyB.kid, keyA.kid]);
      const served = await (await fetch(stack.op.urls.jwks)).json();
      assert.deepEqual(served.keys.map((k) => k.kid), [keyB.kid, keyA.kid], 'the JWKS endpoint serves the new set');
      const result = await loginFresh(stack);
      assertLoggedIn(result, stack);
      assert.equal(decodeJwt(result.idToken).header.kid, keyB.kid, 'signed with B');
    });

    it('A removed (only B published) → login 3 succeeds with B; the old A token matches no published key', async () => {
      await stack.op.rotateKeys({ keys: [keyB] });
      const result = await loginFresh(stack);
      assertLoggedIn(result, stack);
      assert.equal(decodeJwt(result.idToken).header.kid, keyB.kid);
      assert.ok(tokenA, 'depends on login 1');
      const published = stack.op.publicJwks().keys;
      assert.equal(published.some((k) => k.kid === keyA.kid), false);
      assert.equal(published.some((k) => verifiesWith(tokenA, k)), false, 'a token signed by A verifies with no published key');
      assert.ok(verifiesWith(tokenA, publicOf(keyA)), 'sanity: it does verify with A');
    });
  });

  describe('after rotation, a token still signed by the removed key (misbehaving provider)', () => {
    let stack;
    before(async () => { stack = await startMisbehavingStack(); });
    after(async () => { await stack?.close(); });

    async function attempt(scenario) {
      stack.op.setScenario(scenario);
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        page.setDefaultTimeout(20_000);
        const outcome = await attemptLogin(page, stack);
        return { outcome, authenticated: await callAuth(page, 'isAuthenticated') };
      } finally {
        await context.close().catch(() => {});
      }
    }

    it('(control) signed by the published key B → logs in', async () => {
      const { outcome, authenticated } = await attempt({ name: 'B', key: 'rsa2', jwks: ['rsa2'] });
      assert.equal(outcome.ok, true, JSON.stringify(outcome));
      assert.deepEqual(authenticated, { ok: true, value: true });
    });

    it('signed by the removed key A, with A\'s kid → invalid_id_token/kid (after one refetch)', async () => {
      const { outcome, authenticated } = await attempt({ name: 'A removed, kid A', key: 'rsa', jwks: ['rsa2'] });
      assert.equal(outcome.ok, false, `expected invalid_id_token/kid, got ${JSON.stringify(outcome)}`);
      assert.deepEqual({ code: outcome.error.code, reason: outcome.error.reason }, { code: 'invalid_id_token', reason: 'kid' });
      const authorizeAt = stack.op.requests.findIndex((r) => r.route === 'authorize');
      assert.equal(stack.op.requests.slice(authorizeAt).filter((r) => r.route === 'jwks').length, 2, 'the JWKS and one refetch');
      assert.equal(stack.op.count('userinfo'), 0);
      assert.deepEqual(authenticated, { ok: true, value: false });
    });

    it('signed by the removed key A, claiming B\'s kid → invalid_id_token/signature', async () => {
      const { outcome, authenticated } = await attempt({ name: 'A removed, kid B', key: 'rsa', header: { kid: 'rsa-2' }, jwks: ['rsa2'] });
      assert.equal(outcome.ok, false, `expected invalid_id_token/signature, got ${JSON.stringify(outcome)}`);
      assert.deepEqual({ code: outcome.error.code, reason: outcome.error.reason }, { code: 'invalid_id_token', reason: 'signature' });
      assert.deepEqual(authenticated, { ok: true, value: false });
    });
  });
});
