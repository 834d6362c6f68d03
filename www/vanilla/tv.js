// A "TV" page: a device that cannot type a password signs in with the device authorization
// grant (RFC 8628). The worker asks the provider for a user code, this page shows it with a QR
// code of the complete link, the user approves on a phone, and the worker (which polls the
// provider) ends with the same validated session as a redirect login. No token reaches this page.

import { createAuthClient } from 'oidc-worker';
import { renderSVG } from 'uqr';

const $ = (id) => document.getElementById(id);
const tv = { status: 'loading', code: null, error: null };
window.tv = tv;

function status(state, text) {
  tv.status = state;
  $('status').dataset.state = state;
  $('status').textContent = text;
}

function showError(err) {
  tv.error = { code: err?.code, error: err?.error, message: err?.message };
  $('error').hidden = false;
  $('error').textContent = err?.code ? `${err.code}${err.error ? ` (${err.error})` : ''}: ${err.message}` : String(err);
}

async function render(auth) {
  const signedIn = await auth.isAuthenticated();
  const user = signedIn ? await auth.getUser() : null;
  status(signedIn ? 'signed-in' : 'signed-out', signedIn ? `Signed in as ${user?.name ?? user?.sub}.` : 'Signed out.');
  $('start').disabled = signedIn;
}

const config = await (await fetch('/demo-config.json', { cache: 'no-store' })).json();
const auth = await createAuthClient({
  issuer: config.issuer,
  clientId: config.clientId,
  redirectUri: new URL('./', location.href).href,
  scope: 'openid profile email offline_access',
  ...config.options,
});
window.auth = auth;
await render(auth);

let controller;
$('start').addEventListener('click', async () => {
  controller = new AbortController();
  $('error').hidden = true;
  $('start').disabled = true;
  $('cancel').disabled = false;
  try {
    await auth.loginWithDeviceCode({
      signal: controller.signal,
      onCode(code) {
        tv.code = code;
        $('code').hidden = false;
        $('user-code').textContent = code.userCode;
        $('verification-uri').href = code.verificationUri;
        $('verification-uri').textContent = code.verificationUri;
        $('qr').innerHTML = renderSVG(code.verificationUriComplete ?? code.verificationUri);
        $('expires').textContent = `The code expires at ${new Date(code.expiresAt).toLocaleTimeString()}.`;
      },
    });
  } catch (err) {
    showError(err);
  } finally {
    $('code').hidden = true;
    $('cancel').disabled = true;
    await render(auth);
  }
});
$('cancel').addEventListener('click', () => controller?.abort());
