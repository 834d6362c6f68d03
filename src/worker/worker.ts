/**
 * The worker entry (`pkg/worker.js`): loads the wasm core and answers the pages' calls. It runs
 * as a module SharedWorker, the *session holder* every page of the app shares (`sharing:
 * "browser"`, the default), or as a dedicated worker of one page (`sharing: "tab"`).
 *
 * Protocol: a page posts `{ id, call }`, where `call` is a typed message of
 * src/protocol/messages.rs (`{ login: "<options JSON>" }`, `"isAuthenticated"`, ...; the names
 * are in src/contract.json); the worker answers `{ id, ok: true, value }` or `{ id, ok: false,
 * error }`. Events go out as `{ event: { name, detail } }` to every page of the session.
 *
 * Sessions: one `WorkerHost` (one wasm client) per configuration, filed under the key the core
 * gives it once `configure` succeeded (`sessionKey`: the issuer, the client ID and the options
 * in canonical form). A page's `configure` that names an existing key joins that session:
 * its tokens, its refresh in flight, its events. A page never reaches another configuration's
 * session (Safari ignores a SharedWorker's `name`, so one holder may serve several).
 *
 * Pages come and go: a page posts `{ lock: name }` once it holds a Web Lock of that name for its
 * whole life; the holder then asks for the same lock, which it gets when the page is gone, and
 * drops the page (its port, its pending `auth.fetch`es). `{ close: true }` does it at once
 * (`auth.close()`). Calls of a page that leaves mid-call finish for the session all the same.
 *
 * Logout reaches every holder: after a page's `logout`, the holder ends the other sessions of
 * the same issuer and client, here and, through a `BroadcastChannel` message that names only
 * the issuer and client (`{ logout: "issuer\nclientId" }`), in every other holder or tab worker
 * of the origin (another build's holder after a deploy, the tabs of `sharing: "tab"`). Such a
 * message carries no secret, and a forged one can at worst sign pages out.
 *
 * Start-up (dedicated worker only): the page fetches and compiles the wasm while this script
 * loads and posts the `WebAssembly.Module` as `{ wasm }` (or `{ wasm: null }`); without one, or
 * if it does not instantiate, the worker fetches the .wasm next to itself. A SharedWorker
 * always fetches it itself (a module cannot cross to it). Calls that arrive first are queued.
 * A holder posts `{ started: true }` to each page that connects, before its wasm loads: the page's
 * sign that the script runs (Chromium does not always fire `error` at a SharedWorker whose script
 * fails to load). If the wasm cannot be loaded the worker posts `{ ready: false }`.
 *
 * Messages cross into the wasm as JSON text: the call is `JSON.stringify`ed here (what JSON
 * cannot hold, a BigInt or a cycle, becomes an empty text: `config` / `invalid_call`), and the
 * replies and events the wasm writes are `JSON.parse`d here, both by the engine's native code.
 *
 * `auth.fetch` posts `{ id, call: { fetch: { url, method } }, headers, body, init }` (the
 * headers as `[name, value]` pairs, whose names the core checks; the body an ArrayBuffer,
 * transferred) and `{ abort: id }` when the page's signal fires; the answer's `value` is
 * `{ status, statusText, headers, body }`, the body transferred back. That value is the one
 * reply the wasm hands back as an object, not as text.
 *
 * If the worker itself fails (a trap in the wasm, an exception nothing caught), it posts
 * `{ failed: true }` to every page, once: they reject every pending and later call with
 * `config` / `worker_failed`. A wasm instance that trapped is in an unknown state, so nothing
 * here tries to go on with it.
 *
 * No top-level await (Vite's default `iife` worker format rejects it).
 *
 * @packageDocumentation
 */
import { initSync, WorkerHost } from './oidc_worker.js';

/** A page's end of the conversation: the dedicated worker's global, or a SharedWorker port. */
interface Port {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
  close?(): void;
}

/** The parts of the worker global scopes used here (the DOM lib has no worker types). */
declare const self: Port & {
  onconnect?: ((event: MessageEvent) => void) | null;
  addEventListener(type: 'error' | 'unhandledrejection', listener: () => void): void;
  navigator: { locks?: { request(name: string, callback: () => unknown): Promise<unknown> } };
};

/** One configuration's session: its wasm client and the pages that share it. */
interface Session {
  key: string;
  host: WorkerHost;
  pages: Set<Page>;
  timer?: ReturnType<typeof setTimeout>;
}

/** A connected page: its port, its session once configured, its `auth.fetch`es in flight. */
interface Page {
  port: Port;
  session?: Session;
  aborts: Map<number, AbortController>;
  gone?: boolean;
}

type Reply = { ok: true; value?: any } | { ok: false; error: object };

const holder = 'onconnect' in self;
const ports = new Set<Port>();
let failed = false;
let unloadable = false;
const fail = (): void => {
  if (!failed) for (const port of ports) port.postMessage({ failed: true });
  failed = true;
};
// A trap surfaces as an exception out of the wasm: thrown by a call (`handle` runs the call's
// future up to its first await), rejecting `handle`'s promise, or out of the promise reaction
// that resumed a call's future (src/worker/task.rs): a rejection nobody handles.
self.addEventListener('error', fail);
self.addEventListener('unhandledrejection', fail);

/** Messages that arrive before the wasm is up, replayed in order once it is. */
const queued: [Port, MessageEvent][] = [];
let serve: ((port: Port, event: MessageEvent) => void) | undefined;
const accept = (port: Port): void => {
  ports.add(port);
  port.onmessage = (event) => (serve ? serve(port, event) : void queued.push([port, event]));
  // (A page learns that its holder's script runs: src/js/index.ts HOLDER_START_MS.)
  if (holder) port.postMessage({ started: true });
  if (failed) port.postMessage({ failed: true });
  if (unloadable) port.postMessage({ ready: false });
};

/**
 * Instantiates the wasm: `module`, or the .wasm next to this script, compiled while it streams
 * in (`new URL('oidc_worker_bg.wasm', import.meta.url)` is what bundlers look for to emit it).
 * (Not wasm-bindgen's async `init`: its fallbacks for old engines and its warnings cost ~300 B
 * gzip.)
 */
const load = async (module?: unknown): Promise<void> => {
  if (!(module instanceof WebAssembly.Module)) {
    const response = await fetch(new URL('oidc_worker_bg.wasm', import.meta.url));
    // compileStreaming takes only a response that says `application/wasm` (WebAssembly Web API
    // §3); from a server that says anything else, the bytes compile all the same.
    module = await (response.headers.get('content-type') === 'application/wasm'
      ? WebAssembly.compileStreaming(response)
      : response.arrayBuffer().then((bytes) => WebAssembly.compile(bytes)));
  }
  initSync({ module: module as WebAssembly.Module });
};

/** The wasm instantiated: from the page's compiled module if that works, else fetched here. */
let loaded: Promise<unknown>;
if (holder) {
  self.onconnect = (event) => accept(event.ports[0] as Port);
  loaded = load();
} else {
  loaded = new Promise<unknown>((resolve) => {
    self.onmessage = (event) => {
      const module = event.data?.wasm;
      if (module === undefined) return void queued.push([self, event]);
      accept(self);
      resolve(module instanceof WebAssembly.Module ? load(module).catch(() => load()) : load());
    };
  });
}

loaded.then(
  () => {
    const sessions = new Map<string, Session>();
    const pages = new Map<Port, Page>();
    /** Answers every call of a page not yet configured (`config` / `not_configured`). */
    const unconfigured = new WorkerHost();

    const handle = (host: WorkerHost, call: unknown, request?: object): Promise<Reply> => {
      if (failed) return Promise.reject();
      let text: string;
      try {
        text = JSON.stringify(call) ?? '';
      } catch {
        text = '';
      }
      try {
        return host
          .handle(text, request)
          // JSON text, or after a successful `fetch` the response object itself.
          .then((reply: unknown): Reply => (typeof reply === 'string' ? JSON.parse(reply) : { ok: true, value: reply }))
          .catch((error: unknown) => {
            fail();
            throw error;
          });
      } catch (error) {
        fail();
        return Promise.reject(error);
      }
    };

    /** A session for a host `configure` just succeeded on. */
    const open = (host: WorkerHost, key: string): Session => {
      const session: Session = { key, host, pages: new Set() };
      sessions.set(key, session);
      // The core says when to wake it for the proactive refresh (`wake`, a delay in ms that
      // setTimeout can hold, or null): that event is the holder's own; every other one goes to
      // the session's pages.
      host.setEventListener((text: string) => {
        const event: { name: string; detail: any } = JSON.parse(text);
        if (event.name !== 'wake') {
          for (const page of session.pages) page.port.postMessage({ event });
          return;
        }
        clearTimeout(session.timer);
        const { delayMs } = event.detail;
        if (delayMs !== null) session.timer = setTimeout(() => handle(host, 'tick').catch(() => {}), delayMs);
      });
      return session;
    };

    /** The issuer and client a session key names (its first two lines). */
    const clientOf = (key: string): string => key.split('\n', 2).join('\n');
    const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('oidc-worker') : undefined;
    /** Ends every live session of `client` here but `except` (its pages get `logout`). */
    const endSessions = (client: string, except?: Session): void => {
      for (const session of sessions.values()) {
        if (session === except || clientOf(session.key) !== client) continue;
        // (A signed-out session has nothing to end, and must not fetch the provider's metadata.)
        handle(session.host, 'isAuthenticated')
          .then((reply): unknown => reply.ok && reply.value === true && handle(session.host, { logout: false }))
          .catch(() => {});
      }
    };
    if (channel) {
      channel.onmessage = ({ data }) => {
        if (typeof data?.logout === 'string') endSessions(data.logout);
      };
    }

    const drop = (page: Page): void => {
      page.gone = true;
      pages.delete(page.port);
      ports.delete(page.port);
      page.session?.pages.delete(page);
      for (const controller of page.aborts.values()) controller.abort();
      page.port.close?.();
    };

    serve = (port, { data }) => {
      let page = pages.get(port);
      if (!page) pages.set(port, (page = { port, aborts: new Map() }));
      if (typeof data?.abort === 'number') return void page.aborts.get(data.abort)?.abort();
      if (typeof data?.lock === 'string') return void self.navigator.locks?.request(data.lock, () => drop(page));
      if (data?.close === true) return drop(page);
      const id = data?.id;
      if (typeof id !== 'number') return;
      const { call } = data;
      let request: object | undefined;
      if (call?.fetch || call?.deviceLogin !== undefined) {
        const controller = new AbortController();
        page.aborts.set(id, controller);
        request = call.fetch
          ? { headers: data.headers, body: data.body, init: data.init, signal: controller.signal }
          // A device login's user code goes to the calling page only, as `{ id, code }`.
          : { signal: controller.signal, onCode: (code: string) => page.port.postMessage({ id, code: JSON.parse(code) }) };
      }
      const current = page.session;
      const configuring = !current && call?.configure !== undefined;
      // A page's first `configure` goes to a fresh host; the key it then reports finds the
      // session to join (or files this one). Every other call goes to the page's session.
      const host = configuring ? new WorkerHost() : current?.host ?? unconfigured;
      handle(host, call, request).then(
        (reply) => {
          page.aborts.delete(id);
          if (configuring && reply.ok) {
            const key = host.sessionKey() as string;
            const joined = sessions.get(key);
            const session = joined ?? open(host, key);
            if (joined) host.free();
            page.session = session;
            if (!page.gone) session.pages.add(page); // (it may have left while configuring)
          } else if (configuring) {
            host.free();
          }
          port.postMessage({ id, ...reply }, call?.fetch && reply.ok ? [reply.value.body] : []);
          if (current && call?.logout !== undefined) {
            const client = clientOf(current.key);
            endSessions(client, current);
            channel?.postMessage({ logout: client });
          }
        },
        () => {}, // every page fails every call on `{ failed: true }`
      );
    };
    for (const [port, event] of queued.splice(0)) serve(port, event);
  },
  () => {
    unloadable = true;
    for (const port of ports) port.postMessage({ ready: false });
  },
);
