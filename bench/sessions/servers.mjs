// The servers of bench/sessions, in their own process (forked by main.mjs, controlled over Node
// IPC), after /work/shared/bench-peers/harness/servers.mjs: two https listeners on 127.0.0.1.
//   OP   oidc-provider (./op.mjs), issuer https://localhost:PORT/ — another site than the app
//   APP  https://127.0.0.1:PORT: per mode, the page /p/<mode>/ (also its redirect URI
//        /p/<mode>/callback) that loads the mode's adapter bundle dist/<adapter>/app.js with
//        window.__BENCH_CFG; oidc-worker's pkg/ (a snapshot) at /pkg/, reached by an import map.
// No COOP/COEP (a cross-origin-isolated page could not frame the provider, and most apps are not
// isolated): performance.now() resolves 100 µs here, enough for these figures.
//
// argv[2]: JSON { modes: [{ id, adapter }], dist, pkgDir, tlsDir, opHost }
// IPC: { id, cmd: 'reset' | 'stats' | 'checkTokens' | 'shutdown', args } → { id, ok, result | error }
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';

import { CLIENT_ID, SCOPES, createProvider, handleInteraction } from './op.mjs';

const options = JSON.parse(process.argv[2]);
const { modes, dist, pkgDir, tlsDir, opHost } = options;

function tls() {
  const key = path.join(tlsDir, 'key.pem');
  const cert = path.join(tlsDir, 'cert.pem');
  if (!fs.existsSync(key) || !fs.existsSync(cert)) {
    fs.mkdirSync(tlsDir, { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '30', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore', timeout: 30000 });
  }
  return { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
}

const listen = (server) => new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen({ port: 0, host: '127.0.0.1' }, () => resolve(server.address().port));
});

const credentials = tls();
const opServer = https.createServer(credentials);
const appServer = https.createServer(credentials);
for (const s of [opServer, appServer]) { s.keepAliveTimeout = 30000; s.headersTimeout = 35000; }
const opPort = await listen(opServer);
const appPort = await listen(appServer);
const opOrigin = `https://${opHost}:${opPort}`;
const appOrigin = `https://127.0.0.1:${appPort}`;
const issuer = `${opOrigin}/`; // auth0-spa-js expects `iss` to be `${domain}/`
const redirectUri = (id) => `${appOrigin}/p/${id}/callback`;

// ---- the provider and what it saw
const state = { accessTokenTTL: 600 };
let seen = fresh();
function fresh() { return { requests: [], grants: [], accessTokens: [], refreshTokens: [] }; }
const provider = createProvider({
  issuer, appOrigin, redirectUris: modes.map((m) => redirectUri(m.id)), state,
});
provider.on('grant.success', (ctx) => seen.grants.push({ grant_type: ctx.oidc.params?.grant_type, ok: true }));
provider.on('grant.error', (ctx, err) => seen.grants.push({ grant_type: ctx.oidc?.params?.grant_type, ok: false, error: err?.error || err?.message }));
provider.on('access_token.saved', (token) => seen.accessTokens.push(token.jti));
provider.on('refresh_token.saved', (token) => seen.refreshTokens.push(token.jti));
provider.on('server_error', (ctx, err) => console.error('[op] server_error', err));
const opHandler = provider.callback();
opServer.on('request', async (req, res) => {
  const url = new URL(req.url, opOrigin);
  const entry = { t: Date.now(), method: req.method, path: url.pathname, prompt: url.searchParams.get('prompt') };
  res.on('finish', () => { entry.status = res.statusCode; seen.requests.push(entry); });
  if (url.pathname === '/favicon.ico') { res.statusCode = 204; res.end(); return; }
  try {
    if (await handleInteraction(provider, req, res, url)) return;
  } catch (e) { console.error('[op] interaction', e); }
  opHandler(req, res);
});

// ---- the app
const MIME = {
  '.js': 'text/javascript; charset=utf-8', '.html': 'text/html; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm',
};
const files = new Map();
function sendFile(res, file, root) {
  if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.statusCode = 404;
    res.end('not found');
    return;
  }
  let body = files.get(file);
  if (!body) { body = fs.readFileSync(file); files.set(file, body); }
  res.setHeader('Content-Type', MIME[path.extname(file)] || 'application/octet-stream');
  res.setHeader('Content-Length', body.length);
  res.end(body);
}
const byId = new Map(modes.map((m) => [m.id, m]));
appServer.on('request', (req, res) => {
  const url = new URL(req.url, appOrigin);
  res.setHeader('Cache-Control', 'no-store');
  if (url.pathname.startsWith('/pkg/')) {
    let rel;
    try { rel = decodeURIComponent(url.pathname.slice(5)); } catch { res.statusCode = 400; res.end(); return; }
    sendFile(res, path.join(pkgDir, rel), pkgDir);
    return;
  }
  const m = /^\/p\/([A-Za-z0-9._-]+)\/(.*)$/.exec(url.pathname);
  const mode = m && byId.get(m[1]);
  if (!mode) { res.statusCode = 404; res.end('not found'); return; }
  const rest = m[2];
  if (rest === '' || rest === 'callback') {
    const page = JSON.parse(fs.readFileSync(path.join(dist, mode.adapter, 'page.json'), 'utf8'));
    const cfg = {
      mode: mode.id, adapter: mode.adapter, options: mode.options ?? {},
      issuer, opOrigin, appOrigin, clientId: CLIENT_ID, scope: SCOPES.join(' '), apiScope: 'api:read',
      redirectUri: redirectUri(mode.id), base: `${appOrigin}/p/${mode.id}/`,
    };
    const json = (v) => JSON.stringify(v).replace(/</g, '\\u003c');
    const importMap = page.importMap ? `<script type="importmap">${json(page.importMap)}</script>` : '';
    const body = `<!doctype html><html><head><meta charset="utf-8"><title>${mode.id}</title><link rel="icon" href="data:,">`
      + `<script>window.__BENCH_CFG=${json(cfg)}</script>${importMap}`
      + `<script${page.module ? ' type="module"' : ''} src="/p/${mode.id}/app.js"></script></head><body></body></html>`;
    res.setHeader('Content-Type', MIME['.html']);
    res.end(body);
    return;
  }
  if (rest === 'app.js') { sendFile(res, path.join(dist, mode.adapter, 'app.js'), path.join(dist, mode.adapter)); return; }
  res.statusCode = 404;
  res.end('not found');
});

// ---- control
async function control(cmd, args = {}) {
  switch (cmd) {
    case 'reset': seen = fresh(); return true;
    case 'stats': return seen;
    case 'checkTokens': {
      const out = [];
      for (const t of args.tokens || []) {
        const at = typeof t === 'string' ? await provider.AccessToken.find(t).catch(() => undefined) : undefined;
        out.push(!!at && !at.isExpired);
      }
      return out;
    }
    case 'shutdown': setTimeout(shutdown, 10); return true;
    default: throw new Error(`unknown command ${cmd}`);
  }
}
process.on('message', async (msg) => {
  try { process.send({ id: msg.id, ok: true, result: await control(msg.cmd, msg.args) }); } catch (e) { process.send({ id: msg.id, ok: false, error: String(e?.message || e) }); }
});
let closing = false;
function shutdown() {
  if (closing) return;
  closing = true;
  for (const s of [opServer, appServer]) { s.close(); s.closeAllConnections?.(); }
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.on('disconnect', shutdown);
process.send?.({ ready: { opOrigin, appOrigin, issuer, pid: process.pid } });
