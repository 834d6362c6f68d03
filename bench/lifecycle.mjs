// Session-lifecycle benchmark of the built package, in headless Chromium against the real local
// oidc-provider and a local API (tests/support/api-server.mjs), on the same cross-origin isolated
// bench page as perf.mjs (bench/page/). It measures and reports; it asserts no timing. It fails
// (exit 1) when a step does not work: a login, a call that errors, token or grant counts that are
// not what the client documents. It still writes what it measured first, with the problem stated.
//
//   bash bench/run.sh            (runs perf.mjs, then this; prints bench/results.md)
//   node bench/lifecycle.mjs     (pkg/ must be built; replaces the "Session lifecycle" section of
//                                bench/results.md, or adds it, and keeps the rest)
//
// 1. Forced refresh: after a login through the provider's forms, BENCH_REFRESHES sequential
//    getAccessToken({ forceRefresh: true }); each must return a new token, and the provider must see
//    exactly that many refresh_token grants, all 200.
// 2. Concurrent calls on an expired access token: a second provider whose access tokens live
//    BENCH_ACCESS_TTL seconds, a client with autoRefresh: false; once the token has expired (the
//    provider's introspection says inactive), BENCH_CONCURRENT getAccessToken() at once; reported:
//    refresh_token grants the provider saw, failed calls, distinct tokens, time for the batch.
//    BENCH_EXPIRY_TRIALS times, each after the previous token expired.
// 3. auth.fetch overhead: GET <api>/public (no server-side token check: the same server cost both
//    ways) through auth.fetch and with a direct fetch() carrying the same Authorization header,
//    sequentially, interleaved in BENCH_FETCH_ROUNDS rounds of BENCH_FETCH_PER_ROUND each way.
//
// Env (for quick trials; the defaults are what results.md reports):
//   BENCH_REFRESHES=20  BENCH_CONCURRENT=50  BENCH_EXPIRY_TRIALS=3  BENCH_ACCESS_TTL=2
//   BENCH_FETCH_ROUNDS=10  BENCH_FETCH_PER_ROUND=50  BENCH_FETCH_WARMUP=20  BENCH_OUT=bench/results.md

import { rmSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

import { generateJwks, startProvider } from '../tests/op/provider.mjs';
import { startApiServer } from '../tests/support/api-server.mjs';
import { closeBrowser, launchBrowser } from '../tests/support/browser.mjs';
import { completeLogin } from '../tests/support/op-interactions.mjs';
import { startStaticServer } from '../tests/support/static-server.mjs';
import {
  DEFAULT_OUT, envInt, int, ISOLATION_HEADERS, LIFECYCLE_HEADING, log, machine, ms, PAGE_DIR, percentile,
  seconds, sectionHead, snapshotPkg, stopOnSignals, summary, us, waitForBench, withSection,
} from './lib.mjs';

const REFRESHES = envInt('BENCH_REFRESHES', 20);
const CONCURRENT = envInt('BENCH_CONCURRENT', 50);
const EXPIRY_TRIALS = envInt('BENCH_EXPIRY_TRIALS', 3);
const ACCESS_TTL = envInt('BENCH_ACCESS_TTL', 2);
const FETCH_ROUNDS = envInt('BENCH_FETCH_ROUNDS', 10);
const FETCH_PER_ROUND = envInt('BENCH_FETCH_PER_ROUND', 50);
const FETCH_WARMUP = process.env.BENCH_FETCH_WARMUP === '0' ? 0 : envInt('BENCH_FETCH_WARMUP', 20);
const OUT = resolve(process.env.BENCH_OUT || DEFAULT_OUT);

const sleep = (msec) => new Promise((r) => { setTimeout(r, Math.max(0, msec)); });
const short = (token) => (typeof token === 'string' ? `${token.slice(0, 8)}…` : String(token));
const countBy = (items, key) => items.reduce((acc, x) => {
  const k = key(x);
  acc[k] = (acc[k] ?? 0) + 1;
  return acc;
}, {});
/** e.g. "20 × refresh_token 200", "1 × refresh_token 400 invalid_grant, 1 × refresh_token 200", or "none". */
const describeCounts = (counts) => Object.entries(counts).map(([k, n]) => `${n} × ${k}`).join(', ') || 'none';
const describeGrants = (grants) => describeCounts(countBy(grants, (g) => `${g.grantType} ${g.status}${g.error ? ` ${g.error}` : ''}`));

// ---------------------------------------------------------------- login

/**
 * A fresh browser context, the bench page, a login through the provider's forms, the callback.
 * The page's createAuthClient options are whatever /bench-config.json serves meanwhile.
 * Returns { context, page, bench, codeGrant (the provider's record of the code exchange) }.
 */
async function login(browser, op, appUrl, name) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(20000);
    await page.goto(appUrl);
    await waitForBench(page);
    const before = op.tokenRequests.length;
    const { steps } = await completeLogin(page, {
      issuer: op.issuer, login: name, trigger: () => page.locator('#login').click(),
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
    return {
      context, page, bench, codeGrant: code,
    };
  } catch (err) {
    await context.close();
    throw err;
  }
}

// ---------------------------------------------------------------- 1. forced refresh

async function measureForcedRefresh(page, op, loginToken) {
  const before = op.tokenRequests.length;
  const requestsBefore = op.requests.length;
  const result = await page.evaluate((n) => window.benchForcedRefresh(n), REFRESHES);
  const grants = op.tokenRequests.slice(before);
  if (result.error) {
    throw new Error(`forced refresh ${result.error.at + 1}/${REFRESHES} failed: ${JSON.stringify(result.error)}; `
      + `the provider saw ${describeGrants(grants)}`);
  }
  const refreshGrants = grants.filter((g) => g.grantType === 'refresh_token');
  if (grants.length !== REFRESHES || refreshGrants.length !== REFRESHES || refreshGrants.some((g) => g.status !== 200)) {
    throw new Error(`${REFRESHES} forced refreshes: expected exactly ${REFRESHES} refresh_token grants, all 200; `
      + `the provider saw ${describeGrants(grants)}`);
  }
  const tokens = result.samples.map((s) => s.token);
  const distinct = new Set([loginToken, ...tokens]).size;
  if (distinct !== REFRESHES + 1) {
    throw new Error(`${REFRESHES} forced refreshes returned ${distinct - 1} new distinct tokens (not counting the login's), expected ${REFRESHES}`);
  }
  tokens.forEach((token, i) => {
    if (token !== refreshGrants[i].issued.access_token) {
      throw new Error(`forced refresh ${i + 1} returned ${short(token)}, not the access token of grant ${i + 1} (${short(refreshGrants[i].issued.access_token)})`);
    }
  });
  const newRefreshTokens = new Set(refreshGrants.map((g) => g.issued.refresh_token).filter(Boolean)).size;
  const preflights = op.requests.slice(requestsBefore).filter((r) => r.method === 'OPTIONS').length;
  const samples = result.samples.map((s) => s.ms);
  return {
    ...summary(samples),
    p90: percentile(samples, 90),
    first: samples[0],
    grants: refreshGrants.length,
    statuses: describeGrants(grants),
    newRefreshTokens,
    preflights,
    lastToken: tokens.at(-1),
  };
}

// ---------------------------------------------------------------- 2. concurrent calls, expired token

async function measureConcurrentExpired(page, op, codeGrant) {
  const trials = [];
  const problems = [];
  let current = codeGrant.issued.access_token;
  let issuedAt = codeGrant.at;
  const grantsSinceLogin = () => op.tokenRequests.filter((g) => g.at >= codeGrant.at && g !== codeGrant);
  for (let t = 0; t < EXPIRY_TRIALS; t += 1) {
    // Past its lifetime by a second (the provider rounds to seconds), then make sure it is expired.
    const waited = issuedAt + (ACCESS_TTL + 1) * 1000 - Date.now();
    await sleep(waited);
    const unexpected = grantsSinceLogin().length - trials.reduce((a, x) => a + x.grantsSeen, 0);
    if (unexpected !== 0) throw new Error(`trial ${t + 1}: ${unexpected} token request(s) while waiting for expiry (autoRefresh is off)`);
    const introspection = await op.introspect(current);
    if (introspection.active !== false) {
      throw new Error(`trial ${t + 1}: the access token is still active at the provider ${ACCESS_TTL + 1} s after it was issued`);
    }

    const before = op.tokenRequests.length;
    const batch = await page.evaluate((n) => window.benchConcurrentTokens(n), CONCURRENT);
    await sleep(300); // a refresh still in flight after every call settled would be counted too
    const grants = op.tokenRequests.slice(before);
    const refreshGrants = grants.filter((g) => g.grantType === 'refresh_token');
    const ok = batch.results.filter((r) => r.ok);
    const failed = batch.results.filter((r) => !r.ok);
    const tokens = new Set(ok.map((r) => r.token));
    const issued = new Set(refreshGrants.map((g) => g.issued.access_token).filter(Boolean));
    const trial = {
      calls: batch.results.length,
      failed: failed.length,
      failures: describeCounts(countBy(failed, (f) => [f.error.code, f.error.reason, f.error.error].filter(Boolean).join('/'))),
      distinct: tokens.size,
      grantsSeen: grants.length,
      refreshGrants: refreshGrants.length,
      statuses: describeGrants(grants),
      ms: batch.ms,
      firstSettled: Math.min(...batch.results.map((r) => r.ms)),
      lastSettled: Math.max(...batch.results.map((r) => r.ms)),
      waitedMs: Math.max(0, waited),
    };
    trials.push(trial);

    const trialProblems = [];
    if (failed.length) trialProblems.push(`${failed.length} of ${CONCURRENT} calls failed (${trial.failures})`);
    if (refreshGrants.length !== 1 || grants.length !== 1) trialProblems.push(`the provider saw ${describeGrants(grants)}, not one refresh_token grant`);
    if (refreshGrants.some((g) => g.status !== 200)) trialProblems.push(`a refresh grant failed: ${describeGrants(refreshGrants)}`);
    if (tokens.size !== 1 && ok.length) trialProblems.push(`${tokens.size} distinct tokens returned, not 1`);
    if (tokens.has(current)) trialProblems.push('the expired token was returned');
    for (const token of tokens) if (!issued.has(token)) trialProblems.push(`a returned token (${short(token)}) is not one the provider issued during the batch`);
    if (trialProblems.length) {
      problems.push(...trialProblems.map((p) => `expired-token trial ${t + 1}: ${p}`));
      break; // the session may be gone: later trials would measure nothing useful
    }
    current = [...tokens][0];
    issuedAt = refreshGrants[0].at;
  }
  return { trials, problems };
}

// ---------------------------------------------------------------- 3. auth.fetch overhead

async function measureFetchOverhead(page, op, api, pageOrigin) {
  const grantsBefore = op.tokenRequests.length;
  const token = await page.evaluate(() => window.auth.getAccessToken());
  const apiBefore = api.requests.length;
  const url = `${api.origin}/public`;
  const result = await page.evaluate((args) => window.benchFetchRounds(args), {
    url, authorization: `Bearer ${token}`, rounds: FETCH_ROUNDS, perRound: FETCH_PER_ROUND, warmup: FETCH_WARMUP,
  });
  if (result.error) throw new Error(`GET ${url} failed: ${JSON.stringify(result.error)}`);
  const grants = op.tokenRequests.slice(grantsBefore);
  if (grants.length) throw new Error(`the provider saw token requests during the auth.fetch measurement: ${describeGrants(grants)}`);

  const seen = api.requests.slice(apiBefore);
  const gets = seen.filter((r) => r.method === 'GET');
  const preflights = seen.filter((r) => r.method === 'OPTIONS');
  const expected = 2 * (FETCH_ROUNDS * FETCH_PER_ROUND + FETCH_WARMUP);
  const wrong = gets.filter((r) => r.path !== '/public' || r.status !== 200 || r.authorization !== `Bearer ${token}` || r.origin !== pageOrigin);
  if (gets.length !== expected || wrong.length) {
    throw new Error(`the API saw ${gets.length} GETs (expected ${expected}), ${wrong.length} of them not GET /public 200 `
      + `with the token and Origin ${pageOrigin}: ${JSON.stringify(wrong.slice(0, 3).map((r) => ({ path: r.path, status: r.status, origin: r.origin, auth: short(r.authorization) })))}`);
  }
  const stats = (samples) => ({
    ...summary(samples), p50: percentile(samples, 50), p90: percentile(samples, 90), p99: percentile(samples, 99),
  });
  const perRound = (samples) => Array.from({ length: FETCH_ROUNDS }, (_, r) => percentile(samples.slice(r * FETCH_PER_ROUND, (r + 1) * FETCH_PER_ROUND), 50));
  const authRounds = perRound(result.auth);
  const directRounds = perRound(result.direct);
  const roundRatios = authRounds.map((a, r) => a / directRounds[r]);
  const auth = stats(result.auth);
  const direct = stats(result.direct);
  return {
    auth,
    direct,
    ratio: auth.p50 / direct.p50,
    roundRatios: { min: Math.min(...roundRatios), max: Math.max(...roundRatios) },
    gets: gets.length,
    preflights: preflights.length,
    preflightStatuses: describeCounts(countBy(preflights, (r) => r.status)),
  };
}

// ---------------------------------------------------------------- report

function report({
  env, snapshot, isolation, forced, expired, fetchOverhead, runSeconds, problems,
}) {
  const L = sectionHead(LIFECYCLE_HEADING, 'lifecycle.mjs', { env, snapshot, runSeconds });
  L.push('The same bench page (`bench/page/`) and headers as above; `crossOriginIsolated`: '
    + `${isolation.isolated}/${isolation.pages} callback pages, \`performance.now()\` step ${us(isolation.resolution)}. `
    + 'Each scenario starts with a login in a fresh browser context through the provider\'s forms (scope `openid profile email offline_access`, `prompt=consent`).');
  L.push('The provider and the API run in this node process, on the same machine as the browser: their work is inside every time below.');
  if (problems.length) {
    L.push('');
    L.push('**Problems (the run failed):**');
    for (const p of problems) L.push(`- ${p}`);
  }
  L.push('');

  L.push('### Forced refresh');
  L.push('');
  L.push(`\`getAccessToken({ forceRefresh: true })\`, ${forced.n} sequential calls in the callback page right after the login, each timed in the page`);
  L.push('(postMessage to the worker, `refresh_token` grant at the provider, checks of the response and its new ID token, answer).');
  L.push(`Checked: every call returned a new access token (${forced.n} distinct, none the login's), each the one its grant issued; `
    + `the provider saw exactly ${forced.grants} \`refresh_token\` grants and nothing else (${forced.statuses}), `
    + `and rotated the refresh token each time (${forced.newRefreshTokens} new refresh tokens); CORS preflights at the provider: ${forced.preflights}.`);
  L.push('');
  L.push('| n | median | p90 | mean | min | max | first call |');
  L.push('|--:|--:|--:|--:|--:|--:|--:|');
  L.push(`| ${forced.n} | ${ms(forced.median)} | ${ms(forced.p90)} | ${ms(forced.mean)} | ${ms(forced.min)} | ${ms(forced.max)} | ${ms(forced.first)} |`);
  L.push('');

  L.push('### Concurrent calls on an expired access token');
  L.push('');
  L.push(`A second provider whose access tokens live ${ACCESS_TTL} s, and a client with \`autoRefresh: false\` (no proactive refresh: the`);
  L.push('state a page finds after idle without it). After each token\'s lifetime + 1 s, and once the provider\'s introspection answered');
  L.push(`\`active: false\` for it, ${CONCURRENT} \`getAccessToken()\` calls issued at once (\`Promise.all\`), timed until all settled;`);
  L.push(`${EXPIRY_TRIALS} trials in one page, each on the token the previous one obtained. The client documents that concurrent calls share one refresh.`);
  L.push('');
  L.push('| trial | calls | failed | distinct tokens returned | grants the provider saw | batch (all settled) | first call settled |');
  L.push('|--:|--:|--:|--:|---|--:|--:|');
  expired.trials.forEach((t, i) => {
    L.push(`| ${i + 1} | ${t.calls} | ${t.failed} | ${t.distinct} | ${t.statuses} | ${ms(t.ms)} | ${ms(t.firstSettled)} |`);
  });
  if (expired.trials.length < EXPIRY_TRIALS) L.push(`\nStopped after trial ${expired.trials.length} of ${EXPIRY_TRIALS} (see Problems).`);
  L.push('');

  const f = fetchOverhead;
  L.push('### `auth.fetch` overhead');
  L.push('');
  L.push(`\`GET <api>/public\` of \`tests/support/api-server.mjs\` (a different origin; \`/public\` checks no token, so the server's cost is the`);
  L.push('same both ways), each call timed in the page until the body was read (`response.text()`):');
  L.push('- `auth.fetch(url)`: the page posts the request to the worker, which attaches the access token and fetches; the answer\'s');
  L.push('  body is transferred back and the page builds a `Response`;');
  L.push('- direct: `fetch(url, { headers: { Authorization: \'Bearer <the same token>\' } })` from the page (token from `getAccessToken()` first).');
  L.push(`${FETCH_ROUNDS} rounds × ${FETCH_PER_ROUND} sequential calls each way, alternating which way goes first, after ${FETCH_WARMUP} unmeasured calls each way.`);
  L.push(`Checked: the API saw ${int(f.gets)} GETs, all 200 with that token and the page's Origin; the provider saw no token request meanwhile.`);
  L.push(`Both ways are CORS requests with an \`Authorization\` header, and the API answers preflights with \`Access-Control-Max-Age: 0\`, so every`);
  L.push(`GET is preceded by a preflight (the API saw ${int(f.preflights)} OPTIONS: ${f.preflightStatuses}). The API sends no \`Cross-Origin-Resource-Policy\`;`);
  L.push('none is needed: COEP `require-corp` asks it only of no-cors loads, and these are CORS requests (`api-server.mjs` is used unchanged).');
  L.push('');
  L.push('| way | n | p50 | p90 | p99 | mean | min | max |');
  L.push('|---|--:|--:|--:|--:|--:|--:|--:|');
  for (const [name, s] of [['`auth.fetch`', f.auth], ['direct `fetch`', f.direct]]) {
    L.push(`| ${name} | ${int(s.n)} | ${ms(s.p50, 2)} | ${ms(s.p90, 2)} | ${ms(s.p99, 2)} | ${ms(s.mean, 2)} | ${ms(s.min, 2)} | ${ms(s.max, 2)} |`);
  }
  L.push('');
  L.push(`**auth.fetch p50 / direct p50 = ${f.ratio.toFixed(2)}** (p50 difference ${ms(f.auth.p50 - f.direct.p50, 2)}); `
    + `the same ratio per round (median of each round's ${FETCH_PER_ROUND}) ranged ${f.roundRatios.min.toFixed(2)}–${f.roundRatios.max.toFixed(2)}.`);
  L.push('');
  return L.join('\n');
}

// ---------------------------------------------------------------- main

let snapshot;
let server;
let op;
let opShort;
let api;
let browser;
let exitCode = 0;
const interrupted = stopOnSignals(() => {
  if (snapshot) rmSync(snapshot.dir, { recursive: true, force: true });
  return [closeBrowser(browser, 4000), server?.close(), op?.close(), opShort?.close(), api?.close()];
});
try {
  snapshot = await snapshotPkg();
  log(`lifecycle: pkg copied to ${snapshot.dir}`);

  let pageConfig; // what /bench-config.json serves: which provider, which client options
  server = await startStaticServer({
    mounts: { '/pkg/': snapshot.dir, '/': PAGE_DIR },
    json: { '/bench-config.json': () => pageConfig },
    headers: ISOLATION_HEADERS,
  });
  const appUrl = `${server.origin}/`;
  // One key generation for both providers (different issuers, same signing keys): Node 20 has been
  // seen to deadlock in RSA key generation + JWK export (a GC finalizing a KeyGenJob), so do it once,
  // as perf.mjs does; run.sh's timeout kills a process that hangs anyway.
  const jwks = generateJwks();
  op = await startProvider({ redirectUris: [appUrl], jwks, quiet: true });
  opShort = await startProvider({
    redirectUris: [appUrl], jwks, accessTokenTtl: ACCESS_TTL, introspection: true, quiet: true,
  });
  api = await startApiServer({ allowOrigin: server.origin });
  browser = await launchBrowser();
  const env = machine(browser.version());
  log(`lifecycle: servers up (app ${appUrl}, provider ${op.issuer}, short-lived provider ${opShort.issuer}, API ${api.origin})`);

  const isolation = { pages: 0, isolated: 0, resolution: NaN };

  // 1 + 3: one login at the provider with the usual lifetimes (600 s), the API allowed.
  pageConfig = { issuer: op.issuer, clientId: op.clientId, options: { apiOrigins: [api.origin] } };
  const first = await login(browser, op, appUrl, 'lifecycle');
  let forced;
  let fetchOverhead;
  try {
    isolation.pages += 1;
    if (first.bench.crossOriginIsolated) isolation.isolated += 1;
    isolation.resolution = await first.page.evaluate(() => window.benchTimerResolution());
    forced = await measureForcedRefresh(first.page, op, first.codeGrant.issued.access_token);
    log(`lifecycle: ${REFRESHES} forced refreshes, median ${ms(forced.median)}`);
    fetchOverhead = await measureFetchOverhead(first.page, op, api, server.origin);
    log(`lifecycle: auth.fetch ${ms(fetchOverhead.auth.p50, 2)} vs direct ${ms(fetchOverhead.direct.p50, 2)} (p50)`);
  } finally {
    await first.context.close();
  }

  // 2: a login at the short-lived provider, no proactive refresh.
  pageConfig = { issuer: opShort.issuer, clientId: opShort.clientId, options: { autoRefresh: false } };
  const second = await login(browser, opShort, appUrl, 'expiry');
  let expired;
  try {
    isolation.pages += 1;
    if (second.bench.crossOriginIsolated) isolation.isolated += 1;
    expired = await measureConcurrentExpired(second.page, opShort, second.codeGrant);
    log(`lifecycle: ${expired.trials.length} expired-token trials of ${CONCURRENT} concurrent calls`);
  } finally {
    await second.context.close();
  }

  const problems = [...expired.problems];
  for (const [name, o] of [['provider', op], ['short-lived provider', opShort]]) {
    if (o.serverErrors.length) problems.push(`the ${name} reported ${o.serverErrors.length} server error(s)`);
  }
  const text = report({
    env, snapshot, isolation, forced, expired, fetchOverhead, runSeconds: seconds(), problems,
  });
  writeFileSync(OUT, withSection(OUT, LIFECYCLE_HEADING, text));
  log(`lifecycle: wrote the "${LIFECYCLE_HEADING.slice(3)}" section of ${relative(process.cwd(), OUT) || OUT}`);
  if (problems.length) throw new Error(`a step did not work as documented:\n  ${problems.join('\n  ')}`);
} catch (err) {
  exitCode = 1;
  if (!interrupted()) console.error(`bench: FAILED: ${err?.stack ?? err}`);
} finally {
  await closeBrowser(browser);
  await Promise.allSettled([server?.close(), op?.close(), opShort?.close(), api?.close()]);
  if (snapshot) rmSync(snapshot.dir, { recursive: true, force: true });
}
process.exit(exitCode);
