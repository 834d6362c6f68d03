// End to end: a worker that fails unexpectedly (a trap in the wasm, an exception nothing caught)
// fails every call with `config` / `worker_failed`, pending and later ones, and none hangs; a call
// the worker cannot even turn into JSON text is refused as `invalid_call` and fails nothing else. The
// example app in www/vanilla/, in headless Chromium, with the real oidc-provider behind it.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/worker-failure.test.mjs
//
// The failures are made from inside the worker: the dedicated worker of `sharing: "tab"` with
// playwright's worker.evaluate, the session holder of `sharing: "browser"` (a SharedWorker, which
// Playwright does not expose) through the DevTools protocol (tests/support/shared-workers.mjs):
// - the clock the wasm imports (`Date.now`) throws once the provider's metadata has arrived:
//   the call's future ends abruptly where it resumes, inside the promise reaction that wakes it
//   (src/worker/task.rs), as a trap there does (the rejection nobody handles is the signal);
// - the clock throws from the start, while the client is borrowed: the wasm call that starts a
//   call ends abruptly (`host.handle` throws), and the calls queued behind it never run.
// A failed holder tells every page connected to it (`{ failed: true }`), also those that had no
// call in flight; a page that reaches it later, or a holder that could not load its wasm
// (`{ ready: false }`), gets a worker of its own (`sharing` "tab") instead of failing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import { assertLibraryBuilt, callAuth, startStack, waitForApp } from '../support/harness.mjs';
import { interceptRequests } from '../support/intercept.mjs';
import { evaluateIn, holderOfPage } from '../support/shared-workers.mjs';

/** The dedicated worker of oidc-worker that the page started (`sharing: "tab"`). */
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

const BREAK_CLOCK_AFTER_FETCH = `{
  const fetchOriginal = globalThis.fetch;
  globalThis.fetch = (...args) => fetchOriginal(...args).then((response) => {
    Date.now = () => {
      throw new Error('the clock broke');
    };
    return response;
  });
}`;
const BREAK_CLOCK = `Date.now = () => {
  throw new Error('the clock broke');
}`;

describe('a worker that fails', { timeout: 120_000 }, () => {
  let stack;
  let browser;
  /** The app's `sharing` option for the pages opened next (the app reads it at start). */
  let sharing;

  before(async () => {
    assertLibraryBuilt();
    // getAccessToken must reach the clock (below): with the default exposeAccessToken: false it
    // is refused before that.
    stack = await startStack({ quiet: true, appOptions: () => ({ exposeAccessToken: true, sharing }) });
    browser = await launchBrowser();
  });

  after(async () => {
    await closeBrowser(browser);
    await stack?.close();
  });

  /** The example app in `context` (default: a fresh one), its client ready, in `mode`. */
  async function openApp(mode, context) {
    sharing = mode;
    const page = await (context ?? await browser.newContext()).newPage();
    await page.goto(stack.appUrl);
    await waitForApp(page);
    assert.equal(await page.evaluate(() => window.auth.sharing), mode);
    return page;
  }

  it('sharing: "tab": an exception where a call\'s future resumes (after the provider answered) fails it with config / worker_failed', async () => {
    const page = await openApp('tab');

    const worker = await oidcWorker(page);
    await worker.evaluate(BREAK_CLOCK_AFTER_FETCH);
    // loginWithRedirect fetches the provider's metadata first, then reads the clock.
    assert.deepEqual(await settleTogether(page, ['loginWithRedirect']), [WORKER_FAILED]);
    // Later calls fail at once, without reaching the worker.
    assert.deepEqual(await settleTogether(page, ['isAuthenticated']), [WORKER_FAILED]);
    await page.context().close();
  });

  for (const mode of ['tab', 'browser']) {
    it(`sharing: "${mode}": a call JSON cannot hold (a BigInt, as a script wrapping postMessage could send) is invalid_call, and the worker goes on`, async () => {
      const page = await openApp(mode);
      // worker.js hands the wasm the call's JSON text; JSON.stringify throws on a BigInt. The
      // page posts to a dedicated worker through the Worker, to the holder through a MessagePort.
      await page.evaluate(() => {
        const natives = [MessagePort.prototype, Worker.prototype].map((proto) => [proto, proto.postMessage]);
        for (const [proto, native] of natives) {
          proto.postMessage = function crafted(message, transfer) {
            if (message?.call === undefined) return native.call(this, message, transfer);
            for (const [p, n] of natives) p.postMessage = n;
            return native.call(this, { ...message, call: { getUser: 1n } }, transfer);
          };
        }
      });
      assert.deepEqual(await settleTogether(page, ['isAuthenticated']), [{ ok: false, code: 'config', reason: 'invalid_call' }]);
      assert.deepEqual(await settleTogether(page, ['isAuthenticated']), [{ ok: true, value: false }]);
      await page.context().close();
    });
  }

  it('sharing: "tab": an exception inside the wasm fails every pending call with config / worker_failed', async () => {
    const page = await openApp('tab');
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });

    const worker = await oidcWorker(page);
    await worker.evaluate(BREAK_CLOCK);
    // getAccessToken reads the clock while it holds the client: the wasm call ends there. The
    // calls queued behind it in the same turn would otherwise never run.
    const settled = await settleTogether(page, ['getAccessToken', 'isAuthenticated', 'getUser']);
    assert.deepEqual(settled, [WORKER_FAILED, WORKER_FAILED, WORKER_FAILED]);

    // Later calls fail at once, without reaching the worker.
    assert.deepEqual(await settleTogether(page, ['isAuthenticated']), [WORKER_FAILED]);
    await page.context().close();
  });

  for (const [what, breakIt, calls] of [
    ['an exception where a call\'s future resumes (the clock broke after the provider answered)', BREAK_CLOCK_AFTER_FETCH, ['loginWithRedirect']],
    ['an exception inside the wasm (the clock broke)', BREAK_CLOCK, ['getAccessToken', 'isAuthenticated', 'getUser']],
  ]) {
    it(`sharing: "browser": ${what} in the holder fails every call of every page connected to it`, async () => {
      const context = await browser.newContext();
      const [first, second] = [await openApp('browser', context), await openApp('browser', context)];
      assert.deepEqual(await callAuth(second, 'isAuthenticated'), { ok: true, value: false });
      const { holder, stop } = await holderOfPage(browser, first);
      try {
        await evaluateIn(holder, breakIt);
      } finally {
        await stop();
      }
      assert.deepEqual(await settleTogether(first, calls), calls.map(() => WORKER_FAILED));
      // The other page had no call in flight: it was told all the same, so its calls fail at
      // once (a call reaching a failed holder would get no answer: 'hung').
      assert.deepEqual(await settleTogether(second, ['isAuthenticated', 'getUser']), [WORKER_FAILED, WORKER_FAILED]);
      assert.deepEqual(await settleTogether(first, ['isAuthenticated']), [WORKER_FAILED]);
      // The page that loads next (a reload here) reaches the failed holder, which lives on (with
      // extendedLifetime, past its last page): it works all the same, with a worker of its own.
      await second.reload();
      await waitForApp(second);
      assert.deepEqual(await callAuth(second, 'isAuthenticated'), { ok: true, value: false });
      assert.equal(await second.evaluate(() => window.auth.sharing), 'tab', 'the fallback to a worker of its own');
      assert.deepEqual(await settleTogether(first, ['isAuthenticated']), [WORKER_FAILED], 'the page of the old holder stays failed');
      await context.close();
    });
  }

  it('sharing: "browser": a holder that cannot load its wasm: the page falls back to a worker of its own (here failing too: worker_failed), and the next page works', async () => {
    const wasm = await interceptRequests(browser, '*/oidc_worker_bg.wasm');
    const context = await browser.newContext();
    const referers = () => wasm.requests.map((r) => new URL(r.headers.referer).pathname);
    try {
      sharing = 'browser';
      const page = await context.newPage();
      wasm.fail = 'ConnectionRefused';
      await page.goto(stack.appUrl);
      await page.waitForFunction(() => window.app?.status === 'failed');
      assert.deepEqual(await page.evaluate(() => [window.app.error?.code, window.app.error?.reason]), ['config', 'worker_failed']);
      // The holder, then (falling back to a worker of its own) the page and its worker tried.
      assert.deepEqual(referers(), ['/pkg/worker.js', '/vanilla/', '/pkg/worker.js'], 'every fetch of the wasm failed');
      // Once the wasm can be fetched, the next page works, with a worker of its own (the holder
      // that could not load it lives on and tells it so).
      wasm.fail = null;
      await page.reload();
      await waitForApp(page);
      assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });
      assert.equal(await page.evaluate(() => window.auth.sharing), 'tab', 'the fallback to a worker of its own');
      assert.deepEqual(referers().slice(3), ['/vanilla/'], 'the page fetched the wasm for its worker');
    } finally {
      await context.close();
      await wasm.stop();
    }
  });
});
