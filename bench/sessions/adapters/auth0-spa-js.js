// @auth0/auth0-spa-js against the generic provider (Auth0-style routes, issuer origin + "/"), as in
// the peer benchmark's adapter. The mode's options (cacheLocation, useRefreshTokens) come from
// cfg.options; without them the library's defaults: cache in memory, no refresh tokens, and on
// every page load createAuth0Client() checks the session with a hidden iframe (prompt=none,
// response_mode=web_message) when its own "is.authenticated" cookie says a login happened.
import { createAuth0Client } from '@auth0/auth0-spa-js';

export default {
  init(cfg) {
    return createAuth0Client({
      domain: cfg.opOrigin,
      clientId: cfg.clientId,
      authorizationParams: { redirect_uri: cfg.redirectUri, scope: cfg.scope },
      ...cfg.options,
    });
  },
  login(a0) { return a0.loginWithRedirect(); },
  async handleCallback(a0) { await a0.handleRedirectCallback(); },
  isSignedIn(a0) { return a0.isAuthenticated(); },
  getToken(a0) { return a0.getTokenSilently(); },
};
