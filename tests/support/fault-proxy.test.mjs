// The fault-injecting reverse proxy, against a tiny target server: what passes through unchanged,
// and what each fault mode does to a client (node's fetch stands in for the browser).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';

import { startFaultProxy } from './fault-proxy.mjs';

/**
 * The target: records every request it sees ({ method, url, headers, body, at, done }) and answers
 * with a JSON summary, two Set-Cookie headers and an X-Target header. '/hold?ms=N' answers after N ms.
 */
async function startTarget() {
  const seen = [];
  const server = createServer((req, res) => {
    const entry = { method: req.method, url: req.url, headers: req.headers, body: null, at: Date.now(), done: false };
    seen.push(entry);
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      entry.body = Buffer.concat(chunks);
      const answer = () => {
        const body = JSON.stringify({
          method: req.method, url: req.url, host: req.headers.host, bytes: entry.body.length,
          sha: entry.body.length ? entry.body.toString('base64').slice(0, 16) : '',
        });
        res.writeHead(201, [
          'Content-Type', 'application/json', 'Set-Cookie', 'a=1; Path=/', 'Set-Cookie', 'b=2; Path=/', 'X-Target', 'yes',
        ]);
        res.end(body, () => { entry.done = true; });
      };
      const ms = Number(new URL(req.url, 'http://x').searchParams.get('ms') ?? 0);
      setTimeout(answer, ms);
    });
  });
  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    seen,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}

describe('fault-proxy', { timeout: 30_000 }, () => {
  let target;
  let proxy;

  before(async () => {
    target = await startTarget();
    proxy = await startFaultProxy({ target: target.origin });
  });

  after(async () => {
    await proxy?.close();
    await target?.close();
  });

  beforeEach(() => {
    proxy.clear();
    target.seen.length = 0;
    proxy.requests.length = 0;
  });

  it('listens on 127.0.0.1 on its own free port', () => {
    assert.match(proxy.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(proxy.origin, target.origin);
  });

  it('passes method, path + query, headers (incl. Host) and a streamed body through, and the answer back', async () => {
    const body = randomBytes(1024 * 1024 + 7);
    const res = await fetch(`${proxy.origin}/some/path?x=1&y=%20z`, {
      method: 'PUT', body, headers: { 'content-type': 'application/octet-stream', 'x-test': 'kept' },
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-target'), 'yes');
    assert.deepEqual(res.headers.getSetCookie(), ['a=1; Path=/', 'b=2; Path=/'], 'repeated headers survive');
    const json = await res.json();
    assert.deepEqual(json, {
      method: 'PUT', url: '/some/path?x=1&y=%20z', host: new URL(proxy.origin).host, bytes: body.length,
      sha: body.toString('base64').slice(0, 16),
    });
    assert.equal(target.seen.length, 1);
    assert.equal(target.seen[0].headers['x-test'], 'kept');
    assert.ok(target.seen[0].body.equals(body), 'body byte for byte');
    assert.deepEqual(proxy.requests.map(({ method, path, fault, status }) => ({ method, path, fault, status })),
      [{ method: 'PUT', path: '/some/path', fault: 'pass', status: 201 }]);
    assert.equal(proxy.requests[0].url, '/some/path?x=1&y=%20z');
  });

  it('forwards CORS preflights like any other request when no status fault is set', async () => {
    proxy.set('/token', 'pass');
    const res = await fetch(`${proxy.origin}/token`, {
      method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:9', 'access-control-request-method': 'POST' },
    });
    assert.equal(res.status, 201, 'the target answered it');
    assert.deepEqual(target.seen.map((r) => [r.method, r.url, r.headers.origin]), [['OPTIONS', '/token', 'http://127.0.0.1:9']]);
  });

  it('"down": the connection is destroyed without an answer and the target is not contacted', async () => {
    proxy.set('/token', 'down');
    await assert.rejects(fetch(`${proxy.origin}/token`, { method: 'POST', body: 'x=1' }), TypeError);
    assert.equal(target.seen.length, 0);
    // Other paths are not affected.
    assert.equal((await fetch(`${proxy.origin}/other`)).status, 201);
    assert.deepEqual(proxy.requests.map((r) => [r.path, r.fault]), [['/token', 'down'], ['/other', 'pass']]);
  });

  it('{ status }: answered by the proxy with CORS for the request origin; the target is not contacted', async () => {
    proxy.set('/token', { status: 503 });
    const res = await fetch(`${proxy.origin}/token`, { method: 'POST', body: 'a=b', headers: { origin: 'http://127.0.0.1:5555' } });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://127.0.0.1:5555');
    assert.match(res.headers.get('content-type'), /^application\/json/);
    assert.deepEqual(await res.json(), { error: 'injected_fault', status: 503 });

    proxy.set('/token', { status: 500, body: '<h1>oops</h1>', contentType: 'text/html' });
    const html = await fetch(`${proxy.origin}/token`, { headers: { origin: 'http://127.0.0.1:5555' } });
    assert.equal(html.status, 500);
    assert.equal(html.headers.get('content-type'), 'text/html');
    assert.equal(await html.text(), '<h1>oops</h1>');

    const noOrigin = await fetch(`${proxy.origin}/token`);
    assert.equal(noOrigin.headers.get('access-control-allow-origin'), null, 'no Origin, no CORS header');
    await noOrigin.arrayBuffer();

    proxy.set('/gone', { status: 204 });
    const empty = await fetch(`${proxy.origin}/gone`);
    assert.equal(empty.status, 204);
    assert.equal(await empty.text(), '');

    assert.equal(target.seen.length, 0);
    assert.deepEqual(proxy.requests.map((r) => [r.fault, r.status]), [['status', 503], ['status', 500], ['status', 500], ['status', 204]]);
  });

  it('{ status }: a CORS preflight for that path is answered 204 as a CORS server would', async () => {
    proxy.set('/token', { status: 503 });
    const res = await fetch(`${proxy.origin}/token`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://127.0.0.1:5555', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, dpop',
      },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://127.0.0.1:5555');
    assert.equal(res.headers.get('access-control-allow-methods'), 'POST');
    assert.equal(res.headers.get('access-control-allow-headers'), 'content-type, dpop');
    assert.equal(target.seen.length, 0);
  });

  it('{ delayMs }: forwarded at once, the answer is held back', async () => {
    proxy.set('/token', { delayMs: 400 });
    const t0 = Date.now();
    const pending = fetch(`${proxy.origin}/token`, { method: 'POST', body: 'a=b' });
    await new Promise((resolve) => { setTimeout(resolve, 150); });
    assert.equal(target.seen.length, 1, 'the target already has the request');
    assert.equal(target.seen[0].done, true, 'and has answered it');
    const res = await pending;
    assert.ok(Date.now() - t0 >= 390, `held ${Date.now() - t0} ms`);
    assert.equal(res.status, 201);
    assert.equal((await res.json()).bytes, 3);
    assert.deepEqual(proxy.requests.map((r) => [r.fault, r.status]), [['delay', 201]]);
  });

  it('{ delayMs }: a client that leaves meanwhile is dropped; the target still handled the request', async () => {
    proxy.set('/token', { delayMs: 2000 });
    const aborter = new AbortController();
    const pending = fetch(`${proxy.origin}/token`, { method: 'POST', body: 'a=b', signal: aborter.signal });
    await new Promise((resolve) => { setTimeout(resolve, 150); });
    aborter.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    await new Promise((resolve) => { setTimeout(resolve, 50); });
    assert.equal(proxy.requests[0].aborted, true);
    assert.equal(proxy.requests[0].status, undefined, 'nothing was sent to the client');
    assert.equal(target.seen[0].done, true);
    // The proxy is fine afterwards.
    proxy.clear('/token');
    assert.equal((await fetch(`${proxy.origin}/token`)).status, 201);
  });

  it('clear() ends every fault; set() rejects unknown modes', async () => {
    proxy.set('/a', 'down');
    proxy.set('/b', { status: 502 });
    assert.deepEqual(proxy.get('/b'), { status: 502 });
    proxy.clear();
    assert.equal(proxy.get('/a'), 'pass');
    assert.equal((await fetch(`${proxy.origin}/a`)).status, 201);
    assert.equal((await fetch(`${proxy.origin}/b`)).status, 201);
    assert.throws(() => proxy.set('/a', 'slow'), TypeError);
    assert.throws(() => proxy.set('/a', { status: 99 }), TypeError);
    assert.throws(() => proxy.set('/a', { delayMs: -1 }), TypeError);
  });

  it('an unreachable target is a 502 from the proxy', async () => {
    const lonely = await startFaultProxy({ target: 'http://127.0.0.1:9' });
    try {
      const res = await fetch(`${lonely.origin}/x`);
      assert.equal(res.status, 502);
      await res.arrayBuffer();
    } finally {
      await lonely.close();
    }
  });

  it('close() ends open connections at once, incl. a held answer', async () => {
    const other = await startFaultProxy({ target: target.origin });
    other.set('/token', { delayMs: 20_000 });
    const pending = new Promise((resolve) => {
      const req = request(`${other.origin}/token`, { method: 'GET' }, (res) => resolve(`answered ${res.statusCode}`));
      req.on('error', (err) => resolve(err.code));
      req.end();
    });
    await new Promise((resolve) => { setTimeout(resolve, 100); });
    const t0 = Date.now();
    await other.close();
    assert.ok(Date.now() - t0 < 1000, 'close() did not wait for the held answer');
    assert.equal(await pending, 'ECONNRESET');
    await assert.rejects(fetch(`${other.origin}/x`), TypeError, 'no longer listening');
  });
});
