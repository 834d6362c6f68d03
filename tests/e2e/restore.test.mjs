// End to end: getting the provider's session back when no holder has one (issue 9, `restore`),
// with the example app in www/vanilla/ against a real oidc-provider, in headless Chromium.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/restore.test.mjs
//
// A page finds no session when its holder is gone: the browser restarted (here: a new browser
// context with the old one's cookies and localStorage, so no SharedWorker is alive), or with
// `sharing: "tab"` (a reload is a new worker). What is checked:
//   - a signed-out visitor (no session hint) causes no request to the provider at all;
//   - restore: "redirect" (the default): one top-level prompt=none round trip, no login form,
//     signed in again, `appState.returnTo` is the page it left; the hint holds a time only;
//   - the provider's session ended meanwhile: the round trip ends signed out without an error,
//     the hint is gone, and the next load makes no request (no loop);
//   - restore: "silent" against a provider on another site (localhost vs 127.0.0.1) whose cookies
//     are SameSite=None; Secure: with third-party cookies allowed (profile preference
//     cookie_controls_mode 0) the hidden iframe restores the session without navigating the page;
//     with them blocked (Chromium's default) the page is signed out, quietly, within the bound;
//   - no token in any storage, cookie or URL afterwards.

import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { CHROMIUM_ARGS, CHROMIUM_PATH, closeBrowser, launchBrowser } from '../support/browser.mjs';
import {
  assertCleanRun, assertLibraryBuilt, callAuth, captureConsole, collectStoredStrings, findLeaks, startStack, waitForApp,
} from '../support/harness.mjs';
import { completeLogin } from '../support/op-interactions.mjs';
import { chromium } from 'playwright-core';

/** What the provider saw from index `from` on: "METHOD path" (authorization requests with prompt). */
function seenSince(op, from) {
  return op.requests.slice(from).map((r) => `${r.method} ${r.route ?? r.path}`);
}

/** The session hint the page keeps (localStorage), or null. */
const hintOf = (page) => page.evaluate(() => {
  const key = Object.keys(localStorage).find((k) => k.startsWith('oidc-worker session '));
  return key ? localStorage.getItem(key) : null;
});

/** Every URL the page's main frame requested as a navigation (redirects included), in order. */
function mainFrameUrls(page) {
  const urls = [];
  page.on('request', (request) => {
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) urls.push(request.url());
  });
  return urls;
}

async function assertNothingStored(op, page, context) {
  const { entries } = await collectStoredStrings(page, context);
  assert.deepEqual(findLeaks(entries, op.issuedTokens().all()), []);
}

describe('restore: "redirect" (the default) after the browser lost its holder', { timeout: 180_000 }, () => {
  let stack;
  let browser;
  let first;
  let context;
  let page;
  let consoleLog;
  let signedIn = false;

  before(async () => {
    assertLibraryBuilt();
    stack = await startStack();
    browser = await launchBrowser();
    first = await browser.newContext();
    page = await first.newPage();
    page.setDefaultTimeout(20_000);
  });

  after(async () => {
    await closeBrowser(browser);
    await stack?.close();
  });

  it('a signed-out visitor (no hint): no request to the provider at all', async () => {
    const from = stack.op.requests.length;
    await page.goto(stack.appUrl);
    await waitForApp(page);
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: false });
    assert.equal(await hintOf(page), null);
    assert.deepEqual(seenSince(stack.op, from), []);
  });

  it('after a login the hint holds a time, nothing else', async () => {
    await completeLogin(page, { issuer: stack.op.issuer, trigger: () => page.locator('#login').click() });
    await waitForApp(page);
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true });
    const hint = await hintOf(page);
    assert.match(hint ?? '', /^\d{13}$/, `a millisecond time: ${hint}`);
    assert.ok(Math.abs(Number(hint) - Date.now()) < 60_000);
    signedIn = true;
  });

  it('the browser "restarts" (a new context with its cookies and storage, no holder): one prompt=none round trip, no form, signed in', async () => {
    assert.ok(signedIn, 'depends on the login');
    const state = await first.storageState();
    context = await browser.newContext({ storageState: state });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    consoleLog = captureConsole(page);
    const urls = mainFrameUrls(page);
    const from = stack.op.requests.length;
    await page.goto(`${stack.appUrl}?view=orders#list`);
    const app = await waitForApp(page);
    assert.equal(app.callback?.ok, true, JSON.stringify(app.callback));
    assert.deepEqual(app.callback.appState, { returnTo: '/vanilla/?view=orders#list' }, 'the page it left');
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true });
    const seen = seenSince(stack.op, from);
    assert.equal(seen.filter((r) => r.endsWith('authorization')).length, 1, `one authorization request: ${seen}`);
    assert.ok(!seen.some((r) => r.includes('interaction')), `no login or consent page: ${seen}`);
    const auth = urls.filter((u) => u.startsWith(stack.op.issuer));
    assert.equal(auth.length, 1, `one visit to the provider: ${urls.join(' → ')}`);
    assert.equal(stack.op.authorizationParams(auth[0]).get('prompt'), 'none');
    assert.match(await hintOf(page) ?? '', /^\d{13}$/, 'the hint is back');
    await assertNothingStored(stack.op, page, context);
  });

  it('the provider\'s session ended meanwhile: signed out without an error, hint gone, no loop', async () => {
    assert.ok(signedIn, 'depends on the login');
    const state = await context.storageState();
    const issuerHost = new URL(stack.op.issuer).hostname;
    // The same storage, without the provider's cookies (its session is gone).
    const third = await browser.newContext({
      storageState: { ...state, cookies: state.cookies.filter((c) => c.domain !== issuerHost) },
    });
    const p = await third.newPage();
    const log = captureConsole(p);
    const urls = mainFrameUrls(p);
    const from = stack.op.requests.length;
    const tokens = stack.op.tokenRequestCount();
    await p.goto(stack.appUrl);
    const app = await waitForApp(p);
    assert.equal(app.callback?.ok, true, `no error shown: ${JSON.stringify(app.callback)}`);
    assert.deepEqual(await callAuth(p, 'isAuthenticated'), { ok: true, value: false });
    assert.equal(await hintOf(p), null, 'the hint is cleared');
    assert.equal(urls.filter((u) => u.startsWith(stack.op.issuer)).length, 1, urls.join(' → '));
    assert.equal(stack.op.tokenRequestCount(), tokens, 'no token request');
    // The next load: no hint, no request.
    const again = stack.op.requests.length;
    await p.reload();
    await waitForApp(p);
    assert.deepEqual(seenSince(stack.op, again), []);
    assert.ok(seenSince(stack.op, from).length >= 1);
    assertCleanRun(stack.op, log, consoleLog);
    await third.close();
  });

  it('two pages loading at once after a "restart": one restore, and both end signed in', async () => {
    assert.ok(signedIn, 'depends on the login');
    const state = await context.storageState();
    const fourth = await browser.newContext({ storageState: state });
    const from = stack.op.requests.length;
    const [p1, p2] = await Promise.all([fourth.newPage(), fourth.newPage()]);
    await Promise.all([p1.goto(stack.appUrl), p2.goto(stack.appUrl)]);
    await Promise.all([waitForApp(p1), waitForApp(p2)]);
    const seen = seenSince(stack.op, from);
    assert.equal(seen.filter((r) => r.endsWith('authorization')).length, 1, `one prompt=none request: ${seen}`);
    // The page that restored is signed in; the other shares its holder and learns of it.
    for (const p of [p1, p2]) {
      await p.waitForFunction(() => window.auth.isAuthenticated(), null, { timeout: 10_000 });
    }
    await fourth.close();
  });
});

describe('restore with sharing: "tab": a reload is a new worker, restored by redirect', { timeout: 120_000 }, () => {
  let stack;
  let browser;
  let page;

  before(async () => {
    assertLibraryBuilt();
    stack = await startStack({ appOptions: { sharing: 'tab' } });
    browser = await launchBrowser();
    page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(20_000);
  });

  after(async () => {
    await closeBrowser(browser);
    await stack?.close();
  });

  it('logs in, reloads: signed in again after one prompt=none round trip', async () => {
    await page.goto(stack.appUrl);
    await waitForApp(page);
    assert.equal(await page.evaluate(() => window.auth.sharing), 'tab');
    await completeLogin(page, { issuer: stack.op.issuer, trigger: () => page.locator('#login').click() });
    await waitForApp(page);
    const from = stack.op.requests.length;
    await page.reload();
    const app = await waitForApp(page);
    assert.equal(app.callback?.ok, true, JSON.stringify(app.callback));
    assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true });
    const seen = seenSince(stack.op, from);
    assert.ok(!seen.some((r) => r.includes('interaction')), `no login or consent page: ${seen}`);
  });
});

/** A browser whose profile allows third-party cookies (cookie_controls_mode 0), or Chromium's default. */
async function launchWithThirdPartyCookies(allowed) {
  if (!allowed) {
    const browser = await launchBrowser();
    return { context: await browser.newContext(), close: () => closeBrowser(browser) };
  }
  const dir = await mkdtemp(join(tmpdir(), 'oidcw-3pc-'));
  await mkdir(join(dir, 'Default'), { recursive: true });
  await writeFile(join(dir, 'Default', 'Preferences'), JSON.stringify({ profile: { cookie_controls_mode: 0 } }));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

for (const [allowed, silentPage] of [[true, false], [false, false], [true, true]]) {
  const landing = silentPage ? ', answer on a script-less silentRedirectUri' : '';
  describe(`restore: "silent" with a provider on another site, third-party cookies ${allowed ? 'allowed' : 'blocked (default)'}${landing}`, { timeout: 120_000 }, () => {
    let stack;
    let browser;
    let page;

    before(async () => {
      assertLibraryBuilt();
      // The provider on localhost, the app on 127.0.0.1: two sites. sharing "tab": a reload has no session.
      stack = await startStack({
        provider: { host: 'localhost', crossSiteCookies: true, extraRedirectPaths: silentPage ? ['/vanilla/silent.html'] : [] },
        appOptions: () => ({
          sharing: 'tab',
          restore: 'silent',
          ...(silentPage ? { silentRedirectUri: new URL('/vanilla/silent.html', stack.appUrl).href } : {}),
        }),
      });
      browser = await launchWithThirdPartyCookies(allowed);
      page = await browser.context.newPage();
      page.setDefaultTimeout(20_000);
    });

    after(async () => {
      await browser?.close();
      await stack?.close();
    });

    it(allowed ? 'the hidden iframe restores the session; the page never navigates' : 'signed out, quietly, within the bound; the hint is gone', async () => {
      await page.goto(stack.appUrl);
      await waitForApp(page);
      await completeLogin(page, { issuer: stack.op.issuer, trigger: () => page.locator('#login').click() });
      await waitForApp(page);
      assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: true });
      const log = captureConsole(page);
      const urls = mainFrameUrls(page);
      const from = stack.op.requests.length;
      const started = Date.now();
      await page.reload();
      const app = await waitForApp(page);
      const took = Date.now() - started;
      assert.equal(app.callback, null, 'the page itself handled no callback');
      assert.deepEqual(urls, [stack.appUrl], 'the page never left (only the reload itself)');
      const seen = seenSince(stack.op, from);
      assert.equal(seen.filter((r) => r.endsWith('authorization')).length, 1, `one prompt=none request: ${seen}`);
      assert.deepEqual(await callAuth(page, 'isAuthenticated'), { ok: true, value: allowed });
      assert.equal(await page.locator('iframe').count(), 0, 'the iframe is gone');
      if (allowed) {
        assert.match(await hintOf(page) ?? '', /^\d{13}$/);
      } else {
        assert.equal(await hintOf(page), null);
        assert.ok(took < 10_000 + 5_000, `within the 10 s bound (took ${took} ms)`);
      }
      await assertNothingStored(stack.op, page, browser.context);
      assertCleanRun(stack.op, log);
    });
  });
}
