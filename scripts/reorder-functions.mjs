// Reorders the functions of the release wasm for gzip (called last by scripts/build.sh, on the
// finished module). deflate finds repeats only within 32 KiB back, and wasm-opt keeps the
// compiler's order, so similar bodies far apart compress as if unrelated. The order of the
// functions is no part of what the module does: a function is known by its index, and here every
// index is renumbered consistently (calls, `ref.func`, exports, the table's element segment,
// globals' initializers); no body changes otherwise.
//
// Candidate orders (the module's own; by size class, similar bytes next to each other, with or
// without the functions of one type together), then a short deterministic local search (moves
// of one function, kept when the module gets no larger); the smallest by `gzip -9`, the size
// scripts/build.sh reports, is written.
//
// Checked first: the module is read and written back byte for byte (every instruction
// understood); a module it cannot read so (a section it does not know how to renumber, such as
// custom sections, a start function or other element segment forms, or instructions of a newer
// toolchain) is left as it is, with a warning: only size is lost. Checked before anything is
// written, or the build fails: the new module validates (`WebAssembly.validate`); and renumbered
// back, it is the original byte for byte (so only the order changed).
//
// Usage: node scripts/reorder-functions.mjs <module.wasm> [local search steps, default 600]
// (rewritten in place).
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { leb, parse } from './wasm-binary.mjs';

const [file, stepsArg] = process.argv.slice(2);
const steps = stepsArg === undefined ? 600 : Number(stepsArg);
const fail = (message) => {
  throw new Error(`reorder-functions: ${message}`);
};

// The module with its defined functions in `order` (a permutation of their positions).
const emit = (m, order) => {
  const position = [];
  order.forEach((old, index) => {
    position[old] = index;
  });
  const n = m.types.length;
  if (order.length !== n || new Set(order).size !== n || !order.every((i) => Number.isInteger(i) && i >= 0 && i < n)) {
    fail('not a permutation');
  }
  const index = (i) => leb(i < m.imported ? i : m.imported + position[i - m.imported]);
  const expr = (chunks) => Buffer.concat(chunks.map((c) => (typeof c === 'number' ? index(c) : c)));
  const vec = (items) => Buffer.concat([leb(items.length), ...items]);
  const payload = {
    3: () => vec(order.map((i) => leb(m.types[i]))),
    6: () => vec(m.globals.map((g) => Buffer.concat([g.type, expr(g.init)]))),
    7: () => vec(m.exports.map((e) => Buffer.concat([e.name, Buffer.from([e.kind]), e.kind === 0 ? index(e.index) : leb(e.index)]))),
    9: () => vec(m.elements.map((e) => Buffer.concat([leb(0), expr(e.offset), vec(e.funcs.map(index))]))),
    10: () => vec(order.map((i) => {
      const body = Buffer.concat([m.bodies[i].locals, expr(m.bodies[i].chunks)]);
      return Buffer.concat([leb(body.length), body]);
    })),
  };
  const out = [m.wasm.subarray(0, 8)];
  for (const s of m.sections) {
    const bytes = payload[s.id]?.() ?? m.wasm.subarray(s.start, s.end);
    out.push(Buffer.from([s.id]), leb(bytes.length), bytes);
  }
  return Buffer.concat(out);
};

const wasm = readFileSync(file);
// A module the reader does not know (a new toolchain's instructions or sections) or cannot write
// back byte for byte keeps its order: that costs only size, so the build goes on.
const skip = (message) => {
  console.error(`reorder-functions: skipped, the order left as it is (${message})`);
  process.exit(0);
};
let m;
try {
  m = parse(wasm);
} catch (error) {
  skip(error.message);
}
const identity = m.types.map((_, i) => i);
if (!emit(m, identity).equals(wasm)) skip('the module does not read back byte for byte');

const gzip = (bytes) => execFileSync('gzip', ['-9'], { input: bytes, maxBuffer: 1 << 26 }).length;
const size = (i) => m.bodies[i].locals.length + m.bodies[i].chunks.reduce((n, c) => n + (typeof c === 'number' ? 2 : c.length), 0);
const code = (i) => Buffer.concat([m.bodies[i].locals, ...m.bodies[i].chunks.filter((c) => typeof c !== 'number')]);
// Size classes (a fraction of log2 of the body's size), ascending; in a class, by bytes, or by
// type and then bytes (which measured best here).
const classes = (k, byType) => {
  const cls = identity.map((i) => Math.floor(Math.log2(size(i)) * k));
  const type = (a, b) => (byType ? m.types[a] - m.types[b] : 0);
  return identity.slice().sort((a, b) => cls[a] - cls[b] || type(a, b) || Buffer.compare(code(a), code(b)) || a - b);
};
let best = { order: identity, bytes: gzip(wasm) };
const before = best.bytes;
const consider = (order) => {
  const bytes = gzip(emit(m, order));
  if (bytes < best.bytes) best = { order, bytes };
};
for (const k of [0.5, 0.75, 1, 1.5, 2]) [false, true].forEach((byType) => consider(classes(k, byType)));
consider(identity.slice().sort((a, b) => size(a) - size(b) || a - b));
// The local search: a function moved elsewhere (near or anywhere), kept when no larger.
let seed = 1;
const random = (n) => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed >>> 8) % n;
};
for (let step = 0, n = identity.length; step < steps; step++) {
  const order = best.order.slice();
  const from = random(n);
  const [moved] = order.splice(from, 1);
  order.splice(random(2) ? random(n) : Math.max(0, Math.min(n - 1, from + random(41) - 20)), 0, moved);
  const bytes = gzip(emit(m, order));
  if (bytes <= best.bytes) best = { order, bytes };
}

const out = emit(m, best.order);
if (!WebAssembly.validate(out)) fail('the reordered module does not validate');
const back = parse(out);
const undo = [];
best.order.forEach((old, i) => {
  undo[old] = i;
});
if (!emit(back, undo).equals(wasm)) fail('the reordered module is not a renumbering of the original');
writeFileSync(file, out);
console.error(`reorder-functions: ${m.types.length} functions, gzip -9 ${before} -> ${best.bytes} B`);
