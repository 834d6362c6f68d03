// A real OpenID Provider for tests and the demo: oidc-provider v9 on 127.0.0.1.
//
//   import { startProvider } from './tests/op/provider.mjs';
//   const op = await startProvider({ redirectUris: ['http://127.0.0.1:8080/vanilla/'] });
//   op.issuer            // 'http://127.0.0.1:PORT' (exactly as discovery states it)
//   op.tokenRequests     // [{ grantType, status, error, origin, resource, scope, issued, at }] one per POST /token
//   op.pushedRequests    // [{ params, status, error, requestUri, dpop, at }] one per POST to the PAR endpoint
//   op.authorizationParams(url)  // the parameters an authorization URL stands for (pushed or not)
//   op.issuedTokens()    // { access, refresh, id: Set<string>, all() } every token handed out
//   await op.close();
//
// Resource indicators (RFC 8707), introspection (RFC 7662), faults (all optional):
//   const api = 'http://127.0.0.1:9999/';   // a resource indicator: absolute URL, no fragment, exact match
//   const op = await startProvider({ redirectUris, resources: { [api]: { scope: 'api:read api:write' } },
//                                    introspection: true, faults: true });
//   - the login asks for resource=<api> and scope 'openid offline_access api:read' (the dev consent
//     grants it; without resource=<api> the api scopes are silently dropped);
//   - the code exchange (no resource) → the usual opaque access token for userinfo, scope
//     'openid offline_access'; the refresh token carries the api grant;
//   - refresh_token grant + resource=<api> [+ scope=api:read] → an RS256 at+jwt access token,
//     aud = <api>, scope = the granted api scopes (narrowed by `scope`); the refresh token rotates;
//     an ID token comes too unless `scope` leaves out openid;
//   - quirk (oidc-provider 9): a refresh with a resource it refuses (unknown, not in the login, or
//     several) is invalid_target AFTER the refresh token was rotated: the old one is used up (its
//     reuse is invalid_grant and revokes the grant), and the error carries no new one.
//   op.introspectionClient  // { clientId: 'api', clientSecret } the resource server's credentials
//   await op.introspect(at) // POST /token/introspection as that client → { active, sub, scope, ... }
//   op.faults               // the fault proxy in front of the provider (tests/support/fault-proxy.mjs);
//   op.faults.set('/token', { status: 503 })  // op.issuer is the proxy's origin
//   await op.loginOverHttp({ scope, resource }) // code flow + PKCE from node (no browser) → { tokens }
//
// Standalone (for a person, or the demo):
//   node tests/op/provider.mjs --port 0 --redirect-uri http://127.0.0.1:8080/vanilla/ \
//        [--post-logout-redirect-uri URL] [--access-token-ttl SECONDS] [--verbose]
// prints one JSON line {"issuer":...,"port":...} on stdout, then serves until SIGINT/SIGTERM.
//
// Nothing is persisted: an in-memory store (one per startProvider), and fresh signing keys (RSA for
// RS256, EC P-256 for ES256) are generated on every start, so no private key ships in the repository.
//
// Signing (for the signature tests):
//   startProvider({ ..., idTokenSignedResponseAlg: 'ES256' })  // the client's id_token_signed_response_alg
//   startProvider({ ..., jwks: { keys: [generateSigningKey('rsa'), ...] } })  // own private keys
//   op.publicJwks()               // the JWKS the provider publishes now
//   await op.rotateKeys(jwks?)    // from now on sign with / publish only these keys (default: fresh
//                                 // generateJwks()); same issuer, port, clients, options, cookie keys,
//                                 // sessions, grants and refresh tokens

import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

import { startFaultProxy } from '../support/fault-proxy.mjs';
import { listenOnLoopback } from '../support/loopback.mjs';

export const CLIENT_ID = 'spa';
/** The confidential client a resource server introspects with (options.introspection). */
export const INTROSPECTION_CLIENT_ID = 'api';
export const SCOPES = ['openid', 'offline_access', 'profile', 'email'];

/** The claims the provider returns for a login name (devInteractions accepts any login/password). */
export function accountClaims(login) {
  const name = `${login.charAt(0).toUpperCase()}${login.slice(1)}`;
  return { sub: login, name, email: `${login}@example.test` };
}

let consoleFiltered = false;
/**
 * oidc-provider prints development WARNING/NOTICE lines (dev interactions, dev keys, "Unsupported
 * runtime" on Node 20, default logout page, ...). They are expected here; drop them unless
 * OIDC_PROVIDER_VERBOSE=1.
 */
function filterProviderNoise() {
  if (consoleFiltered || process.env.OIDC_PROVIDER_VERBOSE === '1') return;
  consoleFiltered = true;
  for (const level of ['info', 'warn']) {
    const original = console[level].bind(console);
    console[level] = (...args) => {
      if (typeof args[0] === 'string' && /oidc-provider (NOTICE|WARNING):/.test(args[0])) return;
      original(...args);
    };
  }
}

/**
 * A fresh private signing JWK with a random kid: 'rsa' (RS256, 2048 bits) or 'ec' (ES256, P-256).
 */
export function generateSigningKey(kind) {
  const kid = () => randomBytes(8).toString('hex');
  if (kind === 'rsa') {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
    return { ...rsa, kid: `rsa-${kid()}`, use: 'sig', alg: 'RS256' };
  }
  if (kind === 'ec') {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    return { ...ec, kid: `ec-${kid()}`, use: 'sig', alg: 'ES256' };
  }
  throw new TypeError(`generateSigningKey: unknown kind ${kind}`);
}

/** The default key set: one RSA key (RS256) and one EC P-256 key (ES256), fresh. */
export function generateJwks() {
  return { keys: [generateSigningKey('rsa'), generateSigningKey('ec')] };
}

/** The public part of a private JWK set, as a JWKS endpoint publishes it. */
export function publicJwksOf(jwks) {
  return {
    keys: jwks.keys.map(({
      d, p, q, dp, dq, qi, oth, ...pub
    }) => pub),
  };
}

/**
 * options.resources, checked: a Map resource URL → { scope, accessTokenTtl? }. A resource indicator
 * must be an absolute URI without a fragment (RFC 8707 2); it is matched exactly as written.
 */
function normalizeResources(resources) {
  const out = new Map();
  for (const [url, info] of Object.entries(resources ?? {})) {
    if (!URL.canParse(url) || url.includes('#')) {
      throw new TypeError(`startProvider: resource ${JSON.stringify(url)} must be an absolute URL without a fragment`);
    }
    if (typeof info?.scope !== 'string' || !info.scope.trim()) {
      throw new TypeError(`startProvider: resources[${JSON.stringify(url)}].scope must be a non-empty string`);
    }
    out.set(url, { scope: info.scope.trim().split(/\s+/).join(' '), accessTokenTtl: info.accessTokenTtl });
  }
  return out;
}

/** The models oidc-provider's memory adapter indexes by grantId (for revokeByGrantId). */
const GRANTABLE = new Set([
  'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode',
]);

/**
 * An in-memory oidc-provider adapter factory whose store outlives one oidc-provider instance:
 * oidc-provider 9's own memory adapter is per instance, so without this rotateKeys() (a new
 * instance) would forget every session, grant and refresh token. Same semantics as the built-in
 * one (lib/adapters/memory_adapter.js): payloads stored as given, expiry in seconds, consume()
 * stamps `consumed`, revokeByGrantId() removes the grant's tokens.
 */
function sharedMemoryAdapter() {
  const items = new Map(); // key → { value, expiresAt }
  const get = (key) => {
    const item = items.get(key);
    if (!item) return undefined;
    if (item.expiresAt <= Date.now()) {
      items.delete(key);
      return undefined;
    }
    return item.value;
  };
  const set = (key, value, expiresIn) => {
    items.set(key, { value, expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity });
  };
  return (model) => ({
    async upsert(id, payload, expiresIn) {
      set(`${model}:${id}`, payload, expiresIn);
      if (model === 'Session') set(`sessionUid:${payload.uid}`, id, expiresIn);
      if (payload.userCode) set(`userCode:${payload.userCode}`, id, expiresIn);
      if (GRANTABLE.has(model) && payload.grantId) {
        const members = get(`grant:${payload.grantId}`) ?? new Set();
        members.add(`${model}:${id}`);
        set(`grant:${payload.grantId}`, members);
      }
    },
    async find(id) { return get(`${model}:${id}`); },
    async findByUid(uid) {
      const id = get(`sessionUid:${uid}`);
      return id === undefined ? undefined : get(`${model}:${id}`);
    },
    async findByUserCode(userCode) {
      const id = get(`userCode:${userCode}`);
      return id === undefined ? undefined : get(`${model}:${id}`);
    },
    async consume(id) {
      const payload = get(`${model}:${id}`);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id) { items.delete(`${model}:${id}`); },
    async revokeByGrantId(grantId) {
      for (const key of get(`grant:${grantId}`) ?? []) items.delete(key);
      items.delete(`grant:${grantId}`);
    },
  });
}

/** Tiny cookie jar for loginOverHttp: name → value; any path, expired cookies dropped. */
function cookieJar() {
  const cookies = new Map();
  return {
    store(res) {
      for (const line of res.headers.getSetCookie()) {
        const [pair, ...attrs] = line.split(';');
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        const expired = attrs.some((a) => {
          const [k, v = ''] = a.split('=').map((x) => x.trim());
          if (/^max-age$/i.test(k)) return Number(v) <= 0;
          if (/^expires$/i.test(k)) return Date.parse(v) <= Date.now();
          return false;
        });
        if (expired || value === '') cookies.delete(name);
        else cookies.set(name, value);
      }
    },
    header() {
      return [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    },
  };
}

/**
 * Start oidc-provider on 127.0.0.1.
 *
 * @param {object} options
 * @param {string[]} options.redirectUris              registered redirect_uris of client "spa" (required)
 * @param {string[]} [options.postLogoutRedirectUris]  registered post_logout_redirect_uris (default: [])
 * @param {number}   [options.accessTokenTtl=600]      access token lifetime, seconds
 * @param {number}   [options.idTokenTtl=600]          ID token lifetime, seconds
 * @param {number}   [options.refreshTokenTtl=86400]   refresh token lifetime, seconds
 * @param {number}   [options.port=0]                  0 = any free port (with faults: the proxy's port)
 * @param {boolean}  [options.quiet=true]              hide oidc-provider's dev WARNING/NOTICE lines
 * @param {string}   [options.idTokenSignedResponseAlg] client "spa"'s id_token_signed_response_alg
 *                                                    (default: oidc-provider's, RS256)
 * @param {{keys: object[]}} [options.jwks]             private signing keys (default: generateJwks())
 * @param {Record<string, {scope: string, accessTokenTtl?: number}>} [options.resources]
 *        resource servers (RFC 8707), by resource indicator. Without it every `resource` parameter is
 *        answered invalid_target (oidc-provider 9 has resourceIndicators on, and knows no resource).
 *        With it: an authorization request may carry resource=<url> and that resource's scopes in
 *        `scope`, which the dev consent grants; the code exchange without `resource` still gives
 *        the usual opaque access token for userinfo (useGrantedResource: false, no defaultResource);
 *        a token request with resource=<url> gives a JWT access token for it (RS256, typ at+jwt,
 *        aud = the URL, scope = the granted scopes of that resource, optionally narrowed by `scope`).
 * @param {boolean}  [options.introspection=false]      enable the introspection endpoint (RFC 7662) and
 *        register the confidential client 'api' (client_secret_basic, no grants) that a resource
 *        server introspects with; it may introspect access tokens only (not refresh tokens).
 * @param {string}   [options.host='127.0.0.1']        the issuer's host name: 'localhost' makes it another
 *        site than an app on 127.0.0.1 (the server listens on 127.0.0.1 either way)
 * @param {boolean}  [options.crossSiteCookies=false]   session and interaction cookies SameSite=None;
 *        Secure (Chromium keeps Secure cookies of http://localhost), so a third-party iframe may carry
 *        them where the browser allows third-party cookies (the default Lax never goes cross-site)
 * @param {boolean|{requireNonce?: boolean}} [options.dpop]  DPoP (RFC 9449) as a test of it needs:
 *        features.dPoP with a nonceSecret (so that DPoP-Nonce is sent and exposed by CORS), nonces
 *        required when requireNonce, and rotateRefreshToken: true (the default never rotates the
 *        DPoP-bound refresh tokens of a public client). Without it oidc-provider 9's defaults
 *        (dPoP on, no nonces, its rotation rule) apply; `false` turns DPoP off (not advertised).
 * @param {boolean|{require?: boolean}} [options.par]  pushed authorization requests (RFC 9126): left
 *        out, oidc-provider 9's default (offered, not required); false: off (not advertised);
 *        { require: true }: required (require_pushed_authorization_requests).
 * @param {{interval?: number, slowDown?: number, ttl?: number}} [options.device]  the device
 *        authorization grant (RFC 8628, features.deviceFlow) for client "spa": `interval` (s) is
 *        added to the device authorization response (oidc-provider sends none: clients then
 *        poll every 5 s), the first `slowDown` polls are answered `slow_down`, `ttl` (s) is the
 *        device code's lifetime (default 600). Polls: op.devicePolls.
 * @param {boolean}  [options.coop=false]             Cross-Origin-Opener-Policy: same-origin on every
 *        response (the provider's pages sever a popup from its opener).
 * @param {boolean}  [options.faults=false]             put a fault proxy (tests/support/fault-proxy.mjs)
 *        in front: the proxy's origin is the issuer, op.faults controls it.
 */
export async function startProvider(options = {}) {
  const {
    redirectUris,
    postLogoutRedirectUris = [],
    accessTokenTtl = 600,
    idTokenTtl = 600,
    refreshTokenTtl = 86400,
    port: wantedPort = 0,
    quiet = true,
    idTokenSignedResponseAlg,
    jwks: initialJwks,
    resources: resourcesOption,
    introspection = false,
    faults = false,
    host = '127.0.0.1',
    crossSiteCookies = false,
    dpop,
    par,
    coop = false,
    device,
  } = options;
  if (!Array.isArray(redirectUris) || redirectUris.length === 0) {
    throw new TypeError('startProvider: redirectUris (non-empty array) is required');
  }
  const resources = normalizeResources(resourcesOption);
  if (quiet) filterProviderNoise();
  const { default: Provider, errors } = await import('oidc-provider');
  // koa's cookie jar (a dependency of oidc-provider's koa), for crossSiteCookies.
  const Cookies = crossSiteCookies ? (await import('cookies')).default : undefined;

  // Bind first: the issuer must carry the real port, and other processes may hold ports.
  const server = createServer();
  const { close: closeServer } = await listenOnLoopback(server, faults ? 0 : wantedPort);

  // With faults, the proxy is the only way in: it is the issuer (every URL oidc-provider builds
  // comes from the Host header, which the proxy passes through unchanged).
  let proxy;
  if (faults) {
    try {
      proxy = await startFaultProxy({ target: `http://127.0.0.1:${server.address().port}`, port: wantedPort });
    } catch (err) {
      await closeServer();
      throw err;
    }
  }
  const port = proxy ? proxy.port : server.address().port;
  const issuer = `http://${host}:${port}`;

  const tokenRequests = [];
  const pushedRequests = [];
  const devicePolls = [];
  const requests = [];
  const serverErrors = [];

  const cookieKeys = [randomBytes(32).toString('base64url')];
  const dpopNonceSecret = randomBytes(32);
  const adapter = sharedMemoryAdapter();
  let jwks = initialJwks ?? generateJwks();
  const introspectionClient = introspection
    ? { clientId: INTROSPECTION_CLIENT_ID, clientSecret: randomBytes(32).toString('base64url') }
    : undefined;

  // One oidc-provider instance for the current keys (rotateKeys() makes a new one).
  function createInstance() {
    const clients = [{
      client_id: CLIENT_ID,
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token', ...(device ? ['urn:ietf:params:oauth:grant-type:device_code'] : [])],
      response_types: ['code'],
      redirect_uris: redirectUris,
      post_logout_redirect_uris: postLogoutRedirectUris,
      ...(idTokenSignedResponseAlg ? { id_token_signed_response_alg: idTokenSignedResponseAlg } : {}),
    }];
    if (introspectionClient) {
      // A resource server: authenticates at the introspection endpoint, obtains no tokens itself.
      clients.push({
        client_id: introspectionClient.clientId,
        client_secret: introspectionClient.clientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [],
        response_types: [],
        redirect_uris: [],
      });
    }
    const provider = new Provider(issuer, {
      adapter,
      clients,
      pkce: { required: () => true },
      scopes: SCOPES,
      claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
      // Put the scope's claims (name, email) in the ID token too, as most hosted IdPs do: the client's
      // getUser() returns the ID token's claims. (The default, true, puts them only at userinfo.)
      conformIdTokenClaims: false,
      ...(dpop ? { rotateRefreshToken: true } : {}),
      features: {
        ...(dpop ? {
          dPoP: {
            enabled: true,
            nonceSecret: dpopNonceSecret,
            requireNonce: () => dpop.requireNonce === true,
          },
        } : {}),
        // (oidc-provider 9 has DPoP on by default; `dpop: false` turns it off.)
        ...(dpop === false ? { dPoP: { enabled: false } } : {}),
        ...(par === undefined ? {} : {
          pushedAuthorizationRequests: { enabled: par !== false, requirePushedAuthorizationRequests: par?.require === true },
        }),
        devInteractions: { enabled: true },
        ...(device ? { deviceFlow: { enabled: true } } : {}),
        revocation: { enabled: true },
        rpInitiatedLogout: { enabled: true },
        userinfo: { enabled: true },
        ...(introspectionClient ? {
          introspection: {
            enabled: true,
            // The resource server may look at access tokens (never refresh tokens); any client at
            // its own tokens, as oidc-provider's default allows.
            async allowedPolicy(ctx, client, token) {
              if (client.clientId === token.clientId) return true;
              return client.clientId === introspectionClient.clientId && token.kind === 'AccessToken';
            },
          },
        } : {}),
        // oidc-provider 9 has resource indicators on by default; without options.resources its
        // getResourceServerInfo knows no resource, so any `resource` parameter is invalid_target.
        ...(resources.size ? {
          resourceIndicators: {
            enabled: true,
            // oidc-provider's defaults, spelled out: no `resource` in a request → none is assumed
            // (several in a token request → invalid_target, one access token has one audience)...
            defaultResource: async (ctx, client, oneOf) => oneOf,
            // ... and a token request without `resource` does not fall back to the granted one, so
            // the code exchange gives the opaque access token userinfo accepts.
            useGrantedResource: async () => false,
            async getResourceServerInfo(ctx, resourceIndicator) {
              const info = resources.get(resourceIndicator);
              if (!info) throw new errors.InvalidTarget();
              return {
                scope: info.scope,
                audience: resourceIndicator,
                accessTokenFormat: 'jwt',
                ...(info.accessTokenTtl ? { accessTokenTTL: info.accessTokenTtl } : {}),
                jwt: { sign: { alg: 'RS256' } },
              };
            },
          },
        } : {}),
      },
      jwks: structuredClone(jwks),
      cookies: crossSiteCookies
        ? { keys: cookieKeys, long: { httpOnly: true, sameSite: 'none', secure: true }, short: { httpOnly: true, sameSite: 'none', secure: true } }
        : { keys: cookieKeys },
      ttl: {
        AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? accessTokenTtl,
        IdToken: idTokenTtl,
        RefreshToken: refreshTokenTtl,
        Grant: 86400,
        Session: 86400,
        Interaction: 600,
        AuthorizationCode: 60,
        ...(device ? { DeviceCode: device.ttl ?? 600 } : {}),
      },
      async findAccount(ctx, id) {
        return {
          accountId: id,
          async claims() { return accountClaims(id); },
        };
      },
    });

    // Secure cookies over plain http: the connection is loopback, which the browser trusts as secure.
    // (Every koa context the provider makes, including its own inner ones, reads cookies
    // through this prototype.)
    if (crossSiteCookies) {
      const own = Symbol('secure cookies');
      Object.defineProperty(provider.context, 'cookies', {
        configurable: true,
        get() { return (this[own] ??= new Cookies(this.req, this.res, { keys: this.app.keys, secure: true })); },
        set(cookies) { this[own] = cookies; },
      });
    }
    // The device grant's test levers: a shorter interval, and slow_down instead of the first
    // authorization_pending answers.
    if (device) {
      let slowDowns = device.slowDown ?? 0;
      provider.use(async (ctx, next) => {
        await next();
        if (ctx.oidc?.route === 'device_authorization' && ctx.status === 200 && device.interval) {
          ctx.body = { ...ctx.body, interval: device.interval };
        }
        if (ctx.oidc?.route === 'token' && ctx.oidc.params?.grant_type === 'urn:ietf:params:oauth:grant-type:device_code') {
          if (ctx.status === 400 && ctx.body?.error === 'authorization_pending' && slowDowns > 0) {
            slowDowns -= 1;
            ctx.body = { error: 'slow_down' };
          }
          devicePolls.push({ at: Date.now(), status: ctx.status, error: ctx.body?.error });
        }
      });
    }
    // Record every request (after it was handled, so the parsed form body and status are known).
    provider.use(async (ctx, next) => {
      await next();
      if (coop) ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
      const route = ctx.oidc?.route;
      const entry = { method: ctx.method, path: ctx.path, query: ctx.querystring, route, status: ctx.status, at: Date.now() };
      requests.push(entry);
      if (route === 'pushed_authorization_request' && ctx.method === 'POST') {
        const body = ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body) ? ctx.body : {};
        pushedRequests.push({
          params: { ...(ctx.oidc?.body ?? {}) },
          status: ctx.status,
          error: ctx.status >= 400 ? body.error : undefined,
          requestUri: body.request_uri,
          dpop: ctx.get('dpop') || undefined,
          at: entry.at,
        });
      }
      if (route === 'token' && ctx.method === 'POST') {
        const body = ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body) ? ctx.body : {};
        const form = ctx.oidc?.body ?? {};
        const issued = {};
        for (const key of ['access_token', 'refresh_token', 'id_token']) {
          if (typeof body[key] === 'string') issued[key] = body[key];
        }
        tokenRequests.push({
          grantType: form.grant_type,
          status: ctx.status,
          error: ctx.status >= 400 ? body.error : undefined,
          origin: ctx.get('origin') || undefined,
          resource: form.resource,
          scope: form.scope,
          issued,
          at: entry.at,
        });
      }
    });
    provider.on('server_error', (ctx, err) => {
      serverErrors.push(err);
      console.error('oidc-provider server_error:', err);
    });
    return provider;
  }

  let provider = createInstance();
  let callback = provider.callback();

  // Through a variable: rotateKeys() swaps the oidc-provider instance behind the same server.
  server.on('request', (req, res) => callback(req, res));

  const urls = {
    discovery: `${issuer}/.well-known/openid-configuration`,
    authorization: `${issuer}/auth`,
    token: `${issuer}/token`,
    userinfo: `${issuer}/me`,
    endSession: `${issuer}/session/end`,
    revocation: `${issuer}/token/revocation`,
    jwks: `${issuer}/jwks`,
    ...(introspectionClient ? { introspection: `${issuer}/token/introspection` } : {}),
  };

  let closed;
  return {
    issuer,
    port,
    clientId: CLIENT_ID,
    /** The current oidc-provider instance (a new one after rotateKeys()). */
    get provider() { return provider; },
    /**
     * POSTs to the token endpoint, in order: { grantType, status, error, origin, resource, scope,
     * issued, at }. issued = { access_token?, refresh_token?, id_token? } from the response; origin =
     * the request's Origin header (a browser/worker request carries the page origin; node's fetch
     * none); resource / scope = those form parameters as sent (resource: a string, an array when
     * repeated, or undefined).
     */
    tokenRequests,
    /**
     * POSTs to the pushed authorization request endpoint (RFC 9126), in order: { params (the form
     * parameters), status, error, requestUri (of a 201), dpop (the DPoP header, if any), at }.
     */
    pushedRequests,
    /** With options.device: the token requests of device logins, in order: { at, status, error }. */
    devicePolls,
    /**
     * The parameters an authorization request URL stands for: its own query, or, when it carries
     * a request_uri (RFC 9126 §4), the parameters pushed for it (with client_id and request_uri).
     * A URLSearchParams.
     */
    authorizationParams(url) {
      const query = new URL(url).searchParams;
      const requestUri = query.get('request_uri');
      if (!requestUri) return query;
      const pushed = pushedRequests.find((r) => r.requestUri === requestUri);
      if (!pushed) throw new Error(`no pushed request for ${requestUri}`);
      return new URLSearchParams({ ...pushed.params, ...Object.fromEntries(query) });
    },
    /** Every request the provider handled: { method, path, query, route, status, at }. */
    requests,
    /** Errors the provider reported as server_error (should stay empty). */
    serverErrors,
    /**
     * Every token the token endpoint handed out so far (test-only provider: the tests search the
     * browser's storage for them): { access: Set, refresh: Set, id: Set, all(): string[] }.
     */
    issuedTokens() {
      const out = { access: new Set(), refresh: new Set(), id: new Set() };
      for (const { issued } of tokenRequests) {
        if (issued.access_token) out.access.add(issued.access_token);
        if (issued.refresh_token) out.refresh.add(issued.refresh_token);
        if (issued.id_token) out.id.add(issued.id_token);
      }
      out.all = () => [...out.access, ...out.refresh, ...out.id];
      return out;
    },
    /** Number of token requests, optionally only those of one grant_type. */
    tokenRequestCount(grantType) {
      return grantType ? tokenRequests.filter((r) => r.grantType === grantType).length : tokenRequests.length;
    },
    urls,
    /** With options.introspection: the resource server's client { clientId: 'api', clientSecret }. */
    introspectionClient,
    /**
     * With options.introspection: introspect `token` as the 'api' client (RFC 7662, HTTP Basic) and
     * return the parsed JSON: { active: true, sub, scope, client_id, exp, iat, iss, token_type, ... }
     * or { active: false }. JWT access tokens are not introspectable (oidc-provider answers 400
     * unsupported_token_type; that JSON is returned as is).
     */
    async introspect(token) {
      if (!introspectionClient) throw new Error('op.introspect: start the provider with { introspection: true }');
      const { clientId, clientSecret } = introspectionClient;
      const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
      const res = await fetch(urls.introspection, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token }),
      });
      return res.json();
    },
    /** With options.faults: the fault proxy in front of the provider (see fault-proxy.mjs). */
    faults: proxy,
    /**
     * The authorization code flow with PKCE for client 'spa', driven from node over plain HTTP
     * through the real devInteractions forms (login, consent) with a cookie jar, then the code
     * exchange (with an Origin header, as a browser would send). For tests that need genuine SPA
     * tokens without a browser. Each call is a fresh user agent (no provider session).
     * Options: login ('alice'), scope ('openid offline_access'), resource (string | string[]),
     * prompt ('consent'; null for none), redirectUri (the first registered), origin (the redirect
     * URI's), tokenResource (resource parameter of the code exchange; default none).
     * Returns { tokens (the token response JSON), steps (['login', 'consent']), code, state, nonce,
     * verifier }; throws on an error callback or a non-200 token response.
     */
    async loginOverHttp({
      login = 'alice', scope = 'openid offline_access', resource, prompt = 'consent',
      redirectUri = redirectUris[0], origin, tokenResource,
    } = {}) {
      const b64u = (buf) => Buffer.from(buf).toString('base64url');
      const verifier = b64u(randomBytes(32));
      const state = b64u(randomBytes(16));
      const nonce = b64u(randomBytes(16));
      const auth = new URL(urls.authorization);
      const params = {
        client_id: CLIENT_ID, response_type: 'code', redirect_uri: redirectUri, scope, state, nonce,
        code_challenge: b64u(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256',
        ...(prompt ? { prompt } : {}),
      };
      for (const [k, v] of Object.entries(params)) auth.searchParams.set(k, v);
      for (const r of [resource ?? []].flat()) auth.searchParams.append('resource', r);

      const jar = cookieJar();
      const steps = [];
      const isCallback = (u) => { const x = new URL(u); return `${x.origin}${x.pathname}` === redirectUri; };
      let next = auth.href;
      let form;
      for (let hop = 0; !isCallback(next); hop += 1) {
        if (hop > 20) throw new Error('loginOverHttp: too many redirects');
        const res = await fetch(next, {
          method: form ? 'POST' : 'GET',
          redirect: 'manual',
          headers: {
            cookie: jar.header(),
            ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          },
          body: form,
        });
        jar.store(res);
        const text = await res.text();
        form = undefined;
        if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
          next = new URL(res.headers.get('location'), next).href;
          continue;
        }
        const promptName = /<input type="hidden" name="prompt" value="([a-z]+)"/.exec(text)?.[1];
        const action = /<form[^>]* action="([^"]+)"/.exec(text)?.[1];
        if (res.status !== 200 || !promptName || !action) {
          throw new Error(`loginOverHttp: unexpected ${res.status} at ${next}: ${text.replace(/\s+/g, ' ').slice(0, 400)}`);
        }
        steps.push(promptName);
        form = new URLSearchParams(promptName === 'login' ? { prompt: 'login', login, password: 'any' } : { prompt: promptName });
        next = new URL(action.replaceAll('&amp;', '&'), next).href;
      }
      const cb = new URL(next).searchParams;
      if (cb.get('error')) throw new Error(`loginOverHttp: ${cb.get('error')}: ${cb.get('error_description')}`);
      if (cb.get('state') !== state) throw new Error('loginOverHttp: state mismatch');
      const code = cb.get('code');
      const body = new URLSearchParams({
        client_id: CLIENT_ID, grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier,
      });
      for (const r of [tokenResource ?? []].flat()) body.append('resource', r);
      const res = await fetch(urls.token, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: origin ?? new URL(redirectUri).origin },
        body,
      });
      const tokens = await res.json();
      if (res.status !== 200) throw new Error(`loginOverHttp: token endpoint ${res.status}: ${JSON.stringify(tokens)}`);
      return {
        tokens, steps, code, state, nonce, verifier,
      };
    },
    /** The JWKS the provider publishes now (public keys). */
    publicJwks() {
      return publicJwksOf(jwks);
    },
    /**
     * Key rotation: from now on the provider signs with, and publishes only, `nextJwks` (private
     * JWKs; default: a fresh generateJwks()). The issuer, port, clients (incl. the introspection
     * client and its secret), resources, cookie keys and the in-memory store (sessions, grants,
     * refresh tokens: sharedMemoryAdapter) stay; only the oidc-provider instance behind the server
     * is replaced. Returns the new public JWKS.
     */
    async rotateKeys(nextJwks = generateJwks()) {
      jwks = nextJwks;
      provider = createInstance();
      callback = provider.callback();
      return publicJwksOf(jwks);
    },
    /** Stop the provider (and the fault proxy), destroying every open connection. */
    close() {
      closed ??= Promise.all([closeServer(), proxy?.close()]).then(() => undefined);
      return closed;
    },
  };
}

function parseArgs(argv) {
  const out = { redirectUris: [], postLogoutRedirectUris: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      const v = argv[i + 1];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      i += 1;
      return v;
    };
    switch (arg) {
      case '--port': out.port = Number(value()); break;
      case '--redirect-uri': out.redirectUris.push(value()); break;
      case '--post-logout-redirect-uri': out.postLogoutRedirectUris.push(value()); break;
      case '--access-token-ttl': out.accessTokenTtl = Number(value()); break;
      case '--verbose': out.quiet = false; break;
      case '-h': case '--help':
        console.log('usage: node tests/op/provider.mjs [--port N] --redirect-uri URL... '
          + '[--post-logout-redirect-uri URL...] [--access-token-ttl S] [--verbose]');
        process.exit(0);
        break;
      default: throw new Error(`unknown argument ${arg}`);
    }
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = parseArgs(process.argv.slice(2));
  const op = await startProvider(args);
  console.log(JSON.stringify({ issuer: op.issuer, port: op.port, clientId: op.clientId }));
  const stop = async () => { await op.close(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
