// End to end: the device authorization grant (RFC 8628, `auth.loginWithDeviceCode`) against a
// real oidc-provider with its device flow on (tests/op/provider.mjs `device`), in headless
// Chromium: the "TV" is the app's page, the "phone" a second page that approves the user code
// through the provider's own device pages, login and consent forms.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/device.test.mjs
//
// Checked against what the provider recorded:
//   - onCode is called once with the user code and the provider's pages; after approval the
//     session is the same validated session as a redirect login (getUser, the ID token's user),
//     auth.fetch works with it, and the polls kept the provider's interval;
//   - slow_down lengthens the interval by 5 s, for good;
//   - the user denies: token_error / access_denied, no session;
//   - the code expires: token_error (oidc-provider: invalid_grant; RFC 8628: expired_token);
//   - the app aborts: the polling stops (no poll after the abort), the call rejects with the
//     signal's reason;
//   - with dpop: true the tokens are DPoP-bound to the worker's key and auth.fetch proves it;
//   - the example "TV" page shows the code and a QR code, and signs in.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startApiServer } from '../support/api-server.mjs';
import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import { assertCleanRun, assertLibraryBuilt, callAuth, captureConsole, startStack, waitForApp } from '../support/harness.mjs';

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

function useStack(device, { dpop } = {}) {
  const ctx = { logs: [] };
  before(async () => {
    assertLibraryBuilt();
    ctx.stack = await startStack({
      provider: { device, introspection: true, ...(dpop ? { dpop: {} } : {}) },
      appOptions: () => ({ apiOrigins: [ctx.api.origin], ...(dpop ? { dpop: true } : {}) }),
    });
    ctx.api = await startApiServer({ allowOrigin: ctx.stack.web.origin, introspect: (token) => ctx.stack.op.introspect(token), dpop: !!dpop });
    ctx.browser = await launchBrowser();
  });
  after(async () => {
    await closeBrowser(ctx.browser);
    await ctx.api?.close();
    await ctx.stack?.close();
  });
  /** The TV: the app's page, with a device login started; resolves with the code it was shown. */
  ctx.startTv = async (options = {}) => {
    const context = await ctx.browser.newContext();
    const tv = await context.newPage();
    tv.setDefaultTimeout(20_000);
    ctx.logs.push(captureConsole(tv));
    await tv.goto(ctx.stack.appUrl);
    await waitForApp(tv);
    await tv.evaluate((opts) => {
      window.deviceCodes = [];
      window.deviceAbort = new AbortController();
      window.deviceOutcome = window.auth.loginWithDeviceCode({
        ...opts,
        onCode: (code) => window.deviceCodes.push(code),
        signal: window.deviceAbort.signal,
      }).then(
        () => ({ ok: true }),
        (e) => JSON.parse(JSON.stringify({ ok: false, code: e.code, reason: e.reason, error: e.error, name: e.name })),
      );
    }, options);
    await tv.waitForFunction(() => window.deviceCodes.length > 0);
    const [code] = await tv.evaluate(() => window.deviceCodes);
    return { tv, code };
  };
  ctx.outcome = (tv) => tv.evaluate(() => window.deviceOutcome);
  return ctx;
}

/** The phone: approves (or denies) `code` through the provider's device pages. */
async function approve(browser, code, { deny = false } = {}) {
  const context = await browser.newContext();
  const phone = await context.newPage();
  phone.setDefaultTimeout(20_000);
  await phone.goto(code.verificationUriComplete);
  for (let step = 0; step < 8; step++) {
    await phone.waitForLoadState('domcontentloaded');
    const text = await phone.locator('body').innerText();
    if (/Sign-in Success|successfully|aborted|interrupted/i.test(text)) break;
    if (await phone.locator('input[name=login]').count()) {
      await phone.locator('input[name=login]').fill('alice');
      await phone.locator('input[name=password]').fill('any-password');
      await Promise.all([phone.waitForNavigation(), phone.locator('button[type=submit]').first().click()]);
    } else if (deny && await phone.locator('button[name=abort]').count()) {
      await Promise.all([phone.waitForNavigation(), phone.locator('button[name=abort]').click()]);
    } else if (await phone.getByRole('button', { name: 'Continue' }).count()) {
      await Promise.all([phone.waitForNavigation(), phone.getByRole('button', { name: 'Continue' }).click()]);
    } else if (await phone.locator('button[autofocus]').count()) {
      await Promise.all([phone.waitForNavigation(), phone.locator('button[autofocus]').click()]);
    } else {
      throw new Error(`unexpected device page: ${phone.url()}: ${text.slice(0, 200)}`);
    }
  }
  await context.close();
}

describe('loginWithDeviceCode: approved on another device', { timeout: 120_000 }, () => {
  const ctx = useStack({ interval: 1, slowDown: 1 });

  it('onCode once; after approval the same validated session as a redirect login; slow_down adds 5 s', async () => {
    const { tv, code } = await ctx.startTv();
    const { op } = ctx.stack;
    assert.match(code.userCode, /^\w{4}-\w{4}$/);
    assert.equal(code.verificationUri, `${op.issuer}/device`);
    assert.equal(code.verificationUriComplete, `${op.issuer}/device?user_code=${code.userCode}`);
    assert.ok(code.expiresAt > Date.now() && code.expiresAt <= Date.now() + 601_000);
    assert.equal(JSON.stringify(code).includes('device_code'), false);
    await sleep(1500); // let the first poll (answered slow_down) happen before the approval
    await approve(ctx.browser, code);
    assert.deepEqual(await ctx.outcome(tv), { ok: true });
    assert.equal((await tv.evaluate(() => window.deviceCodes.length)), 1, 'onCode once');
    assert.equal((await callAuth(tv, 'isAuthenticated')).value, true);
    assert.equal((await callAuth(tv, 'getUser')).value?.sub, 'alice');
    // The polls: the first after the interval (1 s) was answered slow_down; from then on 6 s apart.
    const polls = op.devicePolls;
    assert.equal(polls[0].error, 'slow_down');
    assert.equal(polls.at(-1).status, 200);
    for (let i = 1; i < polls.length; i++) {
      assert.ok(polls[i].at - polls[i - 1].at >= 5_900, `poll ${i} came ${polls[i].at - polls[i - 1].at} ms after the previous`);
    }
    const exchanges = op.tokenRequests.filter((r) => r.grantType === 'urn:ietf:params:oauth:grant-type:device_code' && r.status === 200);
    assert.equal(exchanges.length, 1);
    // auth.fetch works with the session.
    const res = await tv.evaluate(async (url) => (await window.auth.fetch(url)).status, `${ctx.api.origin}/me`);
    assert.equal(res, 200);
    assertCleanRun(op, ...ctx.logs);
  });
});

describe('loginWithDeviceCode: denied, expired, aborted', { timeout: 120_000 }, () => {
  const ctx = useStack({ interval: 1 });

  it('the user denies: token_error / access_denied, no session', async () => {
    const { tv, code } = await ctx.startTv();
    await approve(ctx.browser, code, { deny: true });
    assert.deepEqual(await ctx.outcome(tv), { ok: false, code: 'token_error', error: 'access_denied', name: 'AuthError' });
    assert.equal((await callAuth(tv, 'isAuthenticated')).value, false);
  });

  it('the app aborts: polling stops, the call rejects with the signal\'s reason', async () => {
    const { tv } = await ctx.startTv();
    await sleep(1500);
    await tv.evaluate(() => window.deviceAbort.abort());
    const outcome = await ctx.outcome(tv);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.name, 'AbortError');
    const polls = ctx.stack.op.devicePolls.length;
    await sleep(2500);
    assert.equal(ctx.stack.op.devicePolls.length, polls, 'no poll after the abort');
  });
});

describe('loginWithDeviceCode: the code expires', { timeout: 120_000 }, () => {
  const ctx = useStack({ interval: 1, ttl: 2 });

  it('token_error: the provider\'s answer for an expired code ends the polling', async () => {
    const { tv } = await ctx.startTv();
    // RFC 8628 §3.5 names it expired_token; oidc-provider forgets an expired device code and
    // answers invalid_grant. Either ends the login, as any error but the two "wait" ones does.
    const outcome = await ctx.outcome(tv);
    assert.deepEqual({ ...outcome, error: undefined }, { ok: false, code: 'token_error', error: undefined, name: 'AuthError' });
    assert.ok(['expired_token', 'invalid_grant'].includes(outcome.error), outcome.error);
    const polls = ctx.stack.op.devicePolls;
    assert.deepEqual(polls.at(-1).error, outcome.error, 'the last poll ended it');
    assert.equal((await callAuth(tv, 'isAuthenticated')).value, false);
  });
});

describe('the example "TV" page (www/vanilla/tv.html)', { timeout: 120_000 }, () => {
  const ctx = useStack({ interval: 1 });

  it('shows the user code and a QR code of the complete link; signed in after approval', async () => {
    const context = await ctx.browser.newContext();
    const tv = await context.newPage();
    tv.setDefaultTimeout(20_000);
    ctx.logs.push(captureConsole(tv));
    await tv.goto(`${ctx.stack.web.origin}/vanilla/tv.html`);
    await tv.waitForFunction(() => window.tv?.status === 'signed-out');
    await tv.locator('#start').click();
    await tv.waitForFunction(() => window.tv.code);
    const code = await tv.evaluate(() => window.tv.code);
    assert.equal(await tv.locator('#user-code').innerText(), code.userCode);
    assert.equal(await tv.locator('#qr svg').count(), 1, 'a QR code');
    await approve(ctx.browser, code);
    await tv.waitForFunction(() => window.tv.status === 'signed-in');
    assert.match(await tv.locator('#status').innerText(), /Signed in as/);
    assertCleanRun(ctx.stack.op, ...ctx.logs);
  });
});

describe('loginWithDeviceCode with DPoP', { timeout: 120_000 }, () => {
  const ctx = useStack({ interval: 1 }, { dpop: true });

  it('the polls carry proofs; the tokens are bound to the worker\'s key; auth.fetch with DPoP', async () => {
    const { tv, code } = await ctx.startTv();
    await approve(ctx.browser, code);
    assert.deepEqual(await ctx.outcome(tv), { ok: true });
    const { op } = ctx.stack;
    const [grant] = op.tokenRequests.filter((r) => r.grantType === 'urn:ietf:params:oauth:grant-type:device_code' && r.status === 200);
    const info = await op.introspect(grant.issued.access_token);
    assert.equal(info.token_type, 'DPoP');
    assert.match(info.cnf?.jkt ?? '', /^[A-Za-z0-9_-]{43}$/);
    const res = await tv.evaluate(async (url) => { const r = await window.auth.fetch(url); return { status: r.status, body: await r.json() }; }, `${ctx.api.origin}/me`);
    assert.equal(res.status, 200);
    assert.equal(res.body.jkt, info.cnf.jkt, 'the API verified a proof of the same key');
  });
});
