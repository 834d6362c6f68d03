// The published shape of the package: publint (strict) and arethetypeswrong (esm-only profile) find
// no problem, `npm pack` ships only package.json, the README, a LICENSE and the built pkg/ files
// (every entry of the exports map among them), and every declaration exported by pkg/*.d.ts has
// TSDoc.
//
//   node --test --test-force-exit tests/adapters/package.test.mjs      (needs the repo's pkg/ built)
//
// publint, attw and npm pack pack the repository itself, i.e. the repo's pkg/. When
// OIDC_WORKER_PKG_DIR points elsewhere those tests are skipped (they would test the wrong files);
// the TSDoc check reads the .d.ts files of OIDC_WORKER_PKG_DIR.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

import { assertPkgBuilt, PKG_DIR, REPO_PKG_DIR, REPO_ROOT } from './support.mjs';

const run = promisify(execFile);
const PACKS_REPO = PKG_DIR === REPO_PKG_DIR;
const SKIP_PACKING = PACKS_REPO
  ? false
  : `OIDC_WORKER_PKG_DIR=${PKG_DIR} is not the repository's pkg/: publint, attw and npm pack pack the repository, so they would not test that directory`;

/** The entry files the package must ship (each with its declarations). */
const ENTRIES = ['index', 'worker', 'auth-store', 'react', 'vue'];
const REQUIRED_FILES = [
  'package.json',
  'pkg/oidc_worker_bg.wasm',
  ...ENTRIES.flatMap((name) => [`pkg/${name}.js`, `pkg/${name}.d.ts`]),
];

/** Runs a command in the repository; resolves with { code, stdout, stderr } (never rejects on exit codes). */
async function command(file, args) {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: REPO_ROOT, maxBuffer: 16 << 20, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    if (typeof error.code !== 'number') throw error;
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

describe('packing the repository', () => {
  it('publint --strict reports nothing (no error, warning or suggestion)', { skip: SKIP_PACKING }, async () => {
    assertPkgBuilt();
    const { publint } = await import('publint');
    const { formatMessage } = await import('publint/utils');
    const { messages, pkg } = await publint({ pkgDir: REPO_ROOT, strict: true, pack: 'npm' });
    const readable = messages.map((m) => `${m.type}: ${formatMessage(m, pkg) ?? m.code}`);
    assert.deepEqual(readable, []);
  });

  it('attw --pack . --profile esm-only reports no problem', { skip: SKIP_PACKING }, async () => {
    assertPkgBuilt();
    const { code, stdout, stderr } = await command(join(REPO_ROOT, 'node_modules/.bin/attw'), ['--pack', '.', '--profile', 'esm-only', '--format', 'json']);
    let report;
    try {
      report = JSON.parse(stdout);
    } catch {
      assert.fail(`attw printed no JSON report (exit ${code}):\n${stdout}\n${stderr}`);
    }
    // The esm-only profile ignores the CommonJS resolutions (node10, node16 from CJS); every other
    // problem counts.
    const ignored = new Set(['node10', 'node16-cjs']);
    const problems = Object.values(report.problems ?? {}).flat()
      .filter((p) => !ignored.has(p.resolutionKind))
      .map((p) => `${p.kind} ${p.entrypoint ?? ''} ${p.resolutionKind ?? ''}`.trim());
    assert.deepEqual(problems, []);
    assert.equal(code, 0, `attw exited with ${code}: ${stderr}`);
    const entrypoints = Object.keys(report.analysis.entrypoints).sort();
    assert.deepEqual(entrypoints, ['.', './package.json', './react', './vue']);
  });

  it('npm pack ships only package.json, the README, a LICENSE and the built pkg/ files', { skip: SKIP_PACKING }, async () => {
    assertPkgBuilt();
    const { code, stdout, stderr } = await command('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']);
    assert.equal(code, 0, `npm pack failed: ${stderr}`);
    const files = JSON.parse(stdout)[0].files.map((f) => f.path).sort();
    const unexpected = files.filter((f) => !/^(?:package\.json|README(?:\.md)?|LICEN[CS]E(?:\.md|\.txt)?|pkg\/[\w.-]+\.(?:js|d\.ts|wasm))$/i.test(f));
    assert.deepEqual(unexpected, [], 'files outside the allowed set');
    const missing = REQUIRED_FILES.filter((f) => !files.includes(f));
    assert.deepEqual(missing, [], 'required files missing from the package');
    assert.ok(files.some((f) => /^README(\.md)?$/i.test(f)), 'the README is packed');

    // Every target of the exports map (and "types") is in the package.
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    const targets = new Set([manifest.types]);
    const collect = (value) => {
      if (typeof value === 'string') targets.add(value);
      else if (value && typeof value === 'object') Object.values(value).forEach(collect);
    };
    collect(manifest.exports);
    const absent = [...targets].map((t) => t.replace(/^\.\//, '')).filter((t) => !files.includes(t));
    assert.deepEqual(absent, [], 'exports map targets missing from the package');
    assert.deepEqual(Object.keys(manifest.exports).sort(), ['.', './package.json', './react', './vue']);
  });
});

describe('declarations', () => {
  /** Top-level exported declarations (not re-exports) of a .d.ts file that lack a TSDoc comment. */
  function undocumented(text) {
    const lines = text.split('\n');
    const missing = [];
    const declaration = /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:function|class|interface|enum|const|let|var|namespace|type\s+\w+\s*(?:<[^=]*>)?\s*=)\s*(\w*)/;
    lines.forEach((line, i) => {
      const match = declaration.exec(line);
      if (!match) return;
      let j = i - 1;
      while (j >= 0 && lines[j].trim() === '') j--;
      let documented = false;
      if (j >= 0 && lines[j].trim().endsWith('*/')) {
        let k = j;
        while (k >= 0 && !lines[k].includes('/*')) k--;
        documented = k >= 0 && lines[k].trim().startsWith('/**');
      }
      if (!documented) missing.push(`${i + 1}: ${line.trim().slice(0, 80)}`);
    });
    return missing;
  }

  it('the check itself tells documented from undocumented declarations', () => {
    const sample = [
      '/** Documented. */',
      'export declare function a(): void;',
      '/* not TSDoc */',
      'export interface B {}',
      'export type C = string;',
      '/**',
      ' * Several lines.',
      ' */',
      '',
      'export declare class D {}',
      "export type { E } from './e.js';",
      'export {};',
    ].join('\n');
    assert.deepEqual(undocumented(sample), ['4: export interface B {}', '5: export type C = string;']);
  });

  it('every export of pkg/*.d.ts has a TSDoc comment', () => {
    const files = readdirSync(PKG_DIR).filter((f) => f.endsWith('.d.ts')).sort();
    for (const name of ['index', 'react', 'vue', 'auth-store']) {
      assert.ok(files.includes(`${name}.d.ts`), `${PKG_DIR}/${name}.d.ts exists`);
    }
    const report = {};
    let declarations = 0;
    for (const file of files) {
      const text = readFileSync(join(PKG_DIR, file), 'utf8');
      declarations += text.split('\n').filter((l) => /^export\s+(?:declare\s+)?(?:function|class|interface|type\s+\w)/.test(l) && !/^export\s+type\s*\{/.test(l)).length;
      const missing = undocumented(text);
      if (missing.length) report[file] = missing;
    }
    assert.ok(declarations >= 20, `found the declarations (${declarations}): the .d.ts files are not empty or unparsed`);
    assert.deepEqual(report, {});
  });
});
