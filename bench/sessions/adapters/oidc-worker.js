// oidc-worker, served unbundled from the project's pkg/ (import map → /pkg/index.js), so its
// SharedWorker or Worker and its .wasm load as in an app. The mode's options (`sharing`, `restore`)
// come from cfg.options. exposeAccessToken: true, as the peer benchmark's adapter, so that the
// "usable token" step is getAccessToken() for every library alike.
import { createAuthClient } from 'oidc-worker';

// local: true (build.mjs: served from pkg/, not bundled)

export default {
  init(cfg) {
    return createAuthClient({
      issuer: cfg.issuer,
      clientId: cfg.clientId,
      redirectUri: cfg.redirectUri,
      scope: cfg.scope,
      // oidc-provider drops offline_access unless prompt=consent (approved without a page here);
      // a restore's prompt=none replaces it.
      extraAuthParams: { prompt: 'consent' },
      exposeAccessToken: true,
      ...cfg.options,
    });
  },
  login(auth) { return auth.loginWithRedirect(); },
  async handleCallback(auth) { await auth.handleRedirectCallback(); },
  isSignedIn(auth) { return auth.isAuthenticated(); },
  getToken(auth) { return auth.getAccessToken(); },
};
