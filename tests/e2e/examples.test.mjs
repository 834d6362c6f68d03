// End to end: the example apps www/react/ (React + Vite, no plugin), www/vue/ (Vue + vue-router +
// Vite, render functions, no plugin) and www/webpack/ (webpack 5, the core client, a config with
// mode/entry/output only) as a user builds them: the package packed once (npm pack; with
// $OIDC_WORKER_PACK_FROM=<dir>, that directory instead of the repository), installed into a copy of
// each app from the tarball by explicit path with the framework at the repository's devDependency
// versions (tests/support/examples.mjs), built, served statically with /config.json, against a real
// oidc-provider (introspection on) and a protected API (tests/support/api-server.mjs), in headless
// Chromium, through the provider's real forms.
//
//   node --test --test-force-exit tests/e2e/examples.test.mjs          (after bash scripts/build.sh)
//
// For each app:
//   - the copy has the packed oidc-worker (every pkg/ file byte for byte) and the framework's exact
//     versions;
//   - the build has the worker and the .wasm as separate files, the page's JS has neither the wasm
//     glue nor the wasm, and the worker is the file that loads the .wasm; the page's JS creates the
//     session holder (a SharedWorker with extendedLifetime) and, for `sharing: "tab"`, a Worker;
//   - sign in through the provider's form (React, webpack: the Sign-in button; Vue: a link to the
//     route with meta.requiresAuth, so createAuthGuard starts the login and the router returns to
//     /profile), the user's name is shown, the protected view calls GET <api>/me through auth.fetch
//     and shows the API's answer; the API saw exactly one Bearer token, which the provider
//     introspects as active for the user and the SPA client; sign out through the provider's logout
//     confirmation, the signed-out state is shown, and the token is no longer active (revoked);
//   - no request to the app failed, no console error, no uncaught page error. (One exception, checked
//     for what it is: Chromium hands the session holder's script response to the SharedWorker, and
//     the page's record of that request never completes; DevTools reports it net::ERR_ABORTED when
//     the page goes. It passes only for the script of a SharedWorker target this context started,
//     which the app's server answered 200.)
// The React app, also:
//   - served with a strict Content-Security-Policy (strictCsp() below, plus a report-uri for the
//     test), a deep link to its protected view (withAuthenticationRequired) logs in, the API call
//     works, and no violation is reported, neither by the page (securitypolicyviolation events) nor by
//     the worker (its reports; a worker's violations never reach the page's events);
//   - negative control: the same policy without 'wasm-unsafe-eval' makes the wasm compile fail in
//     the session holder (which fetches it itself), then, as the page falls back to a worker of its
//     own, on the page (which tries first, while its worker starts: its securitypolicyviolation
//     event and report) and in that worker, and the app shows the adapter's error (config /
//     worker_failed), which proves the policy is enforced (the workers' script-src 'wasm-eval'
//     reports, when they get out before the client lets go of them, are checked too); an inline
//     script then proves the page's securitypolicyviolation listener works.
// Also: sign-out from the protected view (withAuthenticationRequired) reaches the provider's
// logout page instead of being overtaken by a new login.
// www/vanilla/ (no bundler: an import map points `oidc-worker` at /pkg/index.js), from the same
// tarball: installed into an empty directory (tests/support/examples.mjs installVanilla), the page
// served from www/vanilla/ with /pkg/ mounted from the installed node_modules/oidc-worker/pkg/ (each
// file byte for byte the packed one, and what the server sent) and /demo-config.json
// ({ issuer, clientId, options: { apiOrigins: [api] } }); sign in through the provider's form (the
// app's Log in button), the name shown, window.auth.fetch(<api>/me) from the page answered by the API,
// which saw one Bearer token the provider introspects as active; sign out through the app's Log out
// button and the provider's confirmation, signed out, the token revoked; no failed request, no
// console or page error.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { startProvider } from '../op/provider.mjs';
import { startApiServer } from '../support/api-server.mjs';
import { closeBrowser, launchBrowser } from '../support/browser.mjs';
import {
  buildExample, describeBuild, installExample, installVanilla, listFiles, packPackage, serveExample, serveVanilla,
} from '../support/examples.mjs';
import { waitForApp } from '../support/harness.mjs';
import { interceptRequests } from '../support/intercept.mjs';
import { completeLogin, confirmLogout } from '../support/op-interactions.mjs';
import { browserContextIdOf, isHolderScriptAbort, watchSharedWorkers } from '../support/shared-workers.mjs';
import { REPO_ROOT } from '../support/static-server.mjs';

const LOGIN = 'alice';
const NAME = 'Alice';

/**
 * The policy an app with oidc-worker needs (and all these example apps need): scripts and the
 * worker from the app's origin, the worker's wasm compiled ('wasm-unsafe-eval'), and the worker's
 * requests to the provider and the API. The same header on every response, worker script included
 * (a worker's policy is the one its script was served with).
 */
function strictCsp({ issuer, api, wasm = true }) {
  return [
    "default-src 'self'",
    `script-src 'self'${wasm ? " 'wasm-unsafe-eval'" : ''}`,
    "worker-src 'self'",
    `connect-src 'self' ${new URL(issuer).origin} ${api}`,
  ].join('; ');
}

/** CSP violation reports (report-uri), from pages and workers alike: [{ app, report }]. */
async function startReportCollector() {
  const reports = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const app = new URL(req.url, 'http://127.0.0.1').searchParams.get('app');
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        reports.push({ app, report: body['csp-report'] ?? body });
      } catch {
        reports.push({ app, report: { unparsed: Buffer.concat(chunks).toString('utf8') } });
      }
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    reports,
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}

/**
 * Watch one page: requests to the app's origin that failed or answered >= 400, console errors
 * (page and workers; messages of the provider's own pages are left out: they @import a web font
 * that is unreachable here), uncaught page errors, and the page's securitypolicyviolation events.
 */
function watchPage(page, appOrigin, issuer, seen) {
  const mine = (url) => url.startsWith(`${appOrigin}/`);
  page.on('requestfailed', (r) => { if (mine(r.url())) seen.failed.push(`${r.url()} ${r.failure()?.errorText}`); });
  page.on('response', (r) => { if (mine(r.url()) && r.status() >= 400) seen.failed.push(`${r.url()} ${r.status()}`); });
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const at = page.url();
    if (at.startsWith(`${issuer}/`) && !mine(msg.location()?.url ?? '')) return;
    seen.consoleErrors.push(`${msg.text()} (at ${msg.location()?.url ?? at})`);
  });
  page.on('pageerror', (err) => seen.pageErrors.push(String(err?.stack ?? err)));
}

/** The app copy has the packed package (every pkg/ file byte for byte) and the framework's exact versions. */
async function checkInstall(dir, specs, packedFrom) {
  const installed = join(dir, 'node_modules', 'oidc-worker');
  const files = await readdir(join(packedFrom, 'pkg'));
  assert.ok(files.includes('oidc_worker_bg.wasm') && files.includes('react.js'), files.join(', '));
  for (const file of files) {
    assert.ok((await readFile(join(installed, 'pkg', file))).equals(await readFile(join(packedFrom, 'pkg', file))),
      `the installed pkg/${file} is the packed one`);
  }
  const repo = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8'));
  for (const spec of specs.filter((s) => !s.endsWith('.tgz'))) {
    const name = spec.slice(0, spec.lastIndexOf('@'));
    const { version } = JSON.parse(await readFile(join(dir, 'node_modules', name, 'package.json'), 'utf8'));
    assert.equal(version, repo.devDependencies[name], `${name} in the app is the repository's version`);
  }
}

/** The build ships the worker and the .wasm as their own files; the page's JS loads neither inline. */
async function checkBuild(distDir, packedFrom) {
  const build = await describeBuild(distDir);
  assert.equal(build.wasm.length, 1, `one .wasm in ${build.files.join(', ')}`);
  assert.ok((await readFile(join(distDir, build.wasm[0].file))).equals(await readFile(join(packedFrom, 'pkg', 'oidc_worker_bg.wasm'))),
    'the emitted .wasm is the package\'s');
  assert.equal(build.worker.length, 1, `one worker file loads the .wasm: ${build.files.join(', ')}`);
  assert.ok(build.mainJs.length >= 1, 'the page has its own JS');
  // With `sharing: "tab"` the page fetches and compiles the same .wasm while its worker starts
  // (src/js/index.ts).
  const wasmName = basename(build.wasm[0].file);
  const mainTexts = await Promise.all(build.mainJs.map(({ file }) => readFile(join(distDir, file), 'utf8')));
  assert.ok(mainTexts.some((text) => text.includes(wasmName)), 'the page\'s JS names the emitted .wasm');
  // The bundler kept both ways to start the worker: the session holder and the tab's own worker.
  assert.ok(mainTexts.some((text) => /new SharedWorker\(/.test(text) && text.includes('extendedLifetime')),
    'the page\'s JS creates a SharedWorker with extendedLifetime');
  assert.ok(mainTexts.some((text) => /new Worker\(/.test(text)), 'the page\'s JS creates a Worker (sharing: "tab")');
  for (const { file } of build.mainJs) {
    const text = await readFile(join(distDir, file), 'utf8');
    assert.ok(!text.includes('WorkerHost'), `the wasm glue is not in the page's ${file}`);
    assert.ok(!text.includes('instantiateStreaming'), `no wasm-bindgen code in the page's ${file}`);
  }
  return build;
}

const gz = (parts) => parts.reduce((n, p) => n + p.gzip, 0);
function sizeLine(name, build) {
  return `# ${name} build (gzip -9 B): page JS ${gz(build.mainJs)} [${build.mainJs.map((f) => f.file).join(', ')}], `
    + `worker ${gz(build.worker)} [${build.worker[0]?.file}], wasm ${gz(build.wasm)}, css ${gz(build.css)}, html ${build.html?.gzip}`;
}

/**
 * Sign in, see the name, call the API through auth.fetch from the protected view, sign out.
 * start: 'button' (the Sign-in button on /), 'link' (a link to the protected route while signed
 * out: the guard starts the login), or a path to open (a deep link to the protected view).
 * profileLink: follow the "Profile" link after the login; signOutFrom: a link to follow before
 * signing out.
 */
async function signInCallApiSignOut(page, {
  origin, op, api, start, profileLink, signOutFrom,
}) {
  const result = {};
  let login;
  if (start === 'button' || start === 'link') {
    await page.goto(`${origin}/`);
    await page.locator('#sign-in').waitFor();
    const trigger = start === 'button'
      ? () => page.locator('#sign-in').click()
      : () => page.getByRole('link', { name: 'Profile' }).click();
    login = await completeLogin(page, { issuer: op.issuer, login: LOGIN, trigger });
  } else {
    await page.goto(`${origin}${start}`);
    await page.waitForURL((u) => u.href.startsWith(`${op.issuer}/`));
    login = await completeLogin(page, { issuer: op.issuer, login: LOGIN });
  }
  assert.deepEqual(login.steps, ['login', 'consent']);
  assert.equal(new URL(login.url).origin, origin, 'back at the app');
  assert.ok(new URL(login.url).searchParams.get('code'), 'with a code');

  const name = page.locator('#user-name');
  await name.waitFor();
  assert.equal(await name.textContent(), NAME);
  result.urlAfterLogin = page.url();
  if (profileLink) await page.getByRole('link', { name: 'Profile' }).click();

  const before = api.requests.length;
  await page.locator('#call-api').click();
  const shown = page.locator('#api-result');
  await shown.waitFor();
  const answer = JSON.parse(await shown.textContent());
  assert.equal(answer.status, 200, JSON.stringify(answer));
  assert.equal(answer.body.sub, LOGIN);
  assert.equal(answer.body.via, 'introspection');
  assert.equal(answer.body.client_id, op.clientId);
  const calls = api.requests.slice(before).filter((r) => r.method === 'GET' && r.path === '/me');
  assert.equal(calls.length, 1, 'one GET /me');
  assert.equal(calls[0].origin, origin, 'sent by the app (its worker) with its Origin');
  const token = /^Bearer (\S+)$/.exec(calls[0].authorization ?? '')?.[1];
  assert.ok(token, `a Bearer token: ${calls[0].authorization}`);
  const info = await op.introspect(token);
  assert.equal(info.active, true);
  assert.equal(info.sub, LOGIN);
  assert.equal(info.client_id, op.clientId);

  if (signOutFrom) await page.getByRole('link', { name: signOutFrom }).click();
  const landed = await confirmLogout(page, { issuer: op.issuer, trigger: () => page.locator('#sign-out').click() });
  assert.equal(new URL(landed).origin, origin, 'the provider sent the browser back to the app');
  await page.locator('#sign-in').waitFor();
  assert.equal(await name.isVisible(), false, 'no user name shown after sign-out');
  assert.equal((await op.introspect(token)).active, false, 'the access token was revoked at sign-out');
  return result;
}

/**
 * The failed requests but the session holder's script (see the file's header): a SharedWorker
 * target of this context ran it, and `web` (the app's server) answered it 200.
 */
function unexplainedFailures(seen, web) {
  return seen.failed.filter((f) => {
    const [url, errorText] = f.split(' ');
    return !isHolderScriptAbort(url, errorText, seen.holders, web.requests);
  });
}

function assertClean(seen, what, web) {
  assert.deepEqual(unexplainedFailures(seen, web), [], `${what}: failed requests`);
  assert.deepEqual(seen.pageErrors, [], `${what}: page errors`);
  assert.deepEqual(seen.consoleErrors, [], `${what}: console errors`);
}

let tmp;
let packed; // { tgz, from }
let browser;
let collector;
const timings = {};
const sizes = [];

before(async () => {
  const t = Date.now();
  tmp = await mkdtemp(join(tmpdir(), 'oidc-worker-examples-'));
  packed = await packPackage(tmp);
  timings.pack = Date.now() - t;
  browser = await launchBrowser();
  collector = await startReportCollector();
});

after(async () => {
  await closeBrowser(browser);
  await collector?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
  for (const line of sizes) console.log(line);
  console.log(`# examples e2e timings (ms): ${JSON.stringify(timings)}`);
});

/**
 * One example: install + build in before(); `variants` are servers of the same build, by name,
 * each { headers?(s) } (a CSP for that server; s.op and s.api are up when it is asked). Gives the
 * tests s = { dir, specs, distDir, output, warnings, op, api, web: { [variant]: server } }.
 */
function exampleSuite(name, variants = { plain: {} }) {
  const s = { web: {} };
  before(async () => {
    let t = Date.now();
    Object.assign(s, await installExample(name, { tgz: packed.tgz, into: join(tmp, name) }));
    timings[`${name}.install`] = Date.now() - t;
    t = Date.now();
    Object.assign(s, await buildExample(name, s.dir));
    timings[`${name}.build`] = Date.now() - t;
    // Servers first (their origins are the redirect URIs), then the provider, then the API. The
    // servers ask config() per request, and the CSP header is a getter, read as static-server
    // spreads its headers into every response: both can name the provider and API started later.
    const config = () => ({ issuer: s.op.issuer, clientId: s.op.clientId, apiOrigin: s.api.origin });
    for (const [variant, { headers }] of Object.entries(variants)) {
      s.web[variant] = await serveExample(name, s.distDir, {
        config,
        headers: headers ? { get 'Content-Security-Policy'() { return headers(s); } } : undefined,
      });
    }
    const appUrls = Object.values(s.web).map((w) => `${w.origin}/`);
    s.op = await startProvider({ redirectUris: appUrls, postLogoutRedirectUris: appUrls, introspection: true });
    s.api = await startApiServer({
      allowOrigin: Object.values(s.web).map((w) => w.origin),
      introspect: (token) => s.op.introspect(token),
    });
  });
  after(async () => {
    await Promise.allSettled([s.op?.close(), s.api?.close(), ...Object.values(s.web).map((w) => w.close())]);
  });
  return s;
}

/** A fresh browser context (no provider session, no IndexedDB) and page, watched. */
async function openPage(origin, issuer) {
  const context = await browser.newContext();
  const seen = { failed: [], consoleErrors: [], pageErrors: [], violations: [] };
  await context.exposeBinding('__cspViolation', (_source, v) => seen.violations.push(v));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolation({
        directive: e.effectiveDirective, blockedURI: e.blockedURI, sourceFile: e.sourceFile, documentURI: e.documentURI,
      });
    });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  watchPage(page, origin, issuer, seen);
  // The SharedWorkers (session holders) this context starts: Playwright does not report them.
  const contextId = await browserContextIdOf(page);
  seen.holders = await watchSharedWorkers(browser, { filter: (info) => info.browserContextId === contextId });
  context.on('close', () => seen.holders.stop());
  return { context, page, seen };
}

describe('www/react: React + Vite (no plugin), AuthProvider / useAuth / withAuthenticationRequired', { timeout: 180_000 }, () => {
  const report = (app) => `${collector.origin}/csp?app=${app}`;
  const s = exampleSuite('react', {
    plain: {},
    strict: { headers: (x) => `${strictCsp({ issuer: x.op.issuer, api: x.api.origin })}; report-uri ${report('strict')}` },
    noWasm: { headers: (x) => `${strictCsp({ issuer: x.op.issuer, api: x.api.origin, wasm: false })}; report-uri ${report('noWasm')}` },
  });

  it('has the packed oidc-worker and react/react-dom at the repository\'s versions', async () => {
    await checkInstall(s.dir, s.specs, packed.from);
  });

  it('vite build emits the worker and the .wasm as separate files', async () => {
    const build = await checkBuild(s.distDir, packed.from);
    assert.ok(/^assets\/worker-[\w-]+\.js$/.test(build.worker[0].file), build.worker[0].file);
    const entry = await readFile(join(s.distDir, build.mainJs[0].file), 'utf8');
    assert.ok(entry.includes(build.worker[0].file.slice('assets/'.length)), 'the page\'s JS creates the emitted worker');
    assert.ok(entry.includes('react.transitional.element') || entry.includes('react.element'), 'JSX compiled to React elements');
    sizes.push(sizeLine('react', build));
  });

  it('signs in (Sign-in button), shows the name, calls the API via auth.fetch on the protected view, signs out', async () => {
    const { context, page, seen } = await openPage(s.web.plain.origin, s.op.issuer);
    try {
      const r = await signInCallApiSignOut(page, {
        origin: s.web.plain.origin, op: s.op, api: s.api, start: 'button', profileLink: true, signOutFrom: 'Home',
      });
      assert.equal(r.urlAfterLogin, `${s.web.plain.origin}/`, 'the callback parameters were removed from the URL');
      assertClean(seen, 'react', s.web.plain);
      assert.ok(s.web.plain.requests.some((q) => /\/assets\/worker-[\w-]+\.js$/.test(q.path) && q.status === 200), 'the worker was loaded');
      assert.ok(s.web.plain.requests.some((q) => q.path.endsWith('.wasm') && q.status === 200), 'the .wasm was loaded');
    } finally {
      await context.close();
    }
  });

  it(`strict CSP (${strictCsp({ issuer: 'http://issuer.invalid', api: 'http://api.invalid' })}): a deep link to the protected view logs in, no violation`, async () => {
    const origin = s.web.strict.origin;
    const { context, page, seen } = await openPage(origin, s.op.issuer);
    try {
      // The page and the worker script are served with the policy.
      const worker = (await describeBuild(s.distDir)).worker[0].file;
      for (const path of ['/', `/${worker}`]) {
        const csp = (await fetch(`${origin}${path}`)).headers.get('content-security-policy');
        assert.ok(csp.startsWith(`${strictCsp({ issuer: s.op.issuer, api: s.api.origin })}; report-uri `), `${path}: ${csp}`);
      }
      const r = await signInCallApiSignOut(page, {
        origin, op: s.op, api: s.api, start: '/#/profile', profileLink: false, signOutFrom: 'Home',
      });
      assert.equal(r.urlAfterLogin, `${origin}/#/profile`, 'withAuthenticationRequired brought the user back to the view');
      await new Promise((resolve) => { setTimeout(resolve, 500); }); // let late reports arrive
      assert.deepEqual(seen.violations, [], 'securitypolicyviolation events in the page');
      assert.deepEqual(collector.reports.filter((x) => x.app === 'strict'), [], 'CSP reports (page and worker)');
      assertClean(seen, 'react under strict CSP', s.web.strict);
      assert.ok(s.web.strict.requests.some((q) => q.path.endsWith('.wasm') && q.status === 200), 'the .wasm was loaded');
    } finally {
      await context.close();
    }
  });

  it('negative control: without \'wasm-unsafe-eval\' the worker cannot compile the wasm and the app shows the error', async () => {
    const origin = s.web.noWasm.origin;
    // The session holder's requests: a browser-wide interception, started before it is.
    const wasm = await interceptRequests(browser, `${origin}/*.wasm`);
    const { context, page, seen } = await openPage(origin, s.op.issuer);
    const providerRequests = s.op.requests.length;
    try {
      await page.goto(`${origin}/`);
      const error = page.locator('#error');
      await error.waitFor();
      assert.match(await error.textContent(), /^config \(worker_failed\): the worker could not load its wasm/);
      assert.equal(await page.locator('#user-name').count(), 0);
      // The holder fetched the .wasm (so compiling it is what failed) under a policy without
      // 'wasm-unsafe-eval'; the strict server differs only by that token, and there it works.
      // Then the page fell back to a worker of its own (sharing "tab"): the page and that worker
      // tried as well.
      const worker = (await describeBuild(s.distDir)).worker[0].file;
      assert.deepEqual(wasm.requests.map((r) => r.headers.referer), [`${origin}/${worker}`, `${origin}/`, `${origin}/${worker}`],
        'the holder, then the page and its own worker requested the .wasm');
      const csp = (await fetch(`${origin}/${worker}`)).headers.get('content-security-policy');
      assert.ok(csp.startsWith(`${strictCsp({ issuer: s.op.issuer, api: s.api.origin, wasm: false })}; report-uri `), csp);
      // The workers' violation reports (script-src, wasm-eval) usually arrive, but they may not:
      // the client terminates its own worker as soon as it says it could not load the wasm, which
      // can cancel the report's request. When one arrives, it must be that violation.
      const deadline = Date.now() + 2000;
      while (!collector.reports.some((x) => x.app === 'noWasm') && Date.now() < deadline) {
        await new Promise((resolve) => { setTimeout(resolve, 100); });
      }
      const reports = collector.reports.filter((x) => x.app === 'noWasm').map((x) => x.report);
      for (const x of reports) {
        assert.equal(x['blocked-uri'], 'wasm-eval', JSON.stringify(x));
        assert.match(x['effective-directive'] ?? x['violated-directive'], /^script-src/);
        assert.ok([`${origin}/`, `${origin}/${worker}`].includes(x['document-uri']), 'reported by the page or a worker');
      }
      if (!reports.some((x) => x['document-uri'] === `${origin}/${worker}`)) {
        console.log('# (no worker\'s CSP report arrived before it was gone)');
      }
      // (The page's .wasm download may be cut short when its compile is refused.)
      assert.deepEqual(unexplainedFailures(seen, s.web.noWasm).filter((f) => !/\.wasm net::ERR_ABORTED$/.test(f)), []);
      assert.deepEqual(seen.pageErrors, []);
      assert.equal(s.op.requests.length, providerRequests, 'nothing reached the provider');
      // The page's own violations reach `seen.violations` (what the strict test found empty): its
      // refused compile of the .wasm, then an inline script.
      const pageViolations = () => seen.violations.map((v) => [v.directive, v.blockedURI]);
      assert.deepEqual(pageViolations(), [['script-src', 'wasm-eval']]);
      await page.evaluate(() => { const el = document.createElement('script'); el.textContent = '0'; document.head.append(el); });
      const deadline2 = Date.now() + 2000;
      while (seen.violations.length < 2 && Date.now() < deadline2) await new Promise((resolve) => { setTimeout(resolve, 50); });
      assert.deepEqual(pageViolations(), [['script-src', 'wasm-eval'], ['script-src-elem', 'inline']]);
    } finally {
      await context.close();
      await wasm.stop();
    }
  });
  // Regression: the store used to publish isAuthenticated: false as soon as logout() had called
  // location.assign(<the end_session URL>); the withAuthenticationRequired view on screen then
  // called loginWithRedirect(), whose navigation replaced the pending logout: the provider session
  // was not ended and the user was signed straight back in. A redirecting logout now leaves the
  // state alone while the page leaves.
  it('sign-out from the protected view reaches the provider\'s end_session page', async () => {
    const { origin } = s.web.plain;
    const { context, page } = await openPage(origin, s.op.issuer);
    try {
      await page.goto(`${origin}/`);
      await completeLogin(page, { issuer: s.op.issuer, login: LOGIN, trigger: () => page.locator('#sign-in').click() });
      await page.locator('#user-name').waitFor();
      await page.getByRole('link', { name: 'Profile' }).click();
      await page.locator('#call-api').waitFor();
      const grants = s.op.tokenRequestCount('authorization_code');
      let landed;
      try {
        landed = await confirmLogout(page, { issuer: s.op.issuer, timeout: 8000, trigger: () => page.locator('#sign-out').click() });
      } catch (err) {
        const regrants = s.op.tokenRequestCount('authorization_code') - grants;
        assert.fail(`${err.message}; authorization_code grants since the click: ${regrants}`);
      }
      assert.equal(new URL(landed).origin, origin);
    } finally {
      await context.close();
    }
  });
});

describe('www/vue: Vue + vue-router + Vite (render functions, no plugin), createAuth / useAuth / createAuthGuard', { timeout: 180_000 }, () => {
  const s = exampleSuite('vue');

  it('has the packed oidc-worker and vue/vue-router at the repository\'s versions', async () => {
    await checkInstall(s.dir, s.specs, packed.from);
  });

  it('vite build emits the worker and the .wasm as separate files', async () => {
    const build = await checkBuild(s.distDir, packed.from);
    assert.ok(/^assets\/worker-[\w-]+\.js$/.test(build.worker[0].file), build.worker[0].file);
    sizes.push(sizeLine('vue', build));
  });

  it('a signed-out click on the requiresAuth route logs in through the guard and returns there; name, API via auth.fetch, sign out', async () => {
    const { origin } = s.web.plain;
    const { context, page, seen } = await openPage(origin, s.op.issuer);
    try {
      const r = await signInCallApiSignOut(page, { origin, op: s.op, api: s.api, start: 'link', profileLink: false });
      assert.equal(r.urlAfterLogin, `${origin}/profile`, 'the router went back to the guarded route');
      assertClean(seen, 'vue', s.web.plain);
      assert.ok(s.web.plain.requests.some((q) => q.path.endsWith('.wasm') && q.status === 200), 'the .wasm was loaded');
      // A reload on the history-mode route (the server answers /profile with index.html).
      await page.goto(`${origin}/profile`);
      await page.waitForURL((u) => u.href.startsWith(`${s.op.issuer}/`));
    } finally {
      await context.close();
    }
  });
});

describe('www/webpack: webpack 5 (mode/entry/output only), the core client', { timeout: 180_000 }, () => {
  const s = exampleSuite('webpack');

  it('has the packed oidc-worker', async () => {
    await checkInstall(s.dir, s.specs, packed.from);
  });

  it('webpack emits the worker as its own chunk and the .wasm as an asset, with no plugin or loader', async () => {
    assert.deepEqual(s.warnings, []);
    const wasm = s.output.filter((o) => o.fileName.endsWith('.wasm'));
    assert.equal(wasm.length, 1, JSON.stringify(s.output));
    assert.equal(wasm[0].sourceFilename, 'node_modules/oidc-worker/pkg/oidc_worker_bg.wasm');
    assert.equal(s.output.filter((o) => o.type === 'chunk').length, 2, `main.js and the worker chunk: ${JSON.stringify(s.output)}`);
    const build = await checkBuild(s.distDir, packed.from);
    assert.deepEqual(build.mainJs.map((f) => f.file), ['main.js']);
    sizes.push(sizeLine('webpack', build));
  });

  it('signs in (Sign-in button), shows the name, calls the API via auth.fetch, signs out', async () => {
    const { origin } = s.web.plain;
    const { context, page, seen } = await openPage(origin, s.op.issuer);
    try {
      const r = await signInCallApiSignOut(page, { origin, op: s.op, api: s.api, start: 'button', profileLink: false });
      assert.equal(r.urlAfterLogin, `${origin}/`);
      assertClean(seen, 'webpack', s.web.plain);
      const worker = (await describeBuild(s.distDir)).worker[0].file;
      assert.ok(s.web.plain.requests.some((q) => q.path === `/${worker}` && q.status === 200), 'the worker chunk was loaded');
      assert.ok(s.web.plain.requests.some((q) => q.path.endsWith('.wasm') && q.status === 200), 'the .wasm was loaded');
    } finally {
      await context.close();
    }
  });
});

describe('www/vanilla: no bundler, an import map to the installed package', { timeout: 120_000 }, () => {
  const s = { };
  before(async () => {
    const t = Date.now();
    Object.assign(s, await installVanilla({ tgz: packed.tgz, into: join(tmp, 'vanilla') }));
    timings['vanilla.install'] = Date.now() - t;
    // The server first (its origin is the redirect URI), then the provider, then the API; the
    // config is asked per request.
    s.web = await serveVanilla(s.pkgDir, {
      config: () => ({ issuer: s.op.issuer, clientId: s.op.clientId, options: { apiOrigins: [s.api.origin] } }),
    });
    const appUrl = `${s.web.origin}/`;
    s.op = await startProvider({ redirectUris: [appUrl], postLogoutRedirectUris: [appUrl], introspection: true });
    s.api = await startApiServer({ allowOrigin: [s.web.origin], introspect: (token) => s.op.introspect(token) });
  });
  after(async () => {
    await Promise.allSettled([s.op?.close(), s.api?.close(), s.web?.close()]);
  });

  it('has the packed oidc-worker, and /pkg/ serves exactly those files', async () => {
    await checkInstall(s.dir, s.specs, packed.from);
    assert.deepEqual(await listFiles(s.pkgDir), await listFiles(join(packed.from, 'pkg')), 'the installed pkg/ has the packed files, no more');
    for (const file of ['index.js', 'worker.js', 'oidc_worker_bg.wasm']) {
      const res = await fetch(`${s.web.origin}/pkg/${file}`);
      assert.equal(res.status, 200, file);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(await readFile(join(s.pkgDir, file))), `/pkg/${file} is the installed file`);
    }
    const html = await (await fetch(`${s.web.origin}/`)).text();
    assert.match(html, /"oidc-worker": "\/pkg\/index\.js"/, 'the page\'s import map points oidc-worker at /pkg/index.js');
  });

  it('signs in (Log in button), shows the name, calls the API via window.auth.fetch, signs out (Log out + the provider\'s confirmation)', async () => {
    const { origin } = s.web;
    const { context, page, seen } = await openPage(origin, s.op.issuer);
    const served = s.web.requests.length;
    try {
      await page.goto(`${origin}/`);
      assert.equal((await waitForApp(page)).callback, null);
      assert.equal(await page.locator('#status').getAttribute('data-state'), 'signed-out');

      const login = await completeLogin(page, { issuer: s.op.issuer, login: LOGIN, trigger: () => page.locator('#login').click() });
      assert.deepEqual(login.steps, ['login', 'consent']);
      assert.equal(new URL(login.url).origin, origin, 'back at the app');
      assert.ok(new URL(login.url).searchParams.get('code'), 'with a code');
      const app = await waitForApp(page);
      assert.deepEqual(app.callback, { ok: true, appState: { returnTo: '/' } });
      assert.equal(app.error, null);
      await page.locator('#status[data-state="signed-in"]').waitFor();
      assert.equal(await page.locator('#user-name').textContent(), NAME);
      assert.equal(page.url(), `${origin}/`, 'the callback parameters were removed from the URL');

      const before = s.api.requests.length;
      const answer = await page.evaluate(async (url) => {
        const response = await window.auth.fetch(url);
        return { status: response.status, body: await response.json() };
      }, `${s.api.origin}/me`);
      assert.equal(answer.status, 200, JSON.stringify(answer));
      assert.equal(answer.body.sub, LOGIN);
      assert.equal(answer.body.via, 'introspection');
      assert.equal(answer.body.client_id, s.op.clientId);
      const calls = s.api.requests.slice(before).filter((r) => r.method === 'GET' && r.path === '/me');
      assert.equal(calls.length, 1, 'one GET /me');
      assert.equal(calls[0].origin, origin, 'sent by the app (its worker) with its Origin');
      const token = /^Bearer (\S+)$/.exec(calls[0].authorization ?? '')?.[1];
      assert.ok(token, `a Bearer token: ${calls[0].authorization}`);
      const info = await s.op.introspect(token);
      assert.equal(info.active, true);
      assert.equal(info.sub, LOGIN);
      assert.equal(info.client_id, s.op.clientId);

      const landed = await confirmLogout(page, { issuer: s.op.issuer, trigger: () => page.locator('#logout').click() });
      assert.equal(`${new URL(landed).origin}${new URL(landed).pathname}`, `${origin}/`, 'the provider sent the browser back to the app');
      await waitForApp(page);
      await page.locator('#status[data-state="signed-out"]').waitFor();
      assert.equal(await page.locator('#user').isVisible(), false, 'no user shown after sign-out');
      assert.equal(await page.locator('#login').isEnabled(), true);
      assert.equal((await s.op.introspect(token)).active, false, 'the access token was revoked at sign-out');
      // www/vanilla/ links no icon, so Chromium asks for /favicon.ico on its own, which is not there:
      // that 404's console message is the browser's, not the app's.
      seen.consoleErrors = seen.consoleErrors.filter((m) => !m.endsWith(`(at ${origin}/favicon.ico)`));
      assertClean(seen, 'vanilla', s.web);
      const pkgServed = s.web.requests.slice(served).filter((q) => q.path.startsWith('/pkg/')).map((q) => `${q.path} ${q.status}`);
      for (const file of ['index.js', 'worker.js', 'oidc_worker_bg.wasm']) {
        assert.ok(pkgServed.includes(`/pkg/${file} 200`), `the page loaded /pkg/${file} from the installed package: ${pkgServed.join(', ')}`);
      }
    } finally {
      await context.close();
    }
  });
});
