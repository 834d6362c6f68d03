// Replaces with a trap the `core::fmt` Display/Debug functions that only panic messages reach
// (called by scripts/build.sh on wasm-bindgen's output, before wasm-opt).
//
// The release build's panic handler traps without formatting anything (src/lib.rs), yet every
// panic site still builds its `fmt::Arguments` in memory before calling it, with pointers (table
// entries) to the formatting functions of its arguments: `<u32 as Display>::fmt` for an index out
// of bounds, `<BorrowError as Display>::fmt` for a RefCell, ... wasm-opt must keep stores that
// precede a trap, so those table entries, and through them `Formatter::pad`, `pad_integral`,
// `fmt::write` and their helpers (~3 KB), stayed in the module, never to run. Each such function
// is checked to be called by no instruction (only ever through the table, from a formatting
// that never happens) and its body becomes `unreachable`; wasm-opt then drops what only it used.
//
// Usage: node scripts/stub-fmt.mjs <module.wasm> (rewritten in place; it must have its name
// section, as wasm-bindgen writes it, with demangled names).
import { readFileSync, writeFileSync } from 'node:fs';
import binaryen from 'binaryen';

const [file] = process.argv.slice(2);
if (binaryen.ready) await binaryen.ready;
binaryen.setDebugInfo(true); // keep the names for wasm-opt's own reports; it strips them
const module = binaryen.readBinary(readFileSync(file));
const text = module.emitText();

const FORMAT = /^<.+ as core(\[[0-9a-f]+\])?::fmt::(Display|Debug)>::fmt$/;
// Who calls whom, by name, from the text form (`(func $name` opens a function at the top level).
const unquote = (n) => (n.startsWith('"') ? JSON.parse(n) : n);
const callers = new Map();
let current;
for (const line of text.split('\n')) {
  const open = /^ \(func \$("(?:[^"\\]|\\.)*"|[^\s()]+)/.exec(line);
  if (open) current = unquote(open[1]);
  for (const [, callee] of line.matchAll(/\((?:return_)?call \$("(?:[^"\\]|\\.)*"|[^\s()]+)/g)) {
    const name = unquote(callee);
    if (!callers.has(name)) callers.set(name, new Set());
    callers.get(name).add(current);
  }
}
// A formatting function every caller of which is stubbed (or that only the table reaches) is
// stubbed in turn, until none is left.
const stubbed = [];
const done = new Set();
for (let changed = true; changed; ) {
  changed = false;
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const func = module.getFunctionByIndex(i);
    const { name, body } = binaryen.getFunctionInfo(func);
    if (!body || done.has(name) || !FORMAT.test(name)) continue; // (imports have no body)
    if ([...(callers.get(name) ?? [])].some((caller) => !done.has(caller))) continue;
    binaryen.Function.setBody(func, module.unreachable());
    done.add(name);
    stubbed.push(name);
    changed = true;
  }
}
// The formatting itself (`core::fmt::write`) must now be reached from stubs only: no other code
// formats anything.
for (const [name, from] of callers) {
  if (/::fmt::write$/.test(name) && [...from].some((caller) => !done.has(caller))) {
    throw new Error(`stub-fmt: ${name} is called by ${[...from].filter((c) => !done.has(c)).join(', ')}`);
  }
}
if (stubbed.length === 0) throw new Error('stub-fmt: no formatting function found (no name section?)');
if (!module.validate()) throw new Error('stub-fmt: the module does not validate');
writeFileSync(file, module.emitBinary());
console.error(`stub-fmt: replaced with a trap: ${stubbed.join(', ')}`);
