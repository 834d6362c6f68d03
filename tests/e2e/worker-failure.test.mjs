// End to end: a worker that fails unexpectedly (a trap in the wasm, an exception nothing caught)
// fails every call with `config` / `worker_failed`, pending and later ones, and none hangs; a call
// the worker cannot even turn into JSON text is refused as `invalid_call` and fails nothing else. The
// example app in www/vanilla/, in headless Chromium, with the real oidc-provider behind it.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/worker-failure.test.mjs
//
// The failures are made from inside the worker, with playwright's worker.evaluate:
// - the scheduler wasm-bindgen's futures run on (`queueMicrotask`) throws: the wasm call that
//   starts a call ends abruptly, `host.handle`'s promise rejects, and nothing runs the wasm's
//   futures any more (without the fix, the worker ignored that rejection and every call hung);
// - the clock the wasm imports (`Date.now`) throws while the client is borrowed: the wasm call
//   ends abruptly inside a microtask (as a trap does), and the calls queued behind it never run.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import { assertLibraryBuilt, callAuth, startStack, waitForApp } from '../support/harness.mjs';

/** The worker of oidc-worker that the page started. */
async function oidcWorker(page) {
  const found = () => page.workers().find((w) => w.url().endsWith('/worker.js'));
  return found() ?? page.waitForEvent('worker', { predicate: (w) => w.url().endsWith('/worker.js') });
}

/**
 * Starts `calls` (names of AuthClient methods) together in the page and settles them, each as
 * { ok, value } or { ok: false, code, reason }; 'hung' for one that did not settle within 10 s.
 */
function settleTogether(page, calls) {
  return page.evaluate(async (names) => {
    const settle = (promise) => Promise.race([
      promise.then((value) => ({ ok: true, value }), (e) => ({ ok: false, code: e?.code, reason: e?.reason })),
      new Promise((resolve) => setTimeout(() => resolve('hung'), 10_000)),
    ]);
    return Promise.all(names.map((name) => settle(window.auth[name]())));
  }, calls);
}

const WORKER_FAILED = { ok: false, code: 'config', reason: 'worker_failed' };

/** The example app in a fresh browser context, its client ready. */
async function openApp(browser, stack) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(stack.appUrl);
  await waitForApp(page);
  return page;
}

describe('a worker that fails', { timeout: 120_000 }, () => {
  let stack;
  let browser;

  before(async () => {
    assertLibraryBuilt();
    // getAccessToken must reach the clock (below): with the default exposeAccessToken: false it
    // is refused before that.
    stack = await startStack({ quiet: true, appOptions: { exposeAccessToken: true } });
    browser = await launchBrowser();
  });

  after(async () => {
    await closeBrowser(browser);
    await stack?.close();
  });

  it('host.handle rejecting (the wasm\'s scheduler broke) fails every call with config / worker_failed', async () => {
    const page = await openApp(browser, stack);

    const worker = await oidcWorker(page);
    await worker.evaluate(() => {
      globalThis.queueMicrotask = () => {
        throw new Error('the scheduler broke');
      };
    });
    const settled = await settleTogether(page, ['isAuthenticated', 'getUser', 'getAccessToken']);
    assert.deepEqual(settled, [WORKER_FAILED, WORKER_FAILED, WORKER_FAILED]);
    // Later calls fail at once, without reaching the worker.
    assert.deepEqual(await settleTogether(page, ['isAuthenticated']), [WORKER_FAILED]);
    await page.context().close();
  });

  it('a call JSON cannot hold (a BigInt, as a script wrapping postMessage could send) is invalid_call, and the worker goes on', async () => {
    const page = await openApp(browser, stack);
    // worker.js hands the wasm the call's JSON text; JSON.stringify throws on a BigInt.
    await page.evaluate(() => {
      const native = Worker.prototype.postMessage;
      Worker.prototype.postMessage = function crafted(message, transfer) {
        Worker.prototype.postMessage = native;
        return native.call(this, { ...message, call: { getUser: 1n } }, transfer);
      };
    });
    assert.deepEqual(await settleTogether(page, ['isAuthenticated']), [{ ok: false, code: 'config', reason: 'invalid_call' }]);
    assert.deepEqual(await settleTogether(page, ['isAuthenticated']), [{ ok: true, value: false }]);
    await page.context().close();
  });

  it('an exception inside the wasm fails every pending call with config / worker_failed', async () => {
    const page = await openApp(browser, stack);
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });

    const worker = await oidcWorker(page);
    await worker.evaluate(() => {
      Date.now = () => {
        throw new Error('the clock broke');
      };
    });
    // getAccessToken reads the clock while it holds the client: the wasm call ends there. The
    // calls queued behind it in the same turn would otherwise never run.
    const settled = await settleTogether(page, ['getAccessToken', 'isAuthenticated', 'getUser']);
    assert.deepEqual(settled, [WORKER_FAILED, WORKER_FAILED, WORKER_FAILED]);

    // Later calls fail at once, without reaching the worker.
    assert.deepEqual(await settleTogether(page, ['isAuthenticated']), [WORKER_FAILED]);
    await page.context().close();
  });
});
