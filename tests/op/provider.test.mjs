// The test OpenID Provider itself (no oidc-worker involved): a hand-made PKCE client in node drives
// the real devInteractions pages in headless Chromium and talks to the token endpoint.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import { cancelLogin, completeLogin, confirmLogout } from '../support/op-interactions.mjs';
import { startStaticServer } from '../support/static-server.mjs';
import { accountClaims, startProvider } from './provider.mjs';

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const decodeJwt = (jwt) => jwt.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url')));

describe('tests/op/provider.mjs (oidc-provider)', { timeout: 120_000 }, () => {
  let web;
  let op;
  let browser;
  let page;
  let discovery;
  let redirectUri;
  let postLogoutUri;
  let tokens;

  function authorizeUrl({ scope = 'openid offline_access profile email', prompt = 'consent' } = {}) {
    const verifier = b64u(randomBytes(32));
    const state = b64u(randomBytes(16));
    const nonce = b64u(randomBytes(16));
    const url = new URL(discovery.authorization_endpoint);
    const params = {
      client_id: 'spa', response_type: 'code', redirect_uri: redirectUri, scope, state, nonce,
      code_challenge: b64u(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256',
    };
    if (prompt) params.prompt = prompt;
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return { url: url.href, verifier, state, nonce };
  }

  async function tokenRequest(body, origin = web.origin) {
    const res = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: new URLSearchParams({ client_id: 'spa', ...body }),
    });
    return { status: res.status, acao: res.headers.get('access-control-allow-origin'), body: await res.json() };
  }

  before(async () => {
    web = await startStaticServer();
    redirectUri = `${web.origin}/cb/`;
    postLogoutUri = `${web.origin}/`;
    op = await startProvider({ redirectUris: [redirectUri], postLogoutRedirectUris: [postLogoutUri] });
    discovery = await (await fetch(op.urls.discovery)).json();
    browser = await launchBrowser();
    page = await (await browser.newContext()).newPage();
  });

  after(async () => {
    await closeBrowser(browser);
    await op?.close();
    await web?.close();
  });

  it('publishes discovery with the exact issuer and the expected endpoints', async () => {
    assert.match(op.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(op.issuer, `http://127.0.0.1:${op.port}`);
    assert.equal(discovery.issuer, op.issuer);
    for (const [key, url] of [
      ['authorization_endpoint', op.urls.authorization], ['token_endpoint', op.urls.token],
      ['userinfo_endpoint', op.urls.userinfo], ['end_session_endpoint', op.urls.endSession],
      ['revocation_endpoint', op.urls.revocation], ['jwks_uri', op.urls.jwks],
    ]) assert.equal(discovery[key], url, key);
    assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
    assert.equal(discovery.authorization_response_iss_parameter_supported, true);
    assert.ok(discovery.id_token_signing_alg_values_supported.includes('RS256'));
    for (const s of ['openid', 'offline_access', 'profile', 'email']) assert.ok(discovery.scopes_supported.includes(s), s);
  });

  it('publishes freshly generated public keys only (RSA + EC P-256), different per start', async () => {
    const jwks = await (await fetch(op.urls.jwks)).json();
    assert.deepEqual(jwks.keys.map((k) => `${k.kty}:${k.alg}`).sort(), ['EC:ES256', 'RSA:RS256']);
    for (const k of jwks.keys) assert.equal(k.d, undefined, 'no private key material');
    const other = await startProvider({ redirectUris: [redirectUri] });
    try {
      assert.notEqual(other.port, op.port);
      const otherJwks = await (await fetch(other.urls.jwks)).json();
      const rsa = (s) => s.keys.find((k) => k.kty === 'RSA').n;
      assert.notEqual(rsa(otherJwks), rsa(jwks));
    } finally {
      await other.close();
    }
  });

  it('code flow with PKCE through the real login + consent forms yields id, access and refresh tokens', async () => {
    const req = authorizeUrl();
    await page.goto(req.url);
    const { url, steps } = await completeLogin(page, { issuer: op.issuer, login: 'bob' });
    assert.deepEqual(steps, ['login', 'consent']);
    const cb = new URL(url);
    assert.equal(`${cb.origin}${cb.pathname}`, redirectUri);
    assert.equal(cb.searchParams.get('state'), req.state);
    assert.equal(cb.searchParams.get('iss'), op.issuer);

    const res = await tokenRequest({
      grant_type: 'authorization_code', code: cb.searchParams.get('code'), redirect_uri: redirectUri, code_verifier: req.verifier,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.acao, web.origin, 'CORS allows the redirect URI origin');
    tokens = res.body;
    assert.equal(tokens.token_type, 'Bearer');
    assert.deepEqual(new Set(tokens.scope.split(' ')), new Set(['openid', 'offline_access', 'profile', 'email']));
    assert.ok(tokens.refresh_token, 'refresh token (offline_access + prompt=consent)');
    const [header, claims] = decodeJwt(tokens.id_token);
    assert.equal(header.alg, 'RS256');
    assert.equal(claims.iss, op.issuer);
    assert.equal(claims.aud, 'spa');
    assert.equal(claims.nonce, req.nonce);
    assert.deepEqual({ sub: claims.sub, name: claims.name, email: claims.email }, accountClaims('bob'));
    assert.deepEqual(op.tokenRequests.map((r) => [r.grantType, r.status, r.origin]),
      [['authorization_code', 200, web.origin]]);
  });

  it('the access token works at userinfo', async () => {
    const res = await fetch(op.urls.userinfo, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), accountClaims('bob'));
  });

  it('refresh_token grant rotates the refresh token and is recorded', async () => {
    const res = await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.notEqual(res.body.refresh_token, tokens.refresh_token);
    assert.notEqual(res.body.access_token, tokens.access_token);
    const reuse = await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, 'invalid_grant');
    assert.equal(op.tokenRequestCount('refresh_token'), 2);
    assert.deepEqual(op.tokenRequests.slice(-2).map((r) => [r.status, r.error]), [[200, undefined], [400, 'invalid_grant']]);
  });

  it('rejects a wrong code_verifier, and a foreign origin gets no CORS header', async () => {
    const req = authorizeUrl();
    await page.goto(req.url);
    const { url, steps } = await completeLogin(page, { issuer: op.issuer });
    assert.deepEqual(steps, ['consent'], 'existing provider session: consent only');
    const code = new URL(url).searchParams.get('code');
    const bad = await tokenRequest({
      grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: b64u(randomBytes(32)),
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'invalid_grant');
    const foreign = await tokenRequest({ grant_type: 'refresh_token', refresh_token: 'x' }, 'http://127.0.0.1:9');
    assert.equal(foreign.acao, null);
  });

  it('without prompt=consent offline_access is dropped (no refresh token)', async () => {
    const req = authorizeUrl({ prompt: null });
    // The grant exists and nothing needs consent: the provider redirects straight back.
    const { url, steps } = await completeLogin(page, { issuer: op.issuer, trigger: () => page.goto(req.url) });
    assert.deepEqual(steps, []);
    const res = await tokenRequest({
      grant_type: 'authorization_code', code: new URL(url).searchParams.get('code'), redirect_uri: redirectUri, code_verifier: req.verifier,
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.refresh_token, undefined);
    assert.equal(res.body.scope.split(' ').includes('offline_access'), false);
  });

  it('"[ Cancel ]" at the provider returns error=access_denied with the state', async () => {
    const req = authorizeUrl();
    await page.goto(req.url);
    const { url, prompt } = await cancelLogin(page, { issuer: op.issuer });
    assert.equal(prompt, 'consent');
    const cb = new URL(url);
    assert.equal(`${cb.origin}${cb.pathname}`, redirectUri);
    assert.equal(cb.searchParams.get('error'), 'access_denied');
    assert.equal(cb.searchParams.get('state'), req.state);
    assert.equal(cb.searchParams.get('iss'), op.issuer);
  });

  it('RP-initiated logout confirms and returns to post_logout_redirect_uri; the session is gone', async () => {
    const end = new URL(discovery.end_session_endpoint);
    end.searchParams.set('id_token_hint', tokens.id_token);
    end.searchParams.set('post_logout_redirect_uri', postLogoutUri);
    end.searchParams.set('state', 'bye');
    const landed = await confirmLogout(page, { issuer: op.issuer, trigger: () => page.goto(end.href) });
    assert.equal(landed, `${postLogoutUri}?state=bye`);
    const req = authorizeUrl();
    await page.goto(req.url);
    const { prompt } = await cancelLogin(page, { issuer: op.issuer });
    assert.equal(prompt, 'login', 'a new authorization asks for the login again');
    assert.deepEqual(op.serverErrors, []);
  });
});
