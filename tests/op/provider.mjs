// A real OpenID Provider for tests and the demo: oidc-provider v9 on 127.0.0.1.
//
//   import { startProvider } from './tests/op/provider.mjs';
//   const op = await startProvider({ redirectUris: ['http://127.0.0.1:8080/vanilla/'] });
//   op.issuer            // 'http://127.0.0.1:PORT' (exactly as discovery states it)
//   op.tokenRequests     // [{ grantType, status, error, origin, issued, at }] one per POST /token
//   op.issuedTokens()    // { access, refresh, id: Set<string>, all() } every token handed out
//   await op.close();
//
// Standalone (for a person, or the demo):
//   node tests/op/provider.mjs --port 0 --redirect-uri http://127.0.0.1:8080/vanilla/ \
//        [--post-logout-redirect-uri URL] [--access-token-ttl SECONDS] [--verbose]
// prints one JSON line {"issuer":...,"port":...} on stdout, then serves until SIGINT/SIGTERM.
//
// Nothing is persisted: in-memory adapter, and fresh signing keys (RSA for RS256, EC P-256
// for ES256) are generated on every start, so no private key ships in the repository.
//
// Signing (for the signature tests):
//   startProvider({ ..., idTokenSignedResponseAlg: 'ES256' })  // the client's id_token_signed_response_alg
//   startProvider({ ..., jwks: { keys: [generateSigningKey('rsa'), ...] } })  // own private keys
//   op.publicJwks()               // the JWKS the provider publishes now
//   await op.rotateKeys(jwks?)    // from now on sign with / publish only these keys (default: fresh
//                                 // generateJwks()); same issuer, port, clients and cookie keys

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

export const CLIENT_ID = 'spa';
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
 * Start oidc-provider on 127.0.0.1.
 *
 * @param {object} options
 * @param {string[]} options.redirectUris              registered redirect_uris of client "spa" (required)
 * @param {string[]} [options.postLogoutRedirectUris]  registered post_logout_redirect_uris (default: [])
 * @param {number}   [options.accessTokenTtl=600]      access token lifetime, seconds
 * @param {number}   [options.idTokenTtl=600]          ID token lifetime, seconds
 * @param {number}   [options.refreshTokenTtl=86400]   refresh token lifetime, seconds
 * @param {number}   [options.port=0]                  0 = any free port
 * @param {boolean}  [options.quiet=true]              hide oidc-provider's dev WARNING/NOTICE lines
 * @param {string}   [options.idTokenSignedResponseAlg] client "spa"'s id_token_signed_response_alg
 *                                                    (default: oidc-provider's, RS256)
 * @param {{keys: object[]}} [options.jwks]             private signing keys (default: generateJwks())
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
  } = options;
  if (!Array.isArray(redirectUris) || redirectUris.length === 0) {
    throw new TypeError('startProvider: redirectUris (non-empty array) is required');
  }
  if (quiet) filterProviderNoise();
  const { default: Provider } = await import('oidc-provider');

  // Bind first: the issuer must carry the real port, and other processes may hold ports.
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(wantedPort, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const tokenRequests = [];
  const requests = [];
  const serverErrors = [];

  const cookieKeys = [randomBytes(32).toString('base64url')];
  let jwks = initialJwks ?? generateJwks();

  // One oidc-provider instance for the current keys (rotateKeys() makes a new one).
  function createInstance() {
    const provider = new Provider(issuer, {
      clients: [{
        client_id: CLIENT_ID,
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: redirectUris,
        post_logout_redirect_uris: postLogoutRedirectUris,
        ...(idTokenSignedResponseAlg ? { id_token_signed_response_alg: idTokenSignedResponseAlg } : {}),
      }],
      pkce: { required: () => true },
      scopes: SCOPES,
      claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
      // Put the scope's claims (name, email) in the ID token too, as most hosted IdPs do: the client's
      // getUser() returns the ID token's claims. (The default, true, puts them only at userinfo.)
      conformIdTokenClaims: false,
      features: {
        devInteractions: { enabled: true },
        revocation: { enabled: true },
        rpInitiatedLogout: { enabled: true },
        userinfo: { enabled: true },
      },
      jwks: structuredClone(jwks),
      cookies: { keys: cookieKeys },
      ttl: {
        AccessToken: accessTokenTtl,
        IdToken: idTokenTtl,
        RefreshToken: refreshTokenTtl,
        Grant: 86400,
        Session: 86400,
        Interaction: 600,
        AuthorizationCode: 60,
      },
      async findAccount(ctx, id) {
        return {
          accountId: id,
          async claims() { return accountClaims(id); },
        };
      },
    });

    // Record every request (after it was handled, so the parsed form body and status are known).
    provider.use(async (ctx, next) => {
      await next();
      const route = ctx.oidc?.route;
      const entry = { method: ctx.method, path: ctx.path, route, status: ctx.status, at: Date.now() };
      requests.push(entry);
      if (route === 'token' && ctx.method === 'POST') {
        const body = ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body) ? ctx.body : {};
        const issued = {};
        for (const key of ['access_token', 'refresh_token', 'id_token']) {
          if (typeof body[key] === 'string') issued[key] = body[key];
        }
        tokenRequests.push({
          grantType: ctx.oidc?.body?.grant_type,
          status: ctx.status,
          error: ctx.status >= 400 ? body.error : undefined,
          origin: ctx.get('origin') || undefined,
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

  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  let closed;
  return {
    issuer,
    port,
    clientId: CLIENT_ID,
    /** The current oidc-provider instance (a new one after rotateKeys()). */
    get provider() { return provider; },
    /**
     * POSTs to the token endpoint, in order: { grantType, status, error, origin, issued, at }.
     * issued = { access_token?, refresh_token?, id_token? } from the response; origin = the request's
     * Origin header (a browser/worker request carries the page origin; node's fetch none).
     */
    tokenRequests,
    /** Every request the provider handled: { method, path, route, status, at }. */
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
    urls: {
      discovery: `${issuer}/.well-known/openid-configuration`,
      authorization: `${issuer}/auth`,
      token: `${issuer}/token`,
      userinfo: `${issuer}/me`,
      endSession: `${issuer}/session/end`,
      revocation: `${issuer}/token/revocation`,
      jwks: `${issuer}/jwks`,
    },
    /** The JWKS the provider publishes now (public keys). */
    publicJwks() {
      return publicJwksOf(jwks);
    },
    /**
     * Key rotation: from now on the provider signs with, and publishes only, `nextJwks` (private
     * JWKs; default: a fresh generateJwks()). The issuer, port, clients, cookie keys and the
     * in-memory grants/sessions (oidc-provider's memory adapter is process-wide) stay; only the
     * oidc-provider instance behind the server is replaced. Returns the new public JWKS.
     */
    async rotateKeys(nextJwks = generateJwks()) {
      jwks = nextJwks;
      provider = createInstance();
      callback = provider.callback();
      return publicJwksOf(jwks);
    },
    close() {
      closed ??= new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
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
