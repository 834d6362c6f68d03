// A reader of the finished release wasm for the build's post-processing scripts
// (reorder-functions.mjs, blank-panic-text.mjs): sections, function bodies cut at their function
// indices, exports, the table's element segments, globals, data segments, and every constant
// the code holds. It knows every instruction of the features the module uses (MVP, sign
// extension, saturating truncations, bulk memory, reference types, multi-value) and fails on
// anything else, as on any section it does not know (custom sections such as names included).
const fail = (message) => {
  throw new Error(`wasm-binary: ${message}`);
};

export const reader = (buf, at) => {
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
    s() { // signed LEB128, as a BigInt
      let value = 0n;
      let shift = 0n;
      for (;;) {
        const byte = r.u8();
        value |= BigInt(byte & 0x7f) << shift;
        shift += 7n;
        if (byte < 0x80) return byte & 0x40 ? value - (1n << shift) : value;
      }
    },
  };
  return r;
};
export const leb = (value) => {
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
export const expression = (buf, at, end, constants) => {
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
    } else if (op === 0x41 || op === 0x42) { // i32/i64.const: as an address, the low 32 bits
      const value = r.s();
      constants?.push(Number(BigInt.asUintN(32, value)));
    } else if (op === 0x0c || op === 0x0d || (op >= 0x20 && op <= 0x26)) {
      r.skip(); // br, br_if, local/global/table get/set/tee
    } else if (op === 0x0e) { // br_table
      for (let n = r.u(); n >= 0; n--) r.skip();
    } else if (op === 0x11 || op === 0x13) { // call_indirect, return_call_indirect
      r.skip();
      r.skip();
    } else if (op === 0x1c) { // select with types
      for (let n = r.u(); n > 0; n--) r.u8();
    } else if (op >= 0x28 && op <= 0x3e) { // loads and stores: align, offset
      if (r.u() & 0x40) fail('multiple memories');
      const offset = r.u();
      constants?.push(offset);
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

export const parse = (wasm) => {
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
  const constants = []; // every i32/i64.const (low 32 bits) and load/store offset in the code
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
    const [chunks, end] = expression(wasm, r.at, start + size, constants);
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
      const [init, end] = expression(wasm, r.at, section(6).end, constants);
      r.at = end;
      globals.push({ type, init });
    }
  }
  const data = []; // active segments of memory 0: { address, start, end } (bytes in `wasm`)
  if (section(11)) {
    const r = reader(wasm, section(11).start);
    for (let n = r.u(); n > 0; n--) {
      if (r.u() !== 0) fail('a data segment that is not active in memory 0');
      const address = [];
      const [, end] = expression(wasm, r.at, section(11).end, address);
      if (end - r.at < 2 || wasm[r.at] !== 0x41 || address.length !== 1) fail('a data segment offset that is no constant');
      r.at = end;
      const size = r.u();
      data.push({ address: address[0], start: r.at, end: r.at + size });
      r.at += size;
    }
  }
  return { wasm, sections, imported, types, bodies, exports, elements, globals, constants, data };
};
