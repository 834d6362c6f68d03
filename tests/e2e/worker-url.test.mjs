// End to end: the `workerUrl` option, for apps whose CSP allows workers only from a fixed path.
// The app (www/vanilla/) gets `workerUrl: '/vendor/oidc/worker.js'`, where the static server serves
// a copy of pkg/ (worker.js and oidc_worker_bg.wasm side by side, as the README's copy step
// says); every response carries `Content-Security-Policy: worker-src <origin>/vendor/oidc/`, so
// a worker from anywhere else is blocked.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/worker-url.test.mjs
//
// Checked: the worker and the wasm load from the copy and never from pkg/; a real login through
// the provider form works with them; the default location, which that policy blocks, and a
// workerUrl that does not exist both fail the app's first call with `config` / `worker_failed`
// instead of hanging (which also shows the policy is enforced), as does a holder that never says
// it started (the page's bound on a holder's start); and when the page's own worker of that
// script works, the page falls back to it (`auth.sharing` turns to "tab"). And a server that serves the
// .wasm as application/octet-stream (which WebAssembly.compileStreaming refuses): the worker
// compiles its bytes all the same, in either sharing mode.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { startProvider } from '../op/provider.mjs';
import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import {
  APP_PATH, PKG_DIR, assertLibraryBuilt, callAuth, captureConsole, waitForApp,
} from '../support/harness.mjs';
import { completeLogin } from '../support/op-interactions.mjs';
import { REPO_ROOT, startStaticServer } from '../support/static-server.mjs';

describe('workerUrl: the worker and its wasm from a copied location', { timeout: 120_000 }, () => {
  let web;
  let op;
  let browser;
  let workerUrl = '/vendor/oidc/worker.js';
  const headers = {};

  before(async () => {
    assertLibraryBuilt();
    web = await startStaticServer({
      headers, // filled in below, once the origin is known
      mounts: {
        '/pkg/': PKG_DIR, '/vendor/oidc/': PKG_DIR, '/vendor/oidc/test/': join(REPO_ROOT, 'tests', 'support'), '/': join(REPO_ROOT, 'www'),
      },
      json: {
        '/demo-config.json': () => ({
          issuer: op.issuer, clientId: op.clientId, options: workerUrl ? { workerUrl } : {},
        }),
      },
    });
    headers['Content-Security-Policy'] = `worker-src ${web.origin}/vendor/oidc/`;
    op = await startProvider({ redirectUris: [`${web.origin}${APP_PATH}`] });
    browser = await launchBrowser();
  });

  after(async () => {
    await closeBrowser(browser);
    await Promise.allSettled([op?.close(), web?.close()]);
  });

  it('loads worker.js and the .wasm from workerUrl, and a login works', async () => {
    const page = await (await browser.newContext()).newPage();
    const consoleLog = captureConsole(page);
    const seen = [];
    page.on('request', (r) => seen.push(new URL(r.url()).pathname));
    await page.goto(`${web.origin}${APP_PATH}`);
    await waitForApp(page);
    await completeLogin(page, { issuer: op.issuer, login: 'carol', trigger: () => page.locator('#login').click() });
    const app = await waitForApp(page);
    assert.equal(app.callback?.ok, true, JSON.stringify(app.callback));
    const user = await callAuth(page, 'getUser');
    assert.equal(user.value?.sub, 'carol');

    const paths = [...seen, ...web.requests.map((r) => r.path)];
    assert.ok(paths.includes('/vendor/oidc/worker.js'), 'the worker came from workerUrl');
    assert.ok(paths.includes('/vendor/oidc/oidc_worker_bg.wasm'), 'the wasm came from next to it');
    assert.deepEqual(paths.filter((p) => p === '/pkg/worker.js' || p.endsWith('/pkg/oidc_worker_bg.wasm')), [],
      'nothing loaded from the default location');
    assert.deepEqual(consoleLog.pageErrors, []);
  });

  for (const [name, url] of [
    ['the default location, blocked by worker-src', undefined],
    ['a workerUrl that does not exist', '/vendor/oidc/missing.js'],
    // A holder that never says it started, as when Chromium loses a SharedWorker's `error` event
    // (it did in about one run in twelve of the case above): the page gives up on it after its
    // bound (src/js/index.ts HOLDER_START_MS) and its own worker of the same script fails too.
    ['a holder whose script runs but never starts', '/vendor/oidc/test/idle-worker.js'],
  ]) {
    it(`${name}: the app's first call fails with config / worker_failed`, async () => {
      workerUrl = url;
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${web.origin}${APP_PATH}`);
      await page.waitForFunction(() => window.app && window.app.status !== 'loading', null, { timeout: 20_000 });
      const state = await page.evaluate(() => ({ status: window.app.status, error: window.app.error }));
      assert.equal(state.status, 'failed');
      assert.equal(state.error?.code, 'config');
      assert.equal(state.error?.reason, 'worker_failed');
    });
  }

  it('a holder that never starts, a worker of its own that works: the page falls back to it and auth.sharing turns to "tab"', async () => {
    workerUrl = '/vendor/oidc/test/holder-never-starts.js';
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${web.origin}${APP_PATH}`);
    // createAuthClient() resolved at once, with the holder; the first call waits for the bound.
    await page.waitForFunction(() => window.auth, null, { timeout: 20_000 });
    await page.waitForFunction(() => window.app && window.app.status !== 'loading', null, { timeout: 20_000 });
    assert.equal(await page.evaluate(() => window.app.status), 'ready', JSON.stringify(await page.evaluate(() => window.app.error)));
    assert.equal(await page.evaluate(() => window.auth.sharing), 'tab');
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });
  });
});

describe('a server that does not say application/wasm for the .wasm', { timeout: 120_000 }, () => {
  let web;
  let op;
  let browser;
  let sharing;

  before(async () => {
    assertLibraryBuilt();
    web = await startStaticServer({
      types: { '.wasm': 'application/octet-stream' },
      mounts: { '/pkg/': PKG_DIR, '/': join(REPO_ROOT, 'www') },
      json: { '/demo-config.json': () => ({ issuer: op.issuer, clientId: op.clientId, options: { sharing } }) },
    });
    op = await startProvider({ redirectUris: [`${web.origin}${APP_PATH}`] });
    browser = await launchBrowser();
  });

  after(async () => {
    await closeBrowser(browser);
    await Promise.allSettled([op?.close(), web?.close()]);
  });

  for (const mode of ['browser', 'tab']) {
    it(`sharing "${mode}": the client starts, and a login works`, async () => {
      sharing = mode;
      const page = await (await browser.newContext()).newPage();
      const consoleLog = captureConsole(page);
      await page.goto(`${web.origin}${APP_PATH}`);
      await waitForApp(page);
      assert.equal(await page.evaluate(() => window.auth.sharing), mode);
      const wasm = web.requests.filter((r) => r.path === '/pkg/oidc_worker_bg.wasm');
      assert.ok(wasm.length > 0, 'the wasm was fetched (as application/octet-stream)');
      await completeLogin(page, { issuer: op.issuer, login: 'dave', trigger: () => page.locator('#login').click() });
      const app = await waitForApp(page);
      assert.equal(app.callback?.ok, true, JSON.stringify(app.callback));
      assert.equal((await callAuth(page, 'getUser')).value?.sub, 'dave');
      assert.deepEqual(consoleLog.pageErrors, []);
    });
  }
});
