// Fixture app for tests/e2e/vite.test.mjs: the installed `oidc-worker` package, bundled by Vite with
// no plugin and no config. Plain JS, no framework.
//
// Config: ?issuer=...&clientId=... when given, otherwise /config.json ({ issuer, clientId }).
// The redirect URI is this page's own URL without query (e.g. http://127.0.0.1:PORT/).
//
// Exposes window.auth (the AuthClient) and window.app { status: 'loading'|'ready'|'failed', config,
// redirectUri, callback: null | { ok: true, appState } | { ok: false, error }, error }, the same shape
// as www/vanilla/, so tests/support/harness.mjs's waitForApp()/callAuth() work with it.

import { createAuthClient } from 'oidc-worker';

const $ = (id) => document.getElementById(id);

const app = {
  status: 'loading',
  config: null,
  redirectUri: new URL('/', window.location.href).href,
  callback: null,
  error: null,
};
window.app = app;

function describeError(err) {
  if (!err || typeof err !== 'object') return { name: 'Error', message: String(err) };
  const out = { name: err.name, message: err.message };
  for (const key of ['code', 'reason', 'error', 'errorDescription', 'status']) {
    if (err[key] !== undefined) out[key] = err[key];
  }
  return out;
}

function showError(err) {
  app.error = describeError(err);
  $('error').hidden = false;
  $('error').textContent = `${app.error.code ?? app.error.name}: ${app.error.message}`;
}

async function loadConfig() {
  const params = new URLSearchParams(window.location.search);
  if (params.has('issuer') && params.has('clientId')) {
    return { issuer: params.get('issuer'), clientId: params.get('clientId') };
  }
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`/config.json: HTTP ${response.status}`);
  return response.json();
}

async function render() {
  const signedIn = await window.auth.isAuthenticated();
  const user = signedIn ? await window.auth.getUser() : null;
  $('status').dataset.state = signedIn ? 'signed-in' : 'signed-out';
  $('status').textContent = signedIn ? 'Signed in.' : 'Signed out.';
  $('user').textContent = user ? `sub=${user.sub}` : '';
  $('login').disabled = signedIn;
}

$('login').addEventListener('click', () => {
  window.auth.loginWithRedirect({ appState: { returnTo: '/' } }).catch(showError);
});

async function start() {
  app.config = await loadConfig();
  window.auth = await createAuthClient({
    issuer: app.config.issuer,
    clientId: app.config.clientId,
    redirectUri: app.redirectUri,
    scope: 'openid profile',
  });
  const params = new URLSearchParams(window.location.search);
  if (params.has('state') && (params.has('code') || params.has('error'))) {
    try {
      const { appState } = await window.auth.handleRedirectCallback();
      app.callback = { ok: true, appState: appState ?? null };
    } catch (err) {
      app.callback = { ok: false, error: describeError(err) };
      showError(err);
    }
  }
  await render();
}

start().then(
  () => { app.status = 'ready'; },
  (err) => { app.status = 'failed'; showError(err); },
);
