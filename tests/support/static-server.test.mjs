// The test/demo static server: MIME types (wasm streaming needs application/wasm), mounts, no
// directory traversal.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { startStaticServer } from './static-server.mjs';

/** GET with the path sent byte for byte (fetch would normalise '..'). */
function rawGet(origin, path) {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: 'GET' }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('latin1') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('static-server', () => {
  let dir;
  let server;
  const wasm = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'static-server-test-'));
    await mkdir(join(dir, 'www', 'app'), { recursive: true });
    await mkdir(join(dir, 'pkg'));
    await writeFile(join(dir, 'SECRET.txt'), 'top secret');
    await writeFile(join(dir, 'www', 'index.html'), '<!doctype html><title>root</title>');
    await writeFile(join(dir, 'www', 'app', 'index.html'), '<!doctype html><title>app</title>');
    await writeFile(join(dir, 'www', 'app', 'style.css'), 'body{}');
    await writeFile(join(dir, 'pkg', 'index.js'), 'export const x = 1;');
    await writeFile(join(dir, 'pkg', 'worker.mjs'), 'postMessage(1);');
    await writeFile(join(dir, 'pkg', 'lib_bg.wasm'), wasm);
    await writeFile(join(dir, 'pkg', 'index.d.ts'), 'export declare const x: number;');
    server = await startStaticServer({
      mounts: { '/pkg/': join(dir, 'pkg'), '/': join(dir, 'www') },
      json: { '/demo-config.json': () => ({ issuer: 'http://127.0.0.1:1', clientId: 'spa' }) },
    });
  });

  after(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 on a free port', () => {
    assert.match(server.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(server.port > 0);
  });

  it('serves .wasm as application/wasm, byte for byte', async () => {
    const res = await fetch(`${server.origin}/pkg/lib_bg.wasm`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/wasm');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), wasm);
    // What the browser does with it: streaming compilation accepts only application/wasm.
    await WebAssembly.compileStreaming(fetch(`${server.origin}/pkg/lib_bg.wasm`));
  });

  it('serves .js and .mjs as text/javascript, .html, .css, .json', async () => {
    for (const [path, type] of [
      ['/pkg/index.js', 'text/javascript'],
      ['/pkg/worker.mjs', 'text/javascript'],
      ['/app/style.css', 'text/css'],
      ['/', 'text/html'],
      ['/app/', 'text/html'],
      ['/demo-config.json', 'application/json'],
    ]) {
      const res = await fetch(`${server.origin}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type').split(';')[0], type, path);
      assert.equal(res.headers.get('cache-control'), 'no-store', path);
    }
    assert.deepEqual(await (await fetch(`${server.origin}/demo-config.json`)).json(),
      { issuer: 'http://127.0.0.1:1', clientId: 'spa' });
    assert.match(await (await fetch(`${server.origin}/app/`)).text(), /<title>app<\/title>/);
  });

  it('redirects a directory without its trailing slash, keeping the query', async () => {
    const res = await fetch(`${server.origin}/app?x=1`, { redirect: 'manual' });
    assert.equal(res.status, 301);
    assert.equal(res.headers.get('location'), '/app/?x=1');
    const pkg = await fetch(`${server.origin}/pkg`, { redirect: 'manual' });
    assert.equal(pkg.status, 301);
    assert.equal(pkg.headers.get('location'), '/pkg/');
  });

  it('answers 404 for missing files and 405 for other methods', async () => {
    assert.equal((await fetch(`${server.origin}/nope.js`)).status, 404);
    assert.equal((await fetch(`${server.origin}/pkg/nope.wasm`)).status, 404);
    assert.equal((await fetch(`${server.origin}/`, { method: 'POST', body: 'x' })).status, 405);
  });

  it('never serves a file outside its mounts', async () => {
    for (const path of [
      '/../SECRET.txt', '/pkg/../../SECRET.txt', '/%2e%2e/SECRET.txt', '/pkg/%2e%2e/%2e%2e/SECRET.txt',
      '/..%2fSECRET.txt', '/pkg/..%2f..%2fSECRET.txt', '/%2e%2e%5cSECRET.txt', '/..\\SECRET.txt',
      '/pkg/%00index.js', '/%E0%A4%A',
    ]) {
      const res = await rawGet(server.origin, path);
      assert.ok([400, 403, 404].includes(res.status), `${path} → ${res.status}`);
      assert.doesNotMatch(res.body, /top secret/, path);
    }
  });
});
