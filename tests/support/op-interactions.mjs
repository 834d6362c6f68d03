// Drive oidc-provider's devInteractions pages (login, consent, cancel) and its logout confirmation
// with Playwright, the way a person would: through the real forms.
//
// Page shapes (oidc-provider 9.13.3, lib/views + lib/helpers/defaults.js):
//   GET  /interaction/:uid        login:   <input type=hidden name=prompt value=login>, input[name=login],
//                                          input[name=password], button[type=submit] "Sign-in"
//                                 consent: <input type=hidden name=prompt value=consent>, button "Continue"
//                                 both:    <a href="/interaction/:uid/abort">[ Cancel ]</a>
//   GET  /interaction/:uid/abort  → interactionFinished({ error: 'access_denied' })
//                                 → redirect_uri?error=access_denied&error_description=...&state=...&iss=...
//   GET  /session/end             "Do you want to sign-out" form: button[name=logout] "Yes, sign me out"
//                                 → post_logout_redirect_uri (or /session/end/success without one)

const INTERACTION = /\/interaction\/[^/]+\/?$/;

function onIssuer(url, issuer) {
  return url === issuer || url.startsWith(`${issuer}/`);
}

/**
 * The main frame's committed navigations (and same-document URL changes), in order, from now on.
 * next() resolves with the next URL not yet consumed.
 */
function navigationQueue(page) {
  const queue = [];
  let wake;
  const listener = (frame) => {
    if (frame !== page.mainFrame()) return;
    queue.push(frame.url());
    wake?.();
  };
  page.on('framenavigated', listener);
  return {
    async next(deadline, what) {
      while (queue.length === 0) {
        const ms = deadline - Date.now();
        if (ms <= 0) throw new Error(`timed out waiting for ${what}; page is at ${page.url()}`);
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, ms);
          wake = () => { clearTimeout(timer); resolve(); };
        });
        wake = undefined;
      }
      return queue.shift();
    },
    stop() { page.off('framenavigated', listener); },
  };
}

/** Start: run `trigger` (e.g. a click that calls loginWithRedirect), or use where the page is now. */
async function begin(page, nav, issuer, trigger, deadline, what) {
  if (trigger) {
    await trigger();
    return nav.next(deadline, what);
  }
  const here = page.url();
  return onIssuer(here, issuer) ? here : nav.next(deadline, what);
}

async function providerErrorText(page) {
  try {
    return (await page.locator('body').innerText({ timeout: 2000 })).replace(/\s+/g, ' ').slice(0, 500);
  } catch {
    return '(no page text)';
  }
}

async function currentPrompt(page, timeout) {
  const prompt = page.locator('form input[type=hidden][name=prompt]').first();
  await prompt.waitFor({ state: 'attached', timeout });
  return prompt.getAttribute('value');
}

/**
 * Log in at the provider: fill the login form (any login/password is accepted) and confirm consent,
 * until the browser leaves the provider.
 *
 * options.issuer   the provider's issuer URL (required)
 * options.trigger  async function that starts the navigation to the provider (e.g. a click on the
 *                  app's "Log in" button). Without it the page must already be on (or on its way to)
 *                  the provider.
 * options.login, options.password, options.timeout (ms, whole flow)
 *
 * Returns { url, steps }: the first URL committed outside the provider (the redirect_uri with
 * code/state/iss, before the app can clean it up) and the prompts seen, e.g. ['login', 'consent'].
 */
export async function completeLogin(page, {
  issuer, trigger, login = 'alice', password = 'any-password', timeout = 20000,
} = {}) {
  if (!issuer) throw new TypeError('completeLogin: issuer is required');
  const deadline = Date.now() + timeout;
  const steps = [];
  const nav = navigationQueue(page);
  try {
    let url = await begin(page, nav, issuer, trigger, deadline, 'the provider');
    for (;;) {
      if (!onIssuer(url, issuer)) {
        await page.waitForLoadState('domcontentloaded');
        return { url, steps };
      }
      if (INTERACTION.test(new URL(url).pathname)) {
        await page.waitForLoadState('domcontentloaded');
        const prompt = await currentPrompt(page, Math.max(1000, deadline - Date.now()));
        steps.push(prompt);
        if (steps.length > 4) throw new Error(`login loops at the provider: ${steps.join(',')}`);
        if (prompt === 'login') {
          await page.locator('input[name=login]').fill(login);
          await page.locator('input[name=password]').fill(password);
          await page.locator('form:has(input[name=prompt][value=login]) button[type=submit]').click();
        } else if (prompt === 'consent') {
          await page.getByRole('button', { name: 'Continue' }).click();
        } else {
          throw new Error(`unexpected interaction prompt ${prompt} at ${url}`);
        }
      } else if (!new URL(url).pathname.startsWith('/interaction/')) {
        await page.waitForLoadState('domcontentloaded');
        throw new Error(`the provider showed ${url}: ${await providerErrorText(page)}`);
      }
      url = await nav.next(deadline, `the provider's next page after ${steps.at(-1) ?? 'start'}`);
    }
  } finally {
    nav.stop();
  }
}

/**
 * At a provider interaction page (login or consent), click "[ Cancel ]" (GET /interaction/:uid/abort),
 * which ends the request with error=access_denied. Same options as completeLogin (issuer, trigger,
 * timeout). Returns { url, prompt }: the URL committed outside the provider
 * (redirect_uri?error=access_denied&error_description=...&state=...&iss=...) and the prompt of the
 * page that was cancelled ('login' or 'consent').
 */
export async function cancelLogin(page, { issuer, trigger, timeout = 20000 } = {}) {
  if (!issuer) throw new TypeError('cancelLogin: issuer is required');
  const deadline = Date.now() + timeout;
  const nav = navigationQueue(page);
  try {
    const url = await begin(page, nav, issuer, trigger, deadline, 'the provider');
    if (!onIssuer(url, issuer) || !INTERACTION.test(new URL(url).pathname)) {
      throw new Error(`expected a provider interaction page, got ${url}`);
    }
    await page.waitForLoadState('domcontentloaded');
    const prompt = await currentPrompt(page, Math.max(1000, deadline - Date.now()));
    await page.locator('a[href$="/abort"]', { hasText: 'Cancel' }).click();
    for (;;) {
      const next = await nav.next(deadline, 'the redirect after cancel');
      if (!onIssuer(next, issuer)) {
        await page.waitForLoadState('domcontentloaded');
        return { url: next, prompt };
      }
    }
  } finally {
    nav.stop();
  }
}

/**
 * At the provider's end_session page ("Do you want to sign-out"), answer "Yes, sign me out".
 * Same options as completeLogin (issuer, trigger, timeout). Returns the URL committed afterwards:
 * the post_logout_redirect_uri (+ state if one was sent), or the provider's /session/end/success.
 */
export async function confirmLogout(page, { issuer, trigger, timeout = 20000 } = {}) {
  if (!issuer) throw new TypeError('confirmLogout: issuer is required');
  const deadline = Date.now() + timeout;
  const nav = navigationQueue(page);
  try {
    let url = await begin(page, nav, issuer, trigger, deadline, 'the end_session page');
    while (!(onIssuer(url, issuer) && new URL(url).pathname === '/session/end')) {
      url = await nav.next(deadline, 'the end_session page');
    }
    await page.waitForLoadState('domcontentloaded');
    await page.locator('button[name=logout]').click();
    const next = await nav.next(deadline, 'the redirect after logout');
    await page.waitForLoadState('domcontentloaded');
    return next;
  } finally {
    nav.stop();
  }
}

/**
 * Record the URL of every main-frame document request of `page` (what the server was asked for,
 * before any history.replaceState). Returns { urls, find(pred), stop() }.
 */
export function captureNavigations(page) {
  const urls = [];
  const listener = (request) => {
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) urls.push(request.url());
  };
  page.on('request', listener);
  return {
    urls,
    find: (pred) => urls.find(pred),
    findLast: (pred) => [...urls].reverse().find(pred),
    stop: () => page.off('request', listener),
  };
}
