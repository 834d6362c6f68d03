// A small protected resource server (RFC 6750 bearer tokens) for the auth.fetch tests: node:http
// only, 127.0.0.1, a free port, CORS for the app's origin. It accepts the SPA's opaque access tokens
// by asking the provider's introspection endpoint (RFC 7662), and JWT access tokens for a resource
// indicator (RFC 8707/9068) by verifying them itself (RS256 against the provider's JWKS).
//
//   import { startProvider } from '../op/provider.mjs';
//   import { startApiServer } from './api-server.mjs';
//   const api = await startApiServer({
//     allowOrigin: web.origin,                     // the app's origin
//     introspect: (token) => op.introspect(token), // opaque tokens (startProvider({ introspection: true }))
//     jwks: () => op.publicJwks(), issuer: () => op.issuer,  // JWT access tokens, aud = api.resource
//   });
//   op = await startProvider({ ..., introspection: true, resources: { [api.resource]: { scope: 'api:read' } } });
//   api.origin            // 'http://127.0.0.1:PORT'
//   api.resource          // the resource indicator JWTs must be for: options.audience, or `${origin}/`
//   api.requests          // [{ id, method, path, authorization, contentType, bodyBytes, at, status,
//                         //    via?, sub?, aborted? }] every request, OPTIONS included
//   api.rejectNext(1)     // the next request that carries a token gets 401 error="invalid_token"
//   api.rejectToken(at)   // every request with exactly this token: 401 invalid_token ("revoked")
//   startApiServer({ ..., dpop: true })  // RFC 9449 instead of 6750: `Authorization: DPoP <token>`
//                         // plus a `DPoP` proof (verifyDpopProof: signature with its jwk, htm, htu,
//                         // iat window, jti replay, ath), the token active at introspection with
//                         // cnf.jkt = the proof key's thumbprint; challenges are `DPoP algs="ES256"`;
//                         // entries get dpop { jkt, jti, ath, nonce } / dpopError, and dpopProof
//   api.demandNonce()     // (dpop) proofs must carry this nonce from now on (use_dpop_nonce + DPoP-Nonce)
//   await api.close();
//
// Routes (every response: Access-Control-Allow-Origin, Access-Control-Expose-Headers, X-Request-Id;
// "auth" = a valid bearer token in the Authorization header, else 401 with WWW-Authenticate):
//   OPTIONS *            204 preflight: methods GET, POST, PUT, PATCH, DELETE; headers Authorization,
//                        Content-Type, X-Test; Access-Control-Max-Age: 0 (every request preflights)
//   GET  /public         200 { public: true }, no auth
//   GET  /me             auth → 200 { sub, scope, aud?, client_id, via: 'introspection' | 'jwt' }
//   POST|PUT /echo       auth → 200, the request body byte for byte with the request's Content-Type;
//                        X-Api-Seen: <byte length>
//   GET  /slow?ms=N      auth → waits N ms (≤ 60000), then 200 { ok: true }; a client that aborts
//                        meanwhile leaves `aborted: true` on its entry
//   GET  /status/:code   auth → that status with { status } (204, 304: no body)
//   GET  /bytes?n=N      auth → 200, N bytes (≤ 64 MiB) of application/octet-stream, with Content-Length;
//                        &chunked=1: without it, in chunks of at most 64 KiB
// Auth failures (RFC 6750 3): no Authorization header (or another scheme) → 401
// `WWW-Authenticate: Bearer realm="api"` (no error); a token that is not valid → 401
// `Bearer realm="api", error="invalid_token", error_description="..."`; a malformed Bearer header
// → 400 error="invalid_request". Tokens in the query or body are not looked at (RFC 6750 2.2/2.3 are
// optional, and an SPA must not use them).
//
// Introspection is not cached: every request asks again, so a token revoked at the provider stops
// working at once.

import { createHash, createPublicKey, randomBytes, verify as cryptoVerify } from 'node:crypto';
import { createServer } from 'node:http';
import { listenOnLoopback } from './loopback.mjs';

const ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE';
const ALLOW_HEADERS = 'Authorization, Content-Type, X-Test, DPoP';
const EXPOSE_HEADERS = 'X-Api-Seen, WWW-Authenticate, X-Request-Id, DPoP-Nonce';
/** RFC 9449 7.1: `DPoP <token68>`. */
const DPOP_AUTH = /^DPoP +([A-Za-z0-9\-._~+/]+=*) *$/i;
/** The iat window a DPoP proof must fall in (seconds either side of now). */
const DPOP_IAT_WINDOW = 60;
const REALM = 'api';
/** RFC 6750 2.1: b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const MAX_SLOW_MS = 60_000;
const MAX_BYTES = 64 * 1024 * 1024;

/** A quoted-string-safe error_description (RFC 6750 3: %x20-21 / %x23-5B / %x5D-7E). */
function quoteSafe(text) {
  return String(text).replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, ' ').slice(0, 200);
}

/** RFC 7638 thumbprint of an EC P-256 public JWK. */
export function ecThumbprint(jwk) {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * Verify a DPoP proof (RFC 9449 4.3) for a request presenting `token`: compact JWS, typ dpop+jwt,
 * alg ES256, a public EC P-256 jwk in the header and the signature made with it, htm = the method,
 * htu = the URL without query and fragment, iat within DPOP_IAT_WINDOW of now, a jti never seen
 * (`seen`: a Set this server keeps), ath = base64url(SHA-256(token)). Returns { jkt, jti, claims }
 * or throws an Error whose message is the error_description.
 */
export function verifyDpopProof(proof, { method, htu, token, seen }) {
  const parts = String(proof).split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) throw new Error('malformed DPoP proof');
  let header;
  let claims;
  try {
    header = b64uJson(parts[0]);
    claims = b64uJson(parts[1]);
  } catch {
    throw new Error('malformed DPoP proof');
  }
  if (header.typ !== 'dpop+jwt') throw new Error('typ is not dpop+jwt');
  if (header.alg !== 'ES256') throw new Error(`unexpected alg ${header.alg}`);
  const { jwk } = header;
  if (!jwk || jwk.kty !== 'EC' || jwk.crv !== 'P-256' || 'd' in jwk) throw new Error('jwk is not a public P-256 key');
  const valid = cryptoVerify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`),
    { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2], 'base64url'));
  if (!valid) throw new Error('DPoP proof signature verification failed');
  if (claims.htm !== method) throw new Error(`htm ${claims.htm} is not ${method}`);
  if (claims.htu !== htu) throw new Error(`htu ${claims.htu} is not ${htu}`);
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.iat !== 'number' || Math.abs(claims.iat - now) > DPOP_IAT_WINDOW) throw new Error('iat out of window');
  if (typeof claims.jti !== 'string' || claims.jti.length < 12) throw new Error('no jti');
  if (seen.has(claims.jti)) throw new Error('DPoP proof replayed (jti seen)');
  seen.add(claims.jti);
  const ath = createHash('sha256').update(token).digest('base64url');
  if (claims.ath !== ath) throw new Error('ath does not match the access token');
  return { jkt: ecThumbprint(jwk), jti: claims.jti, claims };
}

function b64uJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/**
 * Verify a JWT access token (RFC 9068): three base64url parts, alg RS256, typ at+jwt, signed by a
 * key of the current JWKS (by kid when the header names one), iss, aud (string or array), exp
 * (and nbf, when present) checked against now. Returns { sub, scope, aud, client_id } or throws an
 * Error whose message is the error_description.
 */
async function verifyJwt(token, { jwks, issuer, audience }) {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) throw new Error('malformed JWT');
  let header;
  let payload;
  try {
    header = b64uJson(parts[0]);
    payload = b64uJson(parts[1]);
  } catch {
    throw new Error('malformed JWT');
  }
  if (header.alg !== 'RS256') throw new Error(`unexpected alg ${header.alg}`);
  if (!/^(application\/)?at\+jwt$/i.test(header.typ ?? '')) throw new Error('not an access token (typ is not at+jwt)');
  const { keys = [] } = await jwks();
  const candidates = keys.filter((k) => k.kty === 'RSA'
    && (k.use === undefined || k.use === 'sig')
    && (k.alg === undefined || k.alg === 'RS256')
    && (header.kid === undefined || k.kid === header.kid));
  const data = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2], 'base64url');
  const valid = candidates.some((jwk) => {
    try {
      return cryptoVerify('sha256', data, createPublicKey({ key: jwk, format: 'jwk' }), signature);
    } catch {
      return false;
    }
  });
  if (!valid) throw new Error('signature verification failed');
  const now = Math.floor(Date.now() / 1000);
  if (payload.iss !== issuer) throw new Error('unexpected iss');
  const aud = [payload.aud].flat();
  if (!aud.includes(audience)) throw new Error('unexpected aud');
  if (typeof payload.exp !== 'number' || payload.exp <= now) throw new Error('token expired');
  if (typeof payload.nbf === 'number' && payload.nbf > now) throw new Error('token not yet valid');
  if (typeof payload.sub !== 'string') throw new Error('no sub');
  return {
    sub: payload.sub, scope: payload.scope, aud: payload.aud, client_id: payload.client_id,
  };
}

/**
 * @param {object} options
 * @param {string|string[]} options.allowOrigin  Access-Control-Allow-Origin: an origin (or '*'); with
 *        a list, the request's Origin is echoed when it is listed (else the header is left out).
 * @param {(token: string) => Promise<object>} [options.introspect]  RFC 7662 introspection of an
 *        opaque token (e.g. op.introspect); a token is valid when it answers { active: true }.
 * @param {() => ({keys: object[]} | Promise<{keys: object[]}>)} [options.jwks]  the provider's public
 *        JWKS now (e.g. () => op.publicJwks()), for JWT access tokens; needs issuer and audience.
 * @param {string|(() => string)} [options.issuer]  the `iss` JWT access tokens must carry (a function:
 *        asked per request, so the server can start before the provider)
 * @param {string} [options.audience]  the resource indicator JWT access tokens must have in `aud`
 *        (default: this server's origin + '/')
 * @param {number} [options.port=0]
 */
export async function startApiServer(options = {}) {
  const {
    allowOrigin, introspect, jwks, issuer, audience, port: wantedPort = 0, dpop = false,
  } = options;
  // DPoP (RFC 9449): the jtis seen, and the nonce demanded (demandNonce()).
  const seenJtis = new Set();
  let dpopNonce;
  if (!allowOrigin) throw new TypeError('startApiServer: allowOrigin is required');
  if (jwks && !issuer) throw new TypeError('startApiServer: jwks needs issuer');

  const requests = [];
  let resource;
  const revoked = new Set();
  let rejectCount = 0;
  let nextId = 1;
  const idPrefix = randomBytes(3).toString('hex');

  function corsHeaders(req) {
    if (Array.isArray(allowOrigin)) {
      const origin = req.headers.origin;
      return allowOrigin.includes(origin)
        ? { 'Access-Control-Allow-Origin': origin, Vary: 'Origin', 'Access-Control-Expose-Headers': EXPOSE_HEADERS }
        : { Vary: 'Origin' };
    }
    return { 'Access-Control-Allow-Origin': allowOrigin, 'Access-Control-Expose-Headers': EXPOSE_HEADERS };
  }

  function send(req, res, status, body, headers = {}) {
    const noBody = status === 204 || status === 304 || body === undefined;
    const bytes = noBody ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    res.writeHead(status, {
      ...corsHeaders(req),
      'Cache-Control': 'no-store',
      ...(bytes && !Buffer.isBuffer(body) ? { 'Content-Type': 'application/json' } : {}),
      ...(bytes ? { 'Content-Length': bytes.length } : {}),
      ...headers,
    });
    res.end(bytes);
  }

  function challenge(req, res, status, error, description) {
    const params = [`realm="${REALM}"`];
    if (error) params.push(`error="${error}"`);
    if (description) params.push(`error_description="${quoteSafe(description)}"`);
    if (dpop) params.unshift('algs="ES256"');
    send(req, res, status, error ? { error, error_description: description } : { error: 'unauthorized' }, {
      'WWW-Authenticate': `${dpop ? 'DPoP' : 'Bearer'} ${params.join(', ')}`,
      ...(dpop && dpopNonce ? { 'DPoP-Nonce': dpopNonce } : {}),
    });
  }

  /** Is `token` valid? → { sub, scope, aud, client_id, via } or { error: description }. */
  async function validate(token) {
    const looksLikeJwt = token.split('.').length === 3;
    if (looksLikeJwt && jwks) {
      try {
        const iss = typeof issuer === 'function' ? issuer() : issuer;
        return { ...await verifyJwt(token, { jwks, issuer: iss, audience: resource }), via: 'jwt' };
      } catch (err) {
        return { error: err.message };
      }
    }
    if (!looksLikeJwt && introspect) {
      const info = await introspect(token);
      if (info?.active !== true) return { error: 'token is not active' };
      return {
        sub: info.sub, scope: info.scope, aud: info.aud, client_id: info.client_id, via: 'introspection',
      };
    }
    return { error: looksLikeJwt ? 'JWT access tokens are not accepted here' : 'opaque access tokens are not accepted here' };
  }

  /**
   * RFC 9449 7.1 checks: `Authorization: DPoP <token>`, one valid proof for this request (with the
   * nonce demanded, if any), a token the provider says is active and bound to the proof's key
   * (introspection's cnf.jkt). Answers and returns undefined when the request may not proceed.
   */
  async function authenticateDpop(req, res, entry) {
    const match = DPOP_AUTH.exec(req.headers.authorization ?? '');
    const proof = req.headers.dpop;
    if (!match) {
      challenge(req, res, 401);
      return undefined;
    }
    const token = match[1];
    const url = new URL(req.url, `http://${req.headers.host}`);
    let verified;
    try {
      if (typeof proof !== 'string') throw new Error('no DPoP proof');
      verified = verifyDpopProof(proof, {
        method: req.method, htu: `${url.origin}${url.pathname}`, token, seen: seenJtis,
      });
    } catch (err) {
      entry.dpopError = err.message;
      challenge(req, res, 401, 'invalid_dpop_proof', err.message);
      return undefined;
    }
    entry.dpop = { jkt: verified.jkt, jti: verified.jti, ath: verified.claims.ath, nonce: verified.claims.nonce };
    if (dpopNonce && verified.claims.nonce !== dpopNonce) {
      entry.dpopError = 'nonce required';
      challenge(req, res, 401, 'use_dpop_nonce', 'Resource server requires nonce in DPoP proof');
      return undefined;
    }
    const info = introspect ? await introspect(token) : undefined;
    if (info?.active !== true) {
      challenge(req, res, 401, 'invalid_token', 'token is not active');
      return undefined;
    }
    if (info.cnf?.jkt !== verified.jkt) {
      challenge(req, res, 401, 'invalid_token', 'token is not bound to the proof\'s key');
      return undefined;
    }
    entry.via = 'introspection';
    entry.sub = info.sub;
    return {
      sub: info.sub, scope: info.scope, aud: info.aud, client_id: info.client_id, via: 'introspection', jkt: info.cnf.jkt,
    };
  }

  /** RFC 6750 checks; answers and returns undefined when the request may not proceed. */
  async function authenticate(req, res, entry) {
    if (dpop) return authenticateDpop(req, res, entry);
    const header = req.headers.authorization;
    if (!header || !/^bearer(\s|$)/i.test(header)) {
      challenge(req, res, 401);
      return undefined;
    }
    const match = BEARER.exec(header);
    if (!match) {
      challenge(req, res, 400, 'invalid_request', 'malformed Bearer Authorization header');
      return undefined;
    }
    const token = match[1];
    if (revoked.has(token)) {
      challenge(req, res, 401, 'invalid_token', 'token revoked');
      return undefined;
    }
    if (rejectCount > 0) {
      rejectCount -= 1;
      entry.rejectedByRejectNext = true;
      challenge(req, res, 401, 'invalid_token', 'rejected by rejectNext()');
      return undefined;
    }
    const result = await validate(token);
    if (result.error) {
      challenge(req, res, 401, 'invalid_token', result.error);
      return undefined;
    }
    entry.via = result.via;
    entry.sub = result.sub;
    return result;
  }

  async function handle(req, res, entry) {
    const url = new URL(req.url, 'http://127.0.0.1');
    const { pathname } = url;

    if (req.method === 'OPTIONS') {
      return send(req, res, 204, undefined, {
        'Access-Control-Allow-Methods': ALLOW_METHODS,
        'Access-Control-Allow-Headers': ALLOW_HEADERS,
        'Access-Control-Max-Age': '0',
      });
    }

    const statusRoute = /^\/status\/(\d{3})$/.exec(pathname);
    const routes = {
      '/public': ['GET'], '/me': ['GET'], '/echo': ['POST', 'PUT'], '/slow': ['GET'], '/bytes': ['GET'],
    };
    const methods = statusRoute ? ['GET'] : routes[pathname];
    if (!methods) return send(req, res, 404, { error: 'not_found' });
    if (!methods.includes(req.method)) return send(req, res, 405, { error: 'method_not_allowed' }, { Allow: methods.join(', ') });

    if (pathname === '/public') return send(req, res, 200, { public: true });

    const auth = await authenticate(req, res, entry);
    if (!auth) return undefined;

    if (pathname === '/me') {
      return send(req, res, 200, {
        sub: auth.sub, scope: auth.scope, aud: auth.aud, client_id: auth.client_id, via: auth.via, jkt: auth.jkt,
      });
    }
    if (pathname === '/echo') {
      return send(req, res, 200, entry.bodyBytes, {
        ...(req.headers['content-type'] ? { 'Content-Type': req.headers['content-type'] } : {}),
        'X-Api-Seen': String(entry.bodyBytes.length),
      });
    }
    if (pathname === '/slow') {
      const ms = Number(url.searchParams.get('ms') ?? 0);
      if (!Number.isInteger(ms) || ms < 0 || ms > MAX_SLOW_MS) return send(req, res, 400, { error: 'bad ms' });
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        res.once('close', () => { clearTimeout(timer); resolve(); });
      });
      if (res.destroyed) return undefined;
      return send(req, res, 200, { ok: true });
    }
    if (pathname === '/bytes') {
      const n = Number(url.searchParams.get('n') ?? 0);
      if (!Number.isInteger(n) || n < 0 || n > MAX_BYTES) return send(req, res, 400, { error: 'bad n' });
      if (url.searchParams.get('chunked') !== '1') {
        return send(req, res, 200, Buffer.alloc(n, 0x61), { 'Content-Type': 'application/octet-stream' });
      }
      res.writeHead(200, { ...corsHeaders(req), 'Cache-Control': 'no-store', 'Content-Type': 'application/octet-stream' });
      for (let left = n; left > 0 && !res.destroyed; left -= 65536) res.write(Buffer.alloc(Math.min(left, 65536), 0x61));
      return res.end();
    }
    const status = Number(statusRoute[1]);
    if (status < 200 || status > 599) return send(req, res, 400, { error: 'status must be 200-599' });
    return send(req, res, status, { status });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const entry = {
      id: `${idPrefix}-${nextId}`,
      method: req.method,
      path: url.pathname,
      url: req.url,
      origin: req.headers.origin ?? null,
      authorization: req.headers.authorization ?? null,
      dpopProof: req.headers.dpop ?? null,
      contentType: req.headers['content-type'] ?? null,
      bodyBytes: Buffer.alloc(0),
      at: Date.now(),
      status: undefined,
    };
    nextId += 1;
    requests.push(entry);
    res.setHeader('X-Request-Id', entry.id);
    res.on('close', () => {
      if (res.writableFinished) entry.status = res.statusCode;
      else entry.aborted = true;
    });
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('error', () => {});
    req.on('end', () => {
      entry.bodyBytes = Buffer.concat(chunks);
      handle(req, res, entry).catch((err) => {
        console.error('api-server:', err);
        if (!res.headersSent) send(req, res, 500, { error: 'server_error' });
        else res.destroy();
      });
    });
  });

  server.on('clientError', (err, socket) => socket.destroy());
  const { origin, port, close } = await listenOnLoopback(server, wantedPort);
  resource = audience ?? `${origin}/`;

  return {
    origin,
    port,
    /** The resource indicator (RFC 8707) this server is: the `aud` its JWT access tokens must have. */
    resource,
    /**
     * Every request, in arrival order: { id (= the X-Request-Id answered), method, path, url,
     * origin, authorization (the raw header or null), contentType, bodyBytes (Buffer), at, status
     * (once answered), via / sub (when a token was accepted), rejectedByRejectNext?, aborted? }.
     */
    requests,
    /** The next `n` requests that carry a Bearer token get 401 invalid_token, whatever the token. */
    rejectNext(n = 1) {
      rejectCount += n;
    },
    /**
     * With dpop: from now on a proof must carry `nonce` (a fresh one by default), else 401
     * `DPoP error="use_dpop_nonce"` with `DPoP-Nonce: <nonce>` (RFC 9449 9). Returns the nonce.
     */
    demandNonce(nonce = randomBytes(16).toString('base64url')) {
      dpopNonce = nonce;
      return nonce;
    },
    /** From now on every request bearing exactly `token` gets 401 invalid_token ("token revoked"). */
    rejectToken(token) {
      revoked.add(token);
    },
    /** Stop listening and destroy every open connection. */
    close,
  };
}
