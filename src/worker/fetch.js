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

// auth.fetch: the page's request, sent to an API the Rust core allowed, with the token it
// chose. Resolves to [status, wwwAuthenticate, response] where response is what the worker posts
// to the page ({ status, statusText, headers, body: ArrayBuffer }); rejects with "failed",
// "aborted" or "redirect".
export async function fetchApi(url, method, token, { headers, body, init, signal }) {
  const pairs = [...headers, ['Authorization', `Bearer ${token}`]];
  try {
    // The page's cache/credentials/integrity/keepalive/referrerPolicy choices, then ours: always
    // CORS, and never a redirect followed with the token.
    const response = await fetch(url, {
      ...init, method, headers: pairs, body, signal, mode: 'cors', redirect: 'manual',
    });
    if (response.type === 'opaqueredirect') throw 'redirect';
    const reply = {
      status: response.status,
      statusText: response.statusText,
      headers: [...response.headers],
      body: await response.arrayBuffer(),
    };
    return [response.status, response.headers.get('www-authenticate') ?? undefined, reply];
  } catch (error) {
    throw error === 'redirect' ? error : signal?.aborted ? 'aborted' : 'failed';
  }
}
