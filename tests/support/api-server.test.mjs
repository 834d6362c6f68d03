// The protected resource server of the auth.fetch tests, against the real provider: the SPA's
// tokens are obtained in node through the real login and consent forms (op.loginOverHttp), so
// the server sees exactly the kinds of tokens the library will send it.
import assert from 'node:assert/strict';
import {
  createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign,
} from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';

import { generateJwks, startProvider } from '../op/provider.mjs';
import { startApiServer } from './api-server.mjs';

const APP_ORIGIN = 'http://127.0.0.1:7777';

/** An RS256 JWT over `claims` with `header` (default: typ at+jwt), signed with `privateKey`. */
function signJwt(claims, privateKey, header = {}) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'RS256', typ: 'at+jwt', ...header })}.${enc(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

/** Parse a WWW-Authenticate Bearer challenge into { scheme, realm, error, error_description }. */
function parseChallenge(header) {
  assert.ok(header, 'WWW-Authenticate present');
  const [, scheme, rest] = /^(\S+)\s*(.*)$/.exec(header);
  const params = Object.fromEntries([...rest.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  return { scheme, ...params };
}

describe('api-server (RFC 6750 resource server)', { timeout: 60_000 }, () => {
  let op;
  let api;
  let opaque; // the SPA's access token from the code exchange (opaque, for userinfo)
  let jwt; // an access token for api.resource from a refresh with resource=<api.resource>
  let refreshToken;
  let idToken;
  // The provider's own keys, so the test can also mint tokens the provider's key really signed.
  const jwks = generateJwks();
  const rsaJwk = jwks.keys.find((k) => k.kty === 'RSA');
  const providerKey = createPrivateKey({ key: rsaJwk, format: 'jwk' });

  const get = (path, token, init = {}) => fetch(`${api.origin}${path}`, {
    ...init,
    headers: { origin: APP_ORIGIN, ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
  });

  before(async () => {
    api = await startApiServer({
      allowOrigin: APP_ORIGIN,
      introspect: (token) => op.introspect(token),
      jwks: () => op.publicJwks(),
      issuer: () => op.issuer,
    });
    op = await startProvider({
      redirectUris: [`${APP_ORIGIN}/cb/`],
      resources: { [api.resource]: { scope: 'api:read api:write' } },
      introspection: true,
      jwks,
    });
    const login = await op.loginOverHttp({ scope: 'openid offline_access api:read', resource: api.resource });
    assert.deepEqual(login.steps, ['login', 'consent']);
    opaque = login.tokens.access_token;
    idToken = login.tokens.id_token;
    const res = await fetch(op.urls.token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: 'spa', grant_type: 'refresh_token', refresh_token: login.tokens.refresh_token, resource: api.resource,
      }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    jwt = body.access_token;
    refreshToken = body.refresh_token;
  });

  after(async () => {
    await api?.close();
    await op?.close();
  });

  beforeEach(() => {
    api.requests.length = 0;
  });

  it('listens on 127.0.0.1; its resource indicator defaults to its origin', () => {
    assert.match(api.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(api.resource, `${api.origin}/`);
  });

  it('GET /me with the opaque access token: 200 via introspection', async () => {
    assert.doesNotMatch(opaque, /\./, 'the code exchange gave an opaque token');
    const res = await get('/me', opaque);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), APP_ORIGIN);
    const me = await res.json();
    assert.deepEqual(me, {
      sub: 'alice', scope: 'openid offline_access', client_id: 'spa', via: 'introspection',
    });
    assert.deepEqual(api.requests.map((r) => [r.method, r.path, r.authorization, r.status, r.via, r.sub]),
      [['GET', '/me', `Bearer ${opaque}`, 200, 'introspection', 'alice']]);
    assert.equal(res.headers.get('x-request-id'), api.requests[0].id);
  });

  it('GET /me with the resource JWT: 200 via jwt, aud = the resource', async () => {
    const [header] = jwt.split('.').slice(0, 1).map((p) => JSON.parse(Buffer.from(p, 'base64url')));
    assert.deepEqual([header.alg, header.typ], ['RS256', 'at+jwt']);
    const res = await get('/me', jwt);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      sub: 'alice', scope: 'api:read', aud: api.resource, client_id: 'spa', via: 'jwt',
    });
  });

  it('without a token: 401 with a bare Bearer challenge (no error)', async () => {
    for (const headers of [{}, { authorization: 'Basic YTpi' }]) {
      const res = await get('/me', null, { headers });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="api"');
      assert.equal(res.headers.get('access-control-allow-origin'), APP_ORIGIN);
      await res.arrayBuffer();
    }
  });

  it('an invalid token: 401 error="invalid_token" (garbage, a refresh token, a foreign or mis-addressed JWT)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
    const tampered = jwt.split('.');
    tampered[1] = Buffer.from(JSON.stringify({ ...good, scope: 'api:read api:write' })).toString('base64url');
    const foreignKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const kid = { kid: rsaJwk.kid };
    // The control: re-signing the claims with the provider's key gives an accepted token.
    const resigned = await get('/me', signJwt(good, providerKey, kid));
    assert.equal(resigned.status, 200);
    await resigned.arrayBuffer();
    const notActive = 'token is not active';
    const badSignature = 'signature verification failed';
    const notAt = 'not an access token (typ is not at+jwt)';
    // name → [token, the error_description expected]
    const cases = {
      garbage: ['garbage-token', notActive],
      'refresh token (introspection is limited to access tokens)': [refreshToken, notActive],
      'ID token': [idToken, notAt],
      'foreign key': [signJwt(good, foreignKey, kid), badSignature],
      tampered: [tampered.join('.'), badSignature],
      'unknown kid': [signJwt(good, providerKey, { kid: 'nope' }), badSignature],
      expired: [signJwt({ ...good, exp: now - 10 }, providerKey, kid), 'token expired'],
      'not yet valid': [signJwt({ ...good, nbf: now + 60 }, providerKey, kid), 'token not yet valid'],
      'typ JWT': [signJwt(good, providerKey, { ...kid, typ: 'JWT' }), notAt],
      'alg PS256': [signJwt(good, providerKey, { ...kid, alg: 'PS256' }), 'unexpected alg PS256'],
      'no sub': [signJwt({ ...good, sub: undefined }, providerKey, kid), 'no sub'],
    };
    for (const [name, [token, description]] of Object.entries(cases)) {
      const res = await get('/me', token);
      assert.equal(res.status, 401, name);
      const challenge = parseChallenge(res.headers.get('www-authenticate'));
      assert.equal(challenge.scheme, 'Bearer', name);
      assert.equal(challenge.realm, 'api', name);
      assert.equal(challenge.error, 'invalid_token', name);
      assert.equal(challenge.error_description, description, name);
      await res.arrayBuffer();
    }
    // A malformed header is a bad request, not an invalid token.
    const malformed = await get('/me', null, { headers: { authorization: 'Bearer a b' } });
    assert.equal(malformed.status, 400);
    assert.equal(parseChallenge(malformed.headers.get('www-authenticate')).error, 'invalid_request');
  });

  it('a JWT for another audience or issuer is refused', async () => {
    const other = await startApiServer({
      allowOrigin: APP_ORIGIN, jwks: () => op.publicJwks(), issuer: () => op.issuer, audience: 'http://127.0.0.1:1/other',
    });
    const wrongIss = await startApiServer({
      allowOrigin: APP_ORIGIN, jwks: () => op.publicJwks(), issuer: 'http://127.0.0.1:1', audience: api.resource,
    });
    try {
      const a = await fetch(`${other.origin}/me`, { headers: { authorization: `Bearer ${jwt}` } });
      assert.equal(a.status, 401);
      assert.match(a.headers.get('www-authenticate'), /error="invalid_token", error_description="unexpected aud"/);
      const b = await fetch(`${wrongIss.origin}/me`, { headers: { authorization: `Bearer ${jwt}` } });
      assert.equal(b.status, 401);
      assert.match(b.headers.get('www-authenticate'), /error_description="unexpected iss"/);
      // Without introspection configured, an opaque token cannot be accepted.
      const c = await fetch(`${other.origin}/me`, { headers: { authorization: `Bearer ${opaque}` } });
      assert.equal(c.status, 401);
    } finally {
      await other.close();
      await wrongIss.close();
    }
  });

  it('POST/PUT /echo returns the exact bytes with the request content-type and X-Api-Seen', async () => {
    const bytes = Buffer.concat([randomBytes(70_000), Buffer.from([0, 0xff, 0x0d, 0x0a])]);
    for (const method of ['POST', 'PUT']) {
      const res = await get('/echo', opaque, { method, body: bytes, headers: { 'content-type': 'application/x-test; v=1' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/x-test; v=1');
      assert.equal(res.headers.get('x-api-seen'), String(bytes.length));
      const echoed = Buffer.from(await res.arrayBuffer());
      assert.equal(createHash('sha256').update(echoed).digest('hex'), createHash('sha256').update(bytes).digest('hex'));
    }
    assert.ok(api.requests[0].bodyBytes.equals(bytes));
    assert.equal(api.requests[0].contentType, 'application/x-test; v=1');
    const noAuth = await get('/echo', null, { method: 'POST', body: 'x' });
    assert.equal(noAuth.status, 401);
    await noAuth.arrayBuffer();
  });

  it('rejectNext(n): the next n requests with a token get 401 invalid_token, then the token works again', async () => {
    api.rejectNext(2);
    assert.equal((await get('/public')).status, 200, 'requests without a token do not count');
    for (let i = 0; i < 2; i += 1) {
      const res = await get('/me', jwt);
      assert.equal(res.status, 401);
      assert.equal(parseChallenge(res.headers.get('www-authenticate')).error, 'invalid_token');
      await res.arrayBuffer();
    }
    const res = await get('/me', jwt);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.deepEqual(api.requests.map((r) => [r.path, r.status, r.rejectedByRejectNext ?? false]),
      [['/public', 200, false], ['/me', 401, true], ['/me', 401, true], ['/me', 200, false]]);
  });

  it('rejectToken(token): that token is refused from now on, others still work', async () => {
    const login = await op.loginOverHttp({ login: 'carol', scope: 'openid' });
    const token = login.tokens.access_token;
    assert.equal((await get('/me', token)).status, 200);
    api.rejectToken(token);
    const res = await get('/me', token);
    assert.equal(res.status, 401);
    assert.equal(parseChallenge(res.headers.get('www-authenticate')).error_description, 'token revoked');
    assert.equal((await get('/me', opaque)).status, 200);
  });

  it('a token revoked at the provider is refused at once (introspection is not cached)', async () => {
    const login = await op.loginOverHttp({ login: 'dave', scope: 'openid' });
    const token = login.tokens.access_token;
    assert.equal((await get('/me', token)).status, 200);
    const revoked = await fetch(op.urls.revocation, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'spa', token }),
    });
    assert.equal(revoked.status, 200);
    const res = await get('/me', token);
    assert.equal(res.status, 401);
    assert.equal(parseChallenge(res.headers.get('www-authenticate')).error_description, 'token is not active');
  });

  it('CORS preflight: 204 with the allowed origin, methods and headers; recorded without Authorization', async () => {
    const res = await fetch(`${api.origin}/echo`, {
      method: 'OPTIONS',
      headers: {
        origin: APP_ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization,content-type',
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), APP_ORIGIN);
    assert.equal(res.headers.get('access-control-allow-methods'), 'GET, POST, PUT, PATCH, DELETE');
    assert.equal(res.headers.get('access-control-allow-headers'), 'Authorization, Content-Type, X-Test, DPoP');
    assert.equal(res.headers.get('access-control-expose-headers'), 'X-Api-Seen, WWW-Authenticate, X-Request-Id, DPoP-Nonce');
    assert.deepEqual(api.requests.map((r) => [r.method, r.path, r.authorization, r.status]), [['OPTIONS', '/echo', null, 204]]);
  });

  it('GET /slow waits; a client that aborts is recorded as aborted', async () => {
    const t0 = Date.now();
    const ok = await get('/slow?ms=200', opaque);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { ok: true });
    assert.ok(Date.now() - t0 >= 190);

    const aborter = new AbortController();
    const pending = get('/slow?ms=5000', opaque, { signal: aborter.signal });
    await new Promise((resolve) => { setTimeout(resolve, 200); });
    aborter.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    await new Promise((resolve) => { setTimeout(resolve, 50); });
    assert.equal(api.requests.at(-1).aborted, true);
    assert.equal(api.requests.at(-1).status, undefined);
    assert.equal(api.requests[0].aborted, undefined);
  });

  it('GET /status/:code answers that status (204 and 304 without a body); /public needs no token', async () => {
    for (const code of [200, 403, 404, 500, 503]) {
      const res = await get(`/status/${code}`, jwt);
      assert.equal(res.status, code);
      assert.deepEqual(await res.json(), { status: code });
    }
    for (const code of [204, 304]) {
      const res = await get(`/status/${code}`, jwt);
      assert.equal(res.status, code);
      assert.equal(await res.text(), '');
    }
    const unauth = await get('/status/500');
    assert.equal(unauth.status, 401, 'auth is checked first');
    await unauth.arrayBuffer();
    const pub = await get('/public');
    assert.equal(pub.status, 200);
    assert.deepEqual(await pub.json(), { public: true });
    assert.equal(api.requests.at(-1).authorization, null);
  });
});
