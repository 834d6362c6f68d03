// oidc-worker example without a bundler.
//
// Config comes from /demo-config.json ({ issuer, clientId, options? }), which scripts/demo.sh and the
// e2e tests serve next to this page; `options` are more createAuthClient options (apiOrigins,
// exposeAccessToken, ...). The redirect URI is this page's own URL (e.g. http://127.0.0.1:PORT/vanilla/).
// The session panel (#session-panel, words from ./session.js) shows what this tab knows about the
// session; its "Call the API" button needs `options.apiOrigins` (scripts/demo.sh gives it).
//
// For tests and for poking around in the console, the page exposes:
//   window.auth   the AuthClient
//   window.app    { status: 'loading'|'ready'|'failed', config, redirectUri, callback, error, events, ready }
//                 events: the session events seen, [{ name, detail }]
//                 callback: null (no callback in the URL) | { ok: true, appState } | { ok: false, error }
//                 error: the last error shown, as a plain object { name, message, code, reason, error,
//                 errorDescription, status }
//                 ready: a promise that settles when the start-up work (incl. the callback) is done

import { createAuthClient } from 'oidc-worker';

import {
  UNKNOWN_EXPIRY, clock, describeEvent, expiryText, holderText, nextExpiry, storageNames, storageText,
} from './session.js';

const $ = (id) => document.getElementById(id);

const app = {
  status: 'loading',
  config: null,
  redirectUri: new URL('.', window.location.href).href,
  callback: null,
  error: null,
  events: [],
};
window.app = app;

/** A plain, serialisable view of an error (AuthError or anything else). */
function describeError(err) {
  if (!err || typeof err !== 'object') return { name: 'Error', message: String(err) };
  const out = { name: err.name, message: err.message };
  for (const key of ['code', 'reason', 'error', 'errorDescription', 'status']) {
    if (err[key] !== undefined) out[key] = err[key];
  }
  return out;
}

function showError(err) {
  const info = describeError(err);
  app.error = info;
  const el = $('error');
  el.hidden = false;
  el.dataset.code = info.code ?? '';
  el.dataset.reason = info.reason ?? '';
  el.dataset.error = info.error ?? '';
  const head = [info.code, info.reason].filter(Boolean).join(' / ') || info.name;
  const detail = info.errorDescription && !info.message.includes(info.errorDescription)
    ? [info.error, info.errorDescription].filter(Boolean).join(': ')
    : info.error;
  el.textContent = `${head}: ${info.message}${detail && !info.message.includes(detail) ? ` (${detail})` : ''}`;
}

function clearError() {
  app.error = null;
  $('error').hidden = true;
  $('error').textContent = '';
}

function showOutput(value) {
  const el = $('output');
  el.hidden = value === undefined;
  el.textContent = value === undefined ? '' : JSON.stringify(value, null, 2);
}

// The session panel: what this tab knows about the session (the user, the access token's expiry
// from the events, the events as they arrive from any tab, who holds the session, the names in
// this page's storage), kept current every second for the countdown.
const panel = { signedIn: false, user: null, expiry: UNKNOWN_EXPIRY, api: null };

function apiOrigin() {
  const first = app.config?.options?.apiOrigins?.[0];
  return typeof first === 'string' ? first : first?.origin ?? null;
}

function renderPanel() {
  const { signedIn, user } = panel;
  const started = Boolean(window.auth);
  $('session-user').textContent = !started ? '…' : user ? `${user.name ?? user.sub} (sub ${user.sub})` : 'nobody: signed out';
  $('session-expiry').textContent = started ? expiryText(panel.expiry, signedIn, Date.now()) : '…';
  $('session-holder').textContent = holderText(window.auth?.sharing);
  const api = apiOrigin();
  $('session-call-api').disabled = !signedIn || !api;
  $('session-call-api').title = api ? `GET ${api}/me` : 'no API configured (options.apiOrigins in /demo-config.json)';
  $('session-api-result').hidden = panel.api === null;
  $('session-api-result').textContent = panel.api === null ? '' : `GET /me: ${panel.api}`;
}

function logEvent(name, detail) {
  panel.expiry = nextExpiry(panel.expiry, name, detail);
  const list = $('session-events');
  list.querySelector('.empty')?.remove();
  const li = document.createElement('li');
  li.dataset.event = name;
  const time = document.createElement('time');
  time.textContent = clock(Date.now());
  li.append(time, ` ${describeEvent(name, detail)}`);
  list.prepend(li);
  while (list.children.length > 6) list.lastElementChild.remove();
  renderPanel();
  readStorage(); // e.g. the session hint, written or removed as the event arrived
}

const readStorage = () => storageNames().then((names) => { $('session-storage').textContent = storageText(names); });
setInterval(() => { renderPanel(); readStorage(); }, 1000);
readStorage();

$('session-call-api').addEventListener('click', async () => {
  try {
    // The worker sends it with the access token; the page never sees the token.
    const response = await window.auth.fetch(`${apiOrigin()}/me`);
    const body = await response.json();
    panel.api = `${response.status}${body.sub ? `, sub ${body.sub}` : ''}`;
  } catch (err) {
    panel.api = `${err.code ?? err.name}: ${err.message}`;
  }
  renderPanel();
});

async function render() {
  const auth = window.auth;
  const signedIn = auth ? await auth.isAuthenticated() : false;
  const user = signedIn ? await auth.getUser() : null;
  Object.assign(panel, { signedIn, user });
  renderPanel();
  const status = $('status');
  status.dataset.state = signedIn ? 'signed-in' : 'signed-out';
  status.textContent = signedIn ? 'Session active (its tokens stay in the worker).' : 'Signed out.';
  $('user').hidden = !user;
  $('user-name').textContent = user?.name ?? user?.sub ?? '';
  $('user-sub').textContent = user ? `sub=${user.sub}` : '';
  $('login').disabled = !auth || signedIn;
  $('login-popup').disabled = !auth || signedIn;
  for (const id of ['userinfo', 'logout', 'logout-local']) $(id).disabled = !signedIn;
}

/** Run a button's action: clear old messages, show errors, re-render. */
function action(id, fn) {
  $(id).addEventListener('click', async () => {
    clearError();
    showOutput(undefined);
    try {
      await fn();
    } catch (err) {
      showError(err);
    }
    await render().catch(showError);
  });
}

action('login', () => window.auth.loginWithRedirect({ appState: { returnTo: window.location.pathname } }));

// The popup opens in this click handler (browsers block one opened later); this page stays.
action('login-popup', async () => {
  showOutput({ popup: await window.auth.loginWithPopup({ appState: { from: 'popup' } }) });
});

action('userinfo', async () => {
  // The worker calls the provider's userinfo endpoint with the access token (refreshed first if
  // needed) and checks the answer is about this user; the token itself stays in the worker.
  showOutput({ userinfo: await window.auth.getUser({ fresh: true }) });
});

action('logout', () => window.auth.logout());

action('logout-local', () => window.auth.logout({ redirect: false }));

async function start() {
  const response = await fetch('/demo-config.json', { cache: 'no-store' });
  if (!response.ok) {
    throw new Error(`/demo-config.json: HTTP ${response.status} (start this app with scripts/demo.sh)`);
  }
  app.config = await response.json();

  const auth = await createAuthClient({
    issuer: app.config.issuer,
    clientId: app.config.clientId,
    redirectUri: app.redirectUri,
    postLogoutRedirectUri: app.redirectUri,
    scope: 'openid profile email offline_access',
    // oidc-provider only grants offline_access (a refresh token) with prompt=consent.
    extraAuthParams: { prompt: 'consent' },
    // More options when the server gives them (e.g. apiOrigins for auth.fetch).
    ...app.config.options,
  });
  window.auth = auth;
  // Session events (no token in any of them), e.g. for telemetry; subscribed before the callback
  // is handled so the `login` event is seen too.
  for (const name of ['login', 'tokenRefreshed', 'sessionExpired', 'logout', 'error']) {
    auth.on(name, (detail) => {
      app.events.push({ name, detail: name === 'error' ? { code: detail.code, reason: detail.reason } : detail });
      logEvent(name, detail);
      // Another tab's login or logout changes this page too (one session per browser).
      if (app.status === 'ready') render().catch(showError);
    });
  }

  const params = new URLSearchParams(window.location.search);
  if (params.has('state') && (params.has('code') || params.has('error'))) {
    try {
      const { appState } = await auth.handleRedirectCallback();
      app.callback = { ok: true, appState: appState ?? null };
    } catch (err) {
      app.callback = { ok: false, error: describeError(err) };
      showError(err);
    }
  }
  await render();
}

app.ready = start().then(
  () => { app.status = 'ready'; },
  (err) => {
    app.status = 'failed';
    showError(err);
    $('status').dataset.state = 'failed';
    $('status').textContent = 'Could not start.';
  },
);
