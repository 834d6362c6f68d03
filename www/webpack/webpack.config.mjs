// Nothing for the worker or the .wasm: webpack 5 bundles `new Worker(new URL('./worker.js',
// import.meta.url))` as a separate chunk and emits `new URL('oidc_worker_bg.wasm', import.meta.url)`
// as an asset on its own.
import { fileURLToPath } from 'node:url';

export default {
  mode: 'production',
  entry: './src/index.js',
  output: { path: fileURLToPath(new URL('dist', import.meta.url)), clean: true },
};
