import { join } from 'node:path';
import { startProvider } from '../op/provider.mjs';
import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import { APP_PATH, PKG_DIR } from '../support/harness.mjs';
import { REPO_ROOT, startStaticServer } from '../support/static-server.mjs';

let op;
const headers = {};
const web = await startStaticServer({
  headers,
  mounts: { '/pkg/': PKG_DIR, '/vendor/oidc/': PKG_DIR, '/': join(REPO_ROOT, 'www') },
  json: { '/demo-config.json': () => ({ issuer: op.issuer, clientId: op.clientId, options: { workerUrl: '/vendor/oidc/missing.js' } }) },
  onRequest: (e) => reqs.push(`${Date.now() % 100000} ${e.method} ${e.path} ${e.status}`),
});
let reqs = [];
headers['Content-Security-Policy'] = `worker-src ${web.origin}/vendor/oidc/`;
op = await startProvider({ redirectUris: [`${web.origin}${APP_PATH}`] });
const within = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout: ${what}`)), ms))]);
let fails = 0;
const N = Number(process.env.N ?? 20);
for (let i = 0; i < N; i++) {
  reqs = [];
  const browser = await within(launchBrowser(), 20000, 'launch');
  const context = await browser.newContext();
  const page = await context.newPage();
  const log = [];
  page.on('console', (m) => log.push(`${Date.now() % 100000} ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror ${e.message}`));
  await page.addInitScript(() => {
    for (const name of ['SharedWorker', 'Worker']) {
      const C = window[name];
      window[name] = function (...a) {
        const w = new C(...a);
        console.log(`${name} created ${a[0]}`);
        w.addEventListener('error', (e) => console.log(`${name} error event`));
        return w;
      };
      window[name].prototype = C.prototype;
    }
  });
  let status = 'none';
  try {
    await within(page.goto(`${web.origin}${APP_PATH}`), 10000, 'goto');
    const t0 = Date.now();
    while (Date.now() - t0 < 8000) {
      status = await within(page.evaluate(() => window.app?.status), 3000, 'evaluate');
      if (status && status !== 'loading') break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    status = e.message;
  }
  if (status !== 'failed') {
    fails++;
    console.log(`run ${i}: status ${status}`);
    console.log(log.join('\n'));
    console.log(reqs.join('\n'));
  }
  await within(closeBrowser(browser), 20000, 'close').catch((e) => console.log(e.message));
}
console.log(`fails ${fails}/${N}`);
await Promise.allSettled([op.close(), web.close()]);
process.exit(0);
