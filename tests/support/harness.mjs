// Shared plumbing for the e2e tests, the demo and its smoke run: the provider + static server stack,
// and page-side helpers for the example app in www/vanilla/.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { startProvider } from '../op/provider.mjs';
import { browserContextIdOf, watchSharedWorkers } from './shared-workers.mjs';
import { REPO_ROOT, startStaticServer } from './static-server.mjs';

export const APP_PATH = '/vanilla/';

/** The directory served at /pkg/: the repository's pkg/, or $OIDC_WORKER_PKG_DIR (e.g. an unpacked tarball). */
export const PKG_DIR = resolve(process.env.OIDC_WORKER_PKG_DIR || join(REPO_ROOT, 'pkg'));

/** Throw a readable error when the library has not been built into pkg/. */
export function assertLibraryBuilt() {
  const missing = ['index.js', 'worker.js', 'oidc_worker_bg.wasm']
    .filter((f) => !existsSync(join(PKG_DIR, f)));
  if (missing.length) {
    throw new Error(`${PKG_DIR} is not built (missing ${missing.join(', ')}): run bash scripts/build.sh first`);
  }
}

/**
 * Start the static server (pkg/ + www/, and /demo-config.json) and the provider, wired together:
 * the vanilla app's URL is the registered redirect_uri and post_logout_redirect_uri.
 * `provider`: more options for startProvider (e.g. { idTokenSignedResponseAlg: 'ES256' }).
 * `appOptions`: more createAuthClient options for the app (an object, or a function called on each
 * request of /demo-config.json, e.g. () => ({ apiOrigins: [api.origin] }) for a server started later).
 * `headers`: extra headers on every response of the app's server (e.g. Cross-Origin-Opener-Policy).
 * Returns { op, web, appUrl, close() }. close() is idempotent and never throws.
 */
export async function startStack({ accessTokenTtl, port, providerPort, quiet, provider, appOptions, headers } = {}) {
  let op;
  const web = await startStaticServer({
    port,
    headers,
    mounts: { '/pkg/': PKG_DIR, '/vendor/uqr/': join(REPO_ROOT, 'node_modules/uqr/dist'), '/': join(REPO_ROOT, 'www') },
    json: {
      '/demo-config.json': () => ({
        issuer: op.issuer,
        clientId: op.clientId,
        options: typeof appOptions === 'function' ? appOptions() : appOptions,
      }),
    },
  });
  const appUrl = `${web.origin}${APP_PATH}`;
  try {
    op = await startProvider({
      ...provider,
      // More registered redirect URIs (paths under the app's origin), e.g. a silentRedirectUri.
      redirectUris: [appUrl, ...(provider?.extraRedirectPaths ?? []).map((path) => new URL(path, appUrl).href)],
      postLogoutRedirectUris: [appUrl],
      accessTokenTtl,
      port: providerPort,
      quiet,
    });
  } catch (err) {
    await web.close();
    throw err;
  }
  return {
    op,
    web,
    appUrl,
    async close() {
      await Promise.allSettled([op.close(), web.close()]);
    },
  };
}

/**
 * Wait until the app finished starting (incl. handling a callback in the URL).
 * Returns { status, callback, error } from window.app; throws if the app failed to start.
 */
export async function waitForApp(page, { timeout = 20000 } = {}) {
  await page.waitForFunction(() => window.app && window.app.status !== 'loading', null, { timeout });
  const state = await page.evaluate(() => ({
    status: window.app.status, callback: window.app.callback, error: window.app.error,
  }));
  if (state.status !== 'ready') {
    throw new Error(`the example app failed to start: ${JSON.stringify(state.error)}`);
  }
  return state;
}

/**
 * Call window.auth[method](...args) in the page. Never rejects: returns { ok: true, value } or
 * { ok: false, error: { name, message, code, reason, error, errorDescription, status, isAuthError } }.
 * A call that does not settle within 20 s throws (a hung library must fail the test, not stall it).
 */
export async function callAuth(page, method, ...args) {
  const result = await page.evaluate(async ([m, a]) => {
    let timer;
    const hung = new Promise((resolve) => {
      timer = setTimeout(() => resolve({ hung: true }), 20000);
    });
    try {
      return await Promise.race([
        Promise.resolve(window.auth[m](...a)).then((value) => ({ ok: true, value })),
        hung,
      ]);
    } catch (e) {
      let isAuthError;
      try {
        const mod = await import('oidc-worker');
        isAuthError = e instanceof mod.AuthError;
      } catch {
        isAuthError = undefined;
      }
      return {
        ok: false,
        error: {
          name: e?.name,
          message: e?.message,
          code: e?.code,
          reason: e?.reason,
          error: e?.error,
          errorDescription: e?.errorDescription,
          status: e?.status,
          isAuthError,
        },
      };
    } finally {
      clearTimeout(timer);
    }
  }, [method, args]);
  if (result.hung) throw new Error(`auth.${method}() did not settle within 20 s`);
  return result;
}

/**
 * Record console messages of the page, of its workers and of the SharedWorkers (session holders)
 * of its browser context, and uncaught errors of the page and of those SharedWorkers (in
 * `pageErrors`, prefixed `shared worker <url>:`). Playwright reports a page's dedicated workers
 * but no SharedWorker, so those are read through the DevTools protocol (shared-workers.mjs), which
 * replays what a worker logged before it was attached. `out.holders` resolves once that watch is
 * set up; it ends with the context.
 */
export function captureConsole(page) {
  const out = { messages: [], pageErrors: [] };
  const record = (source) => (msg) => out.messages.push({ source, type: msg.type(), text: msg.text() });
  page.on('console', record('page'));
  page.on('worker', (worker) => worker.on('console', record(`worker ${worker.url()}`)));
  page.on('pageerror', (err) => out.pageErrors.push(String(err?.stack ?? err)));
  out.holders = captureSharedWorkerConsole(page, out).catch(() => undefined);
  return out;
}

/** captureConsole()'s part for the SharedWorkers of `page`'s browser context. */
async function captureSharedWorkerConsole(page, out) {
  const context = page.context();
  const browser = context.browser();
  if (!browser) return undefined;
  const contextId = await browserContextIdOf(page);
  const text = (arg) => (arg.type === 'string' ? arg.value : arg.description ?? String(arg.value));
  const holders = await watchSharedWorkers(browser, {
    filter: (info) => info.browserContextId === contextId,
    async onWorker(worker) {
      const source = `shared worker ${worker.url}`;
      worker.on('Runtime.consoleAPICalled', ({ type, args }) => out.messages.push({ source, type, text: args.map(text).join(' ') }));
      worker.on('Runtime.exceptionThrown', ({ exceptionDetails: e }) => out.pageErrors.push(`${source}: ${e.exception?.description ?? e.text}`));
      await worker.send('Runtime.enable');
    },
  });
  context.on('close', () => { holders.stop(); });
  return holders;
}

/**
 * Everything the browser keeps for the page's origin, as strings to search:
 * localStorage, sessionStorage, document.cookie, every IndexedDB database/store/record (keys and
 * values; binary values as latin1), Cache Storage entries' URLs, the URL and the document's HTML;
 * plus every cookie of the browser context and every entry of the page's session history. Returns [{ where, text }].
 */
export async function collectStoredStrings(page, context) {
  const inPage = await page.evaluate(async () => {
    const out = [];
    const text = (v) => {
      const seen = new WeakSet();
      const latin1 = (bytes) => {
        let s = '';
        for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return s;
      };
      const conv = (x) => {
        if (x instanceof ArrayBuffer) return latin1(new Uint8Array(x));
        if (ArrayBuffer.isView(x)) return latin1(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
        if (x instanceof Blob) return `[Blob ${x.size}]`;
        if (x && typeof x === 'object') {
          if (seen.has(x)) return '[cycle]';
          seen.add(x);
          if (x instanceof Map) return [...x].map(([k, val]) => [conv(k), conv(val)]);
          if (x instanceof Set) return [...x].map(conv);
          if (Array.isArray(x)) return x.map(conv);
          return Object.fromEntries(Object.entries(x).map(([k, val]) => [k, conv(val)]));
        }
        return x;
      };
      const c = conv(v);
      return typeof c === 'string' ? c : JSON.stringify(c);
    };
    for (const [name, store] of [['localStorage', localStorage], ['sessionStorage', sessionStorage]]) {
      for (let i = 0; i < store.length; i += 1) {
        const key = store.key(i);
        out.push({ where: `${name}[${key}]`, text: `${key}=${store.getItem(key)}` });
      }
    }
    out.push({ where: 'document.cookie', text: document.cookie });
    out.push({ where: 'location.href', text: window.location.href });
    out.push({ where: 'document HTML', text: document.documentElement.outerHTML });
    const databases = await indexedDB.databases();
    const idb = [];
    for (const { name } of databases) {
      const db = await new Promise((resolve, reject) => {
        const req = indexedDB.open(name);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      const stores = [...db.objectStoreNames];
      const info = { name, version: db.version, stores: [] };
      for (const storeName of stores) {
        const tx = db.transaction(storeName, 'readonly');
        const store = tx.objectStore(storeName);
        const get = (r) => new Promise((resolve, reject) => {
          r.onsuccess = () => resolve(r.result);
          r.onerror = () => reject(r.error);
        });
        const [keys, values] = await Promise.all([get(store.getAllKeys()), get(store.getAll())]);
        info.stores.push({ name: storeName, records: keys.length });
        keys.forEach((key, i) => {
          out.push({ where: `indexedDB ${name}/${storeName}[${text(key)}]`, text: `${text(key)}=${text(values[i])}` });
        });
      }
      db.close();
      idb.push(info);
    }
    if (globalThis.caches) {
      for (const cacheName of await caches.keys()) {
        const cache = await caches.open(cacheName);
        for (const req of await cache.keys()) out.push({ where: `caches ${cacheName}`, text: req.url });
      }
    }
    return { out, idb };
  });
  const cookies = await context.cookies();
  for (const c of cookies) inPage.out.push({ where: `cookie ${c.domain}${c.path} ${c.name}`, text: `${c.name}=${c.value}` });
  // The page's session history (back/forward entries), through the DevTools Protocol.
  const cdp = await context.newCDPSession(page).catch(() => null);
  if (cdp) {
    const { entries } = await cdp.send('Page.getNavigationHistory');
    for (const e of entries) inPage.out.push({ where: `history entry ${e.id}`, text: e.url });
    await cdp.detach().catch(() => {});
  }
  return { entries: inPage.out, indexedDB: inPage.idb, cookies };
}

/** The entries of collectStoredStrings() that contain any of `secrets`. */
export function findLeaks(entries, secrets) {
  const leaks = [];
  for (const { where, text } of entries) {
    for (const secret of secrets) {
      if (secret && text && text.includes(secret)) leaks.push(`${where} contains a token (${secret.slice(0, 8)}…)`);
    }
  }
  return leaks;
}

/**
 * Asserts what every e2e run must end with: no uncaught error in the page(s), no server_error at
 * the provider, and none of the tokens it issued in any console message (page or worker).
 * `consoleLogs`: what captureConsole() returned, one per page.
 */
export function assertCleanRun(op, ...consoleLogs) {
  const secrets = op.issuedTokens().all();
  for (const log of consoleLogs) {
    assert.deepEqual(log.pageErrors, [], 'no uncaught errors in the page');
    const leaks = log.messages.filter((m) => secrets.some((s) => m.text.includes(s)));
    assert.deepEqual(leaks.map((m) => `${m.source} ${m.type}: ${m.text.slice(0, 80)}`), [], 'no token in the console');
  }
  assert.deepEqual(op.serverErrors.map(String), [], 'the provider reported no server_error');
}
