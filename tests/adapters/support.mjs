// Shared plumbing for the adapter tests (tests/adapters/*.test.mjs):
//   - PKG_DIR: the built package under test, the repository's pkg/ or $OIDC_WORKER_PKG_DIR (like
//     the e2e tests), and pkgEntry(name) to import its files;
//   - module resolution so that a pkg/ snapshot outside the repo imports the repo's react / vue;
//   - installDom(): a happy-dom Window whose globals the adapters and the testing libraries use,
//     with location.assign recorded instead of navigating;
//   - installWorkerStub(): a fake global `Worker` that speaks the real worker's message protocol
//     (src/worker/worker.ts, src/protocol/messages.rs) over a scripted session, and records every
//     call and every Worker created and terminated.

import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The client options and the signed-in user the adapter tests share. */
export const ISSUER = 'https://op.example';
export const REDIRECT_URI = 'https://app.example/callback';
export const OPTIONS = { issuer: ISSUER, clientId: 'spa', redirectUri: REDIRECT_URI, scope: 'openid profile' };
export const USER = { sub: 'user-1', name: 'Ada Lovelace', email: 'ada@example.com' };

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const REPO_PKG_DIR = join(REPO_ROOT, 'pkg');
/** The built package under test: the repository's pkg/, or $OIDC_WORKER_PKG_DIR. */
export const PKG_DIR = resolve(process.env.OIDC_WORKER_PKG_DIR || REPO_PKG_DIR);

/** The file: URL of a file of the package under test. */
export const pkgUrl = (name) => pathToFileURL(join(PKG_DIR, name)).href;

/** Throw a readable error when the package under test has not been built. */
export function assertPkgBuilt(names = ['index.js', 'worker.js', 'auth-store.js', 'react.js', 'vue.js']) {
  const missing = names.filter((f) => !existsSync(join(PKG_DIR, f)));
  if (missing.length) {
    throw new Error(`${PKG_DIR} is not built (missing ${missing.join(', ')}): run bash scripts/build.sh first`);
  }
}

if (!globalThis.__oidcWorkerAdapterHooks) {
  globalThis.__oidcWorkerAdapterHooks = true;
  register('./resolve-hooks.mjs', import.meta.url, {
    data: {
      pkgDirUrl: pathToFileURL(PKG_DIR).href.replace(/\/?$/, '/'),
      parentUrl: pathToFileURL(join(REPO_ROOT, 'package.json')).href,
    },
  });
}

/** Import a built entry of the package under test (e.g. 'react.js'). */
export function importPkg(name) {
  assertPkgBuilt([name]);
  return import(pkgUrl(name));
}

// ---------------------------------------------------------------------------------------------
// DOM
// ---------------------------------------------------------------------------------------------

/**
 * Creates a happy-dom Window at `url` and makes it the global environment (window, document,
 * location, history, the DOM classes...). Node's own globals (timers, URL, Event, fetch...) are
 * kept. `location.assign(url)` is recorded in `navigations` instead of navigating.
 * Returns { window, navigations, setURL(url), close() }.
 */
export async function installDom(url = 'https://app.example/') {
  const { Window } = await import('happy-dom');
  const window = new Window({ url, settings: { disableJavaScriptFileLoading: true, disableCSSFileLoading: true } });
  const navigations = [];
  window.location.assign = (target) => { navigations.push(String(target)); };
  const assigned = [];
  for (const key of Object.getOwnPropertyNames(window)) {
    if (key in globalThis || key.startsWith('_')) continue;
    try {
      globalThis[key] = window[key];
      assigned.push(key);
    } catch {
      // A read-only global of Node's: keep it.
    }
  }
  for (const key of ['window', 'document', 'location', 'history', 'navigator', 'HTMLElement', 'Node', 'Element', 'Text', 'MutationObserver']) {
    Object.defineProperty(globalThis, key, { value: window[key], configurable: true, writable: true });
    assigned.push(key);
  }
  return {
    window,
    navigations,
    /** Moves the page to `url` without a reload (a fresh page for the next test). */
    setURL(target) {
      window.happyDOM.setURL(target);
    },
    async close() {
      for (const key of assigned) delete globalThis[key];
      await window.happyDOM.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The fake worker
// ---------------------------------------------------------------------------------------------

/** The options the real worker's `configure` accepts (anything else: config / unknown_option). */
const KNOWN_OPTIONS = new Set([
  'issuer', 'clientId', 'redirectUri', 'scope', 'postLogoutRedirectUri', 'clockSkewSeconds', 'extraAuthParams',
  'trustedAudiences', 'autoRefresh', 'refreshLeadSeconds', 'apiOrigins', 'exposeAccessToken',
  'fetchTimeoutSeconds', 'fetchMaxResponseBytes',
]);

const error = (code, message, extra = {}) => ({ code, message, ...extra });

/**
 * Installs a fake global `Worker` (the one pkg/index.js constructs) that answers like
 * pkg/worker.js over a scripted session, and returns its controller:
 *
 *   session     { authenticated, user, userOnLogin, loginUrl, endSessionUrl, pending: Map(state → appState),
 *                 loginError?, logoutError? }
 *               (change it at will; `pending` holds the logins whose callback is acceptable; an
 *               error object makes `login` / `logout` fail with it, logout after ending the session)
 *   workers     every instance created: { url, options, terminated, calls }
 *   calls       every call received, in order: { worker (index), type, ...call }
 *   count(type) how many calls of that type were received (all workers)
 *   hold(type)  answers to calls of `type` wait until the returned release() is called
 *   emit(name, detail)  an event from every live worker
 *   reset()     forget the instances and calls (between tests)
 *   uninstall() restore the previous global Worker
 *
 * Protocol (src/worker/worker.ts): ignores the page's `{ wasm }` message; answers `{ id, call }` with
 * `{ id, ok: true, value }` or `{ id, ok: false, error: { code, message, reason? ... } }`;
 * events go out as `{ event: { name, detail } }` (login before the handleCallback answer, logout
 * before the logout answer, as src/worker/mod.rs does). Messages are structured-cloned and
 * delivered as tasks; a terminated worker delivers nothing more.
 */
export function installWorkerStub() {
  const previous = globalThis.Worker;
  const stub = {
    session: {},
    workers: [],
    calls: [],
    holds: new Map(),
    count(type) {
      return stub.calls.filter((c) => c.type === type).length;
    },
    get created() {
      return stub.workers.length;
    },
    get terminated() {
      return stub.workers.filter((w) => w.terminated).length;
    },
    /** Answers to `type` calls wait until release() (which returns once they went out). */
    hold(type) {
      let release;
      const gate = new Promise((r) => { release = r; });
      stub.holds.set(type, gate);
      return () => {
        if (stub.holds.get(type) === gate) stub.holds.delete(type);
        release();
      };
    },
    emit(name, detail) {
      for (const w of stub.workers) w.instance.deliver({ event: { name, detail } });
    },
    reset(session = {}) {
      stub.workers = [];
      stub.calls = [];
      stub.holds.clear();
      stub.session = {
        authenticated: false,
        user: null,
        userOnLogin: { sub: 'user-1', name: 'Ada Lovelace', email: 'ada@example.com' },
        loginUrl: 'https://op.example/authorize',
        endSessionUrl: null,
        pending: new Map(),
        ...session,
      };
    },
    uninstall() {
      globalThis.Worker = previous;
    },
  };
  stub.reset();
  let nextState = 0;

  class FakeWorker {
    #record;
    #configured = false;
    #exposed = false;
    onmessage = null;
    onerror = null;

    constructor(url, options) {
      this.#record = { url: String(url), options: structuredClone(options), terminated: false, instance: this };
      stub.workers.push(this.#record);
    }

    /** Sends `data` to the page (a task later), unless terminated. */
    deliver(data) {
      if (this.#record.terminated) return;
      const copy = structuredClone(data);
      setTimeout(() => {
        if (!this.#record.terminated) this.onmessage?.(new MessageEvent('message', { data: copy }));
      }, 0);
    }

    postMessage(data) {
      if (this.#record.terminated) return;
      const message = structuredClone(data);
      if (typeof message?.id !== 'number') return;
      message.call = decodeCall(message.call);
      const index = stub.workers.indexOf(this.#record);
      stub.calls.push({ worker: index, ...message.call });
      const gate = stub.holds.get(message.call.type);
      void (async () => {
        await sleep(0);
        if (gate) await gate;
        if (this.#record.terminated) return;
        const reply = this.#answer(message.call);
        this.deliver(reply.ok
          ? { id: message.id, ok: true, value: reply.value }
          : { id: message.id, ok: false, error: reply.error });
      })();
    }

    terminate() {
      this.#record.terminated = true;
    }

    /** What the real worker answers (src/worker/mod.rs `dispatch`), over the scripted session. */
    #answer(call) {
      const s = stub.session;
      const ok = (value) => ({ ok: true, value });
      const fail = (e) => ({ ok: false, error: e });
      if (call.type === 'configure') {
        if (this.#configured) return fail(error('config', 'the client is already configured', { reason: 'already_configured' }));
        const unknown = Object.keys(call.config ?? {}).filter((k) => !KNOWN_OPTIONS.has(k));
        if (unknown.length) return fail(error('config', `unknown option ${unknown[0]}`, { reason: 'unknown_option' }));
        for (const k of ['issuer', 'clientId', 'redirectUri']) {
          if (typeof call.config?.[k] !== 'string') return fail(error('config', `${k} is required`, { reason: k }));
        }
        this.#configured = true;
        this.#exposed = call.config.exposeAccessToken === true;
        return ok(null);
      }
      if (!this.#configured) return fail(error('config', 'the client is not configured', { reason: 'not_configured' }));
      switch (call.type) {
        case 'login': {
          if (s.loginError) return fail(s.loginError);
          const state = `state-${++nextState}`;
          s.pending.set(state, call.options?.appState ?? null);
          return ok({ url: `${s.loginUrl}?state=${state}` });
        }
        case 'handleCallback': {
          let url;
          try {
            url = new URL(call.url);
          } catch {
            return fail(error('invalid_callback', 'the callback URL is malformed'));
          }
          const state = url.searchParams.get('state');
          if (!state || !s.pending.has(state)) return fail(error('state_mismatch', 'no pending login has this state'));
          const appState = s.pending.get(state);
          s.pending.delete(state); // single-use
          if (url.searchParams.has('error')) {
            return fail(error('authorization_error', 'the provider refused the authorization', { error: url.searchParams.get('error') }));
          }
          if (!url.searchParams.has('code')) return fail(error('invalid_callback', 'the callback has no code'));
          s.authenticated = true;
          s.user = s.userOnLogin;
          this.deliver({ event: { name: 'login', detail: { expiresAt: Date.now() + 3600_000, scope: 'openid', resource: null } } });
          return ok({ appState });
        }
        case 'isAuthenticated':
          return ok(Boolean(s.authenticated));
        case 'getUser':
          return ok(s.authenticated ? s.user : null);
        case 'getAccessToken':
          // Secure default: only an app that opted in gets the token.
          if (!this.#exposed) return fail(error('config', 'the access token is not exposed to the page (exposeAccessToken is false)', { reason: 'access_token_not_exposed' }));
          return s.authenticated ? ok('access-token') : fail(error('login_required', 'there is no session'));
        case 'logout':
          s.authenticated = false;
          s.user = null;
          this.deliver({ event: { name: 'logout', detail: {} } });
          // The real worker ends the session first, then reports a failed discovery (`network`).
          if (s.logoutError) return fail(s.logoutError);
          // No URL unless the page is to go there (`redirect: false` gets none).
          return ok({ url: call.options?.redirect === false ? null : (s.endSessionUrl ?? null) });
        default:
          return fail(error('config', 'not a call', { reason: 'invalid_call' }));
      }
    }
  }

  globalThis.Worker = FakeWorker;
  return stub;
}

/**
 * A typed call (src/protocol/messages.rs: `{ <type>: argument }` or `"<type>"`) as the record
 * the tests read: `{ type, config, options, url, ... }`, the JSON texts parsed.
 */
function decodeCall(call) {
  if (typeof call === 'string') return { type: call };
  const [[type, arg]] = Object.entries(call ?? { invalid: undefined });
  switch (type) {
    case 'configure':
      return { type, config: JSON.parse(arg) };
    case 'login':
      return { type, options: JSON.parse(arg) };
    case 'handleCallback':
      return { type, url: arg };
    case 'getUser':
      return { type, options: { fresh: arg } };
    case 'logout':
      return { type, options: { redirect: arg } };
    default:
      return { type, ...arg };
  }
}

/** A global `Worker` that throws if constructed (proves nothing starts a worker). */
export function installThrowingWorker() {
  const constructed = [];
  globalThis.Worker = class ThrowingWorker {
    constructor(url) {
      constructed.push(String(url));
      throw new Error(`a Worker was constructed (${url})`);
    }
  };
  return constructed;
}

/** Polls `fn` until it returns a truthy value (returned), or throws after `timeout` ms. */
export async function waitUntil(what, fn, { timeout = 3000, interval = 5 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(interval);
  }
}

/** Lets every pending message, timer and promise of the stub run (a few round-trips). */
export const settle = (ms = 30) => sleep(ms);
