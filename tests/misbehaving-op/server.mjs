// A deliberately misbehaving OpenID Provider for the e2e tests of ID token and callback validation.
// node:http only, 127.0.0.1, a free port. It does just enough of the code flow (discovery, JWKS,
// authorization endpoint, token endpoint with PKCE, userinfo) to be driven by the library in a
// browser, and answers each login according to the current *scenario*: plain data describing what
// to get wrong (a header, a claim, a signature, the JWKS, the discovery document, the callback...).
//
//   import { startMisbehavingProvider } from './tests/misbehaving-op/server.mjs';
//   const op = await startMisbehavingProvider({ redirectUris: ['http://127.0.0.1:8080/vanilla/'] });
//   op.setScenario({ name: 'bad signature', alg: 'ES256', tamper: true });
//   ... log in from the browser ...
//   op.requests        // [{ method, path, route, at, origin, status }] every request, in arrival order
//   op.count('jwks')   // how many JWKS requests
//   await op.close();
//
// A scenario (every field optional; see DEFAULT_SCENARIO and resolveScenario below):
//
//   name           label, for messages
//   alg            the ID token header's `alg`, and the algorithm it is signed with (default RS256)
//   signAlg        sign with this algorithm instead of `alg` (a header that lies)
//   key            name of the key that signs (default: ALGS[signAlg].key; see KEY_SPECS)
//   hmacSecret     HS*: the HMAC secret, a string/Buffer, or 'rsa-public-pem' = the PEM (SPKI) of
//                  the public key of `key` (default 'rsa'): the classic RS256→HS256 confusion attack
//   tamper         flip one byte of the signature
//   header         merged over { alg, kid: <the signing key's kid> }
//   claims         merged over { iss, sub, aud, exp, iat, nonce, at_hash }
//   jwks           the JWKS: entries 'keyName' | { key: 'keyName', ...JWK members to set } | a whole JWK
//                  (default: [the signing key], or ['rsa'] for HS*/none)
//   jwksResponses  [entries, entries, ...]: the Nth JWKS response counted since the last
//                  authorization request (the last one repeats); takes precedence over `jwks`
//   discovery      merged over the discovery document
//   callback       merged over the authorization response parameters { code, state, iss }
//   token          merged over the token response { access_token, token_type, expires_in, id_token, scope }
//   userinfo       merged over the userinfo response { sub, name, email }
//   userinfoSigned answer userinfo as a signed JWT (application/jwt, OIDC Core §5.3.2) with `iss` and
//                  `aud` added, signed like the ID token (alg, key); { tamper: true } flips a signature byte
//   refresh        refresh tokens: the code exchange issues one, the token endpoint accepts the
//                  refresh_token grant (RFC 6749 §6) and rotates (each answer carries a new one; a
//                  spent one is refused with invalid_grant and revokes its whole grant, as rotating
//                  providers do), and the discovery document has a revocation_endpoint (RFC 7009).
//                  { claims } is merged over the refreshed ID token's claims (the login's with a new
//                  iat and exp), { token } over the refresh response.
//
// "Merged over": a member set to `undefined` is removed; a function is called with the context
// { now, issuer, clientId, nonce, state, accessToken, keys } and its result used.

import {
  constants, createHash, createHmac, generateKeyPair, randomBytes, sign as cryptoSign,
} from 'node:crypto';
import { createServer } from 'node:http';
import { promisify } from 'node:util';
import { listenOnLoopback } from '../support/loopback.mjs';

export const CLIENT_ID = 'spa';
export const SUBJECT = 'alice';
export const USER_NAME = 'Alice';

const generateKeyPairAsync = promisify(generateKeyPair);

/** The keys the provider holds, by name. `kid` is what JWKS entries and token headers carry. */
export const KEY_SPECS = {
  rsa: { kid: 'rsa-1', type: 'rsa', options: { modulusLength: 2048 } },
  rsa2: { kid: 'rsa-2', type: 'rsa', options: { modulusLength: 2048 } },
  p256: { kid: 'ec-p256', type: 'ec', options: { namedCurve: 'P-256' } },
  p384: { kid: 'ec-p384', type: 'ec', options: { namedCurve: 'P-384' } },
  p521: { kid: 'ec-p521', type: 'ec', options: { namedCurve: 'P-521' } },
  ed25519: { kid: 'okp-ed25519', type: 'ed25519', options: {} },
};

/**
 * JWS algorithms (RFC 7518 §3, RFC 8037): how to sign, which hash (also the at_hash hash, OIDC
 * Core §3.1.3.6; SHA-512 for EdDSA/Ed25519 as oidc-provider does) and the usual key.
 */
export const ALGS = {
  RS256: { kind: 'pkcs1', hash: 'sha256', key: 'rsa' },
  RS384: { kind: 'pkcs1', hash: 'sha384', key: 'rsa' },
  RS512: { kind: 'pkcs1', hash: 'sha512', key: 'rsa' },
  PS256: { kind: 'pss', hash: 'sha256', key: 'rsa' },
  PS384: { kind: 'pss', hash: 'sha384', key: 'rsa' },
  PS512: { kind: 'pss', hash: 'sha512', key: 'rsa' },
  ES256: { kind: 'ecdsa', hash: 'sha256', key: 'p256' },
  ES384: { kind: 'ecdsa', hash: 'sha384', key: 'p384' },
  ES512: { kind: 'ecdsa', hash: 'sha512', key: 'p521' },
  EdDSA: { kind: 'eddsa', hash: 'sha512', key: 'ed25519' },
  HS256: { kind: 'hmac', hash: 'sha256' },
  HS384: { kind: 'hmac', hash: 'sha384' },
  HS512: { kind: 'hmac', hash: 'sha512' },
  none: { kind: 'none', hash: 'sha256' },
};

/** What an honest provider does (the defaults every scenario is merged over). */
export const DEFAULT_SCENARIO = Object.freeze({ name: 'honest', alg: 'RS256' });

const b64u = (data) => Buffer.from(data).toString('base64url');

/** Generate every key of KEY_SPECS (or of `names`): { name: { kid, privateKey, publicKey, publicJwk } }. */
export async function generateKeys(names = Object.keys(KEY_SPECS)) {
  const entries = await Promise.all(names.map(async (name) => {
    const spec = KEY_SPECS[name];
    if (!spec) throw new Error(`unknown key ${name}`);
    const { privateKey, publicKey } = await generateKeyPairAsync(spec.type, spec.options);
    return [name, { name, kid: spec.kid, privateKey, publicKey, publicJwk: { ...publicKey.export({ format: 'jwk' }), kid: spec.kid } }];
  }));
  return Object.fromEntries(entries);
}

/**
 * Sign a compact JWS with node:crypto.
 * @param {object} header    the JOSE header, as is (its `alg` is not looked at)
 * @param {object} payload   the claims
 * @param {object} how       { alg, privateKey (KeyObject, asymmetric algs), secret (HS*), tamper }
 */
export function signJws(header, payload, { alg, privateKey, secret, tamper = false }) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  const spec = ALGS[alg];
  if (!spec) throw new Error(`signJws: unknown alg ${alg}`);
  let signature;
  switch (spec.kind) {
    case 'pkcs1':
      signature = cryptoSign(spec.hash, Buffer.from(input), privateKey);
      break;
    case 'pss':
      // RFC 7518 §3.5: MGF1 with the same hash, salt length = hash length.
      signature = cryptoSign(spec.hash, Buffer.from(input), {
        key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      });
      break;
    case 'ecdsa':
      // RFC 7518 §3.4: the JWS signature is R || S (fixed width), not DER.
      signature = cryptoSign(spec.hash, Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
      break;
    case 'eddsa':
      signature = cryptoSign(null, Buffer.from(input), privateKey);
      break;
    case 'hmac':
      signature = createHmac(spec.hash, secret).update(input).digest();
      break;
    case 'none':
      signature = Buffer.alloc(0);
      break;
    default:
      throw new Error('unreachable');
  }
  if (tamper && signature.length > 0) {
    signature = Buffer.from(signature);
    signature[Math.floor(signature.length / 2)] ^= 0x01;
  }
  return `${input}.${b64u(signature)}`;
}

/** at_hash / c_hash (OIDC Core §3.1.3.6): left half of the hash of the ASCII value, base64url. */
export function halfHash(alg, value) {
  const digest = createHash(ALGS[alg]?.hash ?? 'sha256').update(value, 'ascii').digest();
  return b64u(digest.subarray(0, digest.length / 2));
}

/** S256 code challenge (RFC 7636 §4.2). */
export function s256(verifier) {
  return b64u(createHash('sha256').update(verifier, 'ascii').digest());
}

/** Apply "merged over" overrides: undefined removes, functions are called with ctx. */
function merge(base, overrides, ctx) {
  const out = { ...base };
  for (const [name, value] of Object.entries(overrides ?? {})) {
    const v = typeof value === 'function' ? value(ctx) : value;
    if (v === undefined) delete out[name];
    else out[name] = v;
  }
  return out;
}

/**
 * Start the provider.
 * @param {object} options
 * @param {string[]} [options.redirectUris]  accepted redirect_uris (or options.redirectUri); their
 *        origins are the origins the token and userinfo endpoints allow (CORS)
 * @param {string[]} [options.allowedOrigins] more CORS origins
 * @param {string}   [options.clientId='spa']
 * @param {object}   [options.scenario]       the initial scenario
 * @param {number}   [options.port=0]
 * @param {object}   [options.keys]           pre-generated keys (generateKeys()), to share between servers
 */
export async function startMisbehavingProvider(options = {}) {
  const redirectUris = options.redirectUris ?? (options.redirectUri ? [options.redirectUri] : []);
  if (redirectUris.length === 0) throw new TypeError('startMisbehavingProvider: redirectUris is required');
  const clientId = options.clientId ?? CLIENT_ID;
  const allowedOrigins = new Set([...redirectUris.map((u) => new URL(u).origin), ...(options.allowedOrigins ?? [])]);
  const keys = options.keys ?? await generateKeys();

  const server = createServer();
  const listening = await listenOnLoopback(server, options.port ?? 0);
  const { port } = listening;
  const issuer = `http://127.0.0.1:${port}`;
  const urls = {
    discovery: `${issuer}/.well-known/openid-configuration`,
    authorization: `${issuer}/authorize`,
    token: `${issuer}/token`,
    userinfo: `${issuer}/userinfo`,
    jwks: `${issuer}/jwks`,
    attackerJwks: `${issuer}/attacker/jwks`,
    revocation: `${issuer}/revoke`,
  };
  const ROUTES = {
    '/.well-known/openid-configuration': 'discovery',
    '/jwks': 'jwks',
    '/authorize': 'authorize',
    '/token': 'token',
    '/userinfo': 'userinfo',
    '/attacker/jwks': 'attacker-jwks',
    '/revoke': 'revoke',
  };

  /** Every request, in arrival order: { method, path, route, query, origin, at, status }. */
  const requests = [];
  /** Every successful token response: { accessToken, idToken, header, claims, scenario }. */
  const issued = [];
  const codes = new Map(); // code → { redirectUri, clientId, nonce, state, codeChallenge, used }
  const accessTokens = new Map(); // access token → sub of its ID token
  const refreshTokens = new Map(); // refresh token → { pending, grant, state: 'active' | 'spent' | 'revoked' }
  /** Every refresh_token grant, in arrival order: { presented, status, issued (the rotated-in token) }. */
  const refreshGrants = [];
  /** Every revocation request, in arrival order: { token, tokenTypeHint, clientId }. */
  const revocations = [];
  let grants = 0;
  let jwksSinceAuthorize = 0;
  let scenario = { ...DEFAULT_SCENARIO, ...(options.scenario ?? {}) };

  /** The scenario with every default filled in (what the provider does now). */
  function resolveScenario(s = scenario) {
    const alg = s.alg ?? 'RS256';
    const signAlg = s.signAlg ?? alg;
    const spec = ALGS[signAlg];
    if (!spec) throw new Error(`scenario ${s.name}: unknown alg ${signAlg}`);
    const keyName = s.key ?? spec.key ?? 'rsa';
    if (!keys[keyName]) throw new Error(`scenario ${s.name}: unknown key ${keyName}`);
    const asymmetric = spec.kind !== 'hmac' && spec.kind !== 'none';
    return {
      ...s,
      alg,
      signAlg,
      keyName,
      jwks: s.jwks ?? [keyName],
      advertised: asymmetric ? [alg] : ['RS256'],
    };
  }

  function jwkEntry(entry) {
    if (typeof entry === 'string') {
      if (!keys[entry]) throw new Error(`unknown key ${entry}`);
      return { ...keys[entry].publicJwk, use: 'sig' };
    }
    if (entry && typeof entry === 'object' && typeof entry.key === 'string') {
      const { key, ...members } = entry;
      return merge(jwkEntry(key), members, {});
    }
    return entry; // a whole JWK, as is
  }

  function discoveryDocument() {
    const s = resolveScenario();
    const base = {
      issuer,
      authorization_endpoint: urls.authorization,
      token_endpoint: urls.token,
      jwks_uri: urls.jwks,
      userinfo_endpoint: urls.userinfo,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code'],
      subject_types_supported: ['public'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      id_token_signing_alg_values_supported: s.advertised,
      authorization_response_iss_parameter_supported: true,
      ...(s.refresh ? { revocation_endpoint: urls.revocation } : {}),
    };
    return merge(base, s.discovery, context());
  }

  function context(extra = {}) {
    return { now: Math.floor(Date.now() / 1000), issuer, clientId, keys, ...extra };
  }

  function buildIdToken(pending, accessToken, refreshClaims) {
    const s = resolveScenario();
    const ctx = context({ nonce: pending.nonce, state: pending.state, accessToken });
    const key = keys[s.keyName];
    const header = merge({ alg: s.alg, kid: key.kid }, s.header, ctx);
    const claims = merge({
      iss: issuer,
      sub: SUBJECT,
      aud: clientId,
      exp: ctx.now + 600,
      iat: ctx.now,
      nonce: pending.nonce,
      at_hash: halfHash(s.alg, accessToken),
      name: USER_NAME,
    }, { ...s.claims, ...refreshClaims }, ctx);
    let secret;
    if (ALGS[s.signAlg].kind === 'hmac') {
      const hmac = s.hmacSecret ?? 'rsa-public-pem';
      secret = hmac === 'rsa-public-pem'
        ? keys[s.key ?? 'rsa'].publicKey.export({ type: 'spki', format: 'pem' })
        : hmac;
    }
    const idToken = signJws(header, claims, {
      alg: s.signAlg, privateKey: key.privateKey, secret, tamper: Boolean(s.tamper),
    });
    return { idToken, header, claims };
  }

  function send(res, status, body, headers = {}) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-store',
      Pragma: 'no-cache',
      ...headers,
    });
    res.end(text);
  }

  function cors(req, { open = false } = {}) {
    const origin = req.headers.origin;
    if (open) return { 'Access-Control-Allow-Origin': '*' };
    if (origin && allowedOrigins.has(origin)) return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' };
    return {};
  }

  function preflight(req, res) {
    const headers = cors(req);
    if (!headers['Access-Control-Allow-Origin']) return send(res, 403, 'origin not allowed\n');
    res.writeHead(204, {
      ...headers,
      'Access-Control-Allow-Methods': 'GET, POST',
      'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? '',
      'Access-Control-Max-Age': '0',
      'Cache-Control': 'no-store',
    });
    return res.end();
  }

  function readBody(req) {
    return new Promise((resolve, reject) => {
      const chunks = [];
      let size = 0;
      req.on('data', (c) => {
        size += c.length;
        if (size > 65536) { reject(new Error('body too large')); req.destroy(); } else chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  function authorize(req, res, url) {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri');
    if (q.get('client_id') !== clientId) return send(res, 400, 'unknown client_id\n');
    if (!redirectUris.includes(redirectUri)) return send(res, 400, 'unregistered redirect_uri\n');
    if (q.get('response_type') !== 'code') return send(res, 400, 'response_type must be code\n');
    if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) {
      return send(res, 400, 'PKCE S256 required\n');
    }
    const code = b64u(randomBytes(24));
    const pending = {
      redirectUri, clientId, nonce: q.get('nonce') ?? undefined, state: q.get('state') ?? undefined,
      codeChallenge: q.get('code_challenge'), used: false,
    };
    codes.set(code, pending);
    jwksSinceAuthorize = 0;
    const s = resolveScenario();
    const params = merge({ code, state: pending.state, iss: issuer }, s.callback, context(pending));
    const location = new URL(redirectUri);
    for (const [name, value] of Object.entries(params)) location.searchParams.append(name, String(value));
    res.writeHead(302, { Location: location.href, 'Cache-Control': 'no-store', 'Content-Length': 0 });
    return res.end();
  }

  async function token(req, res) {
    const headers = cors(req);
    const fail = (status, error, description) => send(res, status, { error, error_description: description }, headers);
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return fail(400, 'invalid_request', 'form body expected');
    }
    const form = new URLSearchParams(await readBody(req));
    if (form.get('grant_type') === 'refresh_token') return refreshGrant(form, res, headers, fail);
    if (form.get('grant_type') !== 'authorization_code') return fail(400, 'unsupported_grant_type', 'only authorization_code');
    const pending = codes.get(form.get('code') ?? '');
    if (!pending || pending.used) return fail(400, 'invalid_grant', 'unknown or used code');
    pending.used = true;
    if (form.get('client_id') !== pending.clientId) return fail(400, 'invalid_grant', 'client_id mismatch');
    if (form.get('redirect_uri') !== pending.redirectUri) return fail(400, 'invalid_grant', 'redirect_uri mismatch');
    const verifier = form.get('code_verifier');
    if (!verifier || !/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || s256(verifier) !== pending.codeChallenge) {
      return fail(400, 'invalid_grant', 'PKCE verification failed');
    }
    const accessToken = b64u(randomBytes(32));
    const { idToken, header, claims } = buildIdToken(pending, accessToken);
    accessTokens.set(accessToken, claims.sub);
    const s = resolveScenario();
    const body = merge({
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: 600,
      id_token: idToken,
      scope: 'openid profile email',
    }, s.token, context({ nonce: pending.nonce, accessToken }));
    if (s.refresh) body.refresh_token = issueRefreshToken(pending, (grants += 1));
    issued.push({ accessToken, idToken, header, claims, scenario: s.name });
    return send(res, 200, body, headers);
  }

  function issueRefreshToken(pending, grant) {
    const token = b64u(randomBytes(32));
    refreshTokens.set(token, { pending, grant, state: 'active' });
    return token;
  }

  /** RFC 6749 §6, rotating: the presented token is spent, the answer carries a new one. */
  function refreshGrant(form, res, headers, fail) {
    const s = resolveScenario();
    const presented = form.get('refresh_token') ?? '';
    const entry = refreshTokens.get(presented);
    const grant = { presented, status: 400, issued: undefined };
    refreshGrants.push(grant);
    if (!s.refresh || !entry || entry.state !== 'active' || form.get('client_id') !== clientId) {
      // A reused token: the whole grant is revoked (RFC 9700 §4.14.2).
      if (entry?.state === 'spent') {
        for (const other of refreshTokens.values()) if (other.grant === entry.grant) other.state = 'revoked';
      }
      return fail(400, 'invalid_grant', 'unknown, spent or revoked refresh token');
    }
    entry.state = 'spent';
    const accessToken = b64u(randomBytes(32));
    const refreshToken = issueRefreshToken(entry.pending, entry.grant);
    const { idToken, header, claims } = buildIdToken(entry.pending, accessToken, s.refresh.claims);
    accessTokens.set(accessToken, claims.sub);
    const body = merge({
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: 600,
      refresh_token: refreshToken,
      id_token: idToken,
      scope: 'openid profile email',
    }, s.refresh.token, context({ nonce: entry.pending.nonce, accessToken }));
    grant.status = 200;
    grant.issued = refreshToken;
    issued.push({ accessToken, idToken, header, claims, scenario: s.name });
    return send(res, 200, body, headers);
  }

  /** RFC 7009 §2: the token is revoked; the answer is 200 whatever the token was (§2.2). */
  async function revoke(req, res) {
    const headers = cors(req);
    const form = new URLSearchParams(await readBody(req));
    const token = form.get('token') ?? '';
    revocations.push({ token, tokenTypeHint: form.get('token_type_hint'), clientId: form.get('client_id') });
    const entry = refreshTokens.get(token);
    if (entry) entry.state = 'revoked';
    accessTokens.delete(token);
    res.writeHead(200, { ...headers, 'Cache-Control': 'no-store', 'Content-Length': 0 });
    return res.end();
  }

  function userinfo(req, res) {
    const headers = cors(req);
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(req.headers.authorization ?? '');
    if (!match || !accessTokens.has(match[1])) {
      return send(res, 401, { error: 'invalid_token' }, {
        ...headers, 'WWW-Authenticate': 'Bearer error="invalid_token"',
      });
    }
    const s = resolveScenario();
    const body = merge({ sub: accessTokens.get(match[1]), name: USER_NAME, email: `${SUBJECT}@example.test` },
      s.userinfo, context({ accessToken: match[1] }));
    if (!s.userinfoSigned) return send(res, 200, body, headers);
    const key = keys[s.keyName];
    const jwt = signJws({ alg: s.alg, kid: key.kid }, { iss: issuer, aud: clientId, ...body }, {
      alg: s.signAlg, privateKey: key.privateKey, tamper: Boolean(s.userinfoSigned.tamper),
    });
    res.writeHead(200, { ...headers, 'Content-Type': 'application/jwt', 'Content-Length': Buffer.byteLength(jwt), 'Cache-Control': 'no-store' });
    return res.end(jwt);
  }

  function jwks(req, res) {
    const s = resolveScenario();
    jwksSinceAuthorize += 1;
    const responses = s.jwksResponses ?? [s.jwks];
    const entries = responses[Math.min(jwksSinceAuthorize, responses.length) - 1];
    return send(res, 200, { keys: entries.map(jwkEntry) }, cors(req, { open: true }));
  }

  async function handle(req, res, entry) {
    const url = new URL(req.url, issuer);
    const route = entry.route;
    if (req.method === 'OPTIONS' && (route === 'token' || route === 'userinfo' || route === 'revoke')) return preflight(req, res);
    switch (`${req.method} ${route}`) {
      case 'GET discovery': return send(res, 200, discoveryDocument(), cors(req, { open: true }));
      case 'GET jwks': return jwks(req, res);
      case 'GET attacker-jwks':
        return send(res, 200, { keys: Object.keys(keys).map(jwkEntry) }, cors(req, { open: true }));
      case 'GET authorize': return authorize(req, res, url);
      case 'POST token': return token(req, res);
      case 'POST revoke': return revoke(req, res);
      case 'GET userinfo':
      case 'POST userinfo': return userinfo(req, res);
      default: return send(res, route === 'unknown' ? 404 : 405, 'not here\n', cors(req, { open: true }));
    }
  }

  server.on('request', (req, res) => {
    const url = new URL(req.url, issuer);
    const entry = {
      method: req.method,
      path: url.pathname,
      route: ROUTES[url.pathname] ?? 'unknown',
      query: url.search,
      origin: req.headers.origin,
      at: Date.now(),
      status: undefined,
    };
    requests.push(entry);
    res.on('finish', () => { entry.status = res.statusCode; });
    handle(req, res, entry).catch((err) => {
      console.error('misbehaving-op:', err);
      if (!res.headersSent) send(res, 500, { error: 'server_error' });
      else res.destroy();
    });
  });

  return {
    issuer,
    port,
    clientId,
    urls,
    keys,
    /** Every request, in arrival order: { method, path, route, query, origin, at, status }. */
    requests,
    /** Every successful token response: { accessToken, idToken, header, claims, scenario }. */
    issued,
    /** Every refresh_token grant, in arrival order: { presented, status, issued }. */
    refreshGrants,
    /** Every revocation request, in arrival order: { token, tokenTypeHint, clientId }. */
    revocations,
    /** The state of a refresh token the provider issued: 'active', 'spent', 'revoked' (or undefined). */
    refreshTokenState(token) { return refreshTokens.get(token)?.state; },
    /** The current scenario, defaults filled in. */
    get scenario() { return resolveScenario(); },
    /**
     * Replace the scenario (merged over DEFAULT_SCENARIO) and start afresh: clears the request
     * log, the issued tokens, pending codes, refresh tokens, grants and revocations, and the JWKS
     * counter. Returns the resolved scenario.
     */
    setScenario(next = {}) {
      const candidate = { ...DEFAULT_SCENARIO, ...next };
      resolveScenario(candidate); // throws on unknown alg/key names
      scenario = candidate;
      requests.length = 0;
      issued.length = 0;
      codes.clear();
      accessTokens.clear();
      refreshTokens.clear();
      refreshGrants.length = 0;
      revocations.length = 0;
      jwksSinceAuthorize = 0;
      return resolveScenario();
    },
    /** Number of logged requests for a route ('discovery', 'jwks', 'authorize', 'token', 'userinfo', ...), optionally one method. */
    count(route, method) {
      return requests.filter((r) => r.route === route && (!method || r.method === method)).length;
    },
    /** The logged requests after `entry` (an element of `requests`). */
    after(entry) {
      const i = requests.indexOf(entry);
      return i < 0 ? [] : requests.slice(i + 1);
    },
    /** The public JWK of a key, as the JWKS would publish it. */
    publicJwk(name) { return jwkEntry(name); },
    close: listening.close,
  };
}
