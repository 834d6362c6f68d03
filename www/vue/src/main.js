// oidc-worker in a Vue app with vue-router, bundled by Vite with no plugin and no config. The
// components are render functions (h), so no single-file components and no @vitejs/plugin-vue.
import { createApp } from 'vue';
import { createRouter, createWebHistory } from 'vue-router';
import { createAuth, createAuthGuard } from 'oidc-worker/vue';

import { App, Home, Profile } from './components.js';
import './style.css';

async function main() {
  // The provider and the API come from /config.json next to the app: { issuer, clientId, apiOrigin }.
  const response = await fetch('/config.json');
  if (!response.ok) throw new Error(`/config.json: HTTP ${response.status}`);
  const { issuer, clientId, apiOrigin } = await response.json();

  const router = createRouter({
    history: createWebHistory(),
    routes: [
      { path: '/', component: Home },
      { path: '/profile', component: Profile, props: { apiOrigin }, meta: { requiresAuth: true } },
    ],
  });

  const appUrl = `${location.origin}/`; // registered at the provider as redirect and post-logout URI
  const auth = createAuth({
    issuer,
    clientId,
    redirectUri: appUrl,
    postLogoutRedirectUri: appUrl,
    scope: 'openid profile',
    apiOrigins: [apiOrigin], // the only origin auth.fetch() sends the access token to
    // After the login, go (through the router) to the route it started from.
    onRedirectCallback: (appState) => router.replace(appState?.returnTo ?? '/'),
  });
  // Routes with meta.requiresAuth: signed-out visitors go to the provider's login, and come back.
  router.beforeEach(createAuthGuard(auth));

  createApp(App, { apiOrigin }).use(auth).use(router).mount('#app');
}

main().catch((error) => {
  document.getElementById('app').textContent = error.message;
});
