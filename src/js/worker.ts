/**
 * The module worker entry (`pkg/worker.js`): loads the wasm core and answers calls.
 *
 * Protocol: the main thread posts `{ id, call }`, where `call` is `{ type, ... }`; the worker
 * answers `{ id, ok: true, value }` or `{ id, ok: false, error }`. When the wasm is ready the
 * worker posts `{ ready: true }` (or `{ ready: false }` if it could not load).
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
    host.setEventListener((event: string) => self.postMessage({ event: JSON.parse(event) }));
    const serve = ({ data }: MessageEvent): void => {
      const id = data?.id;
      if (typeof id !== 'number') return;
      let call: string;
      try {
        call = JSON.stringify(data.call) ?? '';
      } catch {
        call = ''; // answered with a `config` error
      }
      host.handle(call).then((reply: string) => {
        self.postMessage({ id, ...JSON.parse(reply) });
      });
    };
    self.onmessage = serve;
    queued.splice(0).forEach(serve);
    self.postMessage({ ready: true });
  },
  () => self.postMessage({ ready: false }),
);
