// The device login's primitives, called from src/worker/mod.rs (RFC 8628): show the page its
// user code, and wait between two token requests. `request` is what worker.ts passes beside a
// `deviceLogin` call: { onCode, signal }. They decide nothing.

// Hands the page `{ userCode, verificationUri, verificationUriComplete, expiresAt }` (JSON text:
// no device code, which stays in the worker).
export function deviceCode(request, code) {
  request?.onCode?.(code);
}

// Resolves after `ms`; rejects at once when the page's signal aborts the login.
export function deviceWait(ms, request) {
  return new Promise((resolve, reject) => {
    const signal = request?.signal;
    if (signal?.aborted) return reject();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject();
    }, { once: true });
  });
}
