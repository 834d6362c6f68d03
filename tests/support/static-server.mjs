// A tiny static file server for tests and the demo (node:http only, 127.0.0.1, free port).
//
//   /pkg/...  → <repo>/pkg/...   (the built library)
//   /...      → <repo>/www/...   (example apps)
//   plus optional in-memory JSON documents, e.g. { '/demo-config.json': () => ({ issuer, clientId }) }
//
//   const server = await startStaticServer({ json: { '/demo-config.json': () => cfg } });
//   server.origin  // 'http://127.0.0.1:PORT'
//   await server.close();

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { listenOnLoopback } from './loopback.mjs';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * @param {object} [options]
 * @param {Record<string,string>} [options.mounts]  URL prefix (ending in '/') → directory; the longest
 *        matching prefix wins. Default: { '/pkg/': <repo>/pkg, '/': <repo>/www }.
 * @param {Record<string, () => unknown>} [options.json]  exact paths answered with JSON.stringify(fn()).
 * @param {Record<string, () => string>} [options.html]  exact paths answered with the HTML fn() returns
 *        (any query), e.g. a bare test page that must also be a redirect target.
 * @param {Record<string,string>} [options.headers]  extra headers on every response.
 * @param {Record<string,string>} [options.types]  file extension → Content-Type, over MIME_TYPES
 *        (e.g. a server that does not know `.wasm`).
 * @param {(path: string) => Promise<void> | undefined} [options.hold]  awaited before a request for
 *        `path` is answered (e.g. to hold the .wasm back until a test lets it go).
 * @param {number} [options.port=0]
 * @param {(entry: {method: string, path: string, status: number}) => void} [options.onRequest]
 */
export async function startStaticServer(options = {}) {
  const mounts = Object.entries(options.mounts ?? {
    '/pkg/': join(REPO_ROOT, 'pkg'),
    '/': join(REPO_ROOT, 'www'),
  }).map(([prefix, dir]) => [prefix, resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);
  const json = options.json ?? {};
  const html = options.html ?? {};
  const extraHeaders = options.headers ?? {};
  const types = { ...MIME_TYPES, ...options.types };
  const requests = [];

  function send(res, status, body, type = 'text/plain; charset=utf-8', headers = {}) {
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      ...extraHeaders,
      ...headers,
    });
    res.end(body);
  }

  async function handle(req, res) {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, 'method not allowed\n', undefined, { Allow: 'GET, HEAD' });
    }
    const url = new URL(req.url, 'http://127.0.0.1');
    let pathname;
    try {
      pathname = decodeURIComponent(url.pathname);
    } catch {
      return send(res, 400, 'bad request\n');
    }
    if (pathname.includes('\0') || pathname.includes('\\')) return send(res, 400, 'bad request\n');
    await options.hold?.(pathname);

    if (Object.hasOwn(json, pathname)) {
      return send(res, 200, `${JSON.stringify(await json[pathname]())}\n`, MIME_TYPES['.json']);
    }
    if (Object.hasOwn(html, pathname)) {
      return send(res, 200, String(await html[pathname]()), MIME_TYPES['.html']);
    }

    const mount = mounts.find(([prefix]) => pathname.startsWith(prefix) || `${pathname}/` === prefix);
    if (!mount) return send(res, 404, 'not found\n');
    const [prefix, root] = mount;
    if (`${pathname}/` === prefix) {
      return send(res, 301, '', undefined, { Location: `${prefix}${url.search}` });
    }
    const relative = pathname.slice(prefix.length);
    // No '..' segment at all, and the resolved path must stay inside the mount.
    if (relative.split('/').some((segment) => segment === '..')) return send(res, 403, 'forbidden\n');
    let file = resolve(root, `.${sep}${relative}`);
    if (file !== root && !file.startsWith(root + sep)) return send(res, 403, 'forbidden\n');

    let info;
    try {
      info = await stat(file);
      if (info.isDirectory()) {
        if (!pathname.endsWith('/')) {
          return send(res, 301, '', undefined, { Location: `${url.pathname}/${url.search}` });
        }
        file = join(file, 'index.html');
        info = await stat(file);
      }
    } catch {
      return send(res, 404, 'not found\n');
    }
    if (!info.isFile()) return send(res, 404, 'not found\n');

    const type = types[extname(file).toLowerCase()] ?? 'application/octet-stream';
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': info.size,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...extraHeaders,
    });
    if (req.method === 'HEAD') return res.end();
    const stream = createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
    return undefined;
  }

  const server = createServer((req, res) => {
    res.on('finish', () => {
      const entry = { method: req.method, path: req.url, status: res.statusCode };
      requests.push(entry);
      options.onRequest?.(entry);
    });
    handle(req, res).catch((err) => {
      console.error('static-server:', err);
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  const { origin, port, close } = await listenOnLoopback(server, options.port ?? 0);
  return { origin, port, requests, close };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const port = Number(process.argv[process.argv.indexOf('--port') + 1] || 0) || 0;
  const server = await startStaticServer({ port });
  console.log(JSON.stringify({ origin: server.origin }));
  const stop = async () => { await server.close(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
