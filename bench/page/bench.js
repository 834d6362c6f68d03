// The bench page (served by bench/perf.mjs and bench/lifecycle.mjs). It measures, the node side
// collects and checks; nothing here asserts.
//
// On load: fetch /bench-config.json ({ issuer, clientId, options? }: options are more
// createAuthClient options, e.g. apiOrigins, autoRefresh), createAuthClient(), isAuthenticated() (the
// first call, which waits for the worker's start-up), and, when the URL is
// an authorization response, handleRedirectCallback(). Timings are performance.now() values, i.e. milliseconds since
// this document's navigation start (performance.timeOrigin).
//
//   window.bench = {
//     status: 'loading' | 'ready' | 'failed', error,
//     crossOriginIsolated,
//     t: { scriptStart, configFetched, createStart, createEnd, firstAnswer, callbackStart?, callbackEnd? },
//     nav: the PerformanceNavigationTiming entry (toJSON()),
//     isCallback, appState,
//   }
//   window.auth                     the AuthClient
//   window.benchTokenReads(n, warmup)  n sequential getAccessToken() calls → { samples: ms[], distinct }
//   window.benchTimerResolution()   smallest non-zero step of performance.now(), ms
//   window.benchForcedRefresh(n)    n sequential getAccessToken({ forceRefresh: true }) calls
//                                   → { samples: [{ ms, token }], error?: { at, ...error } }
//   window.benchConcurrentTokens(n) n getAccessToken() calls issued at once
//                                   → { ms (all settled), results: [{ ok, token, ms } | { ok: false, error }] }
//   window.benchFetchRounds({ url, authorization, rounds, perRound, warmup })
//                                   sequential GETs of `url`, alternately through auth.fetch and a
//                                   direct fetch() with `authorization`, in rounds
//                                   → { auth: ms[], direct: ms[], error?: { via, at, ... } }

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

window.benchForcedRefresh = async (n) => {
  const samples = [];
  for (let i = 0; i < n; i += 1) {
    const t0 = performance.now();
    let token;
    try {
      token = await window.auth.getAccessToken({ forceRefresh: true });
    } catch (err) {
      return { samples, error: { at: i, ...describeError(err) } };
    }
    samples.push({ ms: performance.now() - t0, token });
  }
  return { samples };
};

window.benchConcurrentTokens = async (n) => {
  const t0 = performance.now();
  // Array.from calls every getAccessToken() before any answer can arrive: n calls in flight at once.
  const calls = Array.from({ length: n }, () => window.auth.getAccessToken().then(
    (token) => ({ ok: true, token, ms: performance.now() - t0 }),
    (err) => ({ ok: false, error: describeError(err), ms: performance.now() - t0 }),
  ));
  const results = await Promise.all(calls);
  return { ms: performance.now() - t0, results };
};

window.benchFetchRounds = async ({
  url, authorization, rounds, perRound, warmup = 0,
}) => {
  // The same request both ways: GET, the same Authorization header, the body read as text.
  const ways = {
    auth: () => window.auth.fetch(url),
    direct: () => fetch(url, { headers: { Authorization: authorization } }),
  };
  const out = { auth: [], direct: [], statuses: {} };
  const once = async (via, samples, i) => {
    const t0 = performance.now();
    let status;
    let body;
    try {
      const response = await ways[via]();
      status = response.status;
      body = await response.text();
    } catch (err) {
      return { via, at: i, ...describeError(err) };
    }
    const elapsed = performance.now() - t0;
    if (status < 200 || status > 299) return { via, at: i, status, body: body.slice(0, 200) };
    samples?.push(elapsed);
    out.statuses[`${via} ${status}`] = (out.statuses[`${via} ${status}`] ?? 0) + 1;
    return undefined;
  };
  for (let i = 0; i < warmup; i += 1) {
    for (const via of ['auth', 'direct']) {
      const error = await once(via, undefined, -1 - i);
      if (error) return { ...out, error };
    }
  }
  for (let r = 0; r < rounds; r += 1) {
    // Alternate which way goes first, so neither always follows the other's round.
    for (const via of r % 2 ? ['direct', 'auth'] : ['auth', 'direct']) {
      for (let i = 0; i < perRound; i += 1) {
        const error = await once(via, out[via], r * perRound + i);
        if (error) return { ...out, error };
      }
    }
  }
  return out;
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
    // The benchmark times getAccessToken() itself, so it opts in to see the token.
    exposeAccessToken: true,
    ...config.options,
    issuer: config.issuer,
    clientId: config.clientId,
    redirectUri,
    scope: 'openid profile email offline_access',
    // oidc-provider only grants offline_access (a refresh token) with prompt=consent.
    extraAuthParams: { prompt: 'consent' },
  });
  bench.t.createEnd = performance.now();
  window.auth = auth;
  // The first call waits for the worker's start-up (wasm, options, restore check): timed apart,
  // so that the callback's own time below is the callback's.
  await auth.isAuthenticated();
  bench.t.firstAnswer = performance.now();

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
