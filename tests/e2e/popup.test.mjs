// End to end: popup login (`auth.loginWithPopup`) against a real oidc-provider, in headless
// Chromium, through the provider's real forms in the popup, with the vanilla example's
// "Log in (popup)" button (a real click: the popup opens in its handler).
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/popup.test.mjs
//
// Checked:
//   - login in the popup: loginWithPopup resolves on the opener with the appState, the popup has
//     closed itself, the opener never navigated, and another tab got `login`;
//   - the same with Cross-Origin-Opener-Policy: same-origin on the app's pages (opener and
//     callback) and on every provider page (the popup is severed from its opener at once), with
//     the shared holder and with `sharing: "tab"` (the popup's own worker hands the callback over
//     the channel to the opener's);
//   - window.open returns null (a blocked popup): popup_blocked, nothing sent to the provider;
//   - the user closes the popup: popup_closed within the bound (timeoutSeconds);
//   - the user cancels at the provider: authorization_error / access_denied on the opener;
//   - a forged callback on the channel (another state): ignored, no token request, and the real
//     login still completes;
//   - a second loginWithPopup while one runs: the same promise, one popup, one login attempt.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import { assertCleanRun, assertLibraryBuilt, callAuth, captureConsole, startStack, waitForApp } from '../support/harness.mjs';
import { cancelLogin, completeLogin } from '../support/op-interactions.mjs';

const COOP = { 'Cross-Origin-Opener-Policy': 'same-origin' };

function useStack({ coop = false, sharing } = {}) {
  const ctx = { logs: [] };
  before(async () => {
    assertLibraryBuilt();
    ctx.stack = await startStack({
      provider: { coop },
      headers: coop ? COOP : undefined,
      appOptions: sharing ? { sharing } : {},
    });
    ctx.browser = await launchBrowser();
  });
  after(async () => {
    await closeBrowser(ctx.browser);
    await ctx.stack?.close();
  });
  /** A fresh context with the app open; its pages' navigations recorded. */
  ctx.open = async () => {
    ctx.context = await ctx.browser.newContext();
    const page = await ctx.context.newPage();
    page.setDefaultTimeout(20_000);
    ctx.logs.push(captureConsole(page));
    await page.goto(ctx.stack.appUrl);
    await waitForApp(page);
    return page;
  };
  /** Adds a button that calls loginWithPopup(options) and keeps its outcome in window.popupOutcome. */
  ctx.addButton = (page, options) => page.evaluate((opts) => {
    const button = document.createElement('button');
    button.id = 'popup-test';
    button.textContent = 'popup (test)';
    button.onclick = () => {
      window.popupOutcome = undefined;
      window.popupCalls = (window.popupCalls ?? []).concat(
        window.auth.loginWithPopup(opts).then(
          (value) => (window.popupOutcome = { ok: true, value }),
          (e) => (window.popupOutcome = JSON.parse(JSON.stringify({ ok: false, error: { code: e.code, reason: e.reason, error: e.error } }))),
        ),
      );
    };
    document.body.append(button);
  }, options);
  ctx.outcome = (page) => page.waitForFunction(() => window.popupOutcome, null, { timeout: 30_000 }).then((h) => h.jsonValue());
  return ctx;
}

/** Clicks `selector` on `page` and returns the popup it opened. */
async function clickForPopup(page, selector) {
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.locator(selector).click()]);
  popup.setDefaultTimeout(20_000);
  return popup;
}

async function loginInPopup(ctx, page, selector = '#login-popup') {
  const popup = await clickForPopup(page, selector);
  const { steps } = await completeLogin(popup, { issuer: ctx.stack.op.issuer });
  assert.deepEqual(steps, ['login', 'consent']);
  await popup.waitForEvent('close', { timeout: 20_000 });
  return popup;
}

for (const [title, options] of [
  ['popup login (shared holder)', {}],
  ['popup login with COOP same-origin on the app and the provider (shared holder)', { coop: true }],
  ['popup login with COOP same-origin and sharing: "tab" (the callback crosses a channel)', { coop: true, sharing: 'tab' }],
]) {
  describe(title, { timeout: 120_000 }, () => {
    const ctx = useStack(options);

    it('resolves on the opener with the appState; the popup closed itself; the opener stayed', async () => {
      const page = await ctx.open();
      const other = options.sharing ? null : await ctx.context.newPage();
      if (other) {
        await other.goto(ctx.stack.appUrl);
        await waitForApp(other);
      }
      const navigations = [];
      page.on('framenavigated', (f) => f === page.mainFrame() && navigations.push(f.url()));
      await loginInPopup(ctx, page);
      await page.waitForFunction(() => !document.querySelector('#output')?.hidden);
      const output = JSON.parse(await page.locator('#output').innerText());
      assert.deepEqual(output, { popup: { appState: { from: 'popup' } } });
      assert.deepEqual(navigations, [], 'the opener never navigated');
      assert.equal((await callAuth(page, 'isAuthenticated')).value, true);
      assert.equal((await callAuth(page, 'getUser')).value?.sub, 'alice');
      assert.deepEqual(ctx.stack.op.tokenRequests.map((r) => [r.grantType, r.status]), [['authorization_code', 200]]);
      if (other) {
        await other.waitForFunction(() => window.app.events.some((e) => e.name === 'login'));
        assert.equal((await callAuth(other, 'isAuthenticated')).value, true, 'another tab got the session');
      }
      assertCleanRun(ctx.stack.op, ...ctx.logs);
    });
  });
}

describe('popup login: blocked, closed, cancelled, forged, twice', { timeout: 180_000 }, () => {
  const ctx = useStack({ coop: true });

  it('window.open returns null: popup_blocked, nothing sent', async () => {
    const page = await ctx.open();
    await page.evaluate(() => { window.open = () => null; });
    await ctx.addButton(page, {});
    const from = ctx.stack.op.requests.length;
    await page.locator('#popup-test').click();
    assert.deepEqual(await ctx.outcome(page), { ok: false, error: { code: 'popup_blocked' } });
    assert.deepEqual(ctx.stack.op.requests.slice(from), []);
  });

  it('the user closes the popup: popup_closed within the bound', async () => {
    const page = await ctx.open();
    await ctx.addButton(page, { timeoutSeconds: 3 });
    const popup = await clickForPopup(page, '#popup-test');
    await popup.waitForURL((u) => u.href.startsWith(ctx.stack.op.issuer));
    const closedAt = Date.now();
    await popup.close();
    const outcome = await ctx.outcome(page);
    assert.equal(outcome.ok, false);
    assert.ok(['popup_closed', 'timeout'].includes(outcome.error.code), JSON.stringify(outcome));
    assert.ok(Date.now() - closedAt < 10_000, 'within the bound');
    assert.equal((await callAuth(page, 'isAuthenticated')).value, false);
  });

  it('the user cancels at the provider: authorization_error / access_denied', async () => {
    const page = await ctx.open();
    await ctx.addButton(page, {});
    const before = ctx.stack.op.tokenRequests.length;
    const popup = await clickForPopup(page, '#popup-test');
    await cancelLogin(popup, { issuer: ctx.stack.op.issuer });
    const outcome = await ctx.outcome(page);
    assert.deepEqual(outcome, { ok: false, error: { code: 'authorization_error', error: 'access_denied' } });
    assert.equal(ctx.stack.op.tokenRequests.length, before, 'no token request');
  });

  it('a forged callback on the channel is ignored; the real login completes; a second call shares it', async () => {
    const page = await ctx.open();
    await ctx.addButton(page, {});
    const before = ctx.stack.op.tokenRequests.length;
    const pushesBefore = ctx.stack.op.pushedRequests.length;
    const popup = await clickForPopup(page, '#popup-test');
    // A second call while the popup is open: the same login, no second popup or attempt.
    const popups = [];
    ctx.context.on('page', (p) => popups.push(p));
    await page.locator('#popup-test').click();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await page.evaluate(() => window.popupCalls.length), 2);
    // A forged callback from another page of the app's origin: another state.
    const forger = await ctx.context.newPage();
    await forger.goto(`${ctx.stack.web.origin}/vanilla/style.css`);
    await forger.evaluate((url) => new BroadcastChannel('oidc-worker-popup').postMessage(url),
      `${ctx.stack.appUrl}?code=forged&state=not-the-state&iss=${encodeURIComponent(ctx.stack.op.issuer)}`);
    await forger.close();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(ctx.stack.op.tokenRequests.length, before, 'the forged callback made no token request');
    const { steps } = await completeLogin(popup, { issuer: ctx.stack.op.issuer });
    assert.ok(steps.includes('consent') || steps.length === 0, JSON.stringify(steps));
    await popup.waitForEvent('close', { timeout: 20_000 });
    const outcomes = await page.evaluate(() => Promise.all(window.popupCalls));
    assert.equal(outcomes.length, 2);
    assert.ok(outcomes.every((o) => o.ok && o.value.appState === null), JSON.stringify(outcomes));
    assert.deepEqual(popups.filter((p) => p !== forger), [], 'no second popup');
    assert.equal(ctx.stack.op.pushedRequests.length - pushesBefore, 1, 'one login attempt');
    assert.deepEqual(ctx.stack.op.tokenRequests.slice(before).map((r) => r.status), [200]);
  });
});
