// The test OpenID Provider itself (no oidc-worker involved): a hand-made PKCE client in node drives
// the real devInteractions pages in headless Chromium and talks to the token endpoint. The
// resources / introspection / faults options are checked without a browser (op.loginOverHttp
// posts the same forms from node).
import assert from 'node:assert/strict';
import {
  createHash, createPublicKey, randomBytes, verify,
} from 'node:crypto';
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

/** POST a form to the token endpoint; `resource` may be an array (repeated parameter). */
async function tokenPost(op, { resource, ...params }, origin = 'http://127.0.0.1:7777') {
  const body = new URLSearchParams({ client_id: 'spa', ...params });
  for (const r of [resource ?? []].flat()) body.append('resource', r);
  const res = await fetch(op.urls.token, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin }, body,
  });
  return { status: res.status, acao: res.headers.get('access-control-allow-origin'), body: await res.json() };
}

/** Verify an RS256 JWT against a public JWKS with node:crypto; returns [header, claims]. */
function verifyRs256(jwt, jwks) {
  const [h, p, s] = jwt.split('.');
  const [header, claims] = decodeJwt(jwt);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `kid ${header.kid} is published`);
  assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(s, 'base64url')),
    'signature verifies');
  return [header, claims];
}

describe('tests/op/provider.mjs: resources (RFC 8707) and introspection (RFC 7662)', { timeout: 60_000 }, () => {
  // A resource indicator is an identifier: nothing needs to listen there.
  const RESOURCE = 'http://127.0.0.1:9/api/';
  const APP = 'http://127.0.0.1:7777';
  let op;
  let login;

  before(async () => {
    op = await startProvider({
      redirectUris: [`${APP}/cb/`],
      resources: { [RESOURCE]: { scope: 'api:read api:write' } },
      introspection: true,
    });
    login = await op.loginOverHttp({ scope: 'openid offline_access api:read', resource: RESOURCE });
  });

  after(async () => {
    await op?.close();
  });

  it('login with resource + its scope: login and consent; the code exchange (no resource) gives the opaque userinfo token', async () => {
    assert.deepEqual(login.steps, ['login', 'consent']);
    const { tokens } = login;
    assert.doesNotMatch(tokens.access_token, /\./, 'opaque, not a JWT');
    assert.equal(tokens.scope, 'openid offline_access', 'resource scopes are not in the userinfo token');
    assert.ok(tokens.refresh_token);
    assert.ok(tokens.id_token);
    const ui = await fetch(op.urls.userinfo, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(ui.status, 200);
    assert.deepEqual(await ui.json(), { sub: 'alice' });
    assert.deepEqual(op.tokenRequests.map((r) => [r.grantType, r.status, r.resource, r.scope, r.origin]),
      [['authorization_code', 200, undefined, undefined, APP]]);
  });

  it('refresh with resource=<url>: an RS256 at+jwt for that audience with the granted resource scope; rotated refresh token', async () => {
    const res = await tokenPost(op, { grant_type: 'refresh_token', refresh_token: login.tokens.refresh_token, resource: RESOURCE });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.acao, APP);
    const [header, claims] = verifyRs256(res.body.access_token, op.publicJwks());
    assert.deepEqual([header.alg, header.typ], ['RS256', 'at+jwt']);
    assert.equal(claims.aud, RESOURCE);
    assert.equal(claims.iss, op.issuer);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.client_id, 'spa');
    assert.equal(claims.scope, 'api:read');
    assert.equal(claims.exp - claims.iat, 600);
    assert.equal(res.body.scope, 'api:read');
    assert.equal(res.body.token_type, 'Bearer');
    assert.ok(res.body.id_token, 'no scope parameter: the refresh token\'s scopes (incl. openid) → an ID token too');
    assert.ok(res.body.refresh_token && res.body.refresh_token !== login.tokens.refresh_token, 'rotated');
    assert.deepEqual(op.tokenRequests.at(-1).resource, RESOURCE);
    // The JWT is for the resource, not for userinfo.
    const ui = await fetch(op.urls.userinfo, { headers: { authorization: `Bearer ${res.body.access_token}` } });
    assert.equal(ui.status, 401);
    login.tokens.refresh_token = res.body.refresh_token;
  });

  it('refresh with resource and scope=api:read: only that scope, no ID token; an ungranted scope is invalid_scope', async () => {
    const bad = await tokenPost(op, {
      grant_type: 'refresh_token', refresh_token: login.tokens.refresh_token, resource: RESOURCE, scope: 'api:write',
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'invalid_scope', 'api:write was never granted');
    const res = await tokenPost(op, {
      grant_type: 'refresh_token', refresh_token: login.tokens.refresh_token, resource: RESOURCE, scope: 'api:read',
    });
    assert.equal(res.status, 200, 'invalid_scope is checked before the refresh token is used up');
    assert.equal(decodeJwt(res.body.access_token)[1].scope, 'api:read');
    assert.equal(res.body.id_token, undefined, 'no openid in scope: no ID token');
    assert.deepEqual(op.tokenRequests.slice(-2).map((r) => [r.status, r.error, r.resource, r.scope]),
      [[400, 'invalid_scope', RESOURCE, 'api:write'], [200, undefined, RESOURCE, 'api:read']]);
    // And a plain refresh still gives the opaque userinfo token.
    const plain = await tokenPost(op, { grant_type: 'refresh_token', refresh_token: res.body.refresh_token });
    assert.equal(plain.status, 200);
    assert.doesNotMatch(plain.body.access_token, /\./);
    assert.equal(plain.body.scope, 'openid offline_access');
    login.tokens.refresh_token = plain.body.refresh_token;
  });

  it('an unknown resource is invalid_target, and (oidc-provider quirk) the refresh token used is gone', async () => {
    const other = await op.loginOverHttp({ login: 'erin', scope: 'openid offline_access api:read', resource: RESOURCE });
    const rt = other.tokens.refresh_token;
    const res = await tokenPost(op, { grant_type: 'refresh_token', refresh_token: rt, resource: 'http://127.0.0.1:9/unknown/' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_target');
    assert.equal(op.tokenRequests.at(-1).error, 'invalid_target');
    // oidc-provider 9 rotates (consumes) the refresh token before it resolves the resource: the
    // error answer carries no new one, and the old one now counts as reused (the grant is revoked).
    const again = await tokenPost(op, { grant_type: 'refresh_token', refresh_token: rt });
    assert.equal(again.status, 400);
    assert.equal(again.body.error, 'invalid_grant');
    const ui = await fetch(op.urls.userinfo, { headers: { authorization: `Bearer ${other.tokens.access_token}` } });
    assert.equal(ui.status, 401, 'the reuse revoked the whole grant, its access token too');
  });

  it('a configured resource that the login did not ask for is invalid_target; two resources at once too', async () => {
    const noResource = await op.loginOverHttp({ login: 'frank', scope: 'openid offline_access api:read' });
    assert.equal(noResource.tokens.scope, 'openid offline_access', 'api:read without resource is dropped');
    const res = await tokenPost(op, { grant_type: 'refresh_token', refresh_token: noResource.tokens.refresh_token, resource: RESOURCE });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_target');

    // (A fresh login: an invalid_target answer uses the refresh token up, see above.)
    const twoLogin = await op.loginOverHttp({ login: 'frank', scope: 'openid offline_access api:read', resource: RESOURCE });
    const two = await tokenPost(op, {
      grant_type: 'refresh_token', refresh_token: twoLogin.tokens.refresh_token, resource: [RESOURCE, RESOURCE.replace('api', 'b')],
    });
    assert.equal(two.status, 400);
    assert.equal(two.body.error, 'invalid_target');
    assert.deepEqual(op.tokenRequests.at(-1).resource, [RESOURCE, RESOURCE.replace('api', 'b')], 'repeated → array');
  });

  it('introspection: the api client sees the SPA\'s access token (active, sub, scope, client_id), never its refresh token', async () => {
    assert.equal(op.urls.introspection, `${op.issuer}/token/introspection`);
    const discovery = await (await fetch(op.urls.discovery)).json();
    assert.equal(discovery.introspection_endpoint, op.urls.introspection);
    assert.equal(op.introspectionClient.clientId, 'api');
    assert.ok(op.introspectionClient.clientSecret.length >= 32);

    const fresh = await op.loginOverHttp({ login: 'gina', scope: 'openid offline_access' });
    const info = await op.introspect(fresh.tokens.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'gina');
    assert.equal(info.scope, 'openid offline_access');
    assert.equal(info.client_id, 'spa');
    assert.equal(info.token_type, 'Bearer');
    assert.equal(info.iss, op.issuer);
    assert.deepEqual(await op.introspect(fresh.tokens.refresh_token), { active: false });
    assert.deepEqual(await op.introspect('no-such-token'), { active: false });

    const wrongSecret = await fetch(op.urls.introspection, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('api:wrong').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: fresh.tokens.access_token }),
    });
    assert.equal(wrongSecret.status, 401);
    assert.equal((await wrongSecret.json()).error, 'invalid_client');
  });

  it('rotateKeys() keeps resources, introspection and its secret, and the grants and tokens issued before', async () => {
    const { clientSecret } = op.introspectionClient;
    const jwks = await op.rotateKeys();
    const ui = await fetch(op.urls.userinfo, { headers: { authorization: `Bearer ${login.tokens.access_token}` } });
    assert.equal(ui.status, 200, 'an access token from before the rotation');
    assert.equal(op.introspectionClient.clientSecret, clientSecret);
    const res = await tokenPost(op, { grant_type: 'refresh_token', refresh_token: login.tokens.refresh_token, resource: RESOURCE });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [header, claims] = verifyRs256(res.body.access_token, jwks);
    assert.equal(header.kid, jwks.keys.find((k) => k.kty === 'RSA').kid, 'signed with the new key');
    assert.equal(claims.aud, RESOURCE);
    const plain = await tokenPost(op, { grant_type: 'refresh_token', refresh_token: res.body.refresh_token });
    assert.equal((await op.introspect(plain.body.access_token)).active, true);
  });

  it('without options.resources any resource is invalid_target; without options.introspection there is no introspection', async () => {
    const bare = await startProvider({ redirectUris: [`${APP}/cb/`] });
    try {
      assert.equal(bare.urls.introspection, undefined);
      assert.equal(bare.introspectionClient, undefined);
      await assert.rejects(bare.introspect('x'), /introspection: true/);
      const discovery = await (await fetch(bare.urls.discovery)).json();
      assert.equal(discovery.introspection_endpoint, undefined);
      await assert.rejects(bare.loginOverHttp({ resource: RESOURCE }), /invalid_target/);
      const fresh = await bare.loginOverHttp();
      const res = await tokenPost(bare, { grant_type: 'refresh_token', refresh_token: fresh.tokens.refresh_token, resource: RESOURCE });
      assert.equal(res.body.error, 'invalid_target');
    } finally {
      await bare.close();
    }
  });
});

describe('tests/op/provider.mjs: faults (the provider behind the fault proxy)', { timeout: 60_000 }, () => {
  const APP = 'http://127.0.0.1:7777';
  let op;

  before(async () => {
    op = await startProvider({ redirectUris: [`${APP}/cb/`], faults: true });
  });

  after(async () => {
    await op?.close();
  });

  it('the proxy is the issuer: every URL in discovery is on the proxy\'s port', async () => {
    assert.equal(op.issuer, op.faults.origin);
    assert.equal(op.port, op.faults.port);
    assert.notEqual(op.faults.target, op.issuer, 'oidc-provider itself listens elsewhere');
    const discovery = await (await fetch(op.urls.discovery)).json();
    assert.equal(discovery.issuer, op.issuer);
    const urls = Object.entries(discovery).filter(([, v]) => typeof v === 'string' && /^https?:/.test(v));
    assert.ok(urls.length >= 6, `${urls.length} URLs`);
    for (const [key, url] of urls) assert.equal(new URL(url).origin, op.issuer, key);
    assert.equal(discovery.token_endpoint, op.urls.token);
    // Why the proxy must pass Host through: oidc-provider builds endpoint URLs from the request's
    // Host (only `issuer` is fixed). Asked directly, it names its own port.
    const direct = await (await fetch(`${op.faults.target}/.well-known/openid-configuration`)).json();
    assert.equal(direct.issuer, op.issuer);
    assert.equal(new URL(direct.token_endpoint).origin, op.faults.target);
  });

  it('login forms, token endpoint and userinfo work through the proxy', async () => {
    const { tokens, steps } = await op.loginOverHttp({ login: 'pat' });
    assert.deepEqual(steps, ['login', 'consent']);
    const [, claims] = verifyRs256(tokens.id_token, op.publicJwks());
    assert.equal(claims.iss, op.issuer);
    const ui = await fetch(op.urls.userinfo, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(ui.status, 200);
    const paths = op.faults.requests.map((r) => r.path);
    for (const p of ['/auth', '/token']) assert.ok(paths.includes(p), p);
    assert.ok(paths.some((p) => p.startsWith('/interaction/')));
    assert.ok(op.faults.requests.every((r) => r.fault === 'pass'));
    assert.equal(op.requests.filter((r) => r.route === 'token').length, 1, 'the provider saw the token request');
  });

  it('a /token fault of { status: 503 } reaches the client (CORS-readable); the provider never sees it', async () => {
    const { tokens } = await op.loginOverHttp({ login: 'quinn' });
    const before503 = op.tokenRequests.length;
    op.faults.set('/token', { status: 503 });
    try {
      const res = await tokenPost(op, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, APP);
      assert.equal(res.status, 503);
      assert.equal(res.acao, APP);
      assert.equal(op.tokenRequests.length, before503);
      op.faults.set('/token', 'down');
      await assert.rejects(tokenPost(op, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }), TypeError);
      assert.equal(op.tokenRequests.length, before503);
    } finally {
      op.faults.clear();
    }
    // The refresh token was never used: it still works.
    const ok = await tokenPost(op, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, APP);
    assert.equal(ok.status, 200);
    assert.deepEqual(op.faults.requests.slice(-3).map((r) => [r.path, r.fault, r.status]),
      [['/token', 'status', 503], ['/token', 'down', undefined], ['/token', 'pass', 200]]);
  });

  it('close() stops the proxy and the provider', async () => {
    const other = await startProvider({ redirectUris: [`${APP}/cb/`], faults: true });
    const { target } = other.faults;
    assert.equal((await fetch(other.urls.discovery)).status, 200);
    await other.close();
    await assert.rejects(fetch(other.urls.discovery), TypeError);
    await assert.rejects(fetch(`${target}/.well-known/openid-configuration`), TypeError);
  });
});
