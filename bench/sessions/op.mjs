// The provider of bench/sessions: oidc-provider 9 with one public SPA client, as in the shared peer
// benchmark (/work/shared/bench-peers/op/, copied and changed), so that auth0-spa-js,
// oidc-client-ts, msal-browser and oidc-worker all talk to the same provider:
//
// - routes at the paths auth0-spa-js hard-codes (/authorize, /oauth/token, /v2/logout,
//   /.well-known/jwks.json); the others find them by discovery; the issuer is origin + "/";
// - token_endpoint_auth_method none, PKCE S256 required, RS256 ID tokens, refresh tokens issued to
//   the public client (no offline_access + prompt=consent needed) and rotated on every use;
// - consent auto-approved (first-party client), the login a plain form any login/password passes;
// Changed for sessions across tabs and reloads:
// - the session and interaction cookies are SameSite=None; Secure (the provider is served over
//   https), so a hidden iframe on the app's page may carry them where the browser allows
//   third-party cookies; the app is on another site (127.0.0.1 vs localhost), as a hosted provider
//   is; a top-level navigation carries them either way;
// - `response_mode=web_message` (oidc-provider's webMessageResponseMode, draft 01): what
//   auth0-spa-js's iframe (getTokenSilently without a refresh token) asks for.
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

export const CLIENT_ID = 'bench-spa';
export const SCOPES = ['openid', 'profile', 'email', 'offline_access', 'api:read'];

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
})[c]);

/** `state.accessTokenTTL` is read at every issue (seconds). */
export function createProvider({
  issuer, appOrigin, redirectUris, state,
}) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = {
    ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig',
  };
  const crossSite = { httpOnly: true, sameSite: 'none', secure: true };
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      post_logout_redirect_uris: redirectUris.map((u) => new URL('./', u).href),
      id_token_signed_response_alg: 'RS256', // auth0-spa-js only accepts RS256
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')], long: crossSite, short: crossSite },
    scopes: SCOPES,
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
    features: {
      devInteractions: { enabled: false }, // its page @imports a remote font; the form is served below
      resourceIndicators: { enabled: false }, // plain scopes (api:read) end up in the access token
      revocation: { enabled: true },
      userinfo: { enabled: true },
      webMessageResponseMode: { enabled: true, ack: 'individual-draft-01' },
    },
    pkce: { required: () => true },
    routes: {
      authorization: '/authorize',
      token: '/oauth/token',
      end_session: '/v2/logout',
      jwks: '/.well-known/jwks.json',
      revocation: '/oauth/revoke',
      userinfo: '/userinfo',
    },
    ttl: {
      AccessToken: () => state.accessTokenTTL,
      IdToken: 3600,
      RefreshToken: 24 * 3600,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 24 * 3600,
      Grant: 24 * 3600,
    },
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    rotateRefreshToken: true,
    clientBasedCORS: (ctx, origin) => origin === appOrigin,
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async loadExistingGrant(ctx) {
      // first-party auto-consent: grant whatever was requested
      const { Grant } = ctx.oidc.provider;
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      let grant = grantId ? await Grant.find(grantId) : undefined;
      if (!grant) grant = new Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      if (ctx.oidc.params.scope) grant.addOIDCScope(ctx.oidc.params.scope);
      const names = Object.values(ctx.oidc.claims || {}).flatMap((c) => Object.keys(c || {}));
      if (names.length) grant.addOIDCClaims(names);
      await grant.save();
      return grant;
    },
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return {
            sub, name: `Bench ${sub}`, preferred_username: sub, email: `${sub}@example.test`, email_verified: true,
          };
        },
      };
    },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!doctype html><meta charset="utf-8"><title>OP error</title><pre id="op-error">${escapeHtml(JSON.stringify(out))}</pre>`;
    },
  });
  provider.proxy = false;
  return provider;
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(c);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/**
 * The login interaction: GET /interaction/:uid is a form (form#login, any login/password),
 * POST /interaction/:uid/login finishes it; a consent prompt (prompt=consent) is approved without a
 * page. Returns true when it handled the request.
 */
export async function handleInteraction(provider, req, res, url) {
  const m = /^\/interaction\/([^/]+)(\/login)?$/.exec(url.pathname);
  if (!m) return false;
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== m[1]) throw new Error('interaction uid mismatch');
    const { prompt, params } = details;
    if (req.method === 'GET' && prompt.name === 'login') {
      const uid = escapeHtml(details.uid);
      send(res, 200, `<!doctype html><html><head><meta charset="utf-8"><title>Sign-in</title><link rel="icon" href="data:,"></head><body>
<form id="login" method="post" action="/interaction/${uid}/login" autocomplete="off">
<input required type="text" name="login" placeholder="any login">
<input required type="password" name="password" placeholder="any password">
<button type="submit">Sign-in</button>
</form></body></html>`);
      return true;
    }
    if (req.method === 'POST' && m[2] === '/login') {
      const login = (await readForm(req)).get('login');
      if (!login) throw new Error('login missing');
      await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
      return true;
    }
    if (prompt.name === 'consent') {
      const grant = new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
      if (params.scope) grant.addOIDCScope(params.scope);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return true;
    }
    send(res, 400, `<pre id="op-error">unexpected interaction ${escapeHtml(prompt.name)} ${escapeHtml(req.method)}</pre>`);
  } catch (err) {
    send(res, 400, `<pre id="op-error">${escapeHtml(err && err.message)}</pre>`);
  }
  return true;
}
