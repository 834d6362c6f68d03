// The misbehaving provider itself (no browser, no oidc-worker): a hand-made PKCE client in node.
// Its honest tokens must verify with node:crypto and WebCrypto for every algorithm, its tampered
// ones must not, and its PKCE / CORS / bearer checks must hold, or the e2e rejections prove nothing.

import assert from 'node:assert/strict';
import {
  constants, createHash, createHmac, createPublicKey, randomBytes, verify as cryptoVerify,
} from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { ALGS, halfHash, s256, startMisbehavingProvider } from './server.mjs';

const REDIRECT_URI = 'http://127.0.0.1:9/cb/';
const APP_ORIGIN = 'http://127.0.0.1:9';
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

const b64u = (b) => Buffer.from(b).toString('base64url');
const decode = (jwt) => {
  const [h, p, s] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), claims: JSON.parse(Buffer.from(p, 'base64url')), input: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
};

/** Verify with node:crypto, given the public JWK. */
function nodeVerify(alg, jwk, input, signature) {
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const { kind, hash } = ALGS[alg];
  switch (kind) {
    case 'pkcs1': return cryptoVerify(hash, Buffer.from(input), key, signature);
    case 'pss': return cryptoVerify(hash, Buffer.from(input), {
      key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    }, signature);
    case 'ecdsa': return cryptoVerify(hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }, signature);
    case 'eddsa': return cryptoVerify(null, Buffer.from(input), key, signature);
    default: throw new Error(alg);
  }
}

/** Verify with WebCrypto, the way the browser will (JWK import, raw r||s for ECDSA). */
async function webVerify(alg, jwk, input, signature) {
  const { subtle } = globalThis.crypto;
  const { kind, hash } = ALGS[alg];
  const sha = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' }[hash];
  const { kid, use, alg: _alg, ...bare } = jwk;
  let importAlg;
  let verifyAlg;
  switch (kind) {
    case 'pkcs1': importAlg = { name: 'RSASSA-PKCS1-v1_5', hash: sha }; verifyAlg = importAlg; break;
    case 'pss': importAlg = { name: 'RSA-PSS', hash: sha }; verifyAlg = { name: 'RSA-PSS', saltLength: Number(hash.slice(3)) / 8 }; break;
    case 'ecdsa': importAlg = { name: 'ECDSA', namedCurve: jwk.crv }; verifyAlg = { name: 'ECDSA', hash: sha }; break;
    case 'eddsa': importAlg = { name: 'Ed25519' }; verifyAlg = importAlg; break;
    default: throw new Error(alg);
  }
  const key = await subtle.importKey('jwk', bare, importAlg, false, ['verify']);
  return subtle.verify(verifyAlg, key, signature, Buffer.from(input));
}

describe('tests/misbehaving-op/server.mjs', { timeout: 60_000 }, () => {
  let op;

  before(async () => {
    op = await startMisbehavingProvider({ redirectUris: [REDIRECT_URI] });
  });
  after(async () => { await op?.close(); });

  /** GET /authorize without following the redirect: { status, location, params, pkce }. */
  async function authorize(extra = {}) {
    const verifier = b64u(randomBytes(32));
    const state = b64u(randomBytes(16));
    const nonce = b64u(randomBytes(16));
    const url = new URL(op.urls.authorization);
    const params = {
      client_id: 'spa', response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid', state, nonce,
      code_challenge: s256(verifier), code_challenge_method: 'S256', ...extra,
    };
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
    const res = await fetch(url, { redirect: 'manual' });
    const location = res.headers.get('location');
    return {
      status: res.status, location, params: location ? new URL(location).searchParams : null, verifier, state, nonce,
    };
  }

  async function tokenRequest(code, verifier, { origin = APP_ORIGIN, redirectUri = REDIRECT_URI } = {}) {
    const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: 'spa' });
    if (verifier !== undefined) body.set('code_verifier', verifier);
    const res = await fetch(op.urls.token, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin }, body,
    });
    return { status: res.status, acao: res.headers.get('access-control-allow-origin'), body: await res.json() };
  }

  async function login() {
    const a = await authorize();
    assert.equal(a.status, 302);
    const t = await tokenRequest(a.params.get('code'), a.verifier);
    assert.equal(t.status, 200, JSON.stringify(t.body));
    return { ...a, token: t.body };
  }

  async function jwks() {
    return (await (await fetch(op.urls.jwks)).json()).keys;
  }

  it('serves a discovery document with the scenario overrides, CORS open', async () => {
    op.setScenario({ alg: 'ES256', discovery: { authorization_response_iss_parameter_supported: undefined, issuer: 'http://evil' } });
    const res = await fetch(op.urls.discovery, { headers: { origin: APP_ORIGIN } });
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const doc = await res.json();
    assert.equal(doc.issuer, 'http://evil');
    assert.equal('authorization_response_iss_parameter_supported' in doc, false);
    assert.deepEqual(doc.id_token_signing_alg_values_supported, ['ES256']);
    assert.equal(doc.jwks_uri, op.urls.jwks);
    assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
    op.setScenario({});
    const honest = await (await fetch(op.urls.discovery)).json();
    assert.equal(honest.issuer, op.issuer);
    assert.equal(honest.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(honest.id_token_signing_alg_values_supported, ['RS256']);
  });

  for (const alg of ASYMMETRIC) {
    it(`${alg}: the ID token verifies with node:crypto and WebCrypto; tampered, it does not`, async () => {
      op.setScenario({ alg });
      const { token, nonce } = await login();
      const { header, claims, input, signature } = decode(token.id_token);
      assert.equal(header.alg, alg);
      const keys = await jwks();
      assert.equal(keys.length, 1);
      const [jwk] = keys;
      assert.equal(header.kid, jwk.kid);
      assert.equal('d' in jwk, false, 'the JWKS holds public keys only');
      assert.equal(nodeVerify(alg, jwk, input, signature), true, 'node:crypto verifies');
      assert.equal(await webVerify(alg, jwk, input, signature), true, 'WebCrypto verifies');
      assert.equal(claims.nonce, nonce);
      assert.equal(claims.iss, op.issuer);
      assert.equal(claims.aud, 'spa');
      assert.equal(claims.sub, 'alice');
      assert.equal(claims.at_hash, halfHash(alg, token.access_token));
      assert.equal(token.token_type, 'Bearer');

      op.setScenario({ alg, tamper: true });
      const bad = decode((await login()).token.id_token);
      assert.equal(nodeVerify(alg, jwk, bad.input, bad.signature), false, 'node:crypto rejects the tampered one');
      assert.equal(await webVerify(alg, jwk, bad.input, bad.signature), false, 'WebCrypto rejects the tampered one');
    });
  }

  it('at_hash uses SHA-256 / SHA-384 / SHA-512 by alg', () => {
    const at = 'jHkWEdUXMU1BwAsC4vtUsZwnNDjkBhoPW4DO35RVpx4';
    const half = (h) => b64u(createHash(h).update(at).digest().subarray(0, { sha256: 16, sha384: 24, sha512: 32 }[h]));
    assert.equal(halfHash('RS256', at), half('sha256'));
    assert.equal(halfHash('ES384', at), half('sha384'));
    assert.equal(halfHash('PS512', at), half('sha512'));
    assert.equal(halfHash('EdDSA', at), half('sha512'));
  });

  it('HS256 attack: HMAC with the RSA public key PEM as the secret; alg none: empty signature', async () => {
    op.setScenario({ alg: 'HS256' });
    const { header, input, signature } = decode((await login()).token.id_token);
    assert.deepEqual(header, { alg: 'HS256', kid: 'rsa-1' });
    const pem = op.keys.rsa.publicKey.export({ type: 'spki', format: 'pem' });
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----/);
    assert.deepEqual(signature, createHmac('sha256', pem).update(input).digest());
    assert.deepEqual((await jwks()).map((k) => k.kid), ['rsa-1'], 'the JWKS publishes the RSA key');

    op.setScenario({ alg: 'none', header: { kid: undefined } });
    const none = (await login()).token.id_token;
    assert.match(none, /\.$/);
    assert.deepEqual(decode(none).header, { alg: 'none' });
  });

  it('header and claim overrides: undefined removes, functions get the context', async () => {
    op.setScenario({
      header: { typ: 'at+jwt', kid: undefined },
      claims: { exp: ({ now }) => now - 120, sub: undefined, aud: ['spa', 'api'], nonce: ({ nonce }) => `${nonce}x` },
    });
    const { token, nonce } = await login();
    const { header, claims } = decode(token.id_token);
    assert.deepEqual(header, { alg: 'RS256', typ: 'at+jwt' });
    assert.equal('sub' in claims, false);
    assert.deepEqual(claims.aud, ['spa', 'api']);
    assert.equal(claims.nonce, `${nonce}x`);
    assert.ok(claims.exp <= Math.floor(Date.now() / 1000) - 119);
  });

  it('signs with another key or algorithm than the header says, when told to', async () => {
    op.setScenario({ alg: 'RS256', key: 'rsa2', header: { kid: 'rsa-1' }, jwks: ['rsa'] });
    const { header, input, signature } = decode((await login()).token.id_token);
    assert.equal(header.kid, 'rsa-1');
    const [published] = await jwks();
    assert.equal(nodeVerify('RS256', published, input, signature), false, 'not by the published key');
    assert.equal(nodeVerify('RS256', op.publicJwk('rsa2'), input, signature), true, 'by rsa2');
  });

  it('PKCE: the verifier must match the S256 challenge; a code works once', async () => {
    op.setScenario({});
    let a = await authorize();
    const wrong = await tokenRequest(a.params.get('code'), b64u(randomBytes(32)));
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, 'invalid_grant');
    const again = await tokenRequest(a.params.get('code'), a.verifier);
    assert.equal(again.status, 400, 'a code is spent by a failed attempt too');

    a = await authorize();
    const missing = await tokenRequest(a.params.get('code'), undefined);
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, 'invalid_grant');

    a = await authorize();
    const other = await tokenRequest(a.params.get('code'), a.verifier, { redirectUri: 'http://127.0.0.1:9/other/' });
    assert.equal(other.status, 400, 'redirect_uri must match');

    a = await authorize();
    const ok = await tokenRequest(a.params.get('code'), a.verifier);
    assert.equal(ok.status, 200);
    assert.equal(ok.acao, APP_ORIGIN, 'CORS for the app origin');
    const replay = await tokenRequest(a.params.get('code'), a.verifier);
    assert.equal(replay.status, 400);

    const plain = await authorize({ code_challenge_method: 'plain' });
    assert.equal(plain.status, 400, 'plain PKCE is refused');
    const unregistered = await authorize({ redirect_uri: 'http://127.0.0.1:9/evil/' });
    assert.equal(unregistered.status, 400);
    assert.equal(unregistered.location, null, 'never redirects to an unregistered URI');
  });

  it('refresh: rotating refresh tokens, reuse revokes the grant, claims overridable, RFC 7009 revocation', async () => {
    op.setScenario({ refresh: { claims: { sub: 'mallory' } } });
    const discovery = await (await fetch(op.urls.discovery)).json();
    assert.equal(discovery.revocation_endpoint, op.urls.revocation);
    const refresh = async (token) => {
      const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: 'spa' });
      const res = await fetch(op.urls.token, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      return { status: res.status, body: await res.json() };
    };
    const { token } = await login();
    assert.ok(token.refresh_token, 'the code exchange issues a refresh token');
    const first = await refresh(token.refresh_token);
    assert.equal(first.status, 200);
    assert.notEqual(first.body.refresh_token, token.refresh_token, 'rotated');
    const claims = JSON.parse(Buffer.from(first.body.id_token.split('.')[1], 'base64url'));
    assert.equal(claims.sub, 'mallory', 'the refreshed ID token takes the refresh claims');
    assert.deepEqual(op.refreshGrants, [{ presented: token.refresh_token, status: 200, issued: first.body.refresh_token }]);
    // Reusing the spent token fails and revokes the grant, the rotated-in token included.
    assert.equal((await refresh(token.refresh_token)).body.error, 'invalid_grant');
    assert.equal(op.refreshTokenState(first.body.refresh_token), 'revoked');
    assert.equal((await refresh(first.body.refresh_token)).status, 400);
    // Revocation: 200, recorded, and the token is refused afterwards.
    const second = (await login()).token.refresh_token;
    const res = await fetch(op.urls.revocation, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: second, token_type_hint: 'refresh_token', client_id: 'spa' }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(op.revocations, [{ token: second, tokenTypeHint: 'refresh_token', clientId: 'spa' }]);
    assert.equal((await refresh(second)).status, 400);
    // Without `refresh` in the scenario: no refresh token, no revocation endpoint.
    op.setScenario({});
    assert.equal((await login()).token.refresh_token, undefined);
    assert.equal((await (await fetch(op.urls.discovery)).json()).revocation_endpoint, undefined);
  });

  it('the callback carries code, state and iss; each can be overridden', async () => {
    op.setScenario({});
    let a = await authorize();
    assert.deepEqual([...a.params.keys()], ['code', 'state', 'iss']);
    assert.equal(a.params.get('state'), a.state);
    assert.equal(a.params.get('iss'), op.issuer);
    assert.equal(new URL(a.location).origin + new URL(a.location).pathname, REDIRECT_URI);

    op.setScenario({ callback: { iss: undefined } });
    a = await authorize();
    assert.equal(a.params.has('iss'), false);

    op.setScenario({ callback: { code: undefined, error: 'access_denied', iss: 'http://127.0.0.1:1' } });
    a = await authorize();
    assert.deepEqual(Object.fromEntries(a.params), { state: a.state, iss: 'http://127.0.0.1:1', error: 'access_denied' });
  });

  it('JWKS: the Nth response since the last authorization request; the last repeats', async () => {
    op.setScenario({ jwksResponses: [['rsa'], ['rsa', 'rsa2']] });
    assert.deepEqual((await jwks()).map((k) => k.kid), ['rsa-1']);
    assert.deepEqual((await jwks()).map((k) => k.kid), ['rsa-1', 'rsa-2']);
    assert.deepEqual((await jwks()).map((k) => k.kid), ['rsa-1', 'rsa-2']);
    await authorize();
    assert.deepEqual((await jwks()).map((k) => k.kid), ['rsa-1'], 'counting restarts at /authorize');
    op.setScenario({ jwks: [{ key: 'rsa', alg: 'RS256' }, 'p256'] });
    const keys = await jwks();
    assert.deepEqual(keys.map((k) => [k.kid, k.kty, k.alg, k.use]), [['rsa-1', 'RSA', 'RS256', 'sig'], ['ec-p256', 'EC', undefined, 'sig']]);
    const res = await fetch(op.urls.jwks, { headers: { origin: APP_ORIGIN } });
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  it('userinfo: Bearer required; answers sub (overridable) and name; CORS incl. preflight', async () => {
    op.setScenario({});
    const { token } = await login();
    const none = await fetch(op.urls.userinfo, { headers: { origin: APP_ORIGIN } });
    assert.equal(none.status, 401);
    const wrong = await fetch(op.urls.userinfo, { headers: { authorization: 'Bearer nope', origin: APP_ORIGIN } });
    assert.equal(wrong.status, 401);
    const res = await fetch(op.urls.userinfo, { headers: { authorization: `Bearer ${token.access_token}`, origin: APP_ORIGIN } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), APP_ORIGIN);
    assert.deepEqual(await res.json(), { sub: 'alice', name: 'Alice', email: 'alice@example.test' });

    const pre = await fetch(op.urls.userinfo, {
      method: 'OPTIONS',
      headers: { origin: APP_ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), APP_ORIGIN);
    assert.equal(pre.headers.get('access-control-allow-headers'), 'authorization');
    const evil = await fetch(op.urls.token, {
      method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:666', 'access-control-request-method': 'POST' },
    });
    assert.equal(evil.headers.get('access-control-allow-origin'), null, 'no CORS for another origin');

    op.setScenario({ userinfo: { sub: 'mallory' } });
    const second = await login();
    const other = await fetch(op.urls.userinfo, { headers: { authorization: `Bearer ${second.token.access_token}` } });
    assert.equal((await other.json()).sub, 'mallory');
  });

  it('logs every request; setScenario() clears the log', async () => {
    op.setScenario({});
    await fetch(op.urls.discovery);
    await login();
    await fetch(`${op.issuer}/nowhere`);
    assert.deepEqual(op.requests.map((r) => `${r.method} ${r.route} ${r.status}`),
      ['GET discovery 200', 'GET authorize 302', 'POST token 200', 'GET unknown 404']);
    assert.equal(op.count('token', 'POST'), 1);
    assert.ok(op.requests.every((r) => typeof r.at === 'number' && r.path.startsWith('/')));
    const [tokenEntry] = op.requests.filter((r) => r.route === 'token');
    assert.deepEqual(op.after(tokenEntry).map((r) => r.route), ['unknown']);
    assert.equal(op.issued.length, 1);
    op.setScenario({});
    assert.equal(op.requests.length, 0);
  });

  it('refuses unknown algorithms and key names in a scenario', () => {
    assert.throws(() => op.setScenario({ alg: 'XS999' }), /unknown alg/);
    assert.throws(() => op.setScenario({ key: 'nope' }), /unknown key/);
  });
});
