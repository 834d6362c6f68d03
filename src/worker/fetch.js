// The fetch primitives, called from src/worker/io.rs: auth.fetch's, and the one for the shell's
// own requests to the provider. They send exactly the request the Rust core allowed (with the
// token it chose), and decide nothing.

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
// authorization is the Authorization header value the core chose (Bearer or DPoP scheme), proof
// the DPoP header, if any. Resolves to [status, wwwAuthenticate, response, dpopNonce] where response is what the worker posts to
// the page ({ status, statusText, headers, body: ArrayBuffer }); rejects with "failed",
// "aborted", "redirect", "timeout" or "too_large".
export async function fetchApi(url, method, authorization, proof, { headers, body, init, signal }, timeoutMs, maxBytes) {
  const pairs = [...headers, ['Authorization', authorization]];
  if (proof) pairs.push(['DPoP', proof]);
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
      body: (await readCapped(response, maxBytes)).buffer,
    };
    const header = (name) => response.headers.get(name) ?? undefined;
    return [response.status, header('www-authenticate'), reply, header('dpop-nonce')];
  } catch (error) {
    controller.abort();
    throw error === 'redirect' || error === 'too_large' ? error : signal?.aborted ? 'aborted' : timedOut ? 'timeout' : 'failed';
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', abort);
  }
}

// The body's bytes, read chunk by chunk so that one over maxBytes is refused ("too_large") and its
// download stopped without it being buffered. (Not response.arrayBuffer() when Content-Length is
// within the cap: that length is the encoded one, so a compressed body could still be any size
// once decoded; and measured in headless Chromium it was no faster for small bodies: the time is
// the body's arrival, not the reads.) One reader for both fetches.
async function readCapped(response, maxBytes) {
  const declared = response.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw 'too_large';
  const chunks = [];
  let length = 0;
  const reader = response.body?.getReader();
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > maxBytes) {
      reader.cancel(); // stops the download; its promise tells nothing more
      throw 'too_large';
    }
    chunks.push(value);
  }
  // Most answers arrive in one chunk: hand it on when its buffer holds exactly the body, instead
  // of copying it into a new one.
  const [first] = chunks;
  if (chunks.length === 1 && first.byteOffset === 0 && first.byteLength === first.buffer.byteLength) return first;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

// The shell's own requests to the provider (discovery, keys, token, revocation, UserInfo): the
// request the Rust core built, with no credentials, no cache and redirects not followed, aborted
// after timeoutMs (AbortSignal.timeout: the body's reads included). headers: the JSON text of
// [[name, value], ...]. Resolves to [status, contentType, body
// (Uint8Array), wwwAuthenticate, dpopNonce] (an opaque redirect as [302]); rejects with
// "failed", "timeout" or "too_large" (readCapped).
export async function fetchProvider(url, method, headers, body, timeoutMs, maxBytes) {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, {
      method, headers: JSON.parse(headers), body, credentials: 'omit', cache: 'no-store', redirect: 'manual', signal,
    });
    // In CORS mode the only response with status 0 is the opaque redirect of redirect: manual.
    if (response.status === 0) return [302];
    const out = await readCapped(response, maxBytes);
    const header = (name) => response.headers.get(name) ?? undefined;
    return [response.status, header('content-type'), out, header('www-authenticate'), header('dpop-nonce')];
  } catch (error) {
    throw error === 'too_large' ? error : signal.aborted ? 'timeout' : 'failed';
  }
}
