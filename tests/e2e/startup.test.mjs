// End to end: how createAuthClient() starts the worker (cold start). The page fetches and
// compiles the .wasm while the worker script loads and hands the compiled module to the worker,
// which then neither fetches nor compiles it; when the page may not compile wasm (its own CSP
// lacks 'wasm-unsafe-eval', the worker's does not), the worker fetches and compiles it itself.
// Bare pages (an import map to /pkg/, one inline module script) in headless Chromium; no provider
// is needed: createAuthClient() and isAuthenticated() make no request to it.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/startup.test.mjs
//
// No timing is asserted; which context requested the .wasm is read from the request's Referer
// (the page's URL for the page's fetch, worker.js for the worker's).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import { PKG_DIR, assertLibraryBuilt } from '../support/harness.mjs';
import { startStaticServer } from '../support/static-server.mjs';

/** A page that creates a client with `options` and records `isAuthenticated()`, or the error. */
const page = (options, csp) => `<!doctype html>
${csp ? `<meta http-equiv="Content-Security-Policy" content="${csp}">` : ''}
<script type="importmap">{ "imports": { "oidc-worker": "/pkg/index.js" } }</script>
<script type="module">
  import { createAuthClient } from 'oidc-worker';
  const options = { issuer: 'https://op.example', clientId: 'spa', redirectUri: location.origin + '/', ...${JSON.stringify(options)} };
  window.result = createAuthClient(options)
    .then((auth) => auth.isAuthenticated())
    .then((value) => ({ ok: true, value }), (e) => ({ ok: false, code: e.code, reason: e.reason }));
</script>`;

describe('createAuthClient start-up', { timeout: 60_000 }, () => {
  let web;
  let browser;

  before(async () => {
    assertLibraryBuilt();
    web = await startStaticServer({
      mounts: { '/pkg/': PKG_DIR },
      html: {
        '/plain/': () => page({}),
        '/invalid/': () => page({ clientId: 7 }),
        // The page may run its scripts but not compile wasm; the worker (served without a policy)
        // may.
        '/page-csp/': () => page({}, "script-src 'self' 'unsafe-inline'"),
      },
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await closeBrowser(browser);
    await web?.close();
  });

  /** Opens `path`; returns the page's result, who requested the .wasm, and the page's CSP violations. */
  async function open(path) {
    const context = await browser.newContext();
    try {
      const tab = await context.newPage();
      const wasm = [];
      tab.on('request', (r) => {
        if (r.url().endsWith('/oidc_worker_bg.wasm')) wasm.push(r.allHeaders().then((h) => h.referer ?? ''));
      });
      await tab.addInitScript(() => {
        window.violations = [];
        document.addEventListener('securitypolicyviolation', (e) => window.violations.push(e.blockedURI));
      });
      await tab.goto(`${web.origin}${path}`);
      const result = await tab.waitForFunction(() => window.result, null, { timeout: 20_000 })
        .then(() => tab.evaluate(() => window.result));
      const referers = (await Promise.all(wasm)).map((r) => new URL(r).pathname);
      return { result, referers, violations: await tab.evaluate(() => window.violations) };
    } finally {
      await context.close();
    }
  }

  it('the page fetches and compiles the .wasm, and the worker uses that module (one download)', async () => {
    const { result, referers, violations } = await open('/plain/');
    assert.deepEqual(result, { ok: true, value: false });
    assert.deepEqual(referers, ['/plain/'], 'requested once, by the page');
    assert.deepEqual(violations, []);
  });

  it('invalid options still reject with config (the worker\'s answer to configure)', async () => {
    const { result } = await open('/invalid/');
    assert.deepEqual(result, { ok: false, code: 'config', reason: 'client_id' });
  });

  it('a page that may not compile wasm: the worker fetches and compiles it itself', async () => {
    const { result, referers, violations } = await open('/page-csp/');
    assert.deepEqual(result, { ok: true, value: false });
    assert.deepEqual(referers, ['/page-csp/', '/pkg/worker.js'], 'the page tried, then the worker loaded it');
    assert.deepEqual(violations, ['wasm-eval'], 'the page\'s policy reported the refused compile');
  });
});
