// Shared by the benchmark scripts (bench/perf.mjs, bench/lifecycle.mjs, bench/dpop.mjs, bench/popup.mjs, ...): the pkg snapshot,
// statistics, formatting, the bench page's readiness, and the environment lines of a report.

import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { assertLibraryBuilt, PKG_DIR } from '../tests/support/harness.mjs';
import { REPO_ROOT } from '../tests/support/static-server.mjs';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const PAGE_DIR = join(BENCH_DIR, 'page');
export const DEFAULT_OUT = join(BENCH_DIR, 'results.md');
export { PKG_DIR, REPO_ROOT };

/** A positive integer from the environment, or `fallback`. */
export const envInt = (name, fallback) => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Math.max(1, Number.parseInt(v, 10) || fallback);
};

/**
 * The bench page is served with these on every response: COOP same-origin + COEP require-corp make
 * it cross-origin isolated (performance.now() then has ~5 µs resolution instead of 100 µs); CORP
 * same-origin lets the worker and the wasm pass COEP. Cross-origin servers (the provider, the API)
 * are reached by CORS, which COEP accepts without CORP.
 */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export const started = performance.now();
export const seconds = () => (performance.now() - started) / 1000;
export const log = (msg) => console.error(`bench: ${msg}  (${seconds().toFixed(1)} s)`);

// ---------------------------------------------------------------- pkg snapshot

export const PKG_FILES = ['index.js', 'worker.js', 'oidc_worker_bg.wasm'];

/**
 * Copy pkg/ to a temporary directory and measure and serve the copy: a rebuild of pkg/ during the
 * run (scripts/build.sh starts with rm -rf pkg) then cannot break the run or mix two builds.
 * Retries for up to ~60 s while pkg/ is incomplete or changes during the copy.
 * Returns { dir, builtAt (newest mtime of PKG_FILES), fingerprint (sha256 of PKG_FILES, 12 hex) }.
 */
export async function snapshotPkg() {
  const stamp = () => PKG_FILES.map((f) => {
    const s = statSync(join(PKG_DIR, f));
    return `${f}:${s.size}:${s.mtimeMs}`;
  }).join(' ');
  let lastError;
  for (let attempt = 0; attempt < 30; attempt += 1) {
    let dir;
    try {
      assertLibraryBuilt();
      const before = stamp();
      dir = mkdtempSync(join(tmpdir(), 'oidc-worker-bench-pkg-'));
      cpSync(PKG_DIR, dir, { recursive: true, preserveTimestamps: true }); // builtAt below reads the copies
      if (before === stamp() && PKG_FILES.every((f) => existsSync(join(dir, f)))) {
        const hash = createHash('sha256');
        for (const f of PKG_FILES) hash.update(readFileSync(join(dir, f)));
        return {
          dir,
          builtAt: new Date(Math.max(...PKG_FILES.map((f) => statSync(join(dir, f)).mtimeMs))),
          fingerprint: hash.digest('hex').slice(0, 12),
        };
      }
      lastError = new Error(`${PKG_DIR} changed while it was copied`);
    } catch (err) {
      lastError = err;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (attempt === 0) log(`waiting for a complete, stable ${PKG_DIR} (${lastError.message})`);
    await new Promise((r) => { setTimeout(r, 2000); });
  }
  throw lastError;
}

// ---------------------------------------------------------------- statistics

export function sorted(values) {
  return [...values].sort((a, b) => a - b);
}
/** Nearest-rank percentile (p in 0..100) of a non-empty array. */
export function percentile(values, p) {
  const s = sorted(values);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
export function median(values) {
  const s = sorted(values);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
export function summary(values) {
  return {
    n: values.length,
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    mean: values.reduce((a, b) => a + b, 0) / values.length,
  };
}
export const ms = (v, digits = 1) => `${v.toFixed(digits)} ms`;
export const us = (v) => `${(v * 1000).toFixed(1)} µs`;
export const int = (v) => v.toLocaleString('en-US');

// ---------------------------------------------------------------- bench page

/** Wait until bench/page/ has started (and, with `callback`, handled the callback); throw if it failed. */
export async function waitForBench(page, { callback = false, timeout = 30000 } = {}) {
  await page.waitForFunction(
    (cb) => window.bench && window.bench.status !== 'loading' && (!cb || window.bench.isCallback),
    callback, { timeout },
  );
  const bench = await page.evaluate(() => window.bench);
  if (bench.status !== 'ready') throw new Error(`the bench page failed at ${page.url()}: ${JSON.stringify(bench.error)}`);
  return bench;
}

// ---------------------------------------------------------------- environment of a report

export function machine(chromiumVersion) {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
    if (m) cpu = m[1].trim();
  } catch { /* not Linux */ }
  let nproc = String(cpus().length);
  try { nproc = execFileSync('nproc', { encoding: 'utf8' }).trim(); } catch { /* keep os.cpus() */ }
  let os = process.platform;
  try { os = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]+)"?$/m)?.[1] ?? os; } catch { /* keep */ }
  return { cpu, nproc, os, chromium: chromiumVersion, node: process.version };
}

export function machineLine(env) {
  return `- machine: ${env.nproc} CPUs (nproc), ${env.cpu}, ${env.os}; Chromium ${env.chromium} (headless, /usr/bin/chromium via playwright-core); Node ${env.node}`;
}

export function gitDescribe() {
  try {
    const head = execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--', 'src', 'Cargo.toml', 'Cargo.lock', 'scripts/build.sh'], { encoding: 'utf8' }).trim();
    return dirty ? `${head} + uncommitted changes to the sources (src/, Cargo.*, scripts/build.sh)` : head;
  } catch {
    return 'unknown';
  }
}

/** "- package: …" — which build was measured (pkg/ or $OIDC_WORKER_PKG_DIR) and the repository state. */
export function packageLine(snapshot) {
  const where = process.env.OIDC_WORKER_PKG_DIR ? `\`${PKG_DIR}\` (OIDC_WORKER_PKG_DIR)` : 'pkg/';
  return `- package: ${where} as built at ${snapshot.builtAt.toISOString().replace(/\.\d+Z$/, 'Z')}, `
    + `sha256(${PKG_FILES.join(' + ')}) ${snapshot.fingerprint}…; repository HEAD ${gitDescribe()}`;
}

/**
 * The command as it was run: the settings that change what is measured (OIDC_WORKER_PKG_DIR, BENCH_*
 * except a default BENCH_OUT), then `bash bench/run.sh` when run.sh started this script (it sets
 * BENCH_RUNNER), else `node bench/<script>`.
 */
export function commandLine(script) {
  const vars = Object.keys(process.env)
    .filter((k) => k === 'OIDC_WORKER_PKG_DIR' || (k.startsWith('BENCH_') && k !== 'BENCH_RUNNER'))
    .filter((k) => k !== 'BENCH_OUT' || resolve(process.env.BENCH_OUT) !== DEFAULT_OUT)
    .sort()
    .map((k) => `${k}=${process.env[k]}`);
  const run = process.env.BENCH_RUNNER === 'run.sh' ? 'bash bench/run.sh' : `node ${relative(REPO_ROOT, join(BENCH_DIR, script))}`;
  return [...vars, run].join(' ');
}

// ---------------------------------------------------------------- results file

/**
 * bench/results.md is perf.mjs's part, then one section per other script, each starting with its
 * heading line; each script rewrites only its own part.
 */
export const LIFECYCLE_HEADING = '## Session lifecycle';
export const EXAMPLES_HEADING = '## Example apps';
/** bench/sessions/main.mjs's section (run on its own: bash bench/sessions/run.sh). */
export const SESSIONS_HEADING = '## Sessions across tabs and reloads';
/** bench/dpop.mjs's section (opt-in: BENCH_DPOP=1 bash bench/run.sh, or node bench/dpop.mjs). */
export const DPOP_HEADING = '## DPoP';
/** bench/popup.mjs's section (opt-in: BENCH_POPUP=1 bash bench/run.sh, or node bench/popup.mjs). */
export const POPUP_HEADING = '## Popup login';
const SECTION_HEADINGS = [LIFECYCLE_HEADING, EXAMPLES_HEADING, SESSIONS_HEADING, DPOP_HEADING, POPUP_HEADING];

/** Parts joined with one blank line, ending in one newline. */
export function joinResults(...parts) {
  return `${parts.map((p) => p.trim()).filter(Boolean).join('\n\n')}\n`;
}

function readText(path) {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

/** An existing results file as { main: perf.mjs's part, sections: everything after it } (either may be ''). */
export function readResults(path) {
  const lines = readText(path).split('\n');
  const at = lines.findIndex((l) => SECTION_HEADINGS.includes(l));
  return at < 0
    ? { main: lines.join('\n'), sections: '' }
    : { main: lines.slice(0, at).join('\n'), sections: lines.slice(at).join('\n') };
}

/**
 * The results file's text with the section that starts with `heading` replaced by `section` (up
 * to the next section heading), or `section` added at the end.
 */
export function withSection(path, heading, section) {
  const lines = readText(path).split('\n');
  const start = lines.findIndex((l) => l === heading);
  if (start < 0) return joinResults(lines.join('\n'), section);
  let end = lines.findIndex((l, i) => i > start && SECTION_HEADINGS.includes(l));
  if (end < 0) end = lines.length;
  return joinResults(lines.slice(0, start).join('\n'), section, lines.slice(end).join('\n'));
}

/**
 * On Ctrl-C, run.sh's timeout or a hang-up: calls `onStop()` (it returns what to wait for, e.g. the
 * servers' and browser's close promises, and may remove temporary files), then exits 130; after
 * 5 s it exits anyway. Returns a function telling whether that happened.
 */
export function stopOnSignals(onStop) {
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      interrupted = true;
      console.error(`bench: ${signal}, stopping`);
      setTimeout(() => process.exit(130), 5000).unref();
      Promise.allSettled(onStop()).finally(() => process.exit(130));
    });
  }
  return () => interrupted;
}

/**
 * The opening lines of a section that one script writes (dpop.mjs, lifecycle.mjs, popup.mjs): its
 * heading, the date, machine, package, the command (and, under run.sh, the script's own command)
 * and the script's run time, then a blank line.
 */
export function sectionHead(heading, script, { env, snapshot, runSeconds }) {
  return [
    heading,
    '',
    `- date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    machineLine(env),
    packageLine(snapshot),
    `- command: \`${commandLine(script)}\`${process.env.BENCH_RUNNER === 'run.sh' ? ` (this section: \`node bench/${script}\`)` : ''}`,
    `- run time: ${runSeconds.toFixed(0)} s (${script})`,
    '',
  ];
}
