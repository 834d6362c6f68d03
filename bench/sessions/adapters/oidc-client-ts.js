// oidc-client-ts (UserManager, code + PKCE) with its defaults: the user (tokens, refresh token
// included) in sessionStorage, or with cfg.options.store === 'localStorage' its documented
// `userStore: new WebStorageStateStore({ store: window.localStorage })`. It has no "valid token"
// call: the app reads getUser() and calls signinSilent() when the token expired (as in the peer
// benchmark's adapter).
import { UserManager, WebStorageStateStore } from 'oidc-client-ts';

export default {
  init(cfg) {
    return new UserManager({
      authority: cfg.issuer,
      client_id: cfg.clientId,
      redirect_uri: cfg.redirectUri,
      response_type: 'code',
      scope: cfg.scope,
      ...(cfg.options.store === 'localStorage' ? { userStore: new WebStorageStateStore({ store: window.localStorage }) } : {}),
    });
  },
  login(um) { return um.signinRedirect(); },
  async handleCallback(um) { await um.signinRedirectCallback(); },
  async isSignedIn(um) {
    const user = await um.getUser();
    return !!user && !user.expired;
  },
  async getToken(um) {
    const user = await um.getUser();
    if (user && !user.expired) return user.access_token;
    return (await um.signinSilent()).access_token;
  },
};
