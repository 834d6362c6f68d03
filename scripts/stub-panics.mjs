// Makes plain traps of the panic paths of the release wasm (called by scripts/build.sh on
// wasm-bindgen's output, before wasm-opt). The release build's panic handler traps without
// formatting anything (src/lib.rs), so every panic already ends in a trap; what it left in the
// module is dead weight wasm-opt cannot remove by itself (it must keep any store before a trap):
//
// 1. The panic entry points of core and alloc (`panic_fmt`, `panic_bounds_check`,
//    `slice_index_fail`, `panic_already_borrowed`, `handle_alloc_error`, ...), which never
//    return (`-> !`) and end in the handler, build a `fmt::Arguments` first. Their bodies become
//    `unreachable`: the same trap at once, and their callers' message and location arguments
//    become dead. Checked first: none of them reaches an import (JS) or an indirect call on its
//    way to the trap, so nothing observable is skipped.
// 2. The `core::fmt` Display/Debug functions that only panic messages point to (through the
//    table: `<u32 as Display>::fmt` for an index, `<BorrowError as Display>::fmt`, ...), and
//    through them `Formatter::pad`, `pad_integral`, `fmt::write` (~3 KB): each one no
//    instruction calls, except other such stubs, becomes `unreachable`, and nothing else may call
//    `fmt::write` (nothing in the module formats text).
//
// Usage: node scripts/stub-panics.mjs <module.wasm> (rewritten in place; it must have its name
// section, as wasm-bindgen writes it, with demangled names).
import { readFileSync, writeFileSync } from 'node:fs';
import binaryen from 'binaryen';

const [file] = process.argv.slice(2);
if (binaryen.ready) await binaryen.ready;
binaryen.setDebugInfo(true); // keep the names for wasm-opt's own reports; it strips them
const module = binaryen.readBinary(readFileSync(file));
const fail = (message) => {
  throw new Error(`stub-panics: ${message}`);
};

// Who calls whom, by name, from the text form (`(func $name` opens a function at the top level).
const unquote = (n) => (n.startsWith('"') ? JSON.parse(n) : n);
const callers = new Map();
const callees = new Map();
const indirect = new Set(); // functions with a call_indirect
let current;
for (const line of module.emitText().split('\n')) {
  const open = /^ \(func \$("(?:[^"\\]|\\.)*"|[^\s()]+)/.exec(line);
  if (open) callees.set((current = unquote(open[1])), new Set());
  if (/\((?:return_)?call_(?:indirect|ref)\b/.test(line)) indirect.add(current);
  for (const [, callee] of line.matchAll(/\((?:return_)?call \$("(?:[^"\\]|\\.)*"|[^\s()]+)/g)) {
    const name = unquote(callee);
    if (!callers.has(name)) callers.set(name, new Set());
    callers.get(name).add(current);
    callees.get(current).add(name);
  }
}

const functions = [];
for (let i = 0; i < module.getNumFunctions(); i++) {
  const func = module.getFunctionByIndex(i);
  const { name, body } = binaryen.getFunctionInfo(func);
  functions.push({ func, name, imported: !body });
}
const imported = new Set(functions.filter((f) => f.imported).map((f) => f.name));
const done = new Set();
const stub = (f) => {
  binaryen.Function.setBody(f.func, module.unreachable());
  done.add(f.name);
};

// 1. The panic entry points (all `-> !`).
const PANIC = new RegExp(
  '^(core(\\[[0-9a-f]+\\])?::(panicking::|slice::index::slice_index_fail$|slice::copy_from_slice_impl::len_mismatch_fail$|' +
    'cell::panic_already_(mutably_)?borrowed$|cell::lazy::panic_poisoned$|option::(expect|unwrap)_failed$|result::unwrap_failed$)' +
    '|alloc(\\[[0-9a-f]+\\])?::(raw_vec::(handle_error|capacity_overflow)|alloc::handle_alloc_error)$' +
    '|__rustc(\\[[0-9a-f]+\\])?::(__rust_alloc_error_handler|__rdl_alloc_error_handler|rust_begin_unwind)$)',
);
const panics = functions.filter((f) => !f.imported && PANIC.test(f.name));
for (const f of panics) {
  // Everything it may run before the trap: no import, no indirect call.
  const seen = new Set([f.name]);
  for (const name of seen) {
    if (imported.has(name)) fail(`${f.name} reaches the import ${name}`);
    if (indirect.has(name)) fail(`${f.name} reaches an indirect call in ${name}`);
    for (const callee of callees.get(name) ?? []) seen.add(callee);
  }
}
if (!panics.some((f) => /::panic_fmt$/.test(f.name))) fail('no panic_fmt (no name section?)');
panics.forEach(stub);

// 2. The formatting functions only stubs (or the table) reach, until none is left.
const FORMAT = /^<.+ as core(\[[0-9a-f]+\])?::fmt::(Display|Debug)>::fmt$/;
for (let changed = true; changed; ) {
  changed = false;
  for (const f of functions) {
    if (f.imported || done.has(f.name) || !FORMAT.test(f.name)) continue;
    if ([...(callers.get(f.name) ?? [])].some((caller) => !done.has(caller))) continue;
    stub(f);
    changed = true;
  }
}
for (const [name, from] of callers) {
  const others = [...from].filter((caller) => !done.has(caller));
  if (/::fmt::write$/.test(name) && others.length) fail(`${name} is called by ${others.join(', ')}`);
}

if (!module.validate()) fail('the module does not validate');
writeFileSync(file, module.emitBinary());
console.error(`stub-panics: ${done.size} functions made traps`);
