// oidc-worker's core client in a plain app bundled by webpack 5 (webpack.config.mjs: mode, entry,
// output, nothing else).
import { createAuthClient } from 'oidc-worker';

const $ = (id) => document.getElementById(id);

function showError(error) {
  $('error').hidden = false;
  $('error').textContent = `${error.code ?? error.name}${error.reason ? ` (${error.reason})` : ''}: ${error.message}`;
}

async function render(auth) {
  const user = (await auth.isAuthenticated()) ? await auth.getUser() : null; // the ID token's claims
  $('loading').hidden = true;
  $('signed-out').hidden = Boolean(user);
  $('signed-in').hidden = !user;
  $('call-api').hidden = !user;
  $('user-name').textContent = user ? user.name ?? user.sub : '';
}

async function main() {
  // The provider and the API come from /config.json next to the app: { issuer, clientId, apiOrigin }.
  const response = await fetch('/config.json');
  if (!response.ok) throw new Error(`/config.json: HTTP ${response.status}`);
  const { issuer, clientId, apiOrigin } = await response.json();

  const appUrl = `${location.origin}/`; // registered at the provider as redirect and post-logout URI
  const auth = await createAuthClient({
    issuer,
    clientId,
    redirectUri: appUrl,
    postLogoutRedirectUri: appUrl,
    scope: 'openid profile',
    apiOrigins: [apiOrigin], // the only origin auth.fetch() sends the access token to
  });

  $('sign-in').addEventListener('click', () => auth.loginWithRedirect().catch(showError));
  $('sign-out').addEventListener('click', () => auth.logout().catch(showError));
  $('call-api').textContent = `Call GET ${apiOrigin}/me`;
  $('call-api').addEventListener('click', async () => {
    try {
      // Sent by the worker with `Authorization: Bearer <access token>`; the page never sees the token.
      const answer = await auth.fetch(`${apiOrigin}/me`);
      $('api-result').textContent = JSON.stringify({ status: answer.status, body: await answer.json() }, null, 2);
    } catch (error) {
      $('api-result').textContent = JSON.stringify({ error: `${error.code ?? error.name}: ${error.message}` });
    }
    $('api-result').hidden = false;
  });

  // Back from the provider's login: finish it (this also removes code and state from the address bar).
  const params = new URLSearchParams(location.search);
  if (params.has('state') && (params.has('code') || params.has('error'))) {
    await auth.handleRedirectCallback().catch(showError);
  }
  await render(auth);
}

main().catch((error) => {
  $('loading').hidden = true;
  showError(error);
});
