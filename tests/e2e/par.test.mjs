// End to end: pushed authorization requests (RFC 9126, option `par`) against a real oidc-provider
// (which offers them by default; tests/op/provider.mjs option `par` turns them off or requires
// them), in headless Chromium, through the provider's real forms.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/par.test.mjs
//
// Checked at the provider (its own record of each request):
//   - par: "auto" (default) with the endpoint advertised: one push with every parameter, and the
//     authorization request the provider received carries only client_id and request_uri; login
//     completes;
//   - the provider requires pushed requests: "auto" pushes; par: false refuses to start
//     (`config` / `par`) with nothing sent to the provider but the discovery request;
//   - par: false never pushes: the parameters are in the URL;
//   - par: true with a provider that has no endpoint: `config` / `par`, nothing sent but discovery;
//   - a push the provider refuses: `authorization_error` with its `error`, no navigation.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import {
  assertCleanRun, assertLibraryBuilt, callAuth, captureConsole, startStack, waitForApp,
} from '../support/harness.mjs';
import { completeLogin } from '../support/op-interactions.mjs';

/** A stack (provider with `par`, app with `appOptions`) and a browser, for one describe. */
function useStack(par, appOptions) {
  const ctx = { logs: [] };
  before(async () => {
    assertLibraryBuilt();
    ctx.stack = await startStack({ provider: { par }, appOptions });
    ctx.browser = await launchBrowser();
  });
  after(async () => {
    await closeBrowser(ctx.browser);
    await ctx.stack?.close();
  });
  ctx.open = async () => {
    const context = await ctx.browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    ctx.logs.push(captureConsole(page));
    await page.goto(ctx.stack.appUrl);
    await waitForApp(page);
    return page;
  };
  /** The authorization requests the provider received: their query parameters. */
  ctx.authorizations = () => ctx.stack.op.requests
    .filter((r) => r.route === 'authorization')
    .map((r) => new URLSearchParams(r.query));
  return ctx;
}

const keys = (params) => [...params.keys()].sort();

describe('par: "auto" (default) with a provider that offers PAR', { timeout: 120_000 }, () => {
  const ctx = useStack(undefined, {});

  it('pushes every parameter; the authorization request carries only client_id and request_uri', async () => {
    const page = await ctx.open();
    const { steps } = await completeLogin(page, { issuer: ctx.stack.op.issuer, trigger: () => page.locator('#login').click() });
    const app = await waitForApp(page);
    assert.deepEqual(steps, ['login', 'consent']);
    assert.equal(app.callback?.ok, true, JSON.stringify(app.callback));
    const { op } = ctx.stack;
    assert.deepEqual(op.pushedRequests.map((r) => r.status), [201]);
    const pushed = op.pushedRequests[0].params;
    for (const name of ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method', 'prompt']) {
      assert.ok(pushed[name], `${name} was pushed`);
    }
    const [first] = ctx.authorizations();
    assert.deepEqual(keys(first), ['client_id', 'request_uri'], 'at the provider: nothing else in the URL');
    assert.equal(first.get('request_uri'), op.pushedRequests[0].requestUri);
    assert.deepEqual(op.tokenRequests.map((r) => [r.grantType, r.status]), [['authorization_code', 200]]);
    assert.equal((await callAuth(page, 'isAuthenticated')).value, true);
    assertCleanRun(op, ...ctx.logs);
  });
});

describe('a provider that requires pushed requests', { timeout: 120_000 }, () => {
  const auto = useStack({ require: true }, {});
  const refusing = useStack({ require: true }, { par: false });

  it('discovery says so; "auto" pushes and logs in', async () => {
    const doc = await (await fetch(`${auto.stack.op.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(doc.require_pushed_authorization_requests, true);
    const page = await auto.open();
    await completeLogin(page, { issuer: auto.stack.op.issuer, trigger: () => page.locator('#login').click() });
    assert.equal((await waitForApp(page)).callback?.ok, true);
    assert.deepEqual(auto.stack.op.pushedRequests.map((r) => r.status), [201]);
    assert.deepEqual(keys(auto.authorizations()[0]), ['client_id', 'request_uri']);
  });

  it('par: false: the login is refused before anything but discovery reaches the provider (config / par)', async () => {
    const page = await refusing.open();
    const from = refusing.stack.op.requests.length;
    const res = await callAuth(page, 'loginWithRedirect');
    assert.equal(res.ok, false);
    assert.deepEqual([res.error.code, res.error.reason], ['config', 'par']);
    assert.deepEqual(refusing.stack.op.requests.slice(from).map((r) => r.route), ['discovery'], 'only discovery, which says PAR is required');
    assert.equal(page.url(), refusing.stack.appUrl, 'no navigation');
  });
});

describe('par: false never pushes', { timeout: 120_000 }, () => {
  const ctx = useStack(undefined, { par: false });

  it('the parameters are in the authorization URL; no push', async () => {
    const page = await ctx.open();
    await completeLogin(page, { issuer: ctx.stack.op.issuer, trigger: () => page.locator('#login').click() });
    assert.equal((await waitForApp(page)).callback?.ok, true);
    assert.deepEqual(ctx.stack.op.pushedRequests, []);
    const [first] = ctx.authorizations();
    assert.ok(first.get('state') && first.get('code_challenge') && first.get('redirect_uri'));
    assert.equal(first.get('request_uri'), null);
  });
});

describe('par: true with a provider without PAR', { timeout: 120_000 }, () => {
  const ctx = useStack(false, { par: true });

  it('config / par, nothing sent but the discovery request', async () => {
    const doc = await (await fetch(`${ctx.stack.op.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(doc.pushed_authorization_request_endpoint, undefined);
    const page = await ctx.open();
    const from = ctx.stack.op.requests.length;
    const res = await callAuth(page, 'loginWithRedirect');
    assert.deepEqual([res.ok, res.error?.code, res.error?.reason], [false, 'config', 'par']);
    assert.deepEqual(ctx.stack.op.requests.slice(from).map((r) => r.route), ['discovery']);
  });
});

describe('a push the provider refuses', { timeout: 120_000 }, () => {
  const ctx = useStack(undefined, {});

  it('authorization_error with the provider\'s error; no navigation, no pending login left', async () => {
    const page = await ctx.open();
    // (A `prompt` value oidc-provider does not know: it refuses it at the push, RFC 9126 §2.3.)
    const res = await callAuth(page, 'loginWithRedirect', { extraParams: { prompt: 'bogus' } });
    assert.equal(res.ok, false);
    assert.equal(res.error.code, 'authorization_error');
    assert.equal(res.error.error, 'invalid_request');
    assert.ok(res.error.errorDescription, 'with the provider\'s description');
    assert.deepEqual(ctx.stack.op.pushedRequests.map((r) => [r.status, r.error]), [[400, 'invalid_request']]);
    assert.equal(page.url(), ctx.stack.appUrl);
    const pending = await page.evaluate(() => new Promise((resolve) => {
      const open = indexedDB.open('oidc-worker');
      open.onsuccess = () => {
        const db = open.result;
        if (!db.objectStoreNames.contains('pending')) return resolve(0);
        const count = db.transaction('pending').objectStore('pending').count();
        count.onsuccess = () => resolve(count.result);
      };
    }));
    assert.equal(pending, 0, 'nothing stored for a login that never started');
  });
});
