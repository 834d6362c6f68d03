// End to end: auth.fetch (the request sent from the worker with the access token attached) of the
// example app in www/vanilla/ against a real oidc-provider and a protected API
// (tests/support/api-server.mjs), in headless Chromium, logged in through the provider's real forms.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/fetch.test.mjs
//
// What is checked, each against what the API server and the provider recorded:
//   - a GET to an allowlisted origin carries `Bearer <the login's access token>`, which the provider
//     introspects as active for the logged-in user;
//   - every body type reaches the API byte for byte with its Content-Type; CORS-exposed response
//     headers are readable, other ones are not; PUT and a custom header get through;
//   - any other origin (look-alikes included) and a page-set Authorization header are refused
//     (config / api_origin, config / authorization_header) and nothing at all is sent; also when a
//     script wrapping postMessage (MessagePort's, to the session holder, and Worker's) slips an Authorization into the headers sent
//     and declares harmless header names beside them (the worker reads the names from the headers);
//   - fetchTimeoutSeconds / fetchMaxResponseBytes: a slower API rejects network / timeout (and the
//     request is aborted on the wire), a larger body network / too_large (with or without
//     Content-Length); at the limits the response arrives whole;
//   - a 401 `invalid_token` challenge causes exactly one refresh_token grant and one retry (also for
//     concurrent calls; a retried POST carries its body again); any other 401 is handed back untouched;
//   - a redirect is never followed (invalid_response / redirect), so the token never reaches its target;
//   - an AbortSignal aborts the request on the wire; an aborted signal sends nothing;
//   - without a session (before login, after logout) it rejects login_required and sends nothing;
//   - an apiOrigins entry with a `resource` gets its own RFC 8707 token (a JWT for that audience),
//     obtained once and cached, while the other origins keep the login's token;
//   - 204/304 have a null body; a 500 is a Response, not an error;
//   - by default (exposeAccessToken unset, i.e. false) every token stays out of the page's JS heap
//     (a DevTools heap snapshot of the main thread), getAccessToken() rejects naming the option,
//     while auth.fetch still works; the control (exposeAccessToken: true, with the page holding
//     getAccessToken()'s result) finds the access token in the same search.
// Raw request headers (X-Test, and "nothing reached this port") are observed through node's
// diagnostics_channel `http.server.request.start`, which sees every request any node:http server of
// this process receives, before the server's own code runs.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { startApiServer } from '../support/api-server.mjs';
import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import {
  assertCleanRun,
  assertLibraryBuilt, callAuth, captureConsole, startStack, waitForApp,
} from '../support/harness.mjs';
import { completeLogin } from '../support/op-interactions.mjs';

const LOGIN = 'alice';

// ---------------------------------------------------------------------------------------------
// Every HTTP request any node:http server of this process receives: { port, method, url, headers }.

const rawRequests = [];
const onRequestStart = ({ request }) => {
  rawRequests.push({
    port: request.socket.localPort, method: request.method, url: request.url, headers: { ...request.headers },
  });
};
diagnosticsChannel.subscribe('http.server.request.start', onRequestStart);
after(() => diagnosticsChannel.unsubscribe('http.server.request.start', onRequestStart));

// ---------------------------------------------------------------------------------------------
// In the page: window.auth.fetch(url, init), with the body built in the page from a description.

/**
 * Runs in the page. spec: { method?, headers?, body?: { kind, ... }, abort?: 'pre' | 'pre-reason' |
 * 'handle', detach?, input?: 'request' (auth.fetch(new Request(url, init))) | 'url' (a URL object) }.
 * Returns { ok: true, status, statusText, url, headers, bodyNull, bytes (base64),
 * json?, expected? (base64 of what the body should be), referenceContentType?, after? } or
 * { ok: false, error: { name, message, code, reason, isAuthError, isDOMException, isGivenReason } }.
 * With detach, the result promise is left in window.__pendingFetch and { detached: true } returned;
 * with abort 'handle', the AbortController is window.__fetchAbort.
 */
async function inPageFetch([url, spec]) {
  const b64 = (data) => {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  };
  const all = new Uint8Array(256).map((_, i) => i); // every byte value: catches any text decoding
  const init = {};
  if (spec.method) init.method = spec.method;
  if (spec.headers) init.headers = spec.headers;
  let expected;
  let referenceContentType;
  let check;
  const kind = spec.body?.kind;
  if (kind === 'string') {
    init.body = spec.body.value;
    expected = new TextEncoder().encode(spec.body.value);
  } else if (kind === 'urlsearchparams') {
    const params = new URLSearchParams(spec.body.entries);
    init.body = params;
    expected = new TextEncoder().encode(params.toString());
  } else if (kind === 'formdata') {
    const form = new FormData();
    form.append('field', spec.body.field);
    form.append('file', new Blob([all], { type: 'application/octet-stream' }), 'bytes.bin');
    init.body = form;
    // The browser's own serialisation of the same form (another boundary), for comparison.
    const reference = new Request('http://127.0.0.1/', { method: 'POST', body: form });
    referenceContentType = reference.headers.get('content-type');
    expected = new Uint8Array(await reference.arrayBuffer());
  } else if (kind === 'blob') {
    init.body = new Blob([all.slice(0, 100), all.slice(100)], { type: spec.body.type });
    expected = all;
  } else if (kind === 'arraybuffer') {
    const buffer = all.slice().buffer;
    init.body = buffer;
    expected = all;
    check = () => ({ byteLength: buffer.byteLength, intact: new Uint8Array(buffer).every((v, i) => v === i) });
  } else if (kind === 'uint8array') {
    // A view into the middle of a larger buffer: only the view's bytes may be sent.
    const view = new Uint8Array(all.slice().buffer, 16, 100);
    init.body = view;
    expected = all.slice(16, 116);
    check = () => ({ byteLength: view.byteLength, intact: view.every((v, i) => v === i + 16) });
  } else if (kind !== undefined) {
    throw new Error(`unknown body kind ${kind}`);
  }
  const givenReason = new Error('the page gave up');
  if (spec.abort === 'pre' || spec.abort === 'pre-reason') {
    const controller = new AbortController();
    if (spec.abort === 'pre') controller.abort();
    else controller.abort(givenReason);
    init.signal = controller.signal;
  } else if (spec.abort === 'handle') {
    window.__fetchAbort = new AbortController();
    init.signal = window.__fetchAbort.signal;
  }

  const run = async () => {
    let timer;
    const hung = new Promise((resolve) => { timer = setTimeout(() => resolve({ hung: true }), 20000); });
    try {
      let call;
      if (spec.input === 'request') call = window.auth.fetch(new Request(url, init));
      else if (spec.input === 'url') call = window.auth.fetch(new URL(url), init);
      else call = window.auth.fetch(url, init);
      const res = await Promise.race([call, hung]);
      if (res.hung) return res;
      const bodyNull = res.body === null;
      const buffer = await res.arrayBuffer();
      let json;
      try {
        json = JSON.parse(new TextDecoder().decode(buffer));
      } catch {
        json = undefined;
      }
      return {
        ok: true,
        isResponse: res instanceof Response,
        status: res.status,
        statusText: res.statusText,
        url: res.url,
        headers: Object.fromEntries(res.headers),
        bodyNull,
        bytes: b64(buffer),
        json,
        expected: expected && b64(expected),
        referenceContentType,
        after: check?.(),
      };
    } catch (e) {
      let isAuthError;
      try {
        isAuthError = e instanceof (await import('oidc-worker')).AuthError;
      } catch {
        isAuthError = undefined;
      }
      return {
        ok: false,
        error: {
          name: e?.name,
          message: e?.message,
          code: e?.code,
          reason: e?.reason,
          isAuthError,
          isDOMException: e instanceof DOMException,
          isGivenReason: e === givenReason,
        },
        after: check?.(),
      };
    } finally {
      clearTimeout(timer);
    }
  };
  if (spec.detach) {
    window.__pendingFetch = run();
    return { detached: true };
  }
  return run();
}

/** auth.fetch(url, init-from-spec) in the page; throws if it does not settle within 20 s. */
async function pageFetch(page, url, spec = {}) {
  const result = await page.evaluate(inPageFetch, [url, spec]);
  if (result?.hung) throw new Error(`auth.fetch(${url}) did not settle within 20 s`);
  return result;
}

/** The result of the fetch started with { detach: true }. */
async function pendingFetch(page, what) {
  const result = await page.evaluate(() => window.__pendingFetch);
  if (result?.hung) throw new Error(`${what} did not settle within 20 s`);
  return result;
}

/** Assert a pageFetch result is a Response with `status`; returns it. */
function assertResponse(result, status, label) {
  assert.equal(result.ok, true, `${label}: auth.fetch rejected: ${JSON.stringify(result.error)}`);
  assert.equal(result.isResponse, true, `${label}: resolves with a Response`);
  assert.equal(result.status, status, `${label}: HTTP ${result.status} ${JSON.stringify(result.json)}`);
  return result;
}

/** Assert a pageFetch result is a rejection with AuthError code/reason. */
function assertAuthError(result, code, reason, label) {
  assert.equal(result.ok, false, `${label}: auth.fetch must reject, got HTTP ${result.status}`);
  assert.deepEqual([result.error.name, result.error.code, result.error.reason], ['AuthError', code, reason],
    `${label}: ${JSON.stringify(result.error)}`);
  assert.notEqual(result.error.isAuthError, false, `${label}: an instance of the exported AuthError`);
}

/** The API's requests after index `from`, preflights left out. */
function callsSince(api, from) {
  return api.requests.slice(from).filter((r) => r.method !== 'OPTIONS');
}

/** The token of a recorded `Authorization: Bearer <token>` header. */
function bearer(entry) {
  const m = /^Bearer (\S+)$/.exec(entry?.authorization ?? '');
  return m?.[1];
}

/** Poll `predicate` every 20 ms until it is truthy or `ms` passed; returns its last value. */
async function until(predicate, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = predicate();
    if (value || Date.now() > deadline) return value;
    await sleep(20);
  }
}

function jwtPayload(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

/**
 * An API origin that answers every request with `302 Location: <location(path)>` (CORS like the API
 * server's, so only the redirect itself can make a request fail). { origin, port, requests, close() }.
 */
async function startRedirectServer({ allowOrigin, location }) {
  const requests = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, authorization: req.headers.authorization ?? null });
    const cors = { 'Access-Control-Allow-Origin': allowOrigin, 'Access-Control-Expose-Headers': 'Location' };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...cors,
        'Access-Control-Allow-Methods': 'GET, POST',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type, X-Test',
        'Access-Control-Max-Age': '0',
      });
    } else {
      res.writeHead(302, { ...cors, Location: location(req.url), 'Content-Length': '0' });
    }
    res.end();
  });
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  let closed;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    close() {
      closed ??= new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/**
 * A fresh browser context and page on the app, logged in through the provider's forms.
 * Returns { context, page, consoleLog, exchange } (exchange: the provider's record of the code
 * exchange, with issued.access_token / refresh_token / id_token).
 */
async function openLoggedInPage(browser, stack) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const consoleLog = captureConsole(page);
  const mark = stack.op.tokenRequests.length;
  await page.goto(stack.appUrl);
  await waitForApp(page);
  const { steps } = await completeLogin(page, {
    issuer: stack.op.issuer, login: LOGIN, trigger: () => page.locator('#login').click(),
  });
  const app = await waitForApp(page);
  assert.deepEqual(steps, ['login', 'consent']);
  assert.equal(app.callback?.ok, true, `login callback: ${JSON.stringify(app.callback)}`);
  const exchanges = stack.op.tokenRequests.slice(mark).filter((r) => r.grantType === 'authorization_code');
  assert.equal(exchanges.length, 1, 'one code exchange');
  const [exchange] = exchanges;
  assert.equal(exchange.status, 200, `code exchange: ${exchange.error}`);
  assert.ok(exchange.issued.access_token, 'the code exchange issued an access token');
  assert.ok(exchange.issued.refresh_token, 'offline_access + prompt=consent yields a refresh token');
  assert.equal(stack.op.tokenRequests.length, mark + 1, 'no other token request during the login');
  return {
    context, page, consoleLog, exchange,
  };
}

/**
 * One stack per describe(): provider (introspection on, plus `provider`), the app, API servers
 * (`apis`: name → startApiServer options; all accept the app's origin, introspect opaque tokens and
 * verify JWTs against the provider's keys) and one browser. `appOptions(ctx)` gives the app's extra
 * createAuthClient options (asked on every load of /demo-config.json).
 */
function useStack({
  provider = {}, apis = {}, appOptions, browserArgs = [],
}) {
  const ctx = {
    stack: null, api: {}, browser: null, page: null, context: null, consoleLog: null, loggedIn: false, consoleLogs: [],
  };

  before(async () => {
    assertLibraryBuilt();
    ctx.stack = await startStack({ provider: { introspection: true, ...provider }, appOptions: () => appOptions(ctx) });
    const { op, web } = ctx.stack;
    for (const [name, options] of Object.entries(apis)) {
      ctx.api[name] = await startApiServer({
        allowOrigin: web.origin,
        introspect: (token) => op.introspect(token),
        jwks: () => op.publicJwks(),
        issuer: () => op.issuer,
        ...options,
      });
    }
    ctx.browser = await launchBrowser({ args: browserArgs });
  });

  after(async () => {
    await closeBrowser(ctx.browser);
    await Promise.allSettled(Object.values(ctx.api).map((api) => api.close()));
    await ctx.stack?.close();
  });

  /** Log in on a fresh context/page; it becomes ctx.page. */
  ctx.login = async () => {
    const opened = await openLoggedInPage(ctx.browser, ctx.stack);
    await ctx.context?.close().catch(() => {});
    Object.assign(ctx, opened);
    ctx.consoleLogs.push(opened.consoleLog);
    ctx.loggedIn = true;
    return opened.exchange;
  };
  ctx.needLogin = () => assert.ok(ctx.loggedIn, 'depends on the login test, which failed');
  /** Token requests of grant_type refresh_token after index `from` of op.tokenRequests. */
  ctx.refreshGrantsSince = (from) => ctx.stack.op.tokenRequests.slice(from).filter((r) => r.grantType === 'refresh_token');
  ctx.checkClean = () => assertCleanRun(ctx.stack.op, ...ctx.consoleLogs);
  return ctx;
}

// ---------------------------------------------------------------------------------------------

describe('auth.fetch to an allowlisted API (the login\'s opaque token, introspected)', { timeout: 120_000 }, () => {
  const ctx = useStack({
    apis: { api: {}, other: {} },
    appOptions: ({ api }) => ({ apiOrigins: [api.api.origin, api.redirector.origin] }),
  });
  let loginAccess;

  before(async () => {
    // An allowlisted origin that redirects: /to-other → the other (not allowlisted) server,
    // anything else → the allowlisted API. Closed with the API servers (it is in ctx.api).
    const { api, other } = ctx.api;
    ctx.api.redirector = await startRedirectServer({
      allowOrigin: ctx.stack.web.origin,
      location: (path) => (path.startsWith('/to-other') ? `${other.origin}/me` : `${api.origin}/me`),
    });
  });

  it('without a session: auth.fetch rejects login_required and sends nothing', async () => {
    const { stack, api: { api } } = ctx;
    const context = await ctx.browser.newContext();
    try {
      const page = await context.newPage();
      ctx.consoleLogs.push(captureConsole(page));
      await page.goto(stack.appUrl);
      await waitForApp(page);
      const from = api.requests.length;
      const res = await pageFetch(page, `${api.origin}/me`);
      assertAuthError(res, 'login_required', undefined, 'auth.fetch signed out');
      assert.deepEqual(api.requests.slice(from).map((r) => `${r.method} ${r.url}`), [], 'the API received nothing');
      assert.equal(stack.op.tokenRequests.length, 0, 'no token request');
    } finally {
      await context.close().catch(() => {});
    }
  });

  it('logs in, then GET /me carries the login\'s access token, active at the provider', async () => {
    const exchange = await ctx.login();
    loginAccess = exchange.issued.access_token;
    const { page, stack, api: { api } } = ctx;
    const from = api.requests.length;
    const res = assertResponse(await pageFetch(page, `${api.origin}/me`), 200, 'GET /me');
    assert.equal(res.json?.sub, LOGIN, `the API identified the user: ${JSON.stringify(res.json)}`);
    assert.equal(res.json.via, 'introspection');
    assert.equal(res.json.client_id, stack.op.clientId);
    assert.equal(res.statusText, 'OK');
    assert.equal(res.url, '', 'Response.url is empty (documented)');
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);

    const all = api.requests.slice(from);
    assert.deepEqual(all.map((r) => [r.method, r.path]), [['OPTIONS', '/me'], ['GET', '/me']],
      'one CORS preflight, then the request');
    assert.equal(all[0].authorization, null, 'the preflight carries no token');
    const [get] = callsSince(api, from);
    assert.equal(get.authorization, `Bearer ${loginAccess}`, 'the API saw the login\'s access token');
    assert.equal(get.origin, stack.web.origin, 'sent by the browser on the app\'s origin');
    assert.equal(get.status, 200);
    assert.equal(res.headers['x-request-id'], get.id, 'the page got the response to exactly this request');

    const info = await stack.op.introspect(loginAccess);
    assert.equal(info.active, true, `the token is active at the provider: ${JSON.stringify(info)}`);
    assert.equal(info.sub, LOGIN);
    assert.equal(info.client_id, stack.op.clientId);
    assert.equal(stack.op.tokenRequests.length, 1, 'no token request for a fresh access token');
  });

  it('every body type reaches the API byte for byte, with its Content-Type', async () => {
    ctx.needLogin();
    const { page, api: { api } } = ctx;
    const url = `${api.origin}/echo`;
    const json = JSON.stringify({ hello: 'wörld', n: [1, 2.5, null], nested: { ok: true } });
    const cases = [
      ['string', { method: 'POST', body: { kind: 'string', value: 'héllo wörld ✓ 🚀 \u0000 end' } }, 'text/plain;charset=UTF-8'],
      ['JSON text', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: { kind: 'string', value: json } }, 'application/json'],
      ['URLSearchParams', { method: 'POST', body: { kind: 'urlsearchparams', entries: [['a', '1 2'], ['b', 'ä&=+'], ['a', ''], ['c', '🚀']] } },
        'application/x-www-form-urlencoded;charset=UTF-8'],
      ['FormData', { method: 'POST', body: { kind: 'formdata', field: 'välue ✓' } }, /^multipart\/form-data; boundary=(\S+)$/],
      ['Blob', { method: 'POST', body: { kind: 'blob', type: 'application/x-test-blob' } }, 'application/x-test-blob'],
      ['ArrayBuffer', { method: 'POST', body: { kind: 'arraybuffer' } }, null],
      ['Uint8Array (a view at an offset)', { method: 'POST', body: { kind: 'uint8array' } }, null],
      ['PUT with a JSON body', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: { kind: 'string', value: json } }, 'application/json'],
      ['a Request object as input', {
        input: 'request', method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: { kind: 'string', value: json },
      }, 'application/json'],
      ['a URL object as input', { input: 'url', method: 'POST', body: { kind: 'blob', type: 'image/png' } }, 'image/png'],
    ];
    const token = bearer(api.requests.at(-1));
    for (const [label, spec, contentType] of cases) {
      const from = api.requests.length;
      const res = assertResponse(await pageFetch(page, url, spec), 200, label);
      const calls = callsSince(api, from);
      assert.equal(calls.length, 1, `${label}: one request reached the API`);
      const [entry] = calls;
      assert.equal(entry.method, spec.method, `${label}: method`);
      assert.equal(entry.authorization, `Bearer ${token}`, `${label}: with the token`);
      assert.equal(res.headers['x-request-id'], entry.id, `${label}: the response to this request`);
      const sent = Buffer.from(res.bytes, 'base64');
      let expected = Buffer.from(res.expected, 'base64');
      if (contentType instanceof RegExp) {
        assert.match(entry.contentType ?? '', contentType, `${label}: Content-Type`);
        // Same form, other boundary: the page's reference serialisation with the API's boundary.
        const boundary = contentType.exec(entry.contentType)[1];
        const refBoundary = contentType.exec(res.referenceContentType ?? '')?.[1];
        assert.ok(refBoundary, `${label}: reference Content-Type ${res.referenceContentType}`);
        assert.equal(boundary.length, refBoundary.length);
        expected = Buffer.from(expected.toString('latin1').replaceAll(refBoundary, boundary), 'latin1');
        // And what it says: the field (UTF-8) and the file part with all 256 byte values.
        assert.ok(entry.bodyBytes.includes(Buffer.from(`Content-Disposition: form-data; name="field"\r\n\r\nvälue ✓\r\n--${boundary}`)),
          `${label}: the text field`);
        const file = Buffer.concat([
          Buffer.from('Content-Disposition: form-data; name="file"; filename="bytes.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'),
          Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
          Buffer.from(`\r\n--${boundary}--`),
        ]);
        assert.ok(entry.bodyBytes.includes(file), `${label}: the file part`);
      } else {
        assert.equal(entry.contentType, contentType, `${label}: Content-Type at the API`);
      }
      assert.ok(entry.bodyBytes.equals(expected),
        `${label}: the API got ${entry.bodyBytes.length} bytes, expected ${expected.length}: ${entry.bodyBytes.toString('latin1').slice(0, 120)}`);
      assert.ok(sent.equals(expected), `${label}: the echoed response body is byte for byte the request body`);
      assert.equal(res.headers['x-api-seen'], String(expected.length), `${label}: X-Api-Seen (CORS-exposed) is readable`);
      assert.equal(res.headers['content-type'] ?? null, entry.contentType, `${label}: the echoed Content-Type`);
      assert.equal(res.headers.date, undefined, `${label}: a header the API's CORS policy does not expose (Date) is not readable`);
      if (res.after) {
        assert.deepEqual(res.after, { byteLength: expected.length, intact: true }, `${label}: the app's buffer is left intact (not detached)`);
      }
    }
  });

  it('a custom request header (X-Test) reaches the API, next to the worker\'s Authorization', async () => {
    ctx.needLogin();
    const { page, api: { api } } = ctx;
    const marker = `x-test-${randomBytes(8).toString('hex')}`;
    const from = api.requests.length;
    assertResponse(await pageFetch(page, `${api.origin}/me`, { headers: { 'X-Test': marker } }), 200, 'GET /me with X-Test');
    const raw = rawRequests.filter((r) => r.headers['x-test'] === marker);
    assert.equal(raw.length, 1, 'exactly one request carried the header');
    assert.equal(raw[0].port, api.port, 'to the API');
    assert.equal(raw[0].method, 'GET');
    const [entry] = callsSince(api, from);
    assert.equal(raw[0].headers.authorization, entry.authorization);
    assert.match(entry.authorization, /^Bearer \S+$/);
    const preflight = api.requests.slice(from).find((r) => r.method === 'OPTIONS');
    assert.ok(preflight, 'the custom header was preflighted');
  });

  it('refuses other origins and a page-set Authorization header, sending nothing', async () => {
    ctx.needLogin();
    const { page, stack, api: { api, other } } = ctx;
    const rawFrom = rawRequests.length;
    const apiFrom = api.requests.length;
    const refused = [
      ['another origin: the allowed host on another port', `${other.origin}/me`],
      ['the allowed port on another host name', `http://localhost:${api.port}/me`],
      ['https instead of http', `https://127.0.0.1:${api.port}/me`],
      ['the allowed origin only in the query', `${other.origin}/me?next=${api.origin}/me&api=${encodeURIComponent(api.origin)}`],
      ['the allowed origin only in the path', `${other.origin}/${api.origin}/me`],
      ['a relative URL (the app\'s own origin)', '/me'],
      ['the provider', `${stack.op.issuer}/me`],
    ];
    for (const [label, url] of refused) {
      assertAuthError(await pageFetch(page, url), 'config', 'api_origin', label);
    }
    for (const headers of [{ Authorization: 'Bearer page-chosen-token' }, { authorization: 'Basic cGFnZTpjaG9zZW4=' }]) {
      assertAuthError(await pageFetch(page, `${api.origin}/me`, { headers }), 'config', 'authorization_header',
        `page-set ${JSON.stringify(headers)}`);
    }
    // A URL with credentials whose host is another origin: refused (by Request itself: TypeError), not sent.
    const userinfo = await pageFetch(page, `http://127.0.0.1:${api.port}@127.0.0.1:${other.port}/me`);
    assert.equal(userinfo.ok, false, `a URL with credentials must be refused, got HTTP ${userinfo.status}`);

    // A request that is allowed, afterwards: everything the worker sent before it has arrived.
    assertResponse(await pageFetch(page, `${api.origin}/me`), 200, 'the allowed request afterwards');
    assert.deepEqual(other.requests.map((r) => `${r.method} ${r.url} ${r.authorization}`), [],
      'the server of the other origin received no request at all');
    const seen = rawRequests.slice(rawFrom).filter((r) => r.port === api.port || r.port === other.port);
    assert.deepEqual(seen.map((r) => [r.port, r.method, r.url]), [[api.port, 'OPTIONS', '/me'], [api.port, 'GET', '/me']],
      'the only requests that reached either API server were those of the allowed call');
    assert.deepEqual(api.requests.slice(apiFrom).map((r) => [r.method, r.path]), [['OPTIONS', '/me'], ['GET', '/me']]);
    assert.ok(!rawRequests.some((r) => /page-chosen-token|cGFnZTpjaG9zZW4=/.test(r.headers.authorization ?? '')),
      'the page\'s Authorization header never left the browser');
  });

  it('a crafted message (Authorization among the headers sent, harmless headerNames declared) is refused: no page Authorization reaches the API', async () => {
    ctx.needLogin();
    const { page, api: { api } } = ctx;
    const rawFrom = rawRequests.length;
    // What a script in the page can do: wrap postMessage, and rewrite auth.fetch's message. The
    // page talks to the session holder (a SharedWorker) over a MessagePort, to a dedicated worker
    // (`sharing: "tab"`) through the Worker: both are wrapped.
    await page.evaluate(() => {
      window.craftedMessages = 0;
      const natives = [MessagePort.prototype, Worker.prototype].map((proto) => [proto, proto.postMessage]);
      window.restorePostMessage = () => {
        for (const [proto, native] of natives) proto.postMessage = native;
        return window.craftedMessages;
      };
      for (const [proto, native] of natives) {
        proto.postMessage = function crafted(message, transfer) {
          if (message?.call?.fetch) {
            window.craftedMessages += 1;
            message = {
              ...message,
              call: { fetch: { ...message.call.fetch, headerNames: 'x-test' } },
              headers: [...message.headers, ['Authorization', 'Bearer page-crafted-token']],
            };
          }
          return native.call(this, message, transfer);
        };
      }
    });
    let crafted;
    try {
      assertAuthError(await pageFetch(page, `${api.origin}/me`, { headers: { 'X-Test': '1' } }), 'config', 'authorization_header',
        'a crafted message');
    } finally {
      crafted = await page.evaluate(() => window.restorePostMessage());
    }
    assert.equal(crafted, 1, 'the wrapper rewrote the one message auth.fetch posted');
    assert.deepEqual(rawRequests.slice(rawFrom).filter((r) => r.port === api.port).map((r) => [r.method, r.url, r.headers.authorization]), [],
      'nothing reached the API');
    assert.ok(!rawRequests.some((r) => /page-crafted-token/.test(r.headers.authorization ?? '')),
      'the page\'s Authorization never left the browser');
    assertResponse(await pageFetch(page, `${api.origin}/me`, { headers: { 'X-Test': '1' } }), 200, 'the same call, not crafted');
  });

  it('401 invalid_token once: one refresh_token grant, one retry with the new token, the app gets 200', async () => {
    ctx.needLogin();
    const { page, stack, api: { api } } = ctx;
    const before = bearer(callsSince(api, 0).at(-1));
    const mark = stack.op.tokenRequests.length;
    const from = api.requests.length;
    api.rejectNext(1);
    const res = assertResponse(await pageFetch(page, `${api.origin}/me`), 200, 'GET /me after one invalid_token');
    assert.equal(res.json?.sub, LOGIN);

    const grants = ctx.refreshGrantsSince(mark);
    assert.deepEqual(grants.map((g) => [g.status, g.error, g.origin]), [[200, undefined, stack.web.origin]],
      'exactly one refresh_token grant, from the worker, and it succeeded');
    assert.equal(stack.op.tokenRequests.length, mark + 1, 'no other token request');
    const fresh = grants[0].issued.access_token;
    const calls = callsSince(api, from);
    assert.deepEqual(calls.map((r) => [r.method, r.path, r.status, Boolean(r.rejectedByRejectNext)]),
      [['GET', '/me', 401, true], ['GET', '/me', 200, false]], 'the request, then exactly one retry');
    assert.equal(bearer(calls[0]), before, 'the first attempt carried the token in use');
    assert.equal(bearer(calls[1]), fresh, 'the retry carried the newly granted token');
    assert.notEqual(fresh, before);
    assert.equal(res.headers['x-request-id'], calls[1].id, 'the app got the retry\'s response');
    assert.equal((await stack.op.introspect(fresh)).active, true);

    // The new token is kept: the next call uses it, without another grant.
    const next = api.requests.length;
    assertResponse(await pageFetch(page, `${api.origin}/me`), 200, 'the next call');
    assert.equal(bearer(callsSince(api, next)[0]), fresh);
    assert.equal(stack.op.tokenRequests.length, mark + 1, 'no grant for the next call');
  });

  it('401 invalid_token twice: exactly one retry, the app gets the 401 Response, one grant', async () => {
    ctx.needLogin();
    const { page, stack, api: { api } } = ctx;
    const mark = stack.op.tokenRequests.length;
    const from = api.requests.length;
    api.rejectNext(2);
    const res = assertResponse(await pageFetch(page, `${api.origin}/me`), 401, 'GET /me after two invalid_token');
    assert.match(res.headers['www-authenticate'] ?? '', /^Bearer .*error="invalid_token"/,
      'the challenge (CORS-exposed) is readable by the app');
    assert.equal(res.json?.error, 'invalid_token');

    const grants = ctx.refreshGrantsSince(mark);
    assert.deepEqual(grants.map((g) => g.status), [200], 'one refresh_token grant, not two');
    assert.equal(stack.op.tokenRequests.length, mark + 1, 'no other token request');
    const calls = callsSince(api, from);
    assert.deepEqual(calls.map((r) => [r.method, r.status, Boolean(r.rejectedByRejectNext)]),
      [['GET', 401, true], ['GET', 401, true]], 'the request and one retry, no third attempt');
    assert.notEqual(bearer(calls[0]), bearer(calls[1]));
    assert.equal(bearer(calls[1]), grants[0].issued.access_token, 'the retry used the new token');
    assert.equal(res.headers['x-request-id'], calls[1].id, 'the app got the retry\'s 401');
    // Settle: nothing else arrives (e.g. a late third attempt).
    assertResponse(await pageFetch(page, `${api.origin}/me`), 200, 'the next call');
    assert.equal(callsSince(api, from).length, 3);
  });

  it('a 401 without error="invalid_token" is handed back: no refresh, no retry', async () => {
    ctx.needLogin();
    const { page, stack, api: { api } } = ctx;
    const mark = stack.op.tokenRequests.length;
    const from = api.requests.length;
    const res = assertResponse(await pageFetch(page, `${api.origin}/status/401`), 401, 'GET /status/401');
    assert.equal(res.headers['www-authenticate'], undefined, 'no challenge');
    assert.deepEqual(res.json, { status: 401 });
    assert.deepEqual(callsSince(api, from).map((r) => [r.method, r.path, r.status]), [['GET', '/status/401', 401]],
      'one request, no retry');
    assert.equal(stack.op.tokenRequests.length, mark, 'no token request');
  });

  it('concurrent calls refused with a revoked token share one refresh and all succeed', async () => {
    ctx.needLogin();
    const { page, stack, api: { api } } = ctx;
    const current = bearer(callsSince(api, 0).at(-1));
    api.rejectToken(current);
    const mark = stack.op.tokenRequests.length;
    const from = api.requests.length;
    const results = await page.evaluate(async (url) => {
      const settled = await Promise.allSettled(Array.from({ length: 5 }, () => window.auth.fetch(url)
        .then(async (r) => ({ status: r.status, sub: (await r.json()).sub }))));
      return settled.map((s) => (s.status === 'fulfilled' ? s.value : { error: `${s.reason?.code}/${s.reason?.reason}: ${s.reason?.message}` }));
    }, `${api.origin}/me`);
    assert.deepEqual(results, Array(5).fill({ status: 200, sub: LOGIN }), 'all five calls got 200');
    const grants = ctx.refreshGrantsSince(mark);
    assert.deepEqual(grants.map((g) => g.status), [200], 'exactly one refresh_token grant for five refused calls');
    const fresh = grants[0].issued.access_token;
    const calls = callsSince(api, from);
    const tokens = calls.map((r) => (bearer(r) === current ? 'revoked' : bearer(r) === fresh ? 'fresh' : bearer(r)));
    assert.ok(tokens.every((t) => t === 'revoked' || t === 'fresh'), `only the revoked and the new token were used: ${tokens}`);
    assert.equal(tokens.filter((t) => t === 'fresh').length, 5, 'five successful requests with the new token');
    assert.ok(calls.filter((r) => bearer(r) === current).every((r) => r.status === 401));
    assert.ok(calls.length <= 10, 'at most one retry per call');
  });

  it('a retried POST (after invalid_token) sends the same body and Content-Type again', async () => {
    ctx.needLogin();
    const { page, stack, api: { api } } = ctx;
    const mark = stack.op.tokenRequests.length;
    const from = api.requests.length;
    api.rejectNext(1);
    const res = assertResponse(await pageFetch(page, `${api.origin}/echo`, { method: 'POST', body: { kind: 'formdata', field: 'retry ✓' } }),
      200, 'POST /echo after one invalid_token');
    assert.deepEqual(ctx.refreshGrantsSince(mark).map((g) => g.status), [200], 'one refresh_token grant');
    const calls = callsSince(api, from);
    assert.deepEqual(calls.map((r) => r.status), [401, 200], 'the request and its retry');
    assert.ok(calls[0].bodyBytes.length > 256, `the first attempt carried the body (${calls[0].bodyBytes.length} bytes)`);
    assert.equal(calls[1].contentType, calls[0].contentType, 'the retry has the same Content-Type (boundary included)');
    assert.ok(calls[1].bodyBytes.equals(calls[0].bodyBytes),
      `the retry carried the same body (${calls[1].bodyBytes.length} bytes, first ${calls[0].bodyBytes.length})`);
    assert.ok(Buffer.from(res.bytes, 'base64').equals(calls[0].bodyBytes), 'and the app got it echoed');
  });

  it('a redirect is not followed (invalid_response / redirect): the token never goes to the target', async () => {
    ctx.needLogin();
    const { page, api: { api, other, redirector } } = ctx;
    const rawFrom = rawRequests.length;
    const apiFrom = api.requests.length;
    for (const path of ['/to-other', '/to-api']) {
      const from = redirector.requests.length;
      assertAuthError(await pageFetch(page, `${redirector.origin}${path}`), 'invalid_response', 'redirect', `302 from ${path}`);
      const sent = redirector.requests.slice(from).filter((r) => r.method !== 'OPTIONS');
      assert.equal(sent.length, 1, `${path}: the redirecting origin got the request once`);
      assert.match(sent[0].authorization ?? '', /^Bearer \S+$/, `${path}: with the token (it is allowlisted)`);
    }
    assertResponse(await pageFetch(page, `${api.origin}/public`), 200, 'a call afterwards');
    assert.deepEqual(other.requests.map((r) => `${r.method} ${r.url}`), [], 'the other origin received nothing');
    assert.deepEqual(api.requests.slice(apiFrom).map((r) => [r.method, r.path]), [['OPTIONS', '/public'], ['GET', '/public']],
      'the API received only the call afterwards, not the redirect\'s target /me');
    assert.deepEqual(rawRequests.slice(rawFrom).filter((r) => r.port === other.port || (r.port === api.port && r.url === '/me')), []);
  });

  it('an AbortSignal aborts the request on the wire; an aborted signal sends nothing', async () => {
    ctx.needLogin();
    const { page, api: { api } } = ctx;
    const from = api.requests.length;
    await pageFetch(page, `${api.origin}/slow?ms=5000`, { abort: 'handle', detach: true });
    // Abort once the API has the request (so it is known to have been sent, with the token).
    const slow = await until(() => callsSince(api, from).find((r) => r.path === '/slow'));
    assert.ok(slow, 'GET /slow reached the API');
    assert.match(slow.authorization ?? '', /^Bearer \S+$/);
    await sleep(200);
    await page.evaluate(() => window.__fetchAbort.abort());
    const res = await pendingFetch(page, 'the aborted auth.fetch');
    assert.equal(res.ok, false, `the aborted call must reject, got HTTP ${res.status}`);
    assert.equal(res.error.name, 'AbortError', JSON.stringify(res.error));
    assert.equal(res.error.isDOMException, true, 'the signal\'s reason: an AbortError DOMException');
    await until(() => slow.aborted || slow.status !== undefined, 15000);
    assert.equal(slow.aborted, true, `the API saw the request aborted (status ${slow.status})`);
    assert.equal(slow.status, undefined, 'the API never answered it');

    for (const abort of ['pre', 'pre-reason']) {
      const mark = api.requests.length;
      const pre = await pageFetch(page, `${api.origin}/me`, { abort });
      assert.equal(pre.ok, false, `${abort}: an already-aborted signal must reject`);
      if (abort === 'pre') assert.deepEqual([pre.error.name, pre.error.isDOMException], ['AbortError', true], JSON.stringify(pre.error));
      else assert.equal(pre.error.isGivenReason, true, `rejects with the signal's own reason: ${JSON.stringify(pre.error)}`);
      // The next allowed call is the only thing the API sees.
      assertResponse(await pageFetch(page, `${api.origin}/public`), 200, 'the call afterwards');
      assert.deepEqual(api.requests.slice(mark).map((r) => [r.method, r.path]), [['OPTIONS', '/public'], ['GET', '/public']],
        `${abort}: no request for the aborted call`);
    }
    // The worker is fine after an abort.
    assertResponse(await pageFetch(page, `${api.origin}/me`), 200, 'GET /me after the aborts');
  });

  it('204 and 304 have a null body; a 500 is a Response, not an AuthError', async () => {
    ctx.needLogin();
    const { page, api: { api } } = ctx;
    for (const status of [204, 304]) {
      const from = api.requests.length;
      const res = assertResponse(await pageFetch(page, `${api.origin}/status/${status}`), status, `GET /status/${status}`);
      assert.equal(res.bodyNull, true, `${status}: response.body === null`);
      assert.deepEqual(callsSince(api, from).map((r) => r.status), [status], `${status}: the API answered it once`);
    }
    const from = api.requests.length;
    const res = assertResponse(await pageFetch(page, `${api.origin}/status/500`), 500, 'GET /status/500');
    assert.equal(res.bodyNull, false);
    assert.deepEqual(res.json, { status: 500 });
    assert.deepEqual(callsSince(api, from).map((r) => r.status), [500], 'no retry of a 500');
  });

  it('after logout({ redirect: false }): auth.fetch rejects login_required and sends nothing', async () => {
    ctx.needLogin();
    const { page, stack, api: { api } } = ctx;
    const last = bearer(callsSince(api, 0).at(-1));
    const out = await callAuth(page, 'logout', { redirect: false });
    assert.ok(out.ok, JSON.stringify(out.error));
    const from = api.requests.length;
    const mark = stack.op.tokenRequests.length;
    assertAuthError(await pageFetch(page, `${api.origin}/me`), 'login_required', undefined, 'auth.fetch after logout');
    assert.deepEqual(api.requests.slice(from).map((r) => `${r.method} ${r.url}`), [], 'the API received nothing');
    assert.equal(stack.op.tokenRequests.length, mark, 'no token request');
    assert.equal((await stack.op.introspect(last)).active, false, 'the last token the API saw was revoked at logout');
  });

  it('no page error, provider server_error or token in the console', () => {
    ctx.checkClean();
  });
});

// ---------------------------------------------------------------------------------------------

describe('auth.fetch with a per-origin resource token (RFC 8707, JWT for the API\'s audience)', { timeout: 120_000 }, () => {
  // The resource indicator api2 checks JWTs for (its `audience`), known before the provider starts.
  const RESOURCE = 'https://api2.example.test/';
  const ctx = useStack({
    provider: { resources: { [RESOURCE]: { scope: 'api:read' } } },
    apis: { api: {}, api2: { audience: RESOURCE } },
    appOptions: ({ api }) => ({
      apiOrigins: [api.api.origin, { origin: api.api2.origin, resource: api.api2.resource }],
      scope: 'openid profile email offline_access api:read',
      extraAuthParams: { prompt: 'consent', resource: RESOURCE },
    }),
  });
  let loginAccess;
  let resourceToken;

  it('logs in with the resource requested', async () => {
    assert.equal(ctx.api.api2.resource, RESOURCE);
    const exchange = await ctx.login();
    loginAccess = exchange.issued.access_token;
    assert.equal(exchange.resource, undefined, 'the code exchange is for the login\'s own token');
  });

  it('the resource origin gets a JWT for its audience, from a refresh_token grant with resource=', async () => {
    ctx.needLogin();
    const { page, stack, api: { api2 } } = ctx;
    const mark = stack.op.tokenRequests.length;
    const from = api2.requests.length;
    const res = assertResponse(await pageFetch(page, `${api2.origin}/me`), 200, 'GET api2 /me');
    assert.equal(res.json?.via, 'jwt', `the API verified a JWT: ${JSON.stringify(res.json)}`);
    assert.equal(res.json.sub, LOGIN);
    assert.deepEqual([res.json.aud].flat(), [RESOURCE]);
    assert.ok(res.json.scope?.split(' ').includes('api:read'), `scope ${res.json.scope}`);

    const grants = stack.op.tokenRequests.slice(mark);
    assert.deepEqual(grants.map((g) => [g.grantType, g.status, g.error, g.resource, g.origin]),
      [['refresh_token', 200, undefined, RESOURCE, stack.web.origin]], 'one refresh_token grant with resource=');
    resourceToken = grants[0].issued.access_token;
    assert.equal(resourceToken.split('.').length, 3, 'a JWT access token');
    assert.deepEqual([jwtPayload(resourceToken).aud].flat(), [RESOURCE]);
    const calls = callsSince(api2, from);
    assert.deepEqual(calls.map((r) => [bearer(r) === resourceToken, r.status, r.via]), [[true, 200, 'jwt']],
      'api2 saw the resource token');
  });

  it('a second call reuses the cached resource token (no new grant)', async () => {
    ctx.needLogin();
    assert.ok(resourceToken, 'depends on the previous test');
    const { page, stack, api: { api2 } } = ctx;
    const mark = stack.op.tokenRequests.length;
    const from = api2.requests.length;
    assertResponse(await pageFetch(page, `${api2.origin}/me`), 200, 'GET api2 /me again');
    assert.equal(stack.op.tokenRequests.length, mark, 'no token request');
    assert.equal(bearer(callsSince(api2, from)[0]), resourceToken);
  });

  it('the other origin keeps the login\'s token, never the resource token', async () => {
    ctx.needLogin();
    const { page, stack, api: { api } } = ctx;
    const mark = stack.op.tokenRequests.length;
    const from = api.requests.length;
    const res = assertResponse(await pageFetch(page, `${api.origin}/me`), 200, 'GET api /me');
    assert.equal(res.json?.via, 'introspection');
    assert.equal(bearer(callsSince(api, from)[0]), loginAccess, 'the login\'s opaque access token');
    assert.equal(stack.op.tokenRequests.length, mark, 'no token request');
  });

  it('invalid_token at the resource origin refreshes that token (resource= again), once', async () => {
    ctx.needLogin();
    const { page, stack, api: { api, api2 } } = ctx;
    const mark = stack.op.tokenRequests.length;
    const from = api2.requests.length;
    api2.rejectNext(1);
    assertResponse(await pageFetch(page, `${api2.origin}/me`), 200, 'GET api2 /me after invalid_token');
    const grants = stack.op.tokenRequests.slice(mark);
    assert.deepEqual(grants.map((g) => [g.grantType, g.status, g.resource]), [['refresh_token', 200, RESOURCE]]);
    const calls = callsSince(api2, from);
    assert.deepEqual(calls.map((r) => r.status), [401, 200]);
    assert.equal(bearer(calls[0]), resourceToken);
    assert.equal(bearer(calls[1]), grants[0].issued.access_token);
    // The login's token is untouched by it.
    const apiFrom = api.requests.length;
    assertResponse(await pageFetch(page, `${api.origin}/me`), 200, 'GET api /me');
    assert.equal(bearer(callsSince(api, apiFrom)[0]), loginAccess);
    assert.equal(stack.op.tokenRequests.length, mark + 1);
  });

  it('no page error, provider server_error or token in the console', () => {
    ctx.checkClean();
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * The strings of a heap snapshot of the page's main thread (DevTools protocol; not its workers).
 * The browser runs with --heap-snapshot-string-limit raised, so long strings are not cut at 1024.
 */
async function mainThreadHeapStrings(context, page) {
  const cdp = await context.newCDPSession(page);
  const chunks = [];
  cdp.on('HeapProfiler.addHeapSnapshotChunk', ({ chunk }) => chunks.push(chunk));
  try {
    await cdp.send('HeapProfiler.enable');
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  } finally {
    await cdp.detach().catch(() => {});
  }
  const snapshot = JSON.parse(chunks.join(''));
  assert.ok(Array.isArray(snapshot.strings) && snapshot.strings.length > 1000, 'a heap snapshot with strings');
  return snapshot.strings;
}

/** Which of `secrets` (name → token) occur in `strings`, whole or by their first/last 20 characters. */
function findSecrets(strings, secrets) {
  const found = [];
  for (const [name, token] of secrets) {
    const probes = [['whole', token], ['head', token.slice(0, 20)], ['tail', token.slice(-20)]];
    for (const [part, probe] of probes) {
      if (strings.some((s) => s.includes(probe))) found.push(`${name} (${part})`);
    }
  }
  return found;
}

describe('by default (exposeAccessToken: false) tokens stay out of the page', { timeout: 120_000 }, () => {
  let expose = false;
  const ctx = useStack({
    apis: { api: {} },
    appOptions: ({ api }) => ({ apiOrigins: [api.api.origin], ...(expose ? { exposeAccessToken: true } : {}) }),
    browserArgs: ['--js-flags=--heap-snapshot-string-limit=1000000'],
  });

  it('getAccessToken rejects (config / access_token_not_exposed, naming the option), auth.fetch works, no token in the page heap', async () => {
    expose = false;
    const exchange = await ctx.login();
    const { page, context, stack, api: { api } } = ctx;
    const config = await page.evaluate(() => window.app.config.options);
    assert.equal(config.exposeAccessToken, undefined, 'the app left exposeAccessToken at its default');

    const mark = stack.op.tokenRequests.length;
    for (const options of [undefined, { forceRefresh: true }]) {
      const got = await callAuth(page, 'getAccessToken', ...(options ? [options] : []));
      assert.equal(got.ok, false, `getAccessToken(${JSON.stringify(options)}) must reject`);
      assert.deepEqual([got.error.name, got.error.code, got.error.reason], ['AuthError', 'config', 'access_token_not_exposed'],
        JSON.stringify(got.error));
      assert.match(got.error.message, /exposeAccessToken/, 'the message names the option that allows it');
    }
    assert.equal(stack.op.tokenRequests.length, mark, 'the refused getAccessToken calls made no token request');

    const from = api.requests.length;
    const res = assertResponse(await pageFetch(page, `${api.origin}/me`), 200, 'GET /me');
    assert.equal(res.json?.sub, LOGIN);
    const [get] = callsSince(api, from);
    assert.equal(bearer(get), exchange.issued.access_token, 'the API saw the login\'s access token');
    assert.equal((await stack.op.introspect(bearer(get))).active, true);

    // A marker the page holds, to show the search finds what the page's heap does hold.
    const marker = `heap-marker-${randomBytes(16).toString('hex')}`;
    await page.evaluate((m) => { window.heapMarker = structuredClone(m); }, marker);
    const strings = await mainThreadHeapStrings(context, page);
    assert.deepEqual(findSecrets(strings, [['marker', marker]]), ['marker (whole)', 'marker (head)', 'marker (tail)'],
      'the search finds a string the page holds');
    const issued = stack.op.issuedTokens();
    const secrets = [
      ...[...issued.access].map((t) => ['access token', t]),
      ...[...issued.refresh].map((t) => ['refresh token', t]),
      ...[...issued.id].map((t) => ['ID token', t]),
    ];
    assert.ok(issued.access.has(exchange.issued.access_token) && secrets.length >= 3);
    assert.deepEqual(findSecrets(strings, secrets), [], 'no token in the main thread\'s JS heap');
  });

  it('control: with exposeAccessToken: true, the page keeping getAccessToken()\'s result is found by the same search', async () => {
    expose = true;
    const exchange = await ctx.login();
    const { page, context, stack } = ctx;
    const config = await page.evaluate(() => window.app.config.options);
    assert.equal(config.exposeAccessToken, true, 'the app opted in');
    const kept = await page.evaluate(async () => {
      window.keptToken = await window.auth.getAccessToken();
      return window.keptToken.length;
    });
    assert.equal(kept, exchange.issued.access_token.length);
    const strings = await mainThreadHeapStrings(context, page);
    const found = findSecrets(strings, [['access token', exchange.issued.access_token]]);
    assert.deepEqual(found, ['access token (whole)', 'access token (head)', 'access token (tail)'],
      'the access token the page holds is found in the heap snapshot');
    const issued = stack.op.issuedTokens();
    const never = [...[...issued.refresh].map((t) => ['refresh token', t]), ...[...issued.id].map((t) => ['ID token', t])];
    assert.deepEqual(findSecrets(strings, never), [], 'refresh and ID tokens are not in the page even then');
  });

  it('no page error, provider server_error or token in the console', () => {
    ctx.checkClean();
  });
});

describe('auth.fetch limits: fetchTimeoutSeconds and fetchMaxResponseBytes', { timeout: 120_000 }, () => {
  const LIMIT = 1000;
  const ctx = useStack({
    apis: { api: {} },
    appOptions: ({ api }) => ({ apiOrigins: [api.api.origin], fetchTimeoutSeconds: 1, fetchMaxResponseBytes: LIMIT }),
  });

  it('logs in', async () => {
    await ctx.login();
  });

  it('an API slower than fetchTimeoutSeconds: network / timeout, and the request is aborted on the wire', async () => {
    ctx.needLogin();
    const { page, api: { api } } = ctx;
    const from = api.requests.length;
    assertAuthError(await pageFetch(page, `${api.origin}/slow?ms=10000`), 'network', 'timeout', 'GET /slow?ms=10000');
    const [slow] = callsSince(api, from);
    assert.equal(slow?.path, '/slow', 'the request was sent');
    await until(() => slow.aborted || slow.status !== undefined, 15000);
    assert.equal(slow.aborted, true, `the API saw the request aborted (status ${slow.status})`);
    // Within the limit: the response.
    assertResponse(await pageFetch(page, `${api.origin}/slow?ms=0`), 200, 'GET /slow?ms=0');
  });

  it('a body over fetchMaxResponseBytes: network / too_large, with or without Content-Length; at the limit it arrives whole', async () => {
    ctx.needLogin();
    const { page, api: { api } } = ctx;
    for (const chunked of ['', '&chunked=1']) {
      const whole = assertResponse(await pageFetch(page, `${api.origin}/bytes?n=${LIMIT}${chunked}`), 200, `${LIMIT} bytes${chunked}`);
      assert.equal(Buffer.from(whole.bytes, 'base64').length, LIMIT, `${chunked}: the whole body`);
      for (const n of [LIMIT + 1, 5 * 1024 * 1024]) {
        assertAuthError(await pageFetch(page, `${api.origin}/bytes?n=${n}${chunked}`), 'network', 'too_large', `${n} bytes${chunked}`);
      }
    }
    // The worker is fine afterwards.
    assertResponse(await pageFetch(page, `${api.origin}/me`), 200, 'GET /me afterwards');
  });

  it('no page error, provider server_error or token in the console', () => {
    ctx.checkClean();
  });
});
