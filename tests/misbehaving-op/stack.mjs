// E2E plumbing for the misbehaving provider: the static server (pkg/ + www/) with
// /demo-config.json pointing the vanilla app at the misbehaving provider, and page-side helpers
// that run one login attempt and report how it ended.
//
//   const stack = await startMisbehavingStack();
//   stack.op.setScenario({ alg: 'ES256', tamper: true });
//   const outcome = await attemptLogin(page, stack);                       // the vanilla app
//   const outcome = await attemptLogin(page, stack, { clientOptions: { trustedAudiences: ['api'] } });
//   // → { stage: 'callback', ok: true, appState } | { stage: 'callback', ok: false, error }
//   //   | { stage: 'login', ok: false, error }   (loginWithRedirect rejected, no navigation)
//   //   | { stage: 'create', ok: false, error }  (createAuthClient rejected; bare page only)
//
// Two pages:
//   - the vanilla example app (www/vanilla/, served as is), for everything it can configure;
//   - a "bare" page, BARE_PATH, served by the static server (its `html` option) with just the
//     import map: the test creates the client itself with extra options (e.g. trustedAudiences),
//     which app.js does not pass through, and handles the callback itself (the vanilla app would
//     handle it with its own options first). (Not a Playwright route: routes do not see the
//     request a 302 from the provider leads to.)

import { join } from 'node:path';

import {
  APP_PATH, PKG_DIR, callAuth, waitForApp,
} from '../support/harness.mjs';
import { REPO_ROOT, startStaticServer } from '../support/static-server.mjs';
import { startMisbehavingProvider } from './server.mjs';

export const BARE_PATH = '/e2e-bare/';

export const BARE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>oidc-worker e2e (bare)</title>
<script type="importmap">{ "imports": { "oidc-worker": "/pkg/index.js" } }</script>
</head><body><p>bare page: the test drives oidc-worker through page.evaluate</p></body></html>
`;

/**
 * Static server + misbehaving provider. The vanilla app URL and the bare page URL are the
 * provider's registered redirect URIs. Returns { op, web, appUrl, bareUrl, close() }.
 * @param {object} [options] { keys } passed to startMisbehavingProvider (share generated keys)
 */
export async function startMisbehavingStack(options = {}) {
  let op;
  const web = await startStaticServer({
    mounts: { '/pkg/': PKG_DIR, '/': join(REPO_ROOT, 'www') },
    json: { '/demo-config.json': () => ({ issuer: op.issuer, clientId: op.clientId }) },
    html: { [BARE_PATH]: () => BARE_HTML },
  });
  const appUrl = `${web.origin}${APP_PATH}`;
  const bareUrl = `${web.origin}${BARE_PATH}`;
  try {
    op = await startMisbehavingProvider({ redirectUris: [appUrl, bareUrl], keys: options.keys });
  } catch (err) {
    await web.close();
    throw err;
  }
  return {
    op,
    web,
    appUrl,
    bareUrl,
    async close() {
      await Promise.allSettled([op.close(), web.close()]);
    },
  };
}

/** Installed in the page (addInitScript, so in every document it loads): a plain, serialisable view of an error (as harness.callAuth gives it). */
function installDescribeError() {
  window.__e2eDescribeError = (e) => ({
    name: e?.name, message: e?.message, code: e?.code, reason: e?.reason,
    error: e?.error, errorDescription: e?.errorDescription, status: e?.status,
  });
}

/** In the bare page: window.auth = await createAuthClient(options). Returns { ok } or { ok: false, error }. */
async function createClientInBarePage(page, options) {
  // After a navigation commits, the new document may not have parsed its import map yet.
  await page.waitForFunction(() => document.readyState !== 'loading'
    && document.querySelector('script[type=importmap]') !== null && typeof window.__e2eDescribeError === 'function');
  return page.evaluate(async (opts) => {
    try {
      const { createAuthClient } = await import('oidc-worker');
      window.auth = await createAuthClient(opts);
      return { ok: true };
    } catch (e) {
      return { ok: false, error: window.__e2eDescribeError(e) };
    }
  }, options);
}

const NEVER = new Promise(() => {});

/**
 * Start window.auth.loginWithRedirect() in the page and wait for either the browser to come back
 * to `redirectUri` with a `state` (navigation committed) or the call to reject without navigating.
 * Returns null after the navigation, or the (described) error.
 */
async function startLogin(page, redirectUri, timeout) {
  const navigated = page.waitForURL(
    (url) => url.href.startsWith(redirectUri) && url.searchParams.has('state'),
    { waitUntil: 'commit', timeout },
  ).then(() => ({ navigated: true }), (err) => ({ navigated: false, err }));
  await page.evaluate(() => {
    window.__e2eLogin = window.auth.loginWithRedirect().then(() => null, (e) => window.__e2eDescribeError(e));
  });
  // If loginWithRedirect rejects, the page stays; if it navigates, this context goes away.
  const rejected = page.evaluate(() => window.__e2eLogin).then((err) => (err ? { rejected: err } : NEVER), () => NEVER);
  const first = await Promise.race([navigated, rejected]);
  if (first.rejected) return first.rejected;
  if (!first.navigated) {
    throw new Error(`login did not come back to ${redirectUri} within ${timeout} ms (page at ${page.url()}): ${first.err?.message}`);
  }
  return null;
}

/**
 * One login attempt against the provider's current scenario, from a fresh page load.
 * @param {import('playwright-core').Page} page  a page of a fresh context
 * @param {{ appUrl: string, bareUrl: string, op: object }} stack
 * @param {object} [options]
 * @param {object} [options.clientOptions]  use the bare page and createAuthClient({ issuer, clientId,
 *        redirectUri: bareUrl, scope, ...clientOptions }) instead of the vanilla app
 * @param {number} [options.timeout=20000]
 */
export async function attemptLogin(page, stack, { clientOptions, timeout = 20000 } = {}) {
  await page.addInitScript(installDescribeError);
  if (!clientOptions) {
    await page.goto(stack.appUrl);
    await waitForApp(page, { timeout });
    const loginError = await startLogin(page, stack.appUrl, timeout);
    if (loginError) return { stage: 'login', ok: false, error: loginError };
    const app = await waitForApp(page, { timeout });
    if (!app.callback) throw new Error(`the app did not handle the callback (${page.url()})`);
    return { stage: 'callback', ...app.callback };
  }

  const options = {
    issuer: stack.op.issuer, clientId: stack.op.clientId, redirectUri: stack.bareUrl, scope: 'openid profile email', ...clientOptions,
  };
  await page.goto(stack.bareUrl);
  let created = await createClientInBarePage(page, options);
  if (!created.ok) return { stage: 'create', ok: false, error: created.error };
  const loginError = await startLogin(page, stack.bareUrl, timeout);
  if (loginError) return { stage: 'login', ok: false, error: loginError };
  created = await createClientInBarePage(page, options);
  if (!created.ok) return { stage: 'create', ok: false, error: created.error };
  const result = await page.evaluate(async () => {
    try {
      const { appState } = await window.auth.handleRedirectCallback();
      return { ok: true, appState: appState ?? null };
    } catch (e) {
      return { ok: false, error: window.__e2eDescribeError(e) };
    }
  });
  return { stage: 'callback', ...result };
}

/**
 * A login that keeps the page (and so the worker and its JWKS cache) alive: the navigation to the
 * authorization endpoint is intercepted, the provider is asked from node (its 302 not followed)
 * and the browser gets a 204 (no navigation); the callback URL then goes to
 * handleRedirectCallback(url) in the same page. The page must have window.auth (vanilla app).
 * Returns the same shapes as attemptLogin (stage 'login' or 'callback').
 */
export async function loginInPlace(page, stack, { timeout = 20000 } = {}) {
  const authorize = stack.op.urls.authorization;
  let resolveCallback;
  const callbackUrl = new Promise((resolve) => { resolveCallback = resolve; });
  const matcher = (url) => `${url.origin}${url.pathname}` === authorize;
  const handler = async (route) => {
    const res = await route.fetch({ maxRedirects: 0 });
    resolveCallback(res.headers().location ?? null);
    await route.fulfill({ status: 204, body: '' });
  };
  await page.route(matcher, handler);
  try {
    const login = await callAuth(page, 'loginWithRedirect');
    if (!login.ok) return { stage: 'login', ok: false, error: login.error };
    let timer;
    const url = await Promise.race([
      callbackUrl,
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('no authorization response')), timeout); }),
    ]).finally(() => clearTimeout(timer));
    if (!url) throw new Error('the authorization endpoint did not redirect');
    const result = await callAuth(page, 'handleRedirectCallback', url);
    return result.ok ? { stage: 'callback', ok: true, appState: result.value?.appState ?? null } : { stage: 'callback', ok: false, error: result.error };
  } finally {
    await page.unroute(matcher, handler);
  }
}
