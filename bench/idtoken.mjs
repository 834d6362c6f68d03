// Benchmark of ID token validation inside the worker, through the real code path: IdToken::parse,
// Client::signature_step (key selection from a JWK Set given to process_jwks_response),
// io::verify_signature (WebCrypto via web-sys), SignatureCheck::verdict and
// validate_claims (nonce required, at_hash). See src/worker/bench.rs. Measures only; asserts no
// timing. It fails when validation does not work at all: any error in a run, or a tampered
// signature that is not refused.
//
//   bash bench/idtoken.sh        (runs this, prints bench/idtoken-results.md)
//   node bench/idtoken.mjs
//
// It builds its own wasm with `--features tiny,bench` into target/bench-idtoken (never touches
// pkg/ or target/wasm32-unknown-unknown), post-processes it like scripts/build.sh (wasm-bindgen
// --target web, wasm-opt with the same flags), serves it from a temporary directory on
// 127.0.0.1 (cross-origin isolated, so performance.now() has ~5 µs resolution) and drives a
// module worker in headless Chromium.
//
// Env: BENCH_IDTOKEN_RUNS=200  BENCH_IDTOKEN_WARMUP=20  BENCH_OUT=bench/idtoken-results.md

import { execFileSync } from 'node:child_process';
import {
  createHash, generateKeyPairSync, randomBytes, sign,
} from 'node:crypto';
import {
  mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { closeBrowser, launchBrowser } from '../tests/support/browser.mjs';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');
const envInt = (name, fallback) => {
  const v = Number.parseInt(process.env[name] ?? '', 10);
  return Number.isFinite(v) && v >= 0 ? v : fallback;
};
const RUNS = Math.max(1, envInt('BENCH_IDTOKEN_RUNS', 200));
const WARMUP = envInt('BENCH_IDTOKEN_WARMUP', 20);
const OUT = resolve(process.env.BENCH_OUT || join(BENCH_DIR, 'idtoken-results.md'));
const TARGET_DIR = join(ROOT, 'target', 'bench-idtoken');

const started = performance.now();
const log = (msg) => console.error(`bench-idtoken: ${msg}  (${((performance.now() - started) / 1000).toFixed(1)} s)`);

// ---------------------------------------------------------------- build

function buildBenchWasm(outDir) {
  const env = { ...process.env, CARGO_TARGET_DIR: TARGET_DIR, PATH: `${process.env.HOME}/.cargo/bin:${process.env.PATH}` };
  const run = (cmd, args) => execFileSync(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
  run('cargo', ['build', '--target', 'wasm32-unknown-unknown', '--release', '--features', 'tiny,bench']);
  run('wasm-bindgen', ['--target', 'web', '--out-dir', outDir,
    join(TARGET_DIR, 'wasm32-unknown-unknown', 'release', 'oidc_worker.wasm')]);
  const wasm = join(outDir, 'oidc_worker_bg.wasm');
  // The same passes as scripts/build.sh, so the timed code is what ships (plus the export; the
  // import and export names are not minified: this glue is not rewritten).
  run('node', [join(ROOT, 'scripts', 'stub-panics.mjs'), wasm]);
  run(join(ROOT, 'node_modules', '.bin', 'wasm-opt'),
    ['--flatten', '--rereloop', '-O2', '-Os', '--flatten', '--rereloop', '-O2', '-Os', '-ocimfs=20', '--converge', '--low-memory-unused', '--strip-producers', wasm, '-o', wasm]);
  run('node', [join(ROOT, 'scripts', 'blank-panic-text.mjs'), wasm]);
}

// ---------------------------------------------------------------- tokens

const b64u = (buf) => Buffer.from(buf).toString('base64url');

const ISSUER = 'http://127.0.0.1:9/op'; // never fetched: discovery and JWKS are handed over
const CLIENT_ID = 'bench-client';
const NONCE = b64u(randomBytes(16));
const ACCESS_TOKEN = b64u(randomBytes(32));

function makeKeys() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = (publicKey, kid, alg) => ({ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg });
  return {
    RS256: { privateKey: rsa.privateKey, kid: 'bench-rsa', jwk: jwk(rsa.publicKey, 'bench-rsa', 'RS256') },
    ES256: { privateKey: ec.privateKey, kid: 'bench-ec', jwk: jwk(ec.publicKey, 'bench-ec', 'ES256') },
  };
}

function signIdToken(alg, key, now) {
  const header = { alg, typ: 'JWT', kid: key.kid };
  const atHash = b64u(createHash('sha256').update(ACCESS_TOKEN).digest().subarray(0, 16));
  const claims = {
    iss: ISSUER, sub: 'bench-user', aud: CLIENT_ID, exp: now + 3600, iat: now, nonce: NONCE, at_hash: atHash,
  };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  const signature = alg === 'ES256'
    ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }) // JWS: raw r||s
    : sign('sha256', Buffer.from(input), key.privateKey); // RSASSA-PKCS1-v1_5
  return `${input}.${b64u(signature)}`;
}

/** The same token with one bit of its signature flipped (same length, so only WebCrypto can refuse it). */
function tamper(token) {
  const [h, p, s] = token.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[sig.length >> 1] ^= 0x01;
  return `${h}.${p}.${b64u(sig)}`;
}

// ---------------------------------------------------------------- page + worker + server

const WORKER_JS = `import init, { benchIdTokenValidation } from './pkg/oidc_worker.js';
const ready = init();
onmessage = async ({ data: { id, args } }) => {
  try {
    await ready;
    const times = await benchIdTokenValidation(...args);
    postMessage({ id, ok: true, times: Array.from(times), isolated: self.crossOriginIsolated });
  } catch (error) {
    postMessage({ id, ok: false, error: String(error) });
  }
};
`;

const INDEX_HTML = `<!doctype html><meta charset="utf-8"><title>oidc-worker ID token bench</title>
<script type="module">
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const pending = new Map();
let next = 0;
worker.onmessage = ({ data }) => { pending.get(data.id)(data); pending.delete(data.id); };
worker.onerror = (e) => { for (const r of pending.values()) r({ ok: false, error: 'worker error: ' + e.message }); pending.clear(); };
window.benchCall = (args) => new Promise((resolve) => { const id = next++; pending.set(id, resolve); worker.postMessage({ id, args }); });
window.benchReady = true;
</script>
`;

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm',
};

function startServer(dir) {
  const server = createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
    const file = path.endsWith(sep) ? join(path, 'index.html') : path;
    let body;
    try {
      if (!file.startsWith(dir + sep)) throw new Error('outside');
      body = readFileSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
      'Cache-Control': 'no-store',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
    });
    res.end(body);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok(server));
  });
}

// ---------------------------------------------------------------- stats + report

function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]; // nearest rank
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, median, p90: at(0.9), min: s[0], max: s[s.length - 1] };
}

function report({ results, chromium, isolated }) {
  const ms = (v) => v.toFixed(3);
  const L = [];
  L.push('# ID token validation in the worker');
  L.push('');
  L.push('Generated by `bash bench/idtoken.sh` (`node bench/idtoken.mjs`); measures only, asserts no timing.');
  L.push('');
  L.push(`- date: ${new Date().toISOString()}`);
  L.push(`- command: \`${process.env.BENCH_IDTOKEN_COMMAND || 'node bench/idtoken.mjs'}\` (BENCH_IDTOKEN_RUNS=${RUNS}, BENCH_IDTOKEN_WARMUP=${WARMUP})`);
  L.push(`- browser: Chromium ${chromium} (headless, /usr/bin/chromium via playwright-core); Node ${process.version}`);
  L.push(`- machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? 'unknown CPU'}`);
  L.push(`- worker crossOriginIsolated: ${isolated} (performance.now() resolution ~5 µs when true, ~100 µs otherwise)`);
  L.push('- build: `cargo build --release --features tiny,bench` (target/bench-idtoken) → `wasm-bindgen --target web` → scripts/stub-panics.mjs, `wasm-opt` and scripts/blank-panic-text.mjs as in scripts/build.sh');
  L.push('');
  L.push('One run = `IdToken::parse` + `Client::signature_step` (key selection among 2 keys by `kid`, JWK Set loaded once');
  L.push('before the loop) + `io::verify_signature` (WebCrypto `importKey` + `verify`, via web-sys) +');
  L.push('`check.verdict` + `validate_claims` (iss, aud, exp, iat, nonce required, at_hash, sub), timed with the');
  L.push(`worker's \`performance.now()\`. ${WARMUP} warm-up runs, then ${RUNS} measured, per algorithm, in one module worker.`);
  L.push('Every run succeeded; a token with a flipped signature bit was refused (`invalid_id_token`/`signature`) for each');
  L.push('algorithm before timing. RSA-2048 and P-256 keys generated with node crypto for each run of the bench.');
  L.push('');
  L.push('| alg | runs | median ms | p90 ms | min ms | max ms |');
  L.push('|---|---:|---:|---:|---:|---:|');
  for (const [alg, st] of results) {
    L.push(`| ${alg} | ${st.n} | ${ms(st.median)} | ${ms(st.p90)} | ${ms(st.min)} | ${ms(st.max)} |`);
  }
  L.push('');
  L.push('> 2-core machine shared with the browser and node: expect noticeable variation between runs.');
  return `${L.join('\n')}\n`;
}

// ---------------------------------------------------------------- main

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-worker-bench-idtoken-'));
  let server;
  let browser;
  try {
    log('building the bench wasm (--features tiny,bench)');
    mkdirSync(join(dir, 'pkg'));
    buildBenchWasm(join(dir, 'pkg'));
    writeFileSync(join(dir, 'worker.js'), WORKER_JS);
    writeFileSync(join(dir, 'index.html'), INDEX_HTML);

    const now = Math.floor(Date.now() / 1000);
    const keys = makeKeys();
    const jwks = JSON.stringify({ keys: [keys.RS256.jwk, keys.ES256.jwk] });
    const discovery = JSON.stringify({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/auth`,
      token_endpoint: `${ISSUER}/token`,
      jwks_uri: `${ISSUER}/jwks`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    });
    const config = JSON.stringify({ issuer: ISSUER, clientId: CLIENT_ID, redirectUri: 'http://127.0.0.1:9/callback' });

    server = await startServer(dir);
    const url = `http://127.0.0.1:${server.address().port}/`;
    browser = await launchBrowser();
    const chromium = browser.version();
    const page = await browser.newPage();
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    await page.goto(url);
    await page.waitForFunction(() => window.benchReady === true);
    const call = (token, iterations) => page.evaluate(
      (args) => window.benchCall(args),
      [config, discovery, jwks, token, NONCE, ACCESS_TOKEN, now, iterations],
    );

    const results = [];
    let isolated;
    for (const alg of ['RS256', 'ES256']) {
      const token = signIdToken(alg, keys[alg], now);
      // Sanity: the genuine token validates, a tampered signature is refused by WebCrypto.
      const good = await call(token, 1);
      if (!good.ok) throw new Error(`${alg}: the genuine token failed validation: ${good.error}`);
      const bad = await call(tamper(token), 1);
      if (bad.ok) throw new Error(`${alg}: a token with a tampered signature was ACCEPTED: aborting`);
      const refusal = JSON.parse(bad.error);
      if (refusal.stage !== 'validate' || refusal.error.code !== 'invalid_id_token' || refusal.error.reason !== 'signature') {
        throw new Error(`${alg}: the tampered token failed for another reason than its signature: ${bad.error}`);
      }
      log(`${alg}: genuine token accepted, tampered signature refused (${refusal.error.code}/${refusal.error.reason})`);
      if (WARMUP > 0) {
        const warm = await call(token, WARMUP);
        if (!warm.ok) throw new Error(`${alg}: warm-up failed: ${warm.error}`);
      }
      const measured = await call(token, RUNS);
      if (!measured.ok) throw new Error(`${alg}: a measured run failed: ${measured.error}`);
      if (measured.times.length !== RUNS) throw new Error(`${alg}: ${measured.times.length} timings, expected ${RUNS}`);
      isolated = measured.isolated;
      const st = stats(measured.times);
      results.push([alg, st]);
      log(`${alg}: median ${st.median.toFixed(3)} ms, p90 ${st.p90.toFixed(3)} ms (${RUNS} runs)`);
    }

    writeFileSync(OUT, report({ results, chromium, isolated }));
    log(`wrote ${OUT}`);
  } finally {
    await closeBrowser(browser);
    if (server) await new Promise((ok) => { server.close(ok); server.closeAllConnections?.(); });
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`bench-idtoken: FAILED: ${error?.stack ?? error}`);
  process.exit(1);
});
