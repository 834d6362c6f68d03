// One headless login end to end through the real provider form, timing each step:
// open app → login form → consent → callback handled → getUser → getUser({ fresh: true }) (the worker
// calls userinfo with the access token) → logout (+ confirm).
// Exits 0 on success, 1 on failure. Used by `scripts/demo.sh --smoke`.
//
//   node tests/support/smoke.mjs

import { closeBrowser, launchBrowser } from './browser.mjs';
import {
  assertLibraryBuilt, callAuth, captureConsole, startStack, waitForApp,
} from './harness.mjs';
import { completeLogin, confirmLogout } from './op-interactions.mjs';

const t0 = performance.now();
let last = t0;
function step(name, detail = '') {
  const now = performance.now();
  console.log(`smoke: ${name.padEnd(28)} +${String(Math.round(now - last)).padStart(5)} ms  (${Math.round(now - t0)} ms total)${detail ? `  ${detail}` : ''}`);
  last = now;
}

function expect(cond, message) {
  if (!cond) throw new Error(message);
}

let stack;
let browser;
let failed = false;
try {
  assertLibraryBuilt();
  stack = await startStack();
  step('provider + static server', `${stack.op.issuer} ${stack.appUrl}`);
  browser = await launchBrowser();
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleLog = captureConsole(page);
  step('browser launched');

  await page.goto(stack.appUrl);
  await waitForApp(page);
  expect((await callAuth(page, 'isAuthenticated')).value === false, 'expected to start signed out');
  step('app loaded (worker ready)');

  const { steps } = await completeLogin(page, {
    issuer: stack.op.issuer, login: 'alice', trigger: () => page.locator('#login').click(),
  });
  step('login + consent at provider', steps.join(' → '));

  const app = await waitForApp(page);
  expect(app.callback?.ok === true, `callback failed: ${JSON.stringify(app.callback ?? app.error)}`);
  step('callback handled');

  const user = await callAuth(page, 'getUser');
  expect(user.ok && user.value?.sub === 'alice', `getUser: ${JSON.stringify(user)}`);
  step('getUser', `sub=${user.value.sub} name=${user.value.name}`);

  const fresh = await callAuth(page, 'getUser', { fresh: true });
  expect(fresh.ok && fresh.value?.sub === 'alice', `getUser({ fresh: true }): ${JSON.stringify(fresh.error ?? fresh.value)}`);
  step('userinfo (from the worker)', `sub=${fresh.value.sub}`);

  const landed = await confirmLogout(page, {
    issuer: stack.op.issuer, trigger: () => page.locator('#logout').click(),
  });
  await waitForApp(page);
  expect((await callAuth(page, 'isAuthenticated')).value === false, 'still authenticated after logout');
  step('logout via end_session', new URL(landed).pathname);

  expect(consoleLog.pageErrors.length === 0, `page errors: ${consoleLog.pageErrors.join('; ')}`);
  const grants = stack.op.tokenRequests.map((r) => `${r.grantType}:${r.status}`).join(', ');
  console.log(`smoke: OK in ${Math.round(performance.now() - t0)} ms (token requests: ${grants})`);
} catch (err) {
  failed = true;
  console.error(`smoke: FAILED after ${Math.round(performance.now() - t0)} ms: ${err?.stack ?? err}`);
} finally {
  await closeBrowser(browser);
  await stack?.close();
}
process.exit(failed ? 1 : 0);
