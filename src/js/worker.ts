/**
 * The module worker entry (`pkg/worker.js`): loads the wasm core and answers calls.
 *
 * Protocol: the main thread posts a call object (`{ type, ... }`) with one `MessagePort`
 * transferred alongside; the worker answers once on that port with
 * `{ ok: true, value }` or `{ ok: false, error }` and closes it. When the wasm is ready the
 * worker posts `{ ready: true }` (or `{ ready: false }` if it could not load) to its parent.
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
  postMessage(message: unknown): void;
};

const queued: MessageEvent[] = [];
self.onmessage = (event) => {
  queued.push(event);
};

init().then(
  () => {
    const host = new WorkerHost();
    const serve = ({ data, ports: [port] }: MessageEvent): void => {
      if (!port) return;
      let call: string;
      try {
        call = JSON.stringify(data) ?? '';
      } catch {
        call = ''; // answered with a `config` error
      }
      host.handle(call).then((reply: string) => {
        port.postMessage(JSON.parse(reply));
        port.close();
      });
    };
    self.onmessage = serve;
    queued.splice(0).forEach(serve);
    self.postMessage({ ready: true });
  },
  () => self.postMessage({ ready: false }),
);
