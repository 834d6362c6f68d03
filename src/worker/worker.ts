/**
 * The module worker entry (`pkg/worker.js`): loads the wasm core and answers calls.
 *
 * Protocol: the main thread posts `{ id, call }`, where `call` is a typed message of
 * src/protocol/messages.rs (`{ login: "<options JSON>" }`, `"isAuthenticated"`, ...; the names
 * are in src/contract.json); the worker answers `{ id, ok: true, value }` or `{ id, ok: false,
 * error }`. Events go out as `{ event: { name, detail } }`.
 *
 * Start-up: the page fetches and compiles the wasm while this script loads and posts the
 * `WebAssembly.Module` as `{ wasm }` (or `{ wasm: null }` if it could not); without one, or if it
 * does not instantiate, the worker fetches the .wasm next to itself. Calls that arrive first are
 * queued. If the wasm cannot be loaded at all the worker posts `{ ready: false }`.
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
 * `{ failed: true }` once: the page then rejects every pending and later call with `config` /
 * `worker_failed`. A wasm instance that trapped is in an unknown state, so nothing here tries
 * to go on with it.
 *
 * No top-level await (Vite's default `iife` worker format rejects it), and calls that
 * arrive while the wasm loads are queued, not lost.
 *
 * @packageDocumentation
 */
import init, { WorkerHost } from './oidc_worker.js';

/** The parts of `DedicatedWorkerGlobalScope` used here (the DOM lib has no worker types). */
declare const self: {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'error' | 'unhandledrejection', listener: () => void): void;
};

let failed = false;
const fail = (): void => {
  if (!failed) self.postMessage({ failed: true });
  failed = true;
};
// A trap surfaces as an exception out of the wasm: thrown by a call, rejecting `handle`'s
// promise, or escaping a microtask of wasm-bindgen's futures queue.
self.addEventListener('error', fail);
self.addEventListener('unhandledrejection', fail);

const queued: MessageEvent[] = [];
/** The wasm instantiated: from the page's compiled module if that works, else fetched here. */
const loaded = new Promise<unknown>((resolve) => {
  self.onmessage = (event) => {
    const module = event.data?.wasm;
    if (module === undefined) return void queued.push(event);
    self.onmessage = (later) => void queued.push(later);
    // wasm-bindgen's `init` takes a compiled module as well as a URL (by default the .wasm next
    // to this script: `new URL('oidc_worker_bg.wasm', import.meta.url)`).
    resolve(module instanceof WebAssembly.Module ? init({ module_or_path: module }).catch(() => init()) : init());
  };
});

loaded.then(
  () => {
    const host = new WorkerHost();
    // The core says when to wake it for the proactive refresh (`wake`, a delay in ms that
    // setTimeout can hold, or null): that event is the worker's own; every other one goes to
    // the page.
    let timer: ReturnType<typeof setTimeout> | undefined;
    type Reply = { ok: true; value?: any } | { ok: false; error: object };
    const handle = (call: unknown, request?: object): Promise<Reply> => {
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
    host.setEventListener((text: string) => {
      const event: { name: string; detail: any } = JSON.parse(text);
      if (event.name !== 'wake') return self.postMessage({ event });
      clearTimeout(timer);
      const { delayMs } = event.detail;
      if (delayMs !== null) timer = setTimeout(() => handle('tick').catch(() => {}), delayMs);
    });
    const aborts = new Map<number, AbortController>();
    const serve = ({ data }: MessageEvent): void => {
      if (typeof data?.abort === 'number') {
        aborts.get(data.abort)?.abort();
        return;
      }
      const id = data?.id;
      if (typeof id !== 'number') return;
      let request: object | undefined;
      if (data.call?.fetch) {
        const controller = new AbortController();
        aborts.set(id, controller);
        request = { headers: data.headers, body: data.body, init: data.init, signal: controller.signal };
      }
      handle(data.call, request).then(
        (reply) => {
          aborts.delete(id);
          self.postMessage({ id, ...reply }, request && reply.ok ? [reply.value.body] : []);
        },
        () => {}, // the page fails every call on `{ failed: true }`
      );
    };
    self.onmessage = serve;
    queued.splice(0).forEach(serve);
  },
  () => self.postMessage({ ready: false }),
);
