// The TypeScript side of src/contract.json, the one list of the names the worker and the client
// share (tests/contract.rs holds the Rust side to it): the option names, error codes, event
// names and error fields of the built types (pkg/index.d.ts), the callback parameters and the
// calls of src/js/index.ts and src/worker/worker.ts, the reasons the main thread makes, and the
// README's option, event and error tables.
//
//   bash scripts/build.sh && node --test tests/contract/contract.test.mjs

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (path) => readFileSync(join(ROOT, path), 'utf8');
const contract = JSON.parse(read('src/contract.json'));
const sorted = (names) => [...new Set(names)].sort();

/** The property names of `interface NAME { ... }` (members at 2-space indent; TSDoc skipped). */
function interfaceKeys(text, name) {
  const start = text.indexOf(`interface ${name} {`);
  assert.ok(start >= 0, `interface ${name}`);
  const body = text.slice(start, text.indexOf('\n}', start));
  return [...body.matchAll(/^ {4}(\w+)\??:/gm)].map((m) => m[1]);
}

/** The string literals of a `'a' | 'b'` union `type NAME = ...;`. */
function unionMembers(text, name) {
  const start = text.indexOf(`type ${name} =`);
  assert.ok(start >= 0, `type ${name}`);
  return [...text.slice(start, text.indexOf(';', start)).matchAll(/'([^']+)'/g)].map((m) => m[1]);
}

/** The rows of the first Markdown table after `heading`: arrays of cells. */
function tableAfter(text, heading) {
  const start = text.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, heading);
  const lines = text.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split(' | ').map((c) => c.trim()));
  }
  return rows;
}

/** `text` without parenthesised asides (nested ones too). */
function withoutAsides(text) {
  let out = '';
  let depth = 0;
  for (const c of text) {
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0) out += c;
  }
  return out;
}

const backticked = (text) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

describe('src/contract.json: the TypeScript side', () => {
  const dts = join(ROOT, 'pkg/index.d.ts');
  const types = () => {
    assert.ok(existsSync(dts), 'pkg/index.d.ts is not built: run bash scripts/build.sh first');
    return readFileSync(dts, 'utf8');
  };
  const index = read('src/js/index.ts');
  const worker = read('src/worker/worker.ts');

  it('AuthClientOptions has exactly the options (the worker\'s and the main thread\'s)', () => {
    assert.deepEqual(sorted(interfaceKeys(types(), 'AuthClientOptions')), sorted([...contract.options, ...contract.mainThreadOptions]));
  });

  it('AuthErrorCode is exactly the error codes (the worker\'s and the main thread\'s)', () => {
    assert.deepEqual(sorted(unionMembers(types(), 'AuthErrorCode')), sorted([...Object.keys(contract.errors), ...Object.keys(contract.mainThreadErrors)]));
  });

  it('the codes only the main thread makes are made there', () => {
    const made = [...index.matchAll(/code: '(\w+)'/g)].map((m) => m[1]).filter((code) => code !== 'config');
    assert.deepEqual(sorted(new Set(made)), sorted(Object.keys(contract.mainThreadErrors)));
  });

  it('AuthEvents has exactly the page\'s events, AuthErrorData exactly the error fields', () => {
    assert.deepEqual(sorted(interfaceKeys(types(), 'AuthEvents')), sorted(contract.events));
    assert.deepEqual(sorted(interfaceKeys(types(), 'AuthErrorData')), sorted(contract.errorFields));
  });

  it('the callback parameters index.ts removes from the address bar are the contract\'s', () => {
    const list = index.match(/const CALLBACK_PARAMS = \[([^\]]*)\]/);
    assert.ok(list, 'CALLBACK_PARAMS in src/js/index.ts');
    assert.deepEqual([...list[1].matchAll(/'([^']+)'/g)].map((m) => m[1]), contract.callbackParams);
  });

  it('the calls index.ts and worker.ts send are exactly the contract\'s', () => {
    // index.ts: `call('name', ...)` or `send('name', ...)` (the start-up's, not waiting for it); worker.ts: `handle(host, 'name')` or `handle(host, { name: ... })`.
    const sent = [...index.matchAll(/\b(?:call|send)(?:<[^(]*>)?\(\s*'(\w+)'/g), ...worker.matchAll(/\bhandle\([\w.]+,\s*(?:'(\w+)'|\{\s*(\w+):)/g)]
      .map((m) => m[1] ?? m[2]);
    assert.deepEqual(sorted(sent), sorted(contract.calls));
    assert.deepEqual(sorted([...worker.matchAll(/event\.name !== '(\w+)'/g)].map((m) => m[1])), sorted(contract.workerEvents));
  });

  it('the reasons the main thread makes are in the closed set', () => {
    // (`fail('reason', …)` and `new AuthError({ code: 'config', reason: '…' })`; not type annotations
    // such as `sessionExpired: { reason: 'invalid_grant' | … }`.)
    const made = [...index.matchAll(/\bfail\('(\w+)'|code: 'config', reason: '(\w+)'/g)].map((m) => m[1] ?? m[2]);
    assert.deepEqual(sorted(made), sorted(contract.mainThreadReasons.config));
    for (const reason of made) assert.ok(contract.errors.config.includes(reason), reason);
  });
});

describe('src/contract.json: the README', () => {
  const readme = read('README.md');

  it('the option table lists exactly the options', () => {
    const rows = tableAfter(readme, '## API');
    assert.deepEqual(sorted(rows.map(([name]) => backticked(name)[0])), sorted([...contract.options, ...contract.mainThreadOptions]));
  });

  it('the event table lists exactly the page\'s events', () => {
    const rows = tableAfter(readme, '### Events');
    assert.deepEqual(sorted(rows.map(([name]) => backticked(name)[0])), sorted(contract.events));
  });

  it('the error table lists exactly the codes and, for each, exactly its reasons', () => {
    const rows = tableAfter(readme, '## Errors');
    const table = Object.fromEntries(rows.map(([code, , reasons]) => [backticked(code)[0], sorted(backticked(withoutAsides(reasons)))]));
    const expected = Object.fromEntries(Object.entries({ ...contract.errors, ...contract.mainThreadErrors }).map(([code, reasons]) => [code, sorted(reasons)]));
    assert.deepEqual(table, expected);
  });
});
