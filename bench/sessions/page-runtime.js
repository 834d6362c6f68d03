// Browser side of bench/sessions, bundled with one adapter into dist/<adapter>/app.js (after
// /work/shared/bench-peers/harness/page-runtime.js). On every page load it does what an app does
// at start: create the client (the adapter's init), complete a callback when the URL carries one
// (then routes back to the start page with history.replaceState, as an app returning to its
// page would), ask whether the user is signed in, and, if so, get a usable access token.
// window.__bench records the steps' performance.now() values (ms since this document's navigation
// start); `state` becomes 'done' (or 'error') when they are over.
// In a hidden iframe (a silent restore's answer on the redirect URI) it only creates the client and
// hands it the callback, as the app's page would there, and records nothing.

const withTimeout = (p, ms, what) => {
  let t;
  return Promise.race([
    p,
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(t));
};

const errText = (e) => (e?.error ? `${e.error}: ${e.error_description || e.errorDescription || e.message || ''}`
  : `${e?.name && e.name !== 'Error' && e.name.length > 2 ? `${e.name}: ` : ''}${e?.message ?? String(e)}`);

export function boot(adapter) {
  const cfg = window.__BENCH_CFG;
  const params = new URLSearchParams(location.search);
  for (const [k, v] of new URLSearchParams(location.hash.slice(1))) params.append(k, v);
  const isCallback = location.pathname.endsWith('/callback') && (params.has('code') || params.has('error'));

  if (window !== window.top) {
    if (isCallback) {
      Promise.resolve(adapter.init(cfg, { isCallback }))
        .then((client) => adapter.handleCallback(client, cfg))
        .catch(() => {});
    }
    return;
  }

  const t = {};
  const B = {
    state: 'booting', t, error: null, isCallback, signedIn: null, token: null, timeOrigin: performance.timeOrigin,
  };
  window.__bench = B;
  B.api = {
    login() {
      Promise.resolve().then(() => adapter.login(B.client, cfg)).catch((e) => {
        B.state = 'error';
        B.error = `login: ${errText(e)}`;
        report();
      });
      return true;
    },
  };

  // To the benchmark (a Playwright binding), when this page load's steps are over.
  const report = () => window.__benchReport?.({
    state: B.state, error: B.error, t, signedIn: B.signedIn, token: B.token, timeOrigin: B.timeOrigin,
    isCallback, nav: B.nav, url: location.href,
  });

  (async () => {
    try {
      t.scriptStart = performance.now();
      B.client = await withTimeout(Promise.resolve(adapter.init(cfg, { isCallback })), 30000, 'init');
      t.initDone = performance.now();
      if (isCallback) {
        t.callbackStart = performance.now();
        await withTimeout(Promise.resolve(adapter.handleCallback(B.client, cfg)), 30000, 'handleCallback');
        t.callbackDone = performance.now();
        history.replaceState(null, '', cfg.base);
      }
      t.authStart = performance.now();
      B.signedIn = await withTimeout(Promise.resolve(adapter.isSignedIn(B.client, cfg)), 30000, 'isSignedIn');
      t.authDone = performance.now();
      if (B.signedIn) {
        t.tokenStart = performance.now();
        B.token = await withTimeout(Promise.resolve(adapter.getToken(B.client, cfg)), 30000, 'getToken');
        t.tokenDone = performance.now();
      }
      const nav = performance.getEntriesByType('navigation')[0];
      B.nav = nav && { type: nav.type, fetchStart: nav.fetchStart, responseEnd: nav.responseEnd };
      B.state = 'done';
    } catch (e) {
      B.state = 'error';
      B.error = errText(e);
    }
    report();
  })();
}
