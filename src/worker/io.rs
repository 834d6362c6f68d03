//! The I/O the core asks for: `fetch`, the clock, randomness and signature checks.
//!
//! Nothing here logs: requests and responses carry codes, verifiers and tokens.

#[allow(unused_imports)]
use crate::prelude::*;

use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::protocol::http::{HttpRequest, HttpResponse, MAX_RESPONSE_BYTES, REQUEST_TIMEOUT_MS};
use crate::protocol::jws::SignatureCheck;
use crate::protocol::Error;

const FAILED: Error = Error::Network { reason: "failed" };
const TIMEOUT: Error = Error::Network { reason: "timeout" };
const TOO_LARGE: Error = Error::Network {
    reason: "too_large",
};
const ALG: Error = Error::InvalidIdToken { reason: "alg" };
const JWKS: Error = Error::InvalidResponse { reason: "jwks" };
const SIGNATURE: Error = Error::InvalidIdToken {
    reason: "signature",
};

/// The current time in Unix seconds, as the core expects `now`.
pub fn now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Fills `buf` from the platform CSPRNG (`crypto.getRandomValues`, by `getrandom`'s `wasm_js`
/// backend). No CSPRNG: `config` / `randomness_unavailable`, never weaker bytes.
pub fn fill_random(buf: &mut [u8]) -> Result<(), Error> {
    getrandom::fill(buf).map_err(|_| Error::Config {
        reason: "randomness_unavailable",
    })
}

#[wasm_bindgen(module = "/src/worker/crypto.js")]
extern "C" {
    /// `crypto.js`: resolves to the digest (`Uint8Array`); rejects when WebCrypto cannot.
    #[wasm_bindgen(js_name = digest, catch)]
    async fn digest_with_webcrypto(function: &str, data: &[u8]) -> Result<JsValue, JsValue>;

    /// `crypto.js`: resolves to a boolean, rejects with `alg`, `jwks` or `signature`.
    #[wasm_bindgen(js_name = verifySignature, catch)]
    async fn verify_with_webcrypto(
        jwk: &str,
        import_algorithm: &str,
        verify_algorithm: &str,
        signature: &[u8],
        data: &[u8],
    ) -> Result<JsValue, JsValue>;
}

/// Checks `check.signature` over `check.signing_input` with WebCrypto:
/// `importKey("jwk", jwk, import_algorithm, false, ["verify"])`, then
/// `verify(verify_algorithm, key, signature, signing_input)`. `Ok(false)`: it does not match.
///
/// Errors: `InvalidIdToken { alg }` when the browser lacks the algorithm or curve
/// (`importKey` rejects with `NotSupportedError`) or has no WebCrypto; `InvalidResponse { jwks }`
/// when it refuses the key otherwise (`DataError`, a malformed key); `InvalidIdToken { signature }`
/// when `verify` itself fails.
pub async fn verify_signature(check: &SignatureCheck) -> Result<bool, Error> {
    verify_with_webcrypto(
        &check.jwk,
        &check.import_algorithm,
        &check.verify_algorithm,
        &check.signature,
        &check.signing_input,
    )
    .await
    .map(|valid| valid.is_truthy())
    .map_err(|reason| match reason.as_string().as_deref() {
        Some("alg") => ALG,
        Some("jwks") => JWKS,
        _ => SIGNATURE,
    })
}

/// `function` (`SHA-256`, `SHA-384`, `SHA-512`) of `data`, by WebCrypto (for `at_hash`). A
/// browser that cannot: `invalid_id_token` / `at_hash`, since the check cannot be made.
pub async fn digest(function: &str, data: &[u8]) -> Result<Vec<u8>, Error> {
    match digest_with_webcrypto(function, data).await {
        Ok(digest) => Ok(digest.unchecked_into::<Uint8Array>().to_vec()),
        Err(_) => Err(Error::InvalidIdToken { reason: "at_hash" }),
    }
}

#[wasm_bindgen(module = "/src/worker/fetch.js")]
extern "C" {
    /// `fetch.js`: resolves to `[status, contentType, body]`, rejects with a reason string.
    #[wasm_bindgen(js_name = fetchCapped, catch)]
    async fn fetch_capped(
        method: &str,
        url: &str,
        headers: &str,
        body: Option<&str>,
        timeout_ms: u32,
        max_bytes: u32,
    ) -> Result<JsValue, JsValue>;
}

/// Performs `req` with `fetch`: CORS, no credentials, no cache, redirects not followed (an
/// opaque redirect is reported as status 302), aborted after [`REQUEST_TIMEOUT_MS`], and
/// refused beyond [`MAX_RESPONSE_BYTES`] (read in chunks, never buffered whole).
pub async fn fetch(req: &HttpRequest) -> Result<HttpResponse, Error> {
    fetch_within(req, REQUEST_TIMEOUT_MS).await
}

/// [`fetch`] with an explicit timeout in milliseconds.
pub async fn fetch_within(req: &HttpRequest, timeout_ms: u32) -> Result<HttpResponse, Error> {
    // `name: value` lines: one string across the boundary instead of a list of them (the
    // core's header names and values never contain a line break).
    let mut headers = String::new();
    for (name, value) in &req.headers {
        headers.push_str(name);
        headers.push_str(": ");
        headers.push_str(value);
        headers.push('\n');
    }
    let reply = fetch_capped(
        req.method.as_str(),
        &req.url,
        &headers,
        req.body.as_deref(),
        timeout_ms,
        MAX_RESPONSE_BYTES as u32,
    )
    .await
    .map_err(|reason| match reason.as_string().as_deref() {
        Some("timeout") => TIMEOUT,
        Some("too_large") => TOO_LARGE,
        _ => FAILED,
    })?;
    // The shape fetch.js resolves with: [number, string | undefined, Uint8Array].
    let reply: Array = reply.unchecked_into();
    Ok(HttpResponse {
        status: reply.get(0).as_f64().unwrap_or(0.0) as u16,
        content_type: reply.get(1).as_string(),
        body: reply.get(2).unchecked_into::<Uint8Array>().to_vec(),
    })
}


#[wasm_bindgen(module = "/src/worker/fetch.js")]
extern "C" {
    /// `fetch.js`: resolves to `[status, wwwAuthenticate, response]`, rejects with a reason.
    #[wasm_bindgen(js_name = fetchApi, catch)]
    async fn fetch_api(url: &str, method: &str, token: &str, request: &JsValue) -> Result<JsValue, JsValue>;
}

/// An API's answer to `auth.fetch`: what the shell decides on, and the response to hand back.
pub struct ApiResponse {
    /// The HTTP status.
    pub status: u16,
    /// The `WWW-Authenticate` header, if any (exposed by the API's CORS policy).
    pub challenge: Option<String>,
    /// `fetch.js`'s response object for the page (status, headers, body), passed on untouched.
    pub value: JsValue,
}

/// Sends a page's request to an API with `Authorization: Bearer <token>`: CORS, redirects
/// not followed (`invalid_response` / `redirect`: the token must not travel on), the page's
/// `AbortSignal` honoured (`network` / `aborted`). The body never enters wasm memory.
pub async fn api_fetch(url: &str, method: &str, token: &str, request: &JsValue) -> Result<ApiResponse, Error> {
    let reply: Array = fetch_api(url, method, token, request)
        .await
        .map_err(|reason| match reason.as_string().as_deref() {
            Some("aborted") => Error::Network { reason: "aborted" },
            Some("redirect") => Error::InvalidResponse { reason: "redirect" },
            _ => FAILED,
        })?
        .unchecked_into();
    Ok(ApiResponse {
        status: reply.get(0).as_f64().unwrap_or(0.0) as u16,
        challenge: reply.get(1).as_string(),
        value: reply.get(2),
    })
}
