// A fault-injecting reverse proxy for tests (node:http only, 127.0.0.1, a free port): it stands in
// front of one HTTP server and, per URL pathname, passes requests through, drops the connection,
// answers an error itself, or holds the answer back.
//
//   import { startFaultProxy } from './tests/support/fault-proxy.mjs';
//   const proxy = await startFaultProxy({ target: 'http://127.0.0.1:PORT' });
//   proxy.origin                          // 'http://127.0.0.1:PROXYPORT': talk to this instead
//   proxy.set('/token', 'down');          // connection destroyed, no answer: a network error (Chromium
//                                         // resends once when a reused keep-alive connection dies
//                                         // unanswered: one fetch can be two 'down' entries)
//   proxy.set('/token', { status: 503 }); // answered by the proxy (with CORS), target not contacted
//   proxy.set('/token', { delayMs: 3000 });// forwarded; the target's answer is held 3 s
//   proxy.set('/token', 'pass');          // forwarded untouched (same as no fault)
//   proxy.clear();                        // all faults off (clear('/token'): only that one)
//   proxy.requests                        // [{ method, path, url, fault, status, at }] every request
//   await proxy.close();
//
// startProvider({ faults: true }) (tests/op/provider.mjs) puts oidc-provider behind one of these:
// the proxy's origin is then the issuer, and op.faults is this controller.
//
// Forwarding keeps the method, the path and query byte for byte, and every request header
// including Host (so a server that builds absolute URLs from Host, like oidc-provider, keeps
// naming the proxy); bodies are streamed both ways. CORS preflights are forwarded like any other
// request, unless a { status } fault is set for the path (then the proxy answers the preflight).

import { Agent, createServer, request as httpRequest } from 'node:http';
import { listenOnLoopback } from './loopback.mjs';

/** Connection-level headers a proxy must not forward (RFC 9110 7.6.1); Node manages its own. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'upgrade',
]);

/** Statuses that never carry a body. */
const NO_BODY = new Set([204, 304]);

/** Validate a fault mode, returning its kind: 'pass' | 'down' | 'status' | 'delay'. */
function faultKind(mode) {
  if (mode === 'pass' || mode === 'down') return mode;
  if (mode && typeof mode === 'object') {
    if (Number.isInteger(mode.status) && mode.status >= 100 && mode.status <= 599) return 'status';
    if (Number.isFinite(mode.delayMs) && mode.delayMs >= 0) return 'delay';
  }
  throw new TypeError(`fault-proxy: unknown fault mode ${JSON.stringify(mode)}`);
}

/** rawHeaders ([name, value, name, value, ...]) without the hop-by-hop ones. */
function forwardableRawHeaders(rawHeaders) {
  const out = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(rawHeaders[i].toLowerCase())) out.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return out;
}

/**
 * @param {object} options
 * @param {string} options.target  origin of the server behind the proxy, e.g. 'http://127.0.0.1:4000'
 * @param {number} [options.port=0]
 */
export async function startFaultProxy({ target, port: wantedPort = 0 } = {}) {
  const targetUrl = new URL(target);
  if (targetUrl.protocol !== 'http:') throw new TypeError('fault-proxy: target must be an http: origin');

  /** pathname → mode */
  const faults = new Map();
  const requests = [];
  // No keep-alive towards the target: every forwarded exchange has its own connection, so nothing
  // outlives close() and a held ('delay') answer never blocks another request.
  const agent = new Agent({ keepAlive: false });
  const upstreamRequests = new Set();

  /** The proxy's own answer for a { status } fault, CORS-readable from any origin. */
  function answerStatus(req, res, mode) {
    const origin = req.headers.origin;
    const cors = origin ? { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' } : {};
    // Drain (and ignore) the request body; the target is not contacted.
    req.resume();
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.writeHead(204, {
        ...cors,
        'Access-Control-Allow-Methods': req.headers['access-control-request-method'],
        ...(req.headers['access-control-request-headers']
          ? { 'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] } : {}),
        'Access-Control-Max-Age': '0',
        'Content-Length': '0',
      });
      res.end();
      return 204;
    }
    const headers = { ...cors, 'Cache-Control': 'no-store', ...(mode.headers ?? {}) };
    if (NO_BODY.has(mode.status)) {
      res.writeHead(mode.status, headers);
      res.end();
      return mode.status;
    }
    const body = Buffer.from(mode.body ?? JSON.stringify({ error: 'injected_fault', status: mode.status }));
    res.writeHead(mode.status, {
      ...headers,
      'Content-Type': mode.contentType ?? (mode.body === undefined ? 'application/json' : 'text/plain; charset=utf-8'),
      'Content-Length': body.length,
    });
    res.end(body);
    return mode.status;
  }

  /**
   * Forward to the target; with delayMs, the target's answer is held that long (counted from when
   * its headers arrived) before it is passed on. Once the request has reached the target in full,
   * the target always gets to finish the exchange: if the client goes away, the answer is read and
   * thrown away (the target handled the request; the client just never hears of it).
   */
  function forward(req, res, entry, delayMs) {
    const upstream = httpRequest({
      protocol: targetUrl.protocol,
      hostname: targetUrl.hostname,
      port: targetUrl.port,
      method: req.method,
      path: req.url,
      headers: forwardableRawHeaders(req.rawHeaders),
      agent,
      setHost: false,
    });
    upstreamRequests.add(upstream);
    upstream.on('close', () => upstreamRequests.delete(upstream));

    let clientGone = false;
    res.on('close', () => {
      if (res.writableFinished) return;
      clientGone = true;
      entry.aborted = true;
      // The request body never arrived in full: the target must not act on a truncated request.
      if (!req.complete) upstream.destroy();
    });

    upstream.on('response', (upRes) => {
      const pass = () => {
        if (clientGone || res.destroyed) {
          upRes.resume();
          return;
        }
        entry.status = upRes.statusCode;
        res.writeHead(upRes.statusCode, upRes.statusMessage, forwardableRawHeaders(upRes.rawHeaders));
        upRes.pipe(res);
        upRes.on('error', () => res.destroy());
      };
      if (delayMs > 0) {
        const timer = setTimeout(pass, delayMs);
        // A client that leaves while the answer is held: stop waiting, discard the answer.
        res.on('close', () => {
          if (!clientGone) return;
          clearTimeout(timer);
          upRes.resume();
        });
      } else {
        pass();
      }
    });
    upstream.on('error', (err) => {
      if (clientGone) return;
      if (!res.headersSent) {
        entry.status = 502;
        const body = `fault-proxy: target unreachable (${err.code ?? err.message})\n`;
        res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      } else {
        res.destroy();
      }
    });
    req.pipe(upstream);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const mode = faults.get(url.pathname) ?? 'pass';
    const kind = faultKind(mode);
    const entry = {
      method: req.method, path: url.pathname, url: req.url, fault: kind, status: undefined, at: Date.now(),
    };
    requests.push(entry);
    switch (kind) {
      case 'down':
        // No answer at all: the client sees the connection reset (a browser: a network error).
        req.socket.destroy();
        break;
      case 'status':
        entry.status = answerStatus(req, res, mode);
        break;
      case 'delay':
        forward(req, res, entry, mode.delayMs);
        break;
      default:
        forward(req, res, entry, 0);
    }
  });

  // A client that resets mid-request must not take the process down.
  server.on('clientError', (err, socket) => socket.destroy());
  const listening = await listenOnLoopback(server, wantedPort);
  const { origin, port } = listening;

  let closed;
  return {
    origin,
    port,
    target: targetUrl.origin,
    /**
     * Every request the proxy received, in arrival order: { method, path (the pathname), url (path
     * and query as sent), fault: 'pass'|'down'|'status'|'delay', status (what the client was
     * answered; undefined for 'down' or while pending), aborted? (the client left before the
     * answer was complete), at }.
     */
    requests,
    /**
     * From now on, requests whose URL pathname is exactly `pathname` get `mode`:
     * 'pass' | 'down' | { status, body?, contentType?, headers? } | { delayMs }.
     */
    set(pathname, mode) {
      faultKind(mode);
      faults.set(pathname, mode);
    },
    /** Remove the fault for `pathname`, or every fault without an argument. */
    clear(pathname) {
      if (pathname === undefined) faults.clear();
      else faults.delete(pathname);
    },
    /** The fault mode currently set for `pathname` ('pass' when none). */
    get(pathname) {
      return faults.get(pathname) ?? 'pass';
    },
    /** Stop listening and destroy every open connection, client-side and towards the target. */
    close() {
      closed ??= (() => {
        const done = listening.close();
        for (const upstream of upstreamRequests) upstream.destroy();
        agent.destroy();
        return done;
      })();
      return closed;
    },
  };
}
