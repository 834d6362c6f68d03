// @azure/msal-browser in protocolMode "OIDC" (its generic-provider mode; https only), as in the
// peer benchmark's adapter. cfg.options.cacheLocation: "sessionStorage" (its default) or
// "localStorage" (encrypted there, with a key in a session cookie). As its docs ask, every page
// load calls initialize() and handleRedirectPromise(); the callback page's call is the timed
// handleCallback. The account found in the cache becomes the active account.
import { PublicClientApplication } from '@azure/msal-browser';

export default {
  async init(cfg, { isCallback }) {
    const pca = new PublicClientApplication({
      auth: {
        clientId: cfg.clientId,
        authority: cfg.issuer,
        knownAuthorities: [new URL(cfg.issuer).host],
        redirectUri: cfg.redirectUri,
        // without offline_access: MSAL re-sends its default scopes on the refresh_token grant and
        // oidc-provider grants offline_access only with prompt=consent (invalid_scope otherwise)
        OIDCOptions: { defaultScopes: ['openid', 'profile'] },
      },
      cache: { cacheLocation: cfg.options.cacheLocation ?? 'sessionStorage' },
      system: { protocolMode: 'OIDC' },
    });
    await pca.initialize();
    if (!isCallback) await pca.handleRedirectPromise();
    const [account] = pca.getAllAccounts();
    if (account) pca.setActiveAccount(account);
    return pca;
  },
  login(pca, cfg) { return pca.loginRedirect({ scopes: [cfg.apiScope] }); },
  async handleCallback(pca) {
    const result = await pca.handleRedirectPromise({ navigateToLoginRequestUrl: false });
    if (!result?.accessToken) throw new Error('handleRedirectPromise returned no token');
    pca.setActiveAccount(result.account);
  },
  isSignedIn(pca) { return !!pca.getActiveAccount(); },
  async getToken(pca, cfg) {
    return (await pca.acquireTokenSilent({ scopes: [cfg.apiScope], account: pca.getActiveAccount() })).accessToken;
  },
};
