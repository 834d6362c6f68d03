// End to end: how createAuthClient() starts the worker (cold start).
//   - `sharing: "browser"` (the default): the page connects to the session holder, a module
//     SharedWorker, which fetches and compiles the .wasm itself (a compiled module cannot be
//     handed to it); the page does not fetch it.
//   - `sharing: "tab"`: the page fetches and compiles the .wasm while its dedicated worker's
//     script loads and hands the compiled module to the worker, which then neither fetches nor
//     compiles it; when the page may not compile wasm (its own CSP lacks 'wasm-unsafe-eval', the
//     worker's does not), the worker fetches and compiles it itself.
//   - createAuthClient() resolves without waiting for the worker (the .wasm held back by the
//     server: the client exists, its first call waits and answers once the wasm has come); invalid
//     options reject the first call and every later one with `config` and the option's reason;
//     close() during the start-up rejects the waiting call and later ones with `config` / `closed`.
// Bare pages (an import map to /pkg/, one inline module script) in headless Chromium; no provider
// is needed: createAuthClient() and isAuthenticated() make no request to it. Each page opens in a
// fresh browser context, so it starts its own holder.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/startup.test.mjs
//
// No timing is asserted; which context requested the .wasm is read from the request's Referer
// (the page's URL for the page's fetch, worker.js for the worker's), as a browser-wide DevTools
// interception sees it (Playwright's request events miss a SharedWorker's requests).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import { PKG_DIR, assertLibraryBuilt } from '../support/harness.mjs';
import { interceptRequests } from '../support/intercept.mjs';
import { startStaticServer } from '../support/static-server.mjs';

/** A page that creates a client with `options` and records `isAuthenticated()` and `sharing`, or the error. */
const page = (options, csp) => `<!doctype html>
${csp ? `<meta http-equiv="Content-Security-Policy" content="${csp}">` : ''}
<script type="importmap">{ "imports": { "oidc-worker": "/pkg/index.js" } }</script>
<script type="module">
  import { createAuthClient } from 'oidc-worker';
  const options = { issuer: 'https://op.example', clientId: 'spa', redirectUri: location.origin + '/', ...${JSON.stringify(options)} };
  window.result = createAuthClient(options)
    .then(async (auth) => ({ ok: true, value: await auth.isAuthenticated(), sharing: auth.sharing }))
    .catch((e) => ({ ok: false, code: e.code, reason: e.reason }));
</script>`;

/** A page whose createAuthClient() and first calls are recorded step by step in window.steps. */
const stepsPage = (options) => `<!doctype html>
<script type="importmap">{ "imports": { "oidc-worker": "/pkg/index.js" } }</script>
<script type="module">
  import { createAuthClient } from 'oidc-worker';
  const options = { issuer: 'https://op.example', clientId: 'spa', redirectUri: location.origin + '/', ...${JSON.stringify(options)} };
  const settle = (promise) => promise.then((value) => ({ ok: true, value }), (e) => ({ ok: false, code: e.code, reason: e.reason }));
  window.steps = [];
  const auth = await createAuthClient(options);
  window.steps.push({ created: auth.sharing });
  window.steps.push({ first: await settle(auth.isAuthenticated()) });
  window.steps.push({ second: await settle(auth.getUser()) });
</script>`;

/** A page that closes its client while the first call waits for the start-up. */
const closingPage = `<!doctype html>
<script type="importmap">{ "imports": { "oidc-worker": "/pkg/index.js" } }</script>
<script type="module">
  import { createAuthClient } from 'oidc-worker';
  const settle = (promise) => promise.then((value) => ({ ok: true, value }), (e) => ({ ok: false, code: e.code, reason: e.reason }));
  const auth = await createAuthClient({ issuer: 'https://op.example', clientId: 'spa', redirectUri: location.origin + '/' });
  const first = settle(auth.isAuthenticated());
  auth.close();
  window.steps = [{ first: await first }, { later: await settle(auth.getUser()) }];
</script>`;

describe('createAuthClient start-up', { timeout: 60_000 }, () => {
  let web;
  let browser;
  let wasmRequests;
  /** While set, a request for the .wasm waits for `held.promise`. */
  let held;

  before(async () => {
    assertLibraryBuilt();
    web = await startStaticServer({
      hold: (path) => (path === '/pkg/oidc_worker_bg.wasm' ? held?.promise : undefined),
      mounts: { '/pkg/': PKG_DIR },
      html: {
        '/shared/': () => page({}),
        '/plain/': () => page({ sharing: 'tab' }),
        '/invalid/': () => stepsPage({ clientId: 7 }),
        '/steps/shared/': () => stepsPage({}),
        '/steps/plain/': () => stepsPage({ sharing: 'tab' }),
        '/closing/': () => closingPage,
        // The page may run its scripts but not compile wasm; the worker (served without a policy)
        // may.
        '/page-csp/': () => page({ sharing: 'tab' }, "script-src 'self' 'unsafe-inline'"),
      },
    });
    browser = await launchBrowser();
    wasmRequests = await interceptRequests(browser, '*/oidc_worker_bg.wasm');
  });

  after(async () => {
    await wasmRequests?.stop();
    await closeBrowser(browser);
    await web?.close();
  });

  /** Opens `path`; returns the page's result, who requested the .wasm, and the page's CSP violations. */
  async function open(path) {
    const context = await browser.newContext();
    const mark = wasmRequests.requests.length;
    try {
      const tab = await context.newPage();
      await tab.addInitScript(() => {
        window.violations = [];
        document.addEventListener('securitypolicyviolation', (e) => window.violations.push(e.blockedURI));
      });
      await tab.goto(`${web.origin}${path}`);
      const result = await tab.waitForFunction(() => window.result, null, { timeout: 20_000 })
        .then(() => tab.evaluate(() => window.result));
      const referers = wasmRequests.requests.slice(mark).map((r) => new URL(r.headers.referer ?? '').pathname);
      return { result, referers, violations: await tab.evaluate(() => window.violations) };
    } finally {
      await context.close();
    }
  }

  it('by default the session holder (a SharedWorker) fetches and compiles the .wasm itself; the page does not', async () => {
    const { result, referers, violations } = await open('/shared/');
    assert.deepEqual(result, { ok: true, value: false, sharing: 'browser' });
    assert.deepEqual(referers, ['/pkg/worker.js'], 'requested once, by the holder');
    assert.deepEqual(violations, []);
  });

  it('sharing: "tab": the page fetches and compiles the .wasm, and its worker uses that module (one download)', async () => {
    const { result, referers, violations } = await open('/plain/');
    assert.deepEqual(result, { ok: true, value: false, sharing: 'tab' });
    assert.deepEqual(referers, ['/plain/'], 'requested once, by the page');
    assert.deepEqual(violations, []);
  });

  it('invalid options: createAuthClient resolves, and its first call and every later one reject with config and the option\'s reason', async () => {
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      await tab.goto(`${web.origin}/invalid/`);
      await tab.waitForFunction(() => window.steps?.length === 3, null, { timeout: 20_000 });
      const refused = { ok: false, code: 'config', reason: 'client_id' };
      assert.deepEqual(await tab.evaluate(() => window.steps), [{ created: 'browser' }, { first: refused }, { second: refused }]);
    } finally {
      await context.close();
    }
  });

  it('close() during the start-up: the waiting call and later ones reject config / closed', async () => {
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      await tab.goto(`${web.origin}/closing/`);
      await tab.waitForFunction(() => window.steps, null, { timeout: 20_000 });
      const closed = { ok: false, code: 'config', reason: 'closed' };
      assert.deepEqual(await tab.evaluate(() => window.steps), [{ first: closed }, { later: closed }]);
    } finally {
      await context.close();
    }
  });

  for (const [mode, path] of [['browser', '/steps/shared/'], ['tab', '/steps/plain/']]) {
    it(`sharing: "${mode}": createAuthClient resolves before the worker has its wasm; the first call waits for it`, async () => {
      let release;
      let asked;
      const released = new Promise((resolve) => { release = resolve; });
      const requested = new Promise((resolve) => { asked = resolve; });
      // Read by the server's hold() when the .wasm is asked for: note that, and hold it back.
      held = { get promise() { asked(); return released; } };
      const context = await browser.newContext();
      try {
        const tab = await context.newPage();
        await tab.goto(`${web.origin}${path}`);
        await tab.waitForFunction(() => window.steps?.length >= 1, null, { timeout: 20_000 });
        await requested; // the .wasm was asked for and is still held back
        assert.deepEqual(await tab.evaluate(() => window.steps), [{ created: mode }], 'created; the first call waits');
        release();
        await tab.waitForFunction(() => window.steps.length === 3, null, { timeout: 20_000 });
        assert.deepEqual(await tab.evaluate(() => window.steps), [
          { created: mode }, { first: { ok: true, value: false } }, { second: { ok: true, value: null } },
        ]);
      } finally {
        held = undefined;
        release();
        await context.close();
      }
    });
  }

  it('sharing: "tab", a page that may not compile wasm: the worker fetches and compiles it itself', async () => {
    const { result, referers, violations } = await open('/page-csp/');
    assert.deepEqual(result, { ok: true, value: false, sharing: 'tab' });
    assert.deepEqual(referers, ['/page-csp/', '/pkg/worker.js'], 'the page tried, then the worker loaded it');
    assert.deepEqual(violations, ['wasm-eval'], 'the page\'s policy reported the refused compile');
  });
});
