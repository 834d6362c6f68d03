// Soak: the session holder under load (issue 9). Three pages of the example app in www/vanilla/ in
// one browser context share the holder (the package's SharedWorker) against a real oidc-provider,
// in headless Chromium.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/soak.test.mjs
//
// After a warm-up (see WARM_UP_ROUNDS), 100,000 getAccessToken() calls spread over the 3 pages
// (100 rounds of 1,000 concurrent calls) and 1,000 refresh grants (10 forced refreshes per round, one after the other, from the pages in
// turn). Checked: every call answered (no rejection, no call left pending), exactly 1,000 refresh
// grants at the provider, the holder's JS heap after a GC within ±10 % between the end of the
// first and of the last round (the first and last thousand calls), and the holder's live
// MessagePort objects (one per page) the same before and after. Heap and ports are read through
// the DevTools Protocol on the shared worker target.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import {
  assertCleanRun, assertLibraryBuilt, callAuth, captureConsole, startStack, waitForApp,
} from '../support/harness.mjs';
import { attachHolder } from '../support/holder.mjs';
import { completeLogin } from '../support/op-interactions.mjs';

// Rounds before the measured ones: without them the heap grows by ~9 % over the first ~600
// refresh grants and then stays flat (measured here: 495 KB → 541 KB by round 60, then ±1 %
// over the next 100 rounds). What grows was not identified; it stops, so nothing accumulates
// per refresh (most likely the engine's compiled code and feedback for the refresh path; the
// same run without refreshes stays within 2 % from the start).
const WARM_UP_ROUNDS = 60;
const ROUNDS = 100;
const CALLS_PER_ROUND = 1000;
const REFRESHES_PER_ROUND = Number(process.env.SOAK_REFRESHES ?? 10);

describe('soak: 100,000 calls and 1,000 refreshes over 3 pages, one holder', { timeout: 600_000 }, () => {
  let stack;
  let browser;
  let holder;
  const pages = [];
  const logs = [];

  before(async () => {
    assertLibraryBuilt();
    stack = await startStack({ appOptions: { exposeAccessToken: true, autoRefresh: false } });
    browser = await launchBrowser();
    const context = await browser.newContext();
    for (let i = 0; i < 3; i += 1) {
      const page = await context.newPage();
      page.setDefaultTimeout(60_000);
      logs.push(captureConsole(page));
      await page.goto(stack.appUrl);
      await waitForApp(page);
      pages.push(page);
    }
    await completeLogin(pages[0], { issuer: stack.op.issuer, trigger: () => pages[0].locator('#login').click() });
    await waitForApp(pages[0]);
    holder = await attachHolder(browser);
  });

  after(async () => {
    await holder?.detach();
    await closeBrowser(browser);
    await stack?.close();
  });

  it('every call answered, 1,000 grants, heap flat within ±10 %, no port growth', async () => {
    for (const page of pages) assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true });
    const portsBefore = await holder.livePorts();
    const grantsBefore = stack.op.tokenRequestCount('refresh_token');
    let grantsMeasured;
    let answered = 0;
    let heapFirst;
    let heapLast;
    for (let round = -WARM_UP_ROUNDS; round < ROUNDS; round += 1) {
      const shares = [334, 333, 333];
      const counts = await Promise.all(pages.map((page, i) => page.evaluate(async (n) => {
        const settled = await Promise.allSettled(Array.from({ length: n }, () => window.auth.getAccessToken()));
        const failed = settled.filter((s) => s.status !== 'fulfilled').map((s) => `${s.reason?.code}/${s.reason?.reason}`);
        return { answered: settled.length - failed.length, failed: failed.slice(0, 3) };
      }, shares[i])));
      for (const { failed } of counts) assert.deepEqual(failed, [], `round ${round}: no call fails`);
      if (round >= 0) answered += counts.reduce((sum, c) => sum + c.answered, 0);
      for (let r = 0; r < REFRESHES_PER_ROUND; r += 1) {
        const out = await callAuth(pages[r % 3], 'getAccessToken', { forceRefresh: true });
        assert.ok(out.ok, `round ${round}, refresh ${r}: ${JSON.stringify(out.error)}`);
      }
      if (round === -1) grantsMeasured = stack.op.tokenRequestCount('refresh_token');
      if (process.env.SOAK_TRACE && round % 10 === 0) console.log(`round ${round}: ${await holder.heapUsed()} B`);
      if (round === 0) heapFirst = await holder.heapUsed();
      if (round === ROUNDS - 1) heapLast = await holder.heapUsed();
    }
    assert.equal(answered, ROUNDS * CALLS_PER_ROUND, 'every call answered');
    assert.equal(stack.op.tokenRequestCount('refresh_token') - grantsBefore, (WARM_UP_ROUNDS + ROUNDS) * REFRESHES_PER_ROUND, 'one grant per forced refresh');
    assert.equal(stack.op.tokenRequestCount('refresh_token') - grantsMeasured, ROUNDS * REFRESHES_PER_ROUND, '1,000 refreshes measured');
    const growth = (heapLast - heapFirst) / heapFirst;
    console.log(`holder heap: ${heapFirst} B after the first thousand calls, ${heapLast} B after the last (${(growth * 100).toFixed(1)} %)`);
    assert.ok(Math.abs(growth) <= 0.10, `heap within ±10 %: ${heapFirst} → ${heapLast} B (${(growth * 100).toFixed(1)} %)`);
    assert.equal(await holder.livePorts(), portsBefore, 'no growth in connected ports');
    assertCleanRun(stack.op, ...logs);
  });
});
