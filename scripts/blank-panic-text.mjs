// Blanks the text only panic messages use in the release wasm's data (called by scripts/build.sh
// after wasm-opt). The release build's panic handler traps without formatting anything
// (src/lib.rs) and stub-panics.mjs made the formatting paths traps, so the source file names of
// panic locations (`/rustc/<hash>/library/...rs`, `~/.cargo/registry/...rs`, `src/...rs`) and
// core's panic message pieces (`index out of bounds: the len is `, ...) are never read. They stay
// in the data segment (wasm-opt cannot cut bytes out of one), so they become zero bytes, which
// gzip all but drops: ~500 B gzip, measured. Offsets do not change: nothing else moves.
//
// Only the data section is touched, only exact message pieces and file-name patterns, and the
// script fails if it finds none of them (a new toolchain would need a look).
//
// Usage: node scripts/blank-panic-text.mjs <module.wasm> (rewritten in place).
import { readFileSync, writeFileSync } from 'node:fs';

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
for (const pattern of patterns) {
  for (const match of text.matchAll(pattern)) {
    wasm.fill(0, data[0] + match.index, data[0] + match.index + match[0].length);
    blanked += match[0].length;
  }
}
if (blanked === 0) fail('found no panic text: has the toolchain changed what it leaves?');
writeFileSync(file, wasm);
console.log(`blank-panic-text: ${blanked} bytes of panic text blanked`);
