// Renames the wasm's imports and exports to one- or two-letter names in the wasm-bindgen glue,
// after `wasm-opt --minify-imports-and-exports-and-modules` renamed them in the module (called by
// scripts/build.sh). wasm-bindgen's names (`__wbg_fetchApi_fa941c4ed9a9895a`, ...) carry a hash
// each, which no compressor shrinks, twice: in the .wasm and in worker.js.
//
// Usage: node scripts/minify-names.mjs <map.json> <glue.js> <module.wasm>
//   map.json: what wasm-opt printed, { imports: [[module, name, new name], ...],
//             exports: [[name, new name], ...] } (every import module becomes "a").
// The glue is rewritten in place; then the module's own import and export lists are checked
// against it, and the build fails on any mismatch.
import { readFileSync, writeFileSync } from 'node:fs';

const [mapFile, glueFile, wasmFile] = process.argv.slice(2);
// wasm-opt prints one map per run of the pass (`--converge` runs it again until nothing changes):
// composed here, oldest first, into one from the glue's names to the final ones.
const maps = readFileSync(mapFile, 'utf8').split(/^(?=\{)/m).filter((m) => m.trim()).map((m) => JSON.parse(m));
const compose = (pairs, key, rename) => pairs.map((pair) => {
  let to = pair.at(-1);
  for (const later of maps.slice(1)) to = rename(later[key], to);
  return [...pair.slice(0, -1), to];
});
const map = {
  imports: compose(maps[0].imports, 'imports', (list, name) => list.find(([, from]) => from === name)?.[2] ?? name),
  exports: compose(maps[0].exports, 'exports', (list, name) => list.find(([from]) => from === name)?.[1] ?? name),
};
let glue = readFileSync(glueFile, 'utf8');

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const replace = (pattern, to, what) => {
  const before = glue;
  glue = glue.replace(pattern, to);
  if (glue === before) throw new Error(`minify-names: ${what} not found in ${glueFile}`);
};

const modules = new Set(map.imports.map(([module]) => module));
for (const module of modules) replace(new RegExp(`(["'])${escape(module)}\\1(\\s*:)`, 'g'), '"a"$2', `import module ${module}`);
// Import names are keys of the imports object: `name: function(...)`.
for (const [, name, to] of map.imports) replace(new RegExp(`\\b${escape(name)}(?=\\s*:)`, 'g'), to, `import ${name}`);
// Exports are read as `wasm.name` (those the glue does not use are left alone).
for (const [name, to] of map.exports) {
  const pattern = new RegExp(`\\bwasm\\.${escape(name)}\\b`, 'g');
  if (pattern.test(glue)) glue = glue.replace(pattern, `wasm.${to}`);
}
writeFileSync(glueFile, glue);

// The check: every import the module has is provided, every export the glue reads exists.
const module = new WebAssembly.Module(readFileSync(wasmFile));
const provided = new Set([...glue.matchAll(/^\s*(?:"([^"]+)"|([\w$]+))\s*:/gm)].map((m) => m[1] ?? m[2]));
for (const { module: from, name } of WebAssembly.Module.imports(module)) {
  if (from !== 'a' || !provided.has(name)) throw new Error(`minify-names: import ${from}.${name} is not provided by the glue`);
}
const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
for (const [, name] of glue.matchAll(/\bwasm\.([\w$]+)/g)) {
  if (!exported.has(name)) throw new Error(`minify-names: the glue reads wasm.${name}, which the module does not export`);
}
