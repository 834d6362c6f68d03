// auth.fetch's primitive, called from src/worker/io.rs (the shell's own requests to the
// provider are web-sys calls in io.rs). It sends exactly the request the Rust core allowed, with
// the token it chose, and decides nothing.

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
