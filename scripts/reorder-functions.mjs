// Reorders the functions of the release wasm for gzip (called last by scripts/build.sh, on the
// finished module). deflate finds repeats only within 32 KiB back, and wasm-opt keeps the
// compiler's order, so similar bodies far apart compress as if unrelated. The order of the
// functions is no part of what the module does: a function is known by its index, and here every
// index is renumbered consistently (calls, `ref.func`, exports, the table's element segment,
// globals' initializers); no body changes otherwise.
//
// Candidate orders (the module's own; by size class, similar bytes next to each other), then a
// short deterministic local search (moves of one function, kept when the module gets smaller);
// the smallest by `gzip -9`, the size scripts/build.sh reports, is written.
//
// Checked before anything is written, or the build fails: the module is read and written back
// byte for byte (every instruction understood); the new module validates
// (`WebAssembly.validate`); and renumbered back, it is the original byte for byte (so only the
// order changed). Any section this does not know how to renumber (custom sections such as names,
// a start function, other element segment forms) fails it too.
//
// Usage: node scripts/reorder-functions.mjs <module.wasm> [local search steps, default 600]
// (rewritten in place).
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const [file, stepsArg] = process.argv.slice(2);
const steps = stepsArg === undefined ? 600 : Number(stepsArg);
const fail = (message) => {
  throw new Error(`reorder-functions: ${message}`);
};

const reader = (buf, at) => {
  const r = {
    at,
    u8() {
      if (r.at >= buf.length) fail('unexpected end');
      return buf[r.at++];
    },
    u() { // unsigned LEB128
      let value = 0;
      for (let shift = 0; ; shift += 7) {
        const byte = r.u8();
        value += (byte & 0x7f) * 2 ** shift;
        if (byte < 0x80) return value;
      }
    },
    skip() { // any LEB128
      while (r.u8() & 0x80);
    },
  };
  return r;
};
const leb = (value) => {
  const out = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value) byte |= 0x80;
    out.push(byte);
  } while (value);
  return Buffer.from(out);
};

// An expression (a body after its locals, or a constant expression) cut into byte runs and the
// function indices between them (numbers): [chunks, offset after its final `end`]. Every opcode
// of the features the module uses is known; any other fails.
const expression = (buf, at, end) => {
  const r = reader(buf, at);
  const chunks = [];
  let from = at;
  let depth = 0;
  while (r.at < end) {
    const op = r.u8();
    if ([0x00, 0x01, 0x05, 0x0f, 0x1a, 0x1b, 0xd1].includes(op) || (op >= 0x45 && op <= 0xc4)) continue;
    if (op >= 0x02 && op <= 0x04) { // block, loop, if: a block type
      r.skip();
      depth++;
    } else if (op === 0x0b) { // end
      if (depth-- === 0) {
        chunks.push(buf.subarray(from, r.at));
        return [chunks, r.at];
      }
    } else if (op === 0x10 || op === 0x12 || op === 0xd2) { // call, return_call, ref.func
      chunks.push(buf.subarray(from, r.at), r.u());
      from = r.at;
    } else if (op === 0x0c || op === 0x0d || (op >= 0x20 && op <= 0x26) || op === 0x41 || op === 0x42) {
      r.skip(); // br, br_if, local/global/table get/set/tee, i32/i64.const
    } else if (op === 0x0e) { // br_table
      for (let n = r.u(); n >= 0; n--) r.skip();
    } else if (op === 0x11 || op === 0x13) { // call_indirect, return_call_indirect
      r.skip();
      r.skip();
    } else if (op === 0x1c) { // select with types
      for (let n = r.u(); n > 0; n--) r.u8();
    } else if (op >= 0x28 && op <= 0x3e) { // loads and stores: align, offset
      if (r.u() & 0x40) fail('multiple memories');
      r.skip();
    } else if (op === 0x3f || op === 0x40) { // memory.size, memory.grow
      if (r.u8() !== 0) fail('multiple memories');
    } else if (op === 0x43 || op === 0x44) { // f32/f64.const
      r.at += op === 0x43 ? 4 : 8;
    } else if (op === 0xd0) { // ref.null
      if (![0x70, 0x6f].includes(r.u8())) fail('ref.null type');
    } else if (op === 0xfc) {
      const sub = r.u();
      if (sub <= 7) continue; // saturating truncations
      else if (sub === 8) { // memory.init
        r.skip();
        if (r.u8() !== 0) fail('multiple memories');
      } else if (sub === 10) { // memory.copy
        if (r.u8() !== 0 || r.u8() !== 0) fail('multiple memories');
      } else if (sub === 11) { // memory.fill
        if (r.u8() !== 0) fail('multiple memories');
      } else if (sub === 9 || sub === 13 || (sub >= 15 && sub <= 17)) r.skip(); // data/elem.drop, table.grow/size/fill
      else if (sub === 12 || sub === 14) { // table.init, table.copy
        r.skip();
        r.skip();
      } else fail(`opcode 0xfc ${sub}`);
    } else fail(`opcode 0x${op.toString(16)} at ${r.at - 1}`);
  }
  return fail('an expression without end');
};

const parse = (wasm) => {
  if (wasm.readUInt32LE(0) !== 0x6d736100 || wasm.readUInt32LE(4) !== 1) fail('not a wasm module');
  const sections = [];
  for (const r = reader(wasm, 8); r.at < wasm.length; ) {
    const id = r.u8();
    const size = r.u();
    sections.push({ id, start: r.at, end: r.at + size });
    r.at += size;
  }
  const section = (id) => sections.find((s) => s.id === id);
  for (const { id } of sections) if (![1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12].includes(id)) fail(`section ${id}`);
  let imported = 0; // imported functions come first in the index space
  if (section(2)) {
    const r = reader(wasm, section(2).start);
    for (let n = r.u(); n > 0; n--) {
      for (let name = 0; name < 2; name++) {
        const length = r.u();
        r.at += length;
      }
      const kind = r.u8();
      if (kind === 0) {
        r.skip();
        imported++;
      } else if (kind === 1 || kind === 2) { // table, memory: [reftype] limits
        if (kind === 1) r.u8();
        const flags = r.u();
        r.skip();
        if (flags & 1) r.skip();
      } else if (kind === 3) { // global
        r.u8();
        r.u8();
      } else fail(`import kind ${kind}`);
    }
  }
  if (section(4)) { // tables: no initializer expressions (they could hold ref.func)
    const r = reader(wasm, section(4).start);
    for (let n = r.u(); n > 0; n--) {
      if (r.u8() === 0x40) fail('a table with an initializer');
      const flags = r.u();
      r.skip();
      if (flags & 1) r.skip();
    }
  }
  const types = [];
  const f = reader(wasm, section(3).start);
  for (let n = f.u(); n > 0; n--) types.push(f.u());
  const bodies = [];
  const c = reader(wasm, section(10).start);
  if (c.u() !== types.length) fail('function and code sections differ');
  for (const _ of types) {
    const size = c.u();
    const start = c.at;
    const r = reader(wasm, start);
    for (let n = r.u(); n > 0; n--) {
      r.skip();
      r.u8();
    }
    const [chunks, end] = expression(wasm, r.at, start + size);
    if (end !== start + size) fail('a body longer than its code');
    bodies.push({ locals: wasm.subarray(start, r.at), chunks });
    c.at = end;
  }
  const exports = [];
  if (section(7)) {
    const r = reader(wasm, section(7).start);
    for (let n = r.u(); n > 0; n--) {
      const from = r.at;
      const length = r.u();
      r.at += length;
      const name = wasm.subarray(from, r.at);
      exports.push({ name, kind: r.u8(), index: r.u() });
    }
  }
  const elements = [];
  if (section(9)) {
    const r = reader(wasm, section(9).start);
    for (let n = r.u(); n > 0; n--) {
      const flags = r.u();
      if (flags !== 0) fail(`element segment form ${flags}`); // active, table 0, function indices
      const [offset, end] = expression(wasm, r.at, section(9).end);
      r.at = end;
      const funcs = [];
      for (let m = r.u(); m > 0; m--) funcs.push(r.u());
      elements.push({ offset, funcs });
    }
  }
  const globals = [];
  if (section(6)) {
    const r = reader(wasm, section(6).start);
    for (let n = r.u(); n > 0; n--) {
      const type = wasm.subarray(r.at, r.at + 2);
      r.u8();
      r.u8();
      const [init, end] = expression(wasm, r.at, section(6).end);
      r.at = end;
      globals.push({ type, init });
    }
  }
  return { wasm, sections, imported, types, bodies, exports, elements, globals };
};

// The module with its defined functions in `order` (a permutation of their positions).
const emit = (m, order) => {
  const position = [];
  order.forEach((old, index) => {
    position[old] = index;
  });
  if (order.length !== m.types.length || position.filter((p) => p !== undefined).length !== order.length) {
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
const m = parse(wasm);
const identity = m.types.map((_, i) => i);
if (!emit(m, identity).equals(wasm)) fail('the module does not read back byte for byte');

const gzip = (bytes) => execFileSync('gzip', ['-9'], { input: bytes, maxBuffer: 1 << 26 }).length;
const size = (i) => m.bodies[i].locals.length + m.bodies[i].chunks.reduce((n, c) => n + (typeof c === 'number' ? 2 : c.length), 0);
const code = (i) => Buffer.concat([m.bodies[i].locals, ...m.bodies[i].chunks.filter((c) => typeof c !== 'number')]);
// Size classes (a fraction of log2 of the body's size), ascending; in a class, by bytes.
const classes = (k) => {
  const cls = identity.map((i) => Math.floor(Math.log2(size(i)) * k));
  return identity.slice().sort((a, b) => cls[a] - cls[b] || Buffer.compare(code(a), code(b)) || a - b);
};
let best = { order: identity, bytes: gzip(wasm) };
const before = best.bytes;
const consider = (order) => {
  const bytes = gzip(emit(m, order));
  if (bytes < best.bytes) best = { order, bytes };
};
[0.5, 0.75, 1, 1.5, 2].forEach((k) => consider(classes(k)));
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
