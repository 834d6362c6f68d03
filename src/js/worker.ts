/**
 * The module worker entry (`pkg/worker.js`): loads the wasm core and answers calls.
 *
 * Protocol: the main thread posts `{ id, call }`, where `call` is `{ type, ... }`; the worker
 * answers `{ id, ok: true, value }` or `{ id, ok: false, error }`. When the wasm is ready the
 * worker posts `{ ready: true }` (or `{ ready: false }` if it could not load). Events go out
 * as `{ event: { name, detail } }`.
 *
 * `auth.fetch` posts `{ id, call: { type: 'fetch', url, method }, headers, body, init }` (the
 * headers as `[name, value]` pairs, the body an ArrayBuffer, transferred) and `{ abort: id }` when the page's signal
 * fires; the answer's `value` is `{ status, statusText, headers, body }`, the body transferred
 * back.
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
};

const queued: MessageEvent[] = [];
self.onmessage = (event) => {
  queued.push(event);
};

init().then(
  () => {
    const host = new WorkerHost();
    // The core says when to wake it for the proactive refresh (`wake`, a delay in ms that
    // setTimeout can hold, or null): that event is the worker's own; every other one goes to
    // the page.
    let timer: ReturnType<typeof setTimeout> | undefined;
    host.setEventListener((text: string) => {
      const event = JSON.parse(text);
      if (event.name !== 'wake') return self.postMessage({ event });
      clearTimeout(timer);
      const { delayMs } = event.detail;
      if (delayMs !== null) timer = setTimeout(() => host.handle('{"type":"tick"}', undefined), delayMs);
    });
    const aborts = new Map<number, AbortController>();
    const serve = ({ data }: MessageEvent): void => {
      if (typeof data?.abort === 'number') {
        aborts.get(data.abort)?.abort();
        return;
      }
      const id = data?.id;
      if (typeof id !== 'number') return;
      let call: string;
      try {
        call = JSON.stringify(data.call) ?? '';
      } catch {
        call = ''; // answered with a `config` error
      }
      let request;
      if (data.call?.type === 'fetch') {
        const controller = new AbortController();
        aborts.set(id, controller);
        request = { headers: data.headers, body: data.body, init: data.init, signal: controller.signal };
      }
      host.handle(call, request).then((reply: string | { body: ArrayBuffer }) => {
        aborts.delete(id);
        if (typeof reply === 'string') self.postMessage({ id, ...JSON.parse(reply) });
        else self.postMessage({ id, ok: true, value: reply }, [reply.body]);
      });
    };
    self.onmessage = serve;
    queued.splice(0).forEach(serve);
    self.postMessage({ ready: true });
  },
  () => self.postMessage({ ready: false }),
);
