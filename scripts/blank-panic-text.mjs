// Blanks the text only panic messages use in the release wasm's data (called by scripts/build.sh
// after wasm-opt), and wasm-bindgen's guard texts (see the end). The release build's panic handler traps without formatting anything
// (src/lib.rs) and stub-panics.mjs made the formatting paths traps, so the source file names of
// panic locations (`/rustc/<hash>/library/...rs`, `~/.cargo/registry/...rs`, `src/...rs`) and
// core's panic message pieces (`index out of bounds: the len is `, ...) are never read. They stay
// in the data segment (wasm-opt cannot cut bytes out of one), so they become zero bytes, which
// gzip all but drops: ~500 B gzip, measured. Offsets do not change: nothing else moves.
//
// Only the data section is touched, only exact message pieces and file-name patterns, and the
// script fails if it finds none of them (a new toolchain would need a look). Then the panic
// locations that point to those file names, each only when nothing in the module refers to it
// (see below; scripts/wasm-binary.mjs reads the code's constants).
//
// Usage: node scripts/blank-panic-text.mjs <module.wasm> (rewritten in place).
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from './wasm-binary.mjs';

const [file] = process.argv.slice(2);
const wasm = readFileSync(file);
const fail = (message) => {
  throw new Error(`blank-panic-text: ${message}`);
};

// The data section's byte range (section id 11), read from the section headers.
const leb = (at) => {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = wasm[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
};
let data;
for (let at = 8; at < wasm.length; ) {
  const id = wasm[at];
  const [size, start] = leb(at + 1);
  if (id === 11) data = [start, start + size];
  at = start + size;
}
if (!data) fail('no data section');

// Latin-1 keeps one character per byte, so string offsets are byte offsets.
const text = wasm.subarray(...data).toString('latin1');
const patterns = [
  /\/rustc\/[0-9a-f]{40}\/library\/[a-z0-9_/]+\.rs/g,
  /\/[A-Za-z0-9_./-]*\/\.cargo\/registry\/src\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]+?\.rs/g,
  /src\/(?:worker|protocol)\/[a-z0-9_/]+\.rs/g,
  ...[
    'slice index starts at ',
    ' but ends at ',
    'index out of bounds: the len is ',
    ' but the index is ',
    'range start index ',
    'range end index ',
    ' out of range for slice of length ',
    'assertion `left ',
    ' right` failed',
    'memory allocation of ',
    ' bytes failed',
    'copy_from_slice: source slice length (',
    ') does not match destination slice length (',
    'internal error: entered unreachable code',
  ].map((piece) => new RegExp(piece.replace(/[.*+?^${}()|[\]\\`]/g, '\\$&'), 'g')),
];
let blanked = 0;
const names = new Set(); // the file names blanked, as `<offset in wasm>:<length>`
for (const [index, pattern] of patterns.entries()) {
  for (const match of text.matchAll(pattern)) {
    wasm.fill(0, data[0] + match.index, data[0] + match.index + match[0].length);
    blanked += match[0].length;
    if (index < 3) names.add(`${data[0] + match.index}:${match[0].length}`);
  }
}
if (blanked === 0) fail('found no panic text: has the toolchain changed what it leaves?');

// The panic locations (`core::panic::Location`: file name pointer and length, line, column;
// 16 bytes, 4-aligned) that point to a file name blanked above, when nothing in the module
// refers to them: no constant or load/store offset in the code, no 4 bytes anywhere in the data
// with an address inside the record. (The panic paths that passed them are traps now; a
// `#[track_caller]` function that read its caller's location would keep a reference, and its
// record.) Their line and column numbers vary, which gzip cannot shrink: ~0.5 KB, measured.
let m;
try {
  m = parse(wasm);
} catch (error) {
  // A module the reader does not know (a new toolchain's instructions or sections): what follows
  // needs every reference in the module, so it is skipped, which costs only size.
  writeFileSync(file, wasm);
  console.log(`blank-panic-text: ${blanked} bytes of panic text blanked; locations and unused text left (${error.message})`);
  process.exit(0);
}
const referenced = new Set(m.constants);
for (const segment of m.data) {
  for (let at = segment.start; at + 4 <= segment.end; at++) referenced.add(wasm.readUInt32LE(at));
}
// The data segment whose initial bytes hold `length` bytes at memory `address`, if one does.
const segmentHolding = (address, length = 1) =>
  m.data.find((s) => address >= s.address && address + length <= s.address + (s.end - s.start));
const offsetOf = (address, length) => {
  const segment = segmentHolding(address, length);
  return segment && segment.start + (address - segment.address);
};
let locations = 0;
for (const segment of m.data) {
  for (let address = Math.ceil(segment.address / 4) * 4; address + 16 <= segment.address + (segment.end - segment.start); address += 4) {
    const at = segment.start + (address - segment.address);
    if (!names.has(`${offsetOf(wasm.readUInt32LE(at), wasm.readUInt32LE(at + 4))}:${wasm.readUInt32LE(at + 4)}`)) continue;
    let used = false;
    for (let a = address; a < address + 16; a++) used ||= referenced.has(a);
    if (used) continue;
    wasm.fill(0, at, at + 16);
    locations++;
  }
}

// More text of core, alloc and js-sys that only the panic paths (traps now) and the formatting
// machinery (stubbed) use, blanked only where nothing refers to it: no reference inside it, and
// none in the printable text just before it (which a longer string there could run on from),
// except a string that provably ends before it: one only data refers to, each time as the
// pointer of a (pointer, length) pair or of a table of pointers followed by their lengths, with
// a length that ends it before the piece (core's `==`, `!=`, `matches` before its digit pairs).
const word = (address) => { // the initial memory, zero outside the segments
  let value = 0;
  for (let i = 3; i >= 0; i--) {
    const segment = segmentHolding(address + i);
    value = value * 256 + (segment ? wasm[segment.start + address + i - segment.address] : 0);
  }
  return value;
};
const inData = (value) => segmentHolding(value) !== undefined;
const code = new Set(m.constants);
const endsBefore = (target, limit) => {
  if (code.has(target)) return false;
  for (const segment of m.data) {
    for (let at = segment.start; at + 4 <= segment.end; at++) {
      if (wasm.readUInt32LE(at) !== target) continue;
      let first = segment.address + (at - segment.start);
      let end = first + 4;
      while (inData(word(first - 4))) first -= 4;
      while (inData(word(end))) end += 4;
      const length = word(segment.address + (at - segment.start) + (end - first));
      if (target + length > limit) return false;
    }
  }
  return true;
};
const unused = [
  '\n  left: ',
  '\n right: ',
  'capacity overflow',
  'attempt to join into collection with len > usize::MAX',
  'LazyCell instance has previously been poisoned',
  '`async fn` resumed after completion',
  'RefCell already mutably borrowed',
  'RefCell already borrowed',
  '0x0123456789ABCDEF',
  'finish: callbacks should be Some',
  'finish: result should be None',
  'mid > len',
  Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0')).join(''), // the digit pairs
];
let messages = 0;
for (const segment of m.data) {
  const bytes = wasm.subarray(segment.start, segment.end);
  for (const piece of unused) {
    for (let at = bytes.indexOf(piece, 0, 'latin1'); at >= 0; at = bytes.indexOf(piece, at + 1, 'latin1')) {
      let from = at;
      while (from > 0 && bytes[from - 1] >= 0x20 && bytes[from - 1] < 0x7f) from--;
      let used = false;
      const start = segment.address + at;
      for (let a = segment.address + from; a < start + piece.length; a++) {
        used ||= referenced.has(a) && (a >= start || !endsBefore(a, start));
      }
      if (used) continue;
      bytes.fill(0, at, at + piece.length);
      messages += piece.length;
    }
  }
}

// wasm-bindgen's and alloc's guard texts, which code does refer to: what a bug in the shell's use
// of wasm-bindgen (a Rust value taken while borrowed, a closure called after it was dropped)
// would throw as the Error's message. Such a bug fails the worker all the same (worker.js then
// fails every call with `worker_failed`); only the console's text of it goes (NUL characters of
// the same length): wasm -188 B gzip -9, measured.
const guards = [
  'attempted to take ownership of Rust value while it was borrowed',
  'null pointer passed to rust',
  'recursive use of an object detected which would lead to unsafe aliasing in rust',
  'closure invoked recursively or after being dropped',
  'FnOnce called more than once',
  'Tried to shrink to a larger capacity',
];
let guarded = 0;
for (const segment of m.data) {
  const bytes = wasm.subarray(segment.start, segment.end);
  for (const piece of guards) {
    for (let at = bytes.indexOf(piece, 0, 'latin1'); at >= 0; at = bytes.indexOf(piece, at + 1, 'latin1')) {
      bytes.fill(0, at, at + piece.length);
      guarded += piece.length;
    }
  }
}
writeFileSync(file, wasm);
console.log(`blank-panic-text: ${blanked} bytes of panic text blanked, ${locations} panic locations, ${messages} bytes of unused text, ${guarded} bytes of guard text`);
