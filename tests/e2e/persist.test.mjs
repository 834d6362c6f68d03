// End to end: `persist: "dpop-bound"` (issue 10 point 4) against a real oidc-provider with DPoP
// (rotating refresh tokens), in headless Chromium with a persistent profile directory, so that
// "closing the browser" and "starting it again" are what they are: every page and the session
// holder end, and a new browser process opens the same profile.
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/persist.test.mjs
//
// Checked against what the provider recorded and what IndexedDB holds:
//   - after login the store holds the DPoP-bound refresh token (the one the provider issued last)
//     next to a non-extractable private key (exportKey rejects);
//   - browser restarted: signed in after exactly one refresh_token grant, no provider page, no
//     authorization request; the rotated refresh token replaced the stored one; the same with two
//     tabs opening at once (they share the holder's one look into the store);
//   - the stored refresh token, taken out of IndexedDB and presented from node with a fresh proof
//     of another key, or with none, is refused by the provider;
//   - logout: IndexedDB holds neither token nor key;
//   - a stored token the provider revoked meanwhile: the page starts signed out, without an error,
//     and the store is emptied;
//   - without the option, nothing but the pending login is ever stored (the DPoP e2e's scan).
// `restore: "none"` throughout: the persisted session is the only way back.

import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, sign as cryptoSign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { chromium } from 'playwright-core';

import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/browser.mjs';
import { assertLibraryBuilt, callAuth, captureConsole, startStack, waitForApp } from '../support/harness.mjs';
import { completeLogin } from '../support/op-interactions.mjs';

const b64u = (data) => Buffer.from(data).toString('base64url');

/** A DPoP proof for `method url` signed in node with a key of its own. */
function foreignProof(method, url) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const header = b64u(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } }));
  const claims = b64u(JSON.stringify({ jti: randomBytes(16).toString('base64url'), htm: method, htu: url, iat: Math.floor(Date.now() / 1000) }));
  const signature = cryptoSign('sha256', Buffer.from(`${header}.${claims}`), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${header}.${claims}.${b64u(signature)}`;
}

/** What the worker's IndexedDB holds, read in the page (same origin): both stores, with what the
 * keys are (CryptoKey, extractable?, can it be exported?). */
async function readStore(page) {
  return page.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open('oidc-worker');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
      open.onupgradeneeded = () => {}; // (a fresh profile: no stores)
    });
    const all = (name) => new Promise((resolve) => {
      if (!db.objectStoreNames.contains(name)) return resolve([]);
      const read = db.transaction(name).objectStore(name).getAll();
      read.onsuccess = () => resolve(read.result);
      read.onerror = () => resolve([]);
    });
    const describeKey = async (key) => {
      if (!(key instanceof CryptoKey)) return null;
      let exported;
      try {
        await crypto.subtle.exportKey('jwk', key);
        exported = true;
      } catch {
        exported = false;
      }
      return { type: key.type, extractable: key.extractable, exported };
    };
    const session = [];
    for (const [record, pair] of await all('session')) {
      session.push({ record: JSON.parse(record), privateKey: await describeKey(pair?.[0]) });
    }
    const pending = [];
    for (const [, , pair] of await all('pending')) pending.push({ privateKey: await describeKey(pair?.[0]) });
    db.close();
    return { session, pending };
  });
}

describe('persist: "dpop-bound" across browser restarts', { timeout: 180_000 }, () => {
  const ctx = { logs: [] };
  const profile = mkdtempSync(join(tmpdir(), 'oidc-worker-persist-'));

  before(async () => {
    assertLibraryBuilt();
    ctx.stack = await startStack({
      provider: { introspection: true, dpop: {} },
      appOptions: { dpop: true, persist: 'dpop-bound', restore: 'none', exposeAccessToken: true },
    });
  });
  after(async () => {
    await ctx.browser?.close().catch(() => {});
    await ctx.stack?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  /** Starts the browser on the profile and opens the app; records provider navigations. */
  async function startBrowser() {
    ctx.browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH, headless: process.env.HEADED !== '1', args: CHROMIUM_ARGS,
    });
    const page = ctx.browser.pages()[0] ?? await ctx.browser.newPage();
    page.setDefaultTimeout(20_000);
    ctx.logs.push(captureConsole(page));
    ctx.providerNavigations = [];
    page.on('request', (r) => {
      if (r.isNavigationRequest() && new URL(r.url()).origin === ctx.stack.op.issuer) ctx.providerNavigations.push(r.url());
    });
    ctx.page = page;
    return page;
  }

  /** Closes every page and the browser process. */
  async function stopBrowser() {
    await ctx.browser.close();
    ctx.browser = undefined;
  }

  const lastIssuedRefreshToken = () => ctx.stack.op.tokenRequests.filter((r) => r.status === 200 && r.issued?.refresh_token).at(-1).issued.refresh_token;

  it('login stores the DPoP-bound refresh token next to a non-extractable key', async () => {
    const page = await startBrowser();
    await page.goto(ctx.stack.appUrl);
    await waitForApp(page);
    await completeLogin(page, { issuer: ctx.stack.op.issuer, trigger: () => page.locator('#login').click() });
    const app = await waitForApp(page);
    assert.equal(app.callback?.ok, true, JSON.stringify(app.callback));
    // (The store is written before the call that changed the session answers.)
    const { session, pending } = await readStore(page);
    assert.equal(session.length, 1, 'one persisted session');
    const [stored] = session;
    assert.equal(stored.record.refresh_token, lastIssuedRefreshToken(), 'the refresh token the provider issued last');
    assert.equal(stored.record.sub, 'alice');
    assert.deepEqual(stored.privateKey, { type: 'private', extractable: false, exported: false });
    const info = await ctx.stack.op.introspect((await callAuth(page, 'getAccessToken')).value);
    assert.equal(info.cnf?.jkt, stored.record.jkt, 'the tokens are bound to the stored key');
    assert.deepEqual(pending, [], 'the pending login was taken');
  });

  it('browser restarted: signed in after one refresh grant, no provider page', async () => {
    await stopBrowser();
    const from = ctx.stack.op.tokenRequests.length;
    const page = await startBrowser();
    await page.goto(ctx.stack.appUrl);
    await waitForApp(page);
    assert.equal((await callAuth(page, 'isAuthenticated')).value, true);
    assert.equal((await callAuth(page, 'getUser')).value?.sub, 'alice');
    const grants = ctx.stack.op.tokenRequests.slice(from);
    assert.deepEqual(grants.map((g) => [g.grantType, g.status]), [['refresh_token', 200]], 'exactly one refresh grant');
    assert.deepEqual(ctx.providerNavigations, [], 'no provider page');
    const { session } = await readStore(page);
    assert.equal(session[0]?.record.refresh_token, grants[0].issued.refresh_token, 'the rotated token replaced the stored one');
    assert.equal((await callAuth(page, 'getAccessToken')).value, grants[0].issued.access_token);
  });

  it('browser restarted with two tabs opening at once: both signed in, after one refresh grant', async () => {
    await stopBrowser();
    const from = ctx.stack.op.tokenRequests.length;
    const first = await startBrowser();
    const second = await ctx.browser.newPage();
    second.setDefaultTimeout(20_000);
    ctx.logs.push(captureConsole(second));
    // Both restores reach the one session holder together; they share its one look into the store.
    await Promise.all([first.goto(ctx.stack.appUrl), second.goto(ctx.stack.appUrl)]);
    for (const page of [first, second]) {
      await waitForApp(page);
      await page.waitForFunction(() => document.getElementById('status')?.dataset.state !== undefined);
      assert.equal(await page.locator('#status').getAttribute('data-state'), 'signed-in', 'signed in when the client is ready');
    }
    const grants = ctx.stack.op.tokenRequests.slice(from);
    assert.deepEqual(grants.map((g) => [g.grantType, g.status]), [['refresh_token', 200]], 'exactly one refresh grant');
    assert.deepEqual(ctx.providerNavigations, [], 'no provider page');
    await second.close();
  });

  it('the stored refresh token is refused off the device: with another key\'s proof, or none', async () => {
    const { op } = ctx.stack;
    const { session } = await readStore(ctx.page);
    const token = session[0].record.refresh_token;
    const tokenEndpoint = `${op.issuer}/token`;
    const grant = (headers) => fetch(tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: op.clientId }),
    }).then(async (r) => ({ status: r.status, error: (await r.json()).error }));
    const foreign = await grant({ dpop: foreignProof('POST', tokenEndpoint) });
    const none = await grant({});
    assert.equal(foreign.status, 400, JSON.stringify(foreign));
    assert.equal(none.status, 400, JSON.stringify(none));
    assert.match(`${foreign.error} ${none.error}`, /invalid_grant|invalid_dpop_proof|invalid_request/);
  });

  it('logout: IndexedDB holds neither token nor key', async () => {
    const res = await callAuth(ctx.page, 'logout', { redirect: false });
    assert.equal(res.ok, true, JSON.stringify(res.error));
    assert.deepEqual(await readStore(ctx.page), { session: [], pending: [] });
    await stopBrowser();
    const from = ctx.stack.op.tokenRequests.length;
    const page = await startBrowser();
    await page.goto(ctx.stack.appUrl);
    await waitForApp(page);
    assert.equal((await callAuth(page, 'isAuthenticated')).value, false);
    assert.equal(ctx.stack.op.tokenRequests.length, from, 'no grant');
  });

  it('a stored token the provider revoked meanwhile: signed out without an error, store emptied', async () => {
    const page = ctx.page;
    await completeLogin(page, { issuer: ctx.stack.op.issuer, trigger: () => page.locator('#login').click() });
    await waitForApp(page);
    const { session } = await readStore(page);
    assert.equal(session.length, 1);
    await stopBrowser();
    const { op } = ctx.stack;
    const revoked = await fetch(`${op.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: session[0].record.refresh_token, token_type_hint: 'refresh_token', client_id: op.clientId }),
    });
    assert.equal(revoked.status, 200);
    const from = op.tokenRequests.length;
    const again = await startBrowser();
    await again.goto(ctx.stack.appUrl);
    const app = await waitForApp(again);
    assert.equal(app.error ?? null, null);
    assert.equal((await callAuth(again, 'isAuthenticated')).value, false);
    assert.deepEqual(op.tokenRequests.slice(from).map((g) => [g.grantType, g.status, g.error]), [['refresh_token', 400, 'invalid_grant']]);
    assert.deepEqual(await readStore(again), { session: [], pending: [] });
    assert.deepEqual(ctx.providerNavigations, []);
  });
});
