// The shell's HTTP primitive, called from src/worker/io.rs. It performs exactly the request the
// Rust core built and decides nothing: no URL, header or body is chosen here. It lives in JS
// because the same thing written against web-sys costs the wasm module several KB.
//
// Resolves to [status, contentType, body]; rejects with "failed", "timeout" or "too_large".

export async function fetchCapped(method, url, headers, body, timeoutMs, maxBytes) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    const init = {
      method,
      headers: [],
      mode: 'cors',
      credentials: 'omit',
      cache: 'no-store',
      // Never followed: an opaque redirect is reported as 302 and the core rejects it.
      redirect: 'manual',
      signal: controller.signal,
    };
    // "name: value\n" lines, exactly as the core set them.
    for (const line of headers.split('\n')) {
      const colon = line.indexOf(': ');
      if (colon > 0) init.headers.push([line.slice(0, colon), line.slice(colon + 2)]);
    }
    if (body !== undefined) init.body = body;
    const response = await fetch(url, init);
    if (response.type === 'opaqueredirect') return [302, undefined, new Uint8Array(0)];
    const declared = response.headers.get('content-length');
    if (declared !== null && Number(declared) > maxBytes) throw 'too_large';
    // Read chunk by chunk, so an oversized body is refused without being buffered.
    const chunks = [];
    let length = 0;
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        length += value.length;
        if (length > maxBytes) throw 'too_large';
        chunks.push(value);
      }
    }
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return [response.status, response.headers.get('content-type') ?? undefined, bytes];
  } catch (error) {
    controller.abort();
    throw error === 'too_large' ? error : timedOut ? 'timeout' : 'failed';
  } finally {
    clearTimeout(timer);
  }
}

// auth.fetch: the names of the headers fetchApi will send, joined by "," (which no header name
// contains), read from those very headers so that the core checks what is sent. Undefined unless
// they are [name, value] string pairs: what the page's client posts, and all fetchApi sends.
export function apiHeaderNames(request) {
  const headers = request?.headers;
  const pairs = Array.isArray(headers)
    && headers.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string');
  return pairs ? headers.map((p) => p[0]).join() : undefined;
}

// auth.fetch: the page's request, sent to an API the Rust core allowed, with the token it
// chose, given up after timeoutMs (response body included) and refused beyond maxBytes.
// Resolves to [status, wwwAuthenticate, response] where response is what the worker posts to
// the page ({ status, statusText, headers, body: ArrayBuffer }); rejects with "failed",
// "aborted", "redirect", "timeout" or "too_large".
export async function fetchApi(url, method, token, { headers, body, init, signal }, timeoutMs, maxBytes) {
  const pairs = [...headers, ['Authorization', `Bearer ${token}`]];
  const controller = new AbortController();
  const abort = () => controller.abort();
  signal?.addEventListener('abort', abort);
  if (signal?.aborted) abort();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    // The page's cache/credentials/integrity/keepalive/referrerPolicy choices, then ours: always
    // CORS, and never a redirect followed with the token.
    const response = await fetch(url, {
      ...init, method, headers: pairs, body, signal: controller.signal, mode: 'cors', redirect: 'manual',
    });
    if (response.type === 'opaqueredirect') throw 'redirect';
    const reply = {
      status: response.status,
      statusText: response.statusText,
      headers: [...response.headers],
      body: await readCapped(response, maxBytes),
    };
    return [response.status, response.headers.get('www-authenticate') ?? undefined, reply];
  } catch (error) {
    controller.abort();
    throw error === 'redirect' || error === 'too_large' ? error : signal?.aborted ? 'aborted' : timedOut ? 'timeout' : 'failed';
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', abort);
  }
}

// The body as an ArrayBuffer, read chunk by chunk so that one over maxBytes is refused
// ("too_large") without being buffered.
async function readCapped(response, maxBytes) {
  const declared = response.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw 'too_large';
  const chunks = [];
  let length = 0;
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.length;
      if (length > maxBytes) throw 'too_large';
      chunks.push(value);
    }
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out.buffer;
}
