// Headless Chromium through playwright-core, using the system browser (never downloads one).

import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Only loopback is reachable here (and only loopback is ever a target). oidc-provider's dev pages
  // @import a web font; make every other host unresolvable so nothing leaves the machine.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
];

/**
 * Launch headless Chromium. Playwright creates (and removes) its own temporary profile.
 * @param {import('playwright-core').LaunchOptions} [options] merged over the defaults
 */
export async function launchBrowser(options = {}) {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: process.env.HEADED !== '1',
    ...options,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
}

/**
 * Close the browser, but never wait more than `ms` for it (a crashed Chromium can leave
 * browser.close() pending forever). Playwright kills the browsers it launched when node exits.
 */
export async function closeBrowser(browser, ms = 15000) {
  if (!browser) return;
  let timer;
  await Promise.race([
    browser.close().catch(() => {}),
    new Promise((resolve) => { timer = setTimeout(resolve, ms); }),
  ]);
  clearTimeout(timer);
}
