// The bench page (served by bench/perf.mjs). It measures, the node side collects; nothing here asserts.
//
// On load: fetch /bench-config.json, createAuthClient(), and, when the URL is an authorization
// response, handleRedirectCallback(). Timings are performance.now() values, i.e. milliseconds since
// this document's navigation start (performance.timeOrigin).
//
//   window.bench = {
//     status: 'loading' | 'ready' | 'failed', error,
//     crossOriginIsolated,
//     t: { scriptStart, configFetched, createStart, createEnd, callbackStart?, callbackEnd? },
//     nav: the PerformanceNavigationTiming entry (toJSON()),
//     isCallback, appState,
//   }
//   window.auth                     the AuthClient
//   window.benchTokenReads(n, warmup)  n sequential getAccessToken() calls → { samples: ms[], distinct }
//   window.benchTimerResolution()   smallest non-zero step of performance.now(), ms

import { createAuthClient } from 'oidc-worker';

const bench = {
  status: 'loading',
  error: null,
  crossOriginIsolated: window.crossOriginIsolated === true,
  t: { scriptStart: performance.now() },
  nav: null,
  isCallback: false,
  appState: null,
};
window.bench = bench;

const redirectUri = new URL('/', window.location.href).href;

function describeError(err) {
  if (!err || typeof err !== 'object') return { message: String(err) };
  const out = { name: err.name, message: err.message };
  for (const key of ['code', 'reason', 'error', 'errorDescription', 'status']) {
    if (err[key] !== undefined) out[key] = err[key];
  }
  return out;
}

window.benchTokenReads = async (n, warmup = 0) => {
  const auth = window.auth;
  const seen = new Set();
  for (let i = 0; i < warmup; i += 1) seen.add(await auth.getAccessToken());
  const samples = new Array(n);
  for (let i = 0; i < n; i += 1) {
    const t0 = performance.now();
    const token = await auth.getAccessToken();
    samples[i] = performance.now() - t0;
    seen.add(token);
  }
  return { samples, distinct: seen.size };
};

window.benchTimerResolution = () => {
  let min = Infinity;
  for (let i = 0; i < 200; i += 1) {
    const a = performance.now();
    let b = performance.now();
    while (b === a) b = performance.now();
    min = Math.min(min, b - a);
  }
  return min;
};

async function start() {
  const params = new URLSearchParams(window.location.search);
  bench.isCallback = params.has('state') && (params.has('code') || params.has('error'));

  const response = await fetch('/bench-config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`/bench-config.json: HTTP ${response.status}`);
  const config = await response.json();
  bench.t.configFetched = performance.now();

  bench.t.createStart = performance.now();
  const auth = await createAuthClient({
    issuer: config.issuer,
    clientId: config.clientId,
    redirectUri,
    scope: 'openid profile email offline_access',
    // oidc-provider only grants offline_access (a refresh token) with prompt=consent.
    extraAuthParams: { prompt: 'consent' },
  });
  bench.t.createEnd = performance.now();
  window.auth = auth;

  if (bench.isCallback) {
    bench.t.callbackStart = performance.now();
    const { appState } = await auth.handleRedirectCallback();
    bench.t.callbackEnd = performance.now();
    bench.appState = appState ?? null;
  }

  document.getElementById('login').addEventListener('click', () => {
    auth.loginWithRedirect({ appState: { bench: true } }).catch((err) => {
      bench.error = describeError(err);
    });
  });
  document.getElementById('login').disabled = false;
}

start().then(
  () => {
    bench.nav = performance.getEntriesByType('navigation')[0]?.toJSON() ?? null;
    bench.status = 'ready';
    document.getElementById('status').textContent = 'ready';
  },
  (err) => {
    bench.nav = performance.getEntriesByType('navigation')[0]?.toJSON() ?? null;
    bench.error = describeError(err);
    bench.status = 'failed';
    document.getElementById('status').textContent = `failed: ${err?.message ?? err}`;
  },
);
