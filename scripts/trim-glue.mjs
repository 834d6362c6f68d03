// Trims wasm-bindgen's JS glue (pkg/oidc_worker.js, before esbuild bundles it into worker.js) of
// fallbacks for engines the worker never runs in and of a shape of call it never makes. Called
// by scripts/build.sh. Each edit replaces one exact piece of wasm-bindgen 0.2.130's output and
// the script fails if a piece is missing (another wasm-bindgen version needs a look), so nothing
// is trimmed by guess.
//
// The engines: every one that runs this worker has `AbortSignal.timeout` (src/worker/fetch.js),
// hence `FinalizationRegistry` and `ArrayBuffer`s whose `buffer` changes when memory grows.
//
// Usage: node scripts/trim-glue.mjs <glue.js> (rewritten in place).
import { readFileSync, writeFileSync } from 'node:fs';

const [file] = process.argv.slice(2);
let glue = readFileSync(file, 'utf8');

const edits = [
  // worker.ts calls `initSync({ module })`, never with the deprecated bare module.
  [
    `    if (module !== undefined) {
        if (Object.getPrototypeOf(module) === Object.prototype) {
            ({module} = module)
        } else {
            console.warn('using deprecated parameters for \`initSync()\`; pass a single object instead')
        }
    }
`,
    `    ({module} = module);
`,
  ],
  // No engine without FinalizationRegistry runs the worker (the stand-in did nothing anyway).
  [
    `const WorkerHostFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(`,
    `const WorkerHostFinalization = new FinalizationRegistry(`,
  ],
  [
    `const CLOSURE_DTORS = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(`,
    `const CLOSURE_DTORS = new FinalizationRegistry(`,
  ],
  // worker.ts frees its hosts with `free()`; nothing uses them with `using`.
  [`if (Symbol.dispose) WorkerHost.prototype[Symbol.dispose] = WorkerHost.prototype.free;\n`, ''],
  // A grown memory has a new buffer: comparing buffers is enough (the `detached` test only
  // spares that comparison where the engine has the property).
  [
    `if (cachedDataViewMemory0 === null || cachedDataViewMemory0.buffer.detached === true || (cachedDataViewMemory0.buffer.detached === undefined && cachedDataViewMemory0.buffer !== wasm.memory.buffer)) {`,
    `if (cachedDataViewMemory0 === null || cachedDataViewMemory0.buffer !== wasm.memory.buffer) {`,
  ],
];

for (const [piece, replacement] of edits) {
  const at = glue.indexOf(piece);
  if (at < 0 || glue.indexOf(piece, at + 1) >= 0) {
    throw new Error(`trim-glue: expected exactly one of:\n${piece}\n(has wasm-bindgen's output changed?)`);
  }
  glue = glue.replace(piece, () => replacement);
}
writeFileSync(file, glue);
