// What DPoP (RFC 9449, option `dpop: true`) costs, measured against the same client without it, in
// headless Chromium against the real local oidc-provider with its DPoP feature on
// (tests/op/provider.mjs `dpop`) and a DPoP-verifying API (tests/support/api-server.mjs `dpop: true`),
// on the cross-origin isolated bench page of perf.mjs and lifecycle.mjs (bench/page/). It measures
// and reports; it asserts no timing. It fails (exit 1) when a step does not work (a login, a call
// that errors, token, grant or request counts that are not what the client documents), after
// writing what it measured with the problem stated.
//
//   BENCH_DPOP=1 bash bench/run.sh   (runs this after the other scripts)
//   node bench/dpop.mjs              (pkg/ must be built; replaces the "DPoP" section of
//                                    bench/results.md, or adds it, and keeps the rest)
//
// Two sessions of the same provider and client id, each logged in through the provider's forms in
// its own browser context (so its own SharedWorker): "bearer" (dpop: false: the code exchange and
// the refreshes carry no proof, the provider issues Bearer tokens) and "DPoP" (dpop: true: DPoP-bound
// tokens, a proof on every token request and auth.fetch). Then, one section after the other (the
// third with a session of its own):
//
// 1. Refresh: getAccessToken({ forceRefresh: true }) alternately in the two sessions (the order
//    swapped every round), each call timed in its page; BENCH_DPOP_REFRESH_WARMUP unmeasured rounds
//    first, then BENCH_DPOP_REFRESHES measured rounds. Every call must return a new access token,
//    the one of exactly one refresh_token grant the provider answered 200; afterwards the provider's
//    introspection must call every DPoP session token DPoP-bound to the session's key and every
//    bearer session token Bearer.
// 2. auth.fetch: GET <api>/public (answered without any token check, so the server's work is the
//    same every way) three ways, in blocks of BENCH_DPOP_FETCH_BLOCK calls, the order of the three
//    blocks cycling through all six permutations: a direct fetch() from the DPoP session's page
//    carrying the headers DPoP auth.fetch sends (`Authorization: DPoP <token>` and a DPoP proof
//    captured from one of its requests), the bearer session's auth.fetch, the DPoP session's
//    auth.fetch; BENCH_DPOP_FETCHES each, after BENCH_DPOP_FETCH_WARMUP each. Checked at the API:
//    the count of each, all 200, the headers each way sent, and every DPoP proof (signature with
//    the session's key, htm, htu, iat, ath, a jti never repeated).
// 3. Cold start with persist: a third session (dpop: true, persist: "dpop-bound", restore: "none")
//    in a persistent Chromium profile (chromium.launchPersistentContext on a temporary directory,
//    removed afterwards), logged in once through the provider's forms; then BENCH_DPOP_COLD_WARMUP
//    unmeasured and BENCH_DPOP_COLD_STARTS measured rounds of: launch the browser on the profile,
//    open the bench page in its first tab (the worker resumes the session with one refresh_token
//    grant before createAuthClient resolves), open it again in a second tab while the first is open
//    (the holder alive: no grant), close the whole browser (context.close()). A script added by
//    Playwright before the page's own calls getAccessToken() the moment bench.js stores its client
//    in window.auth; timed in the page: navigation start (performance.timeOrigin) → that first
//    getAccessToken() resolved. The browser launch is not counted (reported for scale). Checked
//    every round: exactly one refresh_token grant answered 200 during the cold page's load, whose
//    access token is the one the page got; no authorization/interaction request at the provider
//    and no navigation to it; the token DPoP-bound (introspection) to the login's key; the second
//    page got the same token with no token request.
//
// Env (for quick trials; the defaults are what results.md reports):
//   BENCH_DPOP_REFRESHES=20  BENCH_DPOP_REFRESH_WARMUP=3  BENCH_DPOP_FETCHES=500
//   BENCH_DPOP_FETCH_BLOCK=10  BENCH_DPOP_FETCH_WARMUP=20  BENCH_DPOP_COLD_STARTS=10
//   BENCH_DPOP_COLD_WARMUP=1  BENCH_OUT=bench/results.md

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

import { chromium } from 'playwright-core';

import { generateJwks, startProvider } from '../tests/op/provider.mjs';
import { startApiServer, verifyDpopProof } from '../tests/support/api-server.mjs';
import {
  CHROMIUM_ARGS, CHROMIUM_PATH, closeBrowser, launchBrowser,
} from '../tests/support/browser.mjs';
import { completeLogin } from '../tests/support/op-interactions.mjs';
import { startStaticServer } from '../tests/support/static-server.mjs';
import {
  DEFAULT_OUT, DPOP_HEADING, envInt, int, ISOLATION_HEADERS, log, machine, median, ms, PAGE_DIR, percentile,
  seconds, sectionHead, snapshotPkg, stopOnSignals, summary, us, waitForBench, withSection,
} from './lib.mjs';

const envCount = (name, fallback) => (process.env[name] === '0' ? 0 : envInt(name, fallback));
const REFRESHES = envInt('BENCH_DPOP_REFRESHES', 20);
const REFRESH_WARMUP = envCount('BENCH_DPOP_REFRESH_WARMUP', 3);
const FETCHES = envInt('BENCH_DPOP_FETCHES', 500);
const FETCH_BLOCK = envInt('BENCH_DPOP_FETCH_BLOCK', 10);
const FETCH_WARMUP = envCount('BENCH_DPOP_FETCH_WARMUP', 20);
const COLD_STARTS = envInt('BENCH_DPOP_COLD_STARTS', 10);
const COLD_WARMUP = envCount('BENCH_DPOP_COLD_WARMUP', 1);
const OUT = resolve(process.env.BENCH_OUT || DEFAULT_OUT);

const short = (token) => (typeof token === 'string' ? `${token.slice(0, 8)}…` : String(token));
const describeGrants = (grants) => grants.map((g) => `${g.grantType} ${g.status}${g.error ? ` ${g.error}` : ''}`).join(', ') || 'none';
const stats = (samples) => ({
  ...summary(samples), p50: percentile(samples, 50), p90: percentile(samples, 90), p99: percentile(samples, 99),
});
/** "+1.23 ms" / "−0.40 ms" / "0.00 ms" (whatever rounds to zero). */
const signedMs = (v, digits = 2) => {
  const rounded = Number(v.toFixed(digits));
  if (rounded === 0) return ms(0, digits);
  return `${rounded < 0 ? '−' : '+'}${ms(Math.abs(rounded), digits)}`;
};

// ---------------------------------------------------------------- login

/**
 * A fresh browser context, the bench page with `options` (served as /bench-config.json meanwhile),
 * a login through the provider's forms, the callback; the code exchange's access token introspected.
 * Returns { name, dpop, context, page, bench, token, jkt (the key's thumbprint, DPoP only) }.
 */
async function login(browser, op, appUrl, setPageOptions, { name, dpop, apiOrigin }) {
  setPageOptions({ apiOrigins: [apiOrigin], dpop });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(20000);
    await page.goto(appUrl);
    await waitForBench(page);
    const before = op.tokenRequests.length;
    const { steps } = await completeLogin(page, {
      issuer: op.issuer, login: `dpop-bench-${name}`, trigger: () => page.locator('#login').click(),
    });
    const bench = await waitForBench(page, { callback: true });
    if (JSON.stringify(bench.appState) !== '{"bench":true}') {
      throw new Error(`login ${name}: unexpected appState ${JSON.stringify(bench.appState)} (steps ${steps.join(',')})`);
    }
    const grants = op.tokenRequests.slice(before);
    const code = grants[0];
    if (grants.length !== 1 || code.grantType !== 'authorization_code' || code.status !== 200
      || !code.issued.access_token || !code.issued.refresh_token) {
      throw new Error(`login ${name}: expected one successful code exchange with a refresh token, the provider saw ${describeGrants(grants)}`);
    }
    const token = code.issued.access_token;
    const info = await op.introspect(token);
    const wanted = dpop ? 'DPoP' : 'Bearer';
    if (info.active !== true || info.token_type !== wanted || (dpop ? !info.cnf?.jkt : Boolean(info.cnf))) {
      throw new Error(`login ${name}: the provider's introspection of the code exchange's access token says `
        + `active ${info.active}, token_type ${info.token_type}, cnf ${JSON.stringify(info.cnf)}; expected an active ${wanted} token`);
    }
    return {
      name, dpop, context, page, bench, token, jkt: info.cnf?.jkt,
    };
  } catch (err) {
    await context.close();
    throw err;
  }
}

// ---------------------------------------------------------------- sections
//
// A section is an async function (ctx) → { lines (its part of the report, starting with its
// "###" heading), problems (what did not work; the run then fails), summary (one log line) }.
// SECTIONS below runs them in order (the first two on the same two sessions, the third with its own
// persistent browser); a further measurement is one more such function there. ctx: { op, api,
// sessions, pageOrigin, appUrl, setPageOptions (what /bench-config.json serves from then on) }.

/** 1. A forced refresh with DPoP against one without, alternating. */
async function measureRefresh({ op, sessions }) {
  const order = [sessions.bearer, sessions.dpop];
  const samples = { bearer: [], dpop: [] };
  const tokens = { bearer: [sessions.bearer.token], dpop: [sessions.dpop.token] };
  const problems = [];
  let grantsSeen = 0;
  const rounds = REFRESH_WARMUP + REFRESHES;
  rounds: for (let r = 0; r < rounds; r += 1) {
    for (const s of r % 2 ? [...order].reverse() : order) {
      const before = op.tokenRequests.length;
      const result = await s.page.evaluate(() => window.benchForcedRefresh(1));
      const grants = op.tokenRequests.slice(before);
      grantsSeen += grants.length;
      const at = `${s.name} refresh ${r + 1}/${rounds}${r < REFRESH_WARMUP ? ' (warm-up)' : ''}`;
      if (result.error) {
        problems.push(`${at} failed: ${JSON.stringify(result.error)}; the provider saw ${describeGrants(grants)}`);
        break rounds;
      }
      const [{ ms: elapsed, token }] = result.samples;
      const grant = grants[0];
      if (grants.length !== 1 || grant.grantType !== 'refresh_token' || grant.status !== 200) {
        problems.push(`${at}: expected one refresh_token grant answered 200, the provider saw ${describeGrants(grants)}`);
        break rounds;
      }
      if (token !== grant.issued.access_token) {
        problems.push(`${at} returned ${short(token)}, not the access token its grant issued (${short(grant.issued.access_token)})`);
        break rounds;
      }
      if (tokens[s.name].includes(token)) {
        problems.push(`${at} returned ${short(token)}, a token the session had before`);
        break rounds;
      }
      tokens[s.name].push(token);
      if (r >= REFRESH_WARMUP) samples[s.name].push(elapsed);
    }
  }

  // Every token each session obtained, at the provider: DPoP-bound to the session's key, or Bearer.
  let introspected = 0;
  for (const s of order) {
    for (const token of tokens[s.name]) {
      const info = await op.introspect(token);
      introspected += 1;
      const ok = info.active === true && (s.dpop ? info.token_type === 'DPoP' && info.cnf?.jkt === s.jkt : info.token_type === 'Bearer' && !info.cnf);
      if (!ok) {
        problems.push(`${s.name} token ${short(token)} at introspection: active ${info.active}, token_type ${info.token_type}, cnf ${JSON.stringify(info.cnf)}`);
        break;
      }
    }
  }

  const lines = ['### Refresh: `getAccessToken({ forceRefresh: true })`', ''];
  lines.push('Each call timed in its page (postMessage to the worker, the `refresh_token` grant at the provider, the checks of the answer');
  lines.push('and of its new ID token, the answer to the page). With DPoP the worker also signs a proof (ECDSA P-256, WebCrypto) for the');
  lines.push('token request and the provider verifies it and binds the new tokens to the key; the bearer session sends no proof.');
  lines.push(`${REFRESH_WARMUP} unmeasured rounds, then ${REFRESHES} measured; each round one call per session, the order swapped every round.`);
  const measured = Math.min(samples.bearer.length, samples.dpop.length);
  if (!measured) {
    lines.push('', 'Nothing measured (see Problems).', '');
    return { lines, problems, summary: 'refresh: nothing measured' };
  }
  lines.push(`Checked: every call returned a new access token, the one of its grant; the provider saw ${grantsSeen} token requests, `
    + `all \`refresh_token\` grants answered 200 (${rounds} per session); its introspection of all ${introspected} access tokens the sessions held `
    + `(logins included): the DPoP session's \`token_type\` DPoP with \`cnf.jkt\` its key's thumbprint, the bearer session's Bearer without \`cnf\`.`);
  lines.push('');
  const b = stats(samples.bearer);
  const d = stats(samples.dpop);
  const paired = samples.dpop.slice(0, measured).map((v, i) => v - samples.bearer[i]);
  lines.push('| session | n | median | p90 | mean | min | max |');
  lines.push('|---|--:|--:|--:|--:|--:|--:|');
  for (const [name, s] of [['bearer (`dpop: false`)', b], ['DPoP (`dpop: true`)', d]]) {
    lines.push(`| ${name} | ${s.n} | ${ms(s.median)} | ${ms(s.p90)} | ${ms(s.mean)} | ${ms(s.min)} | ${ms(s.max)} |`);
  }
  lines.push('');
  lines.push(`**DPoP median − bearer median = ${signedMs(d.median - b.median, 1)}** (DPoP / bearer ${(d.median / b.median).toFixed(2)}); `
    + `median of the ${measured} per-round differences (DPoP call − bearer call of the same round) ${signedMs(median(paired), 1)}.`);
  lines.push('');
  return {
    lines,
    problems,
    summary: `refresh medians: bearer ${ms(b.median)}, DPoP ${ms(d.median)} (${measured} each)`,
  };
}

/**
 * `n` sequential GETs of `url` in the page, through auth.fetch (via 'auth') or fetch() with `headers`
 * (via 'direct'), each timed until the body was read → { samples: ms[], error? }.
 */
function fetchBlock(page, args) {
  return page.evaluate(async ({
    via, url, headers, n,
  }) => {
    const samples = [];
    for (let i = 0; i < n; i += 1) {
      const t0 = performance.now();
      let status;
      let body;
      try {
        const response = via === 'auth' ? await window.auth.fetch(url) : await fetch(url, { headers });
        status = response.status;
        body = await response.text();
      } catch (err) {
        return {
          samples, error: { at: i, name: err?.name, message: err?.message, code: err?.code, reason: err?.reason },
        };
      }
      const elapsed = performance.now() - t0;
      if (status !== 200) return { samples, error: { at: i, status, body: body.slice(0, 200) } };
      samples.push(elapsed);
    }
    return { samples };
  }, args);
}

const PERMUTATIONS = [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 2, 1], [2, 1, 0], [1, 0, 2]];

/** 2. auth.fetch with DPoP, without, and a direct fetch(), interleaved. */
async function measureFetch({
  op, api, sessions, pageOrigin,
}) {
  const problems = [];
  const grantsBefore = op.tokenRequests.length;
  const apiBefore = api.requests.length;
  const base = `${api.origin}/public`;
  const htu = base;
  const dpopToken = await sessions.dpop.page.evaluate(() => window.auth.getAccessToken());
  const bearerToken = await sessions.bearer.page.evaluate(() => window.auth.getAccessToken());
  const seenJtis = new Set();
  let proofsVerified = 0;
  let capturedProof;
  const ways = [
    {
      key: 'direct', label: 'direct `fetch()`', session: sessions.dpop, via: 'direct', samples: [],
    },
    {
      key: 'bearer', label: 'bearer `auth.fetch`', session: sessions.bearer, via: 'auth', samples: [],
    },
    {
      key: 'dpop', label: 'DPoP `auth.fetch`', session: sessions.dpop, via: 'auth', samples: [],
    },
  ];
  const byKey = Object.fromEntries(ways.map((w) => [w.key, w]));

  /** One block of `n` calls one way; then the DPoP proofs it sent, verified. Returns false on a problem. */
  const block = async (way, n, measured) => {
    const mark = api.requests.length;
    const url = `${base}?w=${way.key}`;
    const result = await fetchBlock(way.session.page, {
      via: way.via, url, headers: way.key === 'direct' ? { Authorization: `DPoP ${dpopToken}`, DPoP: capturedProof } : undefined, n,
    });
    if (result.error) {
      problems.push(`${way.key}: GET ${url} failed: ${JSON.stringify(result.error)}`);
      return false;
    }
    if (measured) way.samples.push(...result.samples);
    if (way.key === 'dpop') {
      const sent = api.requests.slice(mark).filter((e) => e.method === 'GET' && e.url === `/public?w=dpop`);
      for (const e of sent) {
        try {
          if (e.authorization !== `DPoP ${dpopToken}`) throw new Error(`Authorization ${short(e.authorization)}`);
          // Verified now: its iat must be within a minute.
          const { jkt } = verifyDpopProof(e.dpopProof, {
            method: 'GET', htu, token: dpopToken, seen: seenJtis,
          });
          if (jkt !== sessions.dpop.jkt) throw new Error('the proof is not made with the session\'s key');
          proofsVerified += 1;
        } catch (err) {
          problems.push(`a DPoP auth.fetch request the API saw: ${err.message}`);
          return false;
        }
      }
      capturedProof ??= sent[0]?.dpopProof;
    }
    return true;
  };

  // Warm-up: DPoP first (the direct way sends a proof it captures), then bearer, then direct.
  let ok = true;
  if (FETCH_WARMUP) {
    for (const key of ['dpop', 'bearer', 'direct']) {
      ok = await block(byKey[key], FETCH_WARMUP, false);
      if (!ok) break;
    }
  } else {
    ok = await block(byKey.dpop, 1, false); // the proof the direct way sends
  }
  const blocks = Math.ceil(FETCHES / FETCH_BLOCK);
  for (let i = 0; ok && i < blocks; i += 1) {
    const n = Math.min(FETCH_BLOCK, FETCHES - i * FETCH_BLOCK);
    for (const w of PERMUTATIONS[i % PERMUTATIONS.length]) {
      ok = await block(ways[w], n, true);
      if (!ok) break;
    }
  }

  const grants = op.tokenRequests.slice(grantsBefore);
  if (grants.length) problems.push(`the provider saw token requests during the auth.fetch measurement: ${describeGrants(grants)}`);
  const seen = api.requests.slice(apiBefore);
  const check = {};
  for (const way of ways) {
    const url = `/public?w=${way.key}`;
    const gets = seen.filter((e) => e.method === 'GET' && e.url === url);
    const preflights = seen.filter((e) => e.method === 'OPTIONS' && e.url === url);
    const expected = FETCH_WARMUP + FETCHES + (way.key === 'dpop' && !FETCH_WARMUP ? 1 : 0);
    const wrongHeaders = gets.filter((e) => {
      if (way.key === 'bearer') return e.authorization !== `Bearer ${bearerToken}` || e.dpopProof !== null;
      if (way.key === 'direct') return e.authorization !== `DPoP ${dpopToken}` || e.dpopProof !== capturedProof;
      return false; // dpop: every one verified after its block
    });
    const wrong = gets.filter((e) => e.status !== 200 || e.origin !== pageOrigin);
    check[way.key] = { gets: gets.length, preflights: preflights.filter((e) => e.status === 204).length };
    if (ok && gets.length !== expected) problems.push(`${way.key}: the API saw ${gets.length} GETs, expected ${expected}`);
    if (wrong.length) problems.push(`${way.key}: ${wrong.length} GETs not 200 or not from ${pageOrigin}`);
    if (wrongHeaders.length) problems.push(`${way.key}: ${wrongHeaders.length} GETs without the expected Authorization/DPoP headers`);
    if (preflights.length !== gets.length) problems.push(`${way.key}: ${preflights.length} preflights for ${gets.length} GETs`);
  }
  if (ok && proofsVerified !== check.dpop.gets) problems.push(`${proofsVerified} DPoP proofs verified of ${check.dpop.gets}`);

  const lines = ['### `auth.fetch` with DPoP against a direct `fetch()`', ''];
  lines.push('`GET <api>/public` of `tests/support/api-server.mjs` (a different origin; `/public` checks no token and no proof, so the server\'s');
  lines.push('work is the same every way), each call timed in its page until the body was read (`response.text()`):');
  lines.push('- direct: `fetch(url, { headers: { Authorization: \'DPoP <token>\', DPoP: <a proof> } })` from the DPoP session\'s page: the');
  lines.push('  headers DPoP `auth.fetch` sends (the proof captured from one of its requests, the same every time), so the same preflight;');
  lines.push('- bearer `auth.fetch(url)` in the bearer session (the worker adds `Authorization: Bearer <token>`);');
  lines.push('- DPoP `auth.fetch(url)` in the DPoP session (the worker also signs a new proof with `ath` for every request).');
  lines.push(`${FETCH_WARMUP} unmeasured calls each way, then blocks of ${FETCH_BLOCK} sequential calls, one block each way per round, the order of the three`);
  lines.push(`cycling through all six permutations, until ${FETCHES} each way. The URL carries \`?w=<way>\` so the API can tell them apart.`);
  if (!ways.every((w) => w.samples.length)) {
    lines.push('', 'Incomplete (see Problems).', '');
    return { lines, problems, summary: 'auth.fetch: incomplete' };
  }
  lines.push(`Checked at the API: ${ways.map((w) => `${int(check[w.key].gets)} ${w.key}`).join(', ')} GETs, all 200 from the page's origin, each way `
    + `with its headers (bearer: the session's token, no proof; direct: the DPoP token and the captured proof); all ${int(proofsVerified)} DPoP`
    + ` \`auth.fetch\` proofs verified (signature with the session's key, \`htm\`, \`htu\`, \`iat\`, \`ath\`, no \`jti\` twice); every GET`
    + ` preceded by a preflight (the API's \`Access-Control-Max-Age: 0\`); no token request at the provider meanwhile.`);
  lines.push('');
  const s = Object.fromEntries(ways.map((w) => [w.key, stats(w.samples)]));
  lines.push('| way | n | p50 | p90 | p99 | mean | min | max | p50 / direct p50 |');
  lines.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const w of ways) {
    const x = s[w.key];
    lines.push(`| ${w.label} | ${int(x.n)} | ${ms(x.p50, 2)} | ${ms(x.p90, 2)} | ${ms(x.p99, 2)} | ${ms(x.mean, 2)} | ${ms(x.min, 2)} | ${ms(x.max, 2)} | ${(x.p50 / s.direct.p50).toFixed(2)} |`);
  }
  lines.push('');
  // The same comparison in each fifth of the run (its blocks are interleaved, so the fifths are aligned in time).
  const fifths = (key, other) => Array.from({ length: 5 }, (_, i) => {
    const part = (arr) => arr.slice(Math.floor((i * arr.length) / 5), Math.floor(((i + 1) * arr.length) / 5));
    return percentile(part(byKey[key].samples), 50) - percentile(part(byKey[other].samples), 50);
  });
  const range = (v) => `${signedMs(Math.min(...v))} to ${signedMs(Math.max(...v))}`;
  lines.push(`**p50 differences: DPoP \`auth.fetch\` − bearer \`auth.fetch\` ${signedMs(s.dpop.p50 - s.bearer.p50)}; `
    + `bearer \`auth.fetch\` − direct ${signedMs(s.bearer.p50 - s.direct.p50)}; DPoP \`auth.fetch\` − direct ${signedMs(s.dpop.p50 - s.direct.p50)}** `
    + `(p90: ${signedMs(s.dpop.p90 - s.bearer.p90)}, ${signedMs(s.bearer.p90 - s.direct.p90)}, ${signedMs(s.dpop.p90 - s.direct.p90)}). `
    + `In each fifth of the run, DPoP − bearer p50 ranged ${range(fifths('dpop', 'bearer'))}, bearer − direct ${range(fifths('bearer', 'direct'))}.`);
  if (s.direct.p50 > Math.max(s.bearer.p50, s.dpop.p50)) {
    lines.push('');
    lines.push('In this run the direct `fetch()` from the page took longer (p50) than `auth.fetch` either way, so it bounds nothing from below here;');
    lines.push('what DPoP adds to `auth.fetch` is the DPoP − bearer difference (the same path through a worker, but for the proof).');
  }
  lines.push('');
  return {
    lines,
    problems,
    summary: `auth.fetch p50: direct ${ms(s.direct.p50, 2)}, bearer ${ms(s.bearer.p50, 2)}, DPoP ${ms(s.dpop.p50, 2)}`,
  };
}

// ---------------------------------------------------------------- 3. cold start with persist

/**
 * Added to every page of a measured persistent browser before its scripts run: the moment
 * bench/page/bench.js stores its client in window.auth (right after createAuthClient resolved), it
 * calls getAccessToken() once and records, in performance.now() time (ms since the navigation
 * start), when it was called and when it settled, with the token. Nothing is polled.
 */
function firstTokenHook() {
  let auth;
  const first = {};
  window.benchFirstToken = first;
  Object.defineProperty(window, 'auth', {
    configurable: true,
    enumerable: true,
    get: () => auth,
    set(client) {
      auth = client;
      if (first.called !== undefined) return;
      first.called = performance.now();
      client.getAccessToken().then(
        (token) => { first.at = performance.now(); first.token = token; },
        (err) => {
          first.at = performance.now();
          first.error = {
            name: err?.name, message: err?.message, code: err?.code, reason: err?.reason,
          };
        },
      );
    },
  });
}

/** The persistent browser of the cold-start section and its profile directory (for the signal handler). */
const cold = { context: undefined, profile: undefined };

async function launchProfile(op) {
  const context = await chromium.launchPersistentContext(cold.profile, {
    executablePath: CHROMIUM_PATH, headless: process.env.HEADED !== '1', args: CHROMIUM_ARGS,
  });
  cold.context = context;
  const providerNavigations = [];
  context.on('request', (r) => {
    if (r.isNavigationRequest() && new URL(r.url()).origin === op.issuer) providerNavigations.push(r.url());
  });
  return { context, providerNavigations };
}

async function closeProfile() {
  const { context } = cold;
  cold.context = undefined;
  await closeBrowser(context);
}

/**
 * Opens the bench page in `page`; waits until it started and its first getAccessToken() settled.
 * → { total (navigation start → token, ms), page: bench.t, token, error?, isolated, url }
 */
async function timedLoad(page, appUrl) {
  await page.goto(appUrl);
  await page.waitForFunction(
    () => window.benchFirstToken && window.bench && window.bench.status !== 'loading'
      && (window.benchFirstToken.at !== undefined || window.bench.status === 'failed'),
    null, { timeout: 30000 },
  );
  return page.evaluate(() => {
    const { bench, benchFirstToken: first } = window;
    return {
      status: bench.status,
      benchError: bench.error,
      t: bench.t,
      called: first.called,
      total: first.at,
      token: first.token,
      error: first.error,
      isolated: bench.crossOriginIsolated,
      url: window.location.href,
    };
  });
}

/**
 * 3. A browser cold start with `persist: "dpop-bound"`: navigation start → the first access token
 * (the resume's refresh grant inside createAuthClient), against a second page of the same browser.
 */
async function measureColdStart({ op, appUrl, setPageOptions }) {
  const problems = [];
  const options = { dpop: true, persist: 'dpop-bound', restore: 'none' };
  setPageOptions(options);
  const samples = {
    cold: [], warm: [], launch: [], coldCreate: [], coldScript: [], coldToken: [], warmCreate: [], warmScript: [], warmToken: [],
  };
  const routes = new Map(); // provider routes seen during the measured cold starts → count
  let isolatedPages = 0;
  let loadedPages = 0;
  let introspected = 0;
  let jkt;
  cold.profile = mkdtempSync(join(tmpdir(), 'oidc-worker-bench-profile-'));
  const runs = COLD_WARMUP + COLD_STARTS;
  try {
    // Login, once, in the persistent profile (no hook: this page's client is the login's).
    {
      const { context } = await launchProfile(op);
      const page = context.pages()[0] ?? await context.newPage();
      page.setDefaultTimeout(20000);
      await page.goto(appUrl);
      await waitForBench(page);
      const before = op.tokenRequests.length;
      await completeLogin(page, {
        issuer: op.issuer, login: 'dpop-bench-cold', trigger: () => page.locator('#login').click(),
      });
      const bench = await waitForBench(page, { callback: true });
      const grants = op.tokenRequests.slice(before);
      const code = grants[0];
      if (JSON.stringify(bench.appState) !== '{"bench":true}' || grants.length !== 1 || code.grantType !== 'authorization_code'
        || code.status !== 200 || !code.issued.refresh_token) {
        throw new Error(`cold start login: appState ${JSON.stringify(bench.appState)}, the provider saw ${describeGrants(grants)}`);
      }
      const info = await op.introspect(code.issued.access_token);
      if (info.active !== true || info.token_type !== 'DPoP' || !info.cnf?.jkt) {
        throw new Error(`cold start login: the code exchange's access token is not an active DPoP token (${info.token_type}, cnf ${JSON.stringify(info.cnf)})`);
      }
      jkt = info.cnf.jkt;
      await closeProfile();
    }
    log('dpop: cold start: logged in in the persistent profile');

    for (let r = 0; r < runs; r += 1) {
      const at = `cold start ${r + 1}/${runs}${r < COLD_WARMUP ? ' (warm-up)' : ''}`;
      const grantsFrom = op.tokenRequests.length;
      const requestsFrom = op.requests.length;
      const launchStart = performance.now();
      const { context, providerNavigations } = await launchProfile(op);
      const launchMs = performance.now() - launchStart;
      await context.addInitScript(firstTokenHook);
      const page = context.pages()[0] ?? await context.newPage();
      page.setDefaultTimeout(20000);

      const c = await timedLoad(page, appUrl);
      const grants = op.tokenRequests.slice(grantsFrom);
      const seen = op.requests.slice(requestsFrom);
      loadedPages += 1;
      isolatedPages += c.isolated ? 1 : 0;
      if (c.status !== 'ready' || c.error) {
        problems.push(`${at}: ${c.status !== 'ready' ? `the page failed: ${JSON.stringify(c.benchError)}` : `getAccessToken() failed: ${JSON.stringify(c.error)}`}; `
          + `the provider saw ${describeGrants(grants)}`);
        break;
      }
      const grant = grants[0];
      if (grants.length !== 1 || grant.grantType !== 'refresh_token' || grant.status !== 200) {
        problems.push(`${at}: expected exactly one refresh_token grant answered 200, the provider saw ${describeGrants(grants)}`);
        break;
      }
      if (c.token !== grant.issued.access_token) {
        problems.push(`${at}: getAccessToken() returned ${short(c.token)}, not the access token of the resume's grant (${short(grant.issued.access_token)})`);
        break;
      }
      const authorizations = seen.filter((e) => e.route === 'authorization' || e.path.startsWith('/interaction') || e.route === 'resume');
      if (authorizations.length || providerNavigations.length || c.url !== appUrl) {
        problems.push(`${at}: ${authorizations.length} authorization/interaction request(s) at the provider, navigations to it: `
          + `${JSON.stringify(providerNavigations)}, the page ended at ${c.url}`);
        break;
      }

      // The same page load with the holder alive: a second page while the first is open.
      const page2 = await context.newPage();
      page2.setDefaultTimeout(20000);
      const w = await timedLoad(page2, appUrl);
      const warmGrants = op.tokenRequests.slice(grantsFrom + 1);
      loadedPages += 1;
      isolatedPages += w.isolated ? 1 : 0;
      if (w.status !== 'ready' || w.error || warmGrants.length || w.token !== c.token || providerNavigations.length) {
        problems.push(`${at}, second page: status ${w.status} ${JSON.stringify(w.benchError ?? w.error ?? null)}, `
          + `token ${w.token === c.token ? 'the first page\'s' : short(w.token)}, token requests ${describeGrants(warmGrants)}, `
          + `provider navigations ${providerNavigations.length}`);
        break;
      }

      // The resumed session's token: DPoP-bound to the key stored at login.
      const info = await op.introspect(c.token);
      introspected += 1;
      if (info.active !== true || info.token_type !== 'DPoP' || info.cnf?.jkt !== jkt) {
        problems.push(`${at}: the resumed access token at introspection: active ${info.active}, token_type ${info.token_type}, `
          + `cnf ${JSON.stringify(info.cnf)} (the login's key ${jkt})`);
        break;
      }

      await closeProfile();
      if (r < COLD_WARMUP) continue;
      for (const e of seen) routes.set(e.route ?? e.path, (routes.get(e.route ?? e.path) ?? 0) + 1);
      samples.launch.push(launchMs);
      samples.cold.push(c.total);
      samples.coldScript.push(c.t.createStart);
      samples.coldCreate.push(c.t.firstAnswer - c.t.createStart);
      samples.coldToken.push(c.total - c.called);
      samples.warm.push(w.total);
      samples.warmScript.push(w.t.createStart);
      samples.warmCreate.push(w.t.firstAnswer - w.t.createStart);
      samples.warmToken.push(w.total - w.called);
    }
  } catch (err) {
    problems.push(`cold start: ${err?.message ?? err}`);
  } finally {
    await closeProfile();
    rmSync(cold.profile, { recursive: true, force: true });
    cold.profile = undefined;
  }

  const lines = ['### Cold start with `persist: "dpop-bound"`', ''];
  lines.push('A third session, in a persistent Chromium profile (`chromium.launchPersistentContext`, a temporary directory), with options');
  lines.push('`dpop: true, persist: "dpop-bound", restore: "none"`: logged in once through the provider\'s forms, then the browser closed. Then, each');
  lines.push('round: the browser launched again on the same profile, the bench page (`bench/page/`) opened in its first tab: the worker finds');
  lines.push('no live session, reads the stored refresh token and its non-extractable key from IndexedDB and resumes with one `refresh_token` grant');
  lines.push('in the start-up, which the first call waits for; then, the first page still open, the same page in a second tab (the holder alive: its session');
  lines.push('is live, no grant); then the whole browser closed (`context.close()`). Timed in each page, by a script Playwright adds before');
  lines.push('the page\'s own (it calls `getAccessToken()` the moment the page stores its client, right after `createAuthClient` resolved, so the call waits for the start-up):');
  lines.push('**navigation start (`performance.timeOrigin`) → the first `getAccessToken()` resolved with a token**: the document and');
  lines.push('its module scripts, `/bench-config.json`, `createAuthClient`, the start-up (worker start, wasm, with the holder gone discovery, the IndexedDB');
  lines.push('read and the refresh grant with its DPoP proof, the ID token\'s checks, the rotated token stored), `getAccessToken`.');
  lines.push('The browser launch itself is not counted (it is below, for scale). Everything is served `Cache-Control: no-store`.');
  lines.push(`${COLD_WARMUP} unmeasured round${COLD_WARMUP === 1 ? '' : 's'}, then ${COLD_STARTS} measured.`);
  const n = samples.cold.length;
  if (!n) {
    lines.push('', 'Nothing measured (see Problems).', '');
    return { lines, problems, summary: 'cold start: nothing measured' };
  }
  const routeText = [...routes].map(([route, count]) => `${count} \`${route}\`${route === 'cors.token' ? ' (the preflight)' : ''}`).join(', ');
  lines.push(`Checked in every round (warm-up included): the cold page's token is the access token of the one \`refresh_token\` grant`
    + ` the provider answered 200 during the launch and page load, and it saw no other token request, no authorization request and no`
    + ` navigation to it (the page stayed at the app's URL); the provider's introspection: DPoP-bound to the key of the login`
    + ` (\`cnf.jkt\`, ${introspected} tokens); the second page got the same token with no token request.`
    + ` Provider requests of the ${n} measured cold starts: ${routeText}. \`crossOriginIsolated\`: ${isolatedPages}/${loadedPages} pages.`);
  lines.push('');
  const rows = [
    ['cold start: browser restarted, session resumed (one refresh grant)', samples.cold],
    ['holder alive: a second page of the same browser (no grant)', samples.warm],
  ];
  lines.push('| navigation start → first access token | n | median | p90 | min | max |');
  lines.push('|---|--:|--:|--:|--:|--:|');
  for (const [label, values] of rows) {
    const s = stats(values);
    lines.push(`| ${label} | ${s.n} | ${ms(s.median)} | ${ms(s.p90)} | ${ms(s.min)} | ${ms(s.max)} |`);
  }
  lines.push('');
  lines.push('Medians of the parts (the page\'s own marks; the first includes `/bench-config.json`; the last two overlap: `getAccessToken` is called when the client is stored and also waits for the start-up):');
  lines.push('');
  lines.push('| page | navigation start → `createAuthClient` called | `createAuthClient` → first call answered (start-up, the resume) | `getAccessToken` |');
  lines.push('|---|--:|--:|--:|');
  lines.push(`| cold start | ${ms(median(samples.coldScript))} | ${ms(median(samples.coldCreate))} | ${ms(median(samples.coldToken), 2)} |`);
  lines.push(`| holder alive | ${ms(median(samples.warmScript))} | ${ms(median(samples.warmCreate))} | ${ms(median(samples.warmToken), 2)} |`);
  lines.push('');
  const cs = stats(samples.cold);
  const ws = stats(samples.warm);
  const launch = stats(samples.launch);
  lines.push(`**Cold start median ${ms(cs.median)}, ${signedMs(cs.median - ws.median, 1)} over a page of a browser whose holder is alive (${ms(ws.median)}).**`
    + ` Not counted: the browser launch (\`launchPersistentContext\`, until Playwright has the browser), median ${ms(launch.median, 0)}`
    + ` (min ${ms(launch.min, 0)}, max ${ms(launch.max, 0)}).`);
  lines.push('');
  return {
    lines,
    problems,
    summary: `cold start medians: resumed ${ms(cs.median)}, holder alive ${ms(ws.median)} (${n} each)`,
  };
}

const SECTIONS = [measureRefresh, measureFetch, measureColdStart];

// ---------------------------------------------------------------- report

function report({
  env, snapshot, isolation, sections, runSeconds, problems,
}) {
  const L = sectionHead(DPOP_HEADING, 'dpop.mjs', { env, snapshot, runSeconds });
  L.push('What DPoP (`dpop: true`, RFC 9449) costs against the same client with bearer tokens, in one run: one oidc-provider with its DPoP feature');
  L.push('on (no nonces required; refresh tokens rotated) and a DPoP-verifying API (`tests/support/api-server.mjs` `dpop: true`). Two sessions of the same');
  L.push('client id, each logged in through the provider\'s forms in its own browser context (its own SharedWorker; scope `openid profile email offline_access`,');
  L.push('`prompt=consent`): bearer (`dpop: false`; the provider issues Bearer tokens to a client that sends no proof) and DPoP (`dpop: true`);');
  L.push('the cold start, last, has a third session of its own in a persistent browser profile.');
  L.push('The same bench page (`bench/page/`) and headers as above; `crossOriginIsolated`: '
    + `${isolation.isolated}/${isolation.pages} callback pages, \`performance.now()\` step ${us(isolation.resolution)}. `
    + 'The provider and the API run in this node process, on the same machine as the browser: their work (including verifying proofs) is inside every time below.');
  if (problems.length) {
    L.push('');
    L.push('**Problems (the run failed):**');
    for (const p of problems) L.push(`- ${p}`);
  }
  L.push('');
  for (const section of sections) L.push(...section.lines);
  return L.join('\n');
}

// ---------------------------------------------------------------- main

let snapshot;
let server;
let op;
let api;
let browser;
let exitCode = 0;
const interrupted = stopOnSignals(() => {
  if (snapshot) rmSync(snapshot.dir, { recursive: true, force: true });
  const profile = cold.profile;
  const coldClosed = closeBrowser(cold.context, 4000).then(() => { if (profile) rmSync(profile, { recursive: true, force: true }); });
  return [closeBrowser(browser, 4000), coldClosed, server?.close(), op?.close(), api?.close()];
});
const sessions = {};
try {
  snapshot = await snapshotPkg();
  log(`dpop: pkg copied to ${snapshot.dir}`);

  let pageConfig; // what /bench-config.json serves: which provider, which client options
  server = await startStaticServer({
    mounts: { '/pkg/': snapshot.dir, '/': PAGE_DIR },
    json: { '/bench-config.json': () => pageConfig },
    headers: ISOLATION_HEADERS,
  });
  const appUrl = `${server.origin}/`;
  op = await startProvider({
    redirectUris: [appUrl], jwks: generateJwks(), introspection: true, dpop: {}, quiet: true,
  });
  api = await startApiServer({
    allowOrigin: server.origin, introspect: (token) => op.introspect(token), dpop: true,
  });
  browser = await launchBrowser();
  const env = machine(browser.version());
  log(`dpop: servers up (app ${appUrl}, provider ${op.issuer} with DPoP, API ${api.origin} with DPoP)`);
  const setPageOptions = (options) => { pageConfig = { issuer: op.issuer, clientId: op.clientId, options }; };

  sessions.bearer = await login(browser, op, appUrl, setPageOptions, { name: 'bearer', dpop: false, apiOrigin: api.origin });
  sessions.dpop = await login(browser, op, appUrl, setPageOptions, { name: 'dpop', dpop: true, apiOrigin: api.origin });
  const isolation = {
    pages: 2,
    isolated: [sessions.bearer, sessions.dpop].filter((s) => s.bench.crossOriginIsolated).length,
    resolution: await sessions.dpop.page.evaluate(() => window.benchTimerResolution()),
  };
  log('dpop: both sessions logged in');

  const ctx = {
    op, api, sessions, pageOrigin: server.origin, appUrl, setPageOptions,
  };
  const sections = [];
  const problems = [];
  for (const measure of SECTIONS) {
    const section = await measure(ctx);
    sections.push(section);
    problems.push(...section.problems);
    log(`dpop: ${section.summary}`);
    if (section.problems.length) break; // a session may be gone: later sections would measure nothing useful
  }
  if (op.serverErrors.length) problems.push(`the provider reported ${op.serverErrors.length} server error(s)`);

  const text = report({
    env, snapshot, isolation, sections, runSeconds: seconds(), problems,
  });
  writeFileSync(OUT, withSection(OUT, DPOP_HEADING, text));
  log(`dpop: wrote the "${DPOP_HEADING.slice(3)}" section of ${relative(process.cwd(), OUT) || OUT}`);
  if (problems.length) throw new Error(`a step did not work as documented:\n  ${problems.join('\n  ')}`);
} catch (err) {
  exitCode = 1;
  if (!interrupted()) console.error(`bench: FAILED: ${err?.stack ?? err}`);
} finally {
  await Promise.allSettled([sessions.bearer?.context.close(), sessions.dpop?.context.close()]);
  await closeBrowser(browser);
  await Promise.allSettled([server?.close(), op?.close(), api?.close()]);
  if (snapshot) rmSync(snapshot.dir, { recursive: true, force: true });
}
process.exit(exitCode);
