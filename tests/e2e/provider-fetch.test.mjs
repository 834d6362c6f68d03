// End to end: the worker's own requests to the provider (src/worker/io.rs, web-sys fetch with
// `redirect: "manual"`) never follow a redirect. A provider whose discovery URL answers 302 fails
// the call with invalid_response / redirect, and the redirect's target receives nothing.
// (The 1 MiB cap and the 10 s timeout of the same fetch are proven in tests/web.rs.)
//
//   bash scripts/build.sh && node --test --test-force-exit tests/e2e/provider-fetch.test.mjs

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';

import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import { assertLibraryBuilt, startStack, waitForApp } from '../support/harness.mjs';

/** A "provider" that redirects every request to /followed on itself; records each path. */
async function startRedirectingProvider(allowOrigin) {
  const paths = [];
  const server = createServer((req, res) => {
    paths.push(req.url);
    const cors = { 'Access-Control-Allow-Origin': allowOrigin };
    if (req.url === '/followed') {
      res.writeHead(200, { ...cors, 'Content-Type': 'application/json' });
      res.end('{}');
      return;
    }
    res.writeHead(302, { ...cors, Location: '/followed', 'Content-Length': '0' });
    res.end();
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    paths,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

describe('the worker\'s provider requests', { timeout: 120_000 }, () => {
  let browser;
  let stack;
  let provider;

  before(async () => {
    assertLibraryBuilt();
    browser = await launchBrowser();
    stack = await startStack({ quiet: true });
    provider = await startRedirectingProvider(stack.web.origin);
  });

  after(async () => {
    await provider?.close();
    await stack?.close();
    await closeBrowser(browser);
  });

  it('never follow a redirect: invalid_response / redirect, and the target gets nothing', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(stack.appUrl);
      await waitForApp(page);
      const outcome = await page.evaluate(async ([issuer, redirectUri]) => {
        const { createAuthClient } = await import('oidc-worker');
        const client = await createAuthClient({ issuer, clientId: 'spa', redirectUri });
        try {
          await client.loginWithRedirect();
          return { ok: true };
        } catch (e) {
          return { ok: false, code: e?.code, reason: e?.reason };
        }
      }, [provider.origin, stack.appUrl]);
      assert.deepEqual(outcome, { ok: false, code: 'invalid_response', reason: 'redirect' });
      assert.deepEqual(provider.paths, ['/.well-known/openid-configuration'], 'one request, not followed');
    } finally {
      await context.close().catch(() => {});
    }
  });
});
