// The README's picture of two tabs sharing one session: the React example built from the packed
// package (tests/support/examples.mjs, as the demo builds it), a real oidc-provider and the
// protected API, headless Chromium. Tab B opens first (signed out); the user signs in in tab A
// through the provider's forms; tab B shows the user without a reload (the `login` event) and
// calls the API through auth.fetch. Both pages are screenshot and composed side by side into one
// PNG (an HTML page with the two shots, screenshot in turn).
//
//   bash scripts/build.sh && node scripts/screenshot-tabs.mjs [--out docs/two-tabs.png]

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

import { startProvider } from '../tests/op/provider.mjs';
import { startApiServer } from '../tests/support/api-server.mjs';
import { closeBrowser, launchBrowser } from '../tests/support/browser.mjs';
import { buildExample, installExample, packPackage, serveExample } from '../tests/support/examples.mjs';
import { assertLibraryBuilt } from '../tests/support/harness.mjs';
import { completeLogin } from '../tests/support/op-interactions.mjs';
import { REPO_ROOT } from '../tests/support/static-server.mjs';

const outArg = process.argv.indexOf('--out');
const out = resolve(outArg >= 0 ? process.argv[outArg + 1] : join(REPO_ROOT, 'docs', 'two-tabs.png'));
const VIEWPORT = { width: 600, height: 720 };

/** Waits until `fn` (run in the page) is truthy. */
const until = (page, fn, arg) => page.waitForFunction(fn, arg, { timeout: 10_000 });

const closers = [];
let tmp;
try {
  assertLibraryBuilt();
  tmp = await mkdtemp(join(tmpdir(), 'oidc-worker-screenshot-'));
  const { tgz } = await packPackage(tmp);
  const { dir } = await installExample('react', { tgz, into: join(tmp, 'react') });
  const { distDir } = await buildExample('react', dir);
  let op;
  let api;
  const web = await serveExample('react', distDir, {
    config: () => ({ issuer: op.issuer, clientId: op.clientId, apiOrigin: api.origin }),
  });
  closers.push(() => web.close());
  op = await startProvider({ redirectUris: [`${web.origin}/`], postLogoutRedirectUris: [`${web.origin}/`], introspection: true });
  closers.push(() => op.close());
  api = await startApiServer({ allowOrigin: [web.origin], introspect: (token) => op.introspect(token) });
  closers.push(() => api.close());

  const browser = await launchBrowser();
  closers.push(() => closeBrowser(browser));
  const context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-GB' });
  const b = await context.newPage();
  await b.goto(`${web.origin}/`);
  await b.locator('#sign-in').waitFor();
  const a = await context.newPage();
  await a.goto(`${web.origin}/`);
  await completeLogin(a, { issuer: op.issuer, login: 'alice', trigger: () => a.locator('#sign-in').click() });
  await a.locator('#user-name').waitFor();
  await b.locator('#user-name').waitFor({ timeout: 10_000 });
  await b.locator('#session-call-api').click();
  await b.locator('#session-api-result').waitFor();
  for (const page of [a, b]) {
    await until(page, () => document.querySelector('#session-events li[data-event="login"]')
      && document.getElementById('session-storage').textContent.includes('oidc-worker session'));
  }

  const shot = async (page) => (await page.screenshot({ type: 'png' })).toString('base64');
  const [shotA, shotB] = [await shot(a), await shot(b)];
  const frame = (label, note, png) => `
    <figure>
      <figcaption><b>${label}</b> ${note}</figcaption>
      <div class="bar">${web.origin}/</div>
      <img src="data:image/png;base64,${png}" width="${VIEWPORT.width}" height="${VIEWPORT.height}">
    </figure>`;
  const compose = await context.newPage();
  await compose.setViewportSize({ width: VIEWPORT.width * 2 + 60, height: VIEWPORT.height + 90 });
  await compose.setContent(`<!doctype html><html><head><style>
    body { margin: 0; padding: 12px 16px; background: #e4e4e7; font: 14px/1.4 system-ui, sans-serif; display: flex; gap: 20px; }
    figure { margin: 0; }
    figcaption { margin: 0 0 6px; color: #27272a; }
    .bar { background: #f4f4f5; border: 1px solid #a1a1aa; border-bottom: 0; border-radius: 6px 6px 0 0; padding: 4px 10px; color: #52525b; font-size: 12px; }
    img { display: block; border: 1px solid #a1a1aa; background: #fff; }
  </style></head><body>
    ${frame('Tab A', 'signed in here, through the provider', shotA)}
    ${frame('Tab B', 'open before; updated by the login event, no reload', shotB)}
  </body></html>`);
  const png = await compose.screenshot({ type: 'png', fullPage: true });
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, png);
  console.log(`${out}: ${png.length} B`);
} catch (err) {
  console.error(`screenshot-tabs: ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  for (const close of closers.reverse()) await close().catch(() => {});
  if (tmp) await rm(tmp, { recursive: true, force: true });
}
