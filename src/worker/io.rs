//! The I/O the core asks for: `fetch` (through `fetch.js`, for the provider's requests and
//! `auth.fetch`'s), the clock, randomness (by `getrandom`) and WebCrypto (digests typed by
//! web-sys; signatures through `dpop.js`).
//!
//! Nothing here logs: requests and responses carry codes, verifiers and tokens.

#[allow(unused_imports)]
use crate::prelude::*;

use core::future::Future;

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Crypto, SubtleCrypto};

use crate::protocol::codec::json;
use crate::protocol::config::ClientConfig;
use crate::protocol::http::{HttpRequest, HttpResponse, MAX_RESPONSE_BYTES, REQUEST_TIMEOUT_MS};
use crate::protocol::jws::SignatureCheck;
use crate::protocol::Error;

const FAILED: Error = Error::Network { reason: &"failed" };
const TIMEOUT: Error = Error::Network { reason: &"timeout" };
const TOO_LARGE: Error = Error::Network {
    reason: &"too_large",
};
const ALG: Error = Error::InvalidIdToken { reason: &"alg" };
const JWKS: Error = Error::InvalidResponse { reason: &"jwks" };
const SIGNATURE: Error = Error::InvalidIdToken {
    reason: &"signature",
};
const AT_HASH: Error = Error::InvalidIdToken { reason: &"at_hash" };

/// The current time in Unix seconds, as the core expects `now`.
pub fn now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// The current time in Unix milliseconds, for timer delays.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Fills `buf` from the platform CSPRNG (`crypto.getRandomValues`, by `getrandom`'s `wasm_js`
/// backend). No CSPRNG: `config` / `randomness_unavailable`, never weaker bytes.
pub fn fill_random(buf: &mut [u8]) -> Result<(), Error> {
    getrandom::fill(buf).map_err(|_| Error::Config {
        reason: &"randomness_unavailable",
    })
}

#[wasm_bindgen]
extern "C" {
    /// The worker's `crypto` (`WorkerGlobalScope.crypto`), read once. (Not through
    /// `js_sys::global()`, whose search for the global object by four names, each with its own
    /// import and lazy cell, the worker does not need: README, Design notes.)
    #[wasm_bindgen(thread_local_v2, js_name = crypto)]
    static CRYPTO: Option<Crypto>;
}

/// `crypto.subtle`, or `None` where the browser has none (outside a secure context).
fn subtle() -> Option<SubtleCrypto> {
    let subtle = CRYPTO.with(|crypto| crypto.as_ref().map(Crypto::subtle))?;
    (!subtle.is_undefined()).then_some(subtle)
}

/// Awaits a promise a web-sys method returned, or the exception it threw.
async fn settle(promise: Result<Promise, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(promise?).await
}

/// Checks `check.signature` over `check.signing_input` with WebCrypto (`dpop.js`'s
/// `verifySignature`: `importKey("jwk", jwk, import_algorithm, false, ["verify"])`, then
/// `verify(verify_algorithm, key, signature, signing_input)`). `Ok(false)`: it does not match.
///
/// Errors: `InvalidIdToken { alg }` when the browser lacks the algorithm or curve
/// (`importKey` rejects with `NotSupportedError`) or has no WebCrypto; `InvalidResponse { jwks }`
/// when it refuses the key otherwise (`DataError`, a malformed key); `InvalidIdToken { signature }`
/// when `verify` itself fails.
pub async fn verify_signature(check: &SignatureCheck) -> Result<bool, Error> {
    match verify_jws(&check.jwk, check.import_algorithm, check.verify_algorithm, &check.signature, &check.signing_input).await {
        Ok(valid) => Ok(valid.as_bool() == Some(true)),
        Err(reason) => Err(match reason.as_string().as_deref() {
            Some("alg") => ALG,
            Some("jwks") => JWKS,
            _ => SIGNATURE,
        }),
    }
}

/// `function` (`SHA-256`, `SHA-384`, `SHA-512`) of `data`, by WebCrypto (for `at_hash`). A
/// browser that cannot: `invalid_id_token` / `at_hash`, since the check cannot be made.
pub async fn digest(function: &str, data: &[u8]) -> Result<Vec<u8>, Error> {
    let subtle = subtle().ok_or_else(|| AT_HASH)?;
    match settle(subtle.digest_with_str_and_u8_array(function, data)).await {
        Ok(digest) => Ok(Uint8Array::new(&digest).to_vec()),
        Err(_) => Err(AT_HASH),
    }
}

/// Performs `req` with `fetch`: CORS, no credentials, no cache, redirects not followed (an
/// opaque redirect is reported as status 302), aborted after [`REQUEST_TIMEOUT_MS`], and
/// refused beyond [`MAX_RESPONSE_BYTES`] (read in chunks, never buffered whole). The response
/// comes with the headers a DPoP request is answered with.
pub fn fetch(req: &HttpRequest) -> impl Future<Output = Result<Fetched, Error>> + '_ {
    fetch_within(req, REQUEST_TIMEOUT_MS)
}

/// A response and the headers a DPoP request is answered with (RFC 9449 §8, §9).
pub struct Fetched {
    /// The response.
    pub response: HttpResponse,
    /// `WWW-Authenticate`, if any.
    pub challenge: Option<String>,
    /// `DPoP-Nonce`, if any.
    pub dpop_nonce: Option<String>,
}

/// [`fetch`] with an explicit timeout in milliseconds, by `fetch.js`'s `fetchProvider`
/// (`AbortSignal.timeout`, the body read chunk by chunk and refused once its count passes the
/// cap, before that chunk is kept): every failure of the platform is `FAILED`, or `TIMEOUT`
/// once the signal aborted.
pub async fn fetch_within(req: &HttpRequest, timeout_ms: u32) -> Result<Fetched, Error> {
    // `[[name, value], ...]` as JSON text, which `fetch.js` parses (any character survives).
    let mut headers = String::from("[");
    for (name, value) in &req.headers {
        if headers.len() > 1 {
            headers.push(',');
        }
        headers.push('[');
        json::write_string(&mut headers, name);
        headers.push(',');
        json::write_string(&mut headers, value);
        headers.push(']');
    }
    headers.push(']');
    let reply: Array = fetch_provider(&req.url, req.method.as_str(), &headers, req.body.clone(), timeout_ms, MAX_RESPONSE_BYTES as u32)
        .await
        .map_err(|reason| match reason.as_string().as_deref() {
            Some("timeout") => TIMEOUT,
            Some("too_large") => TOO_LARGE,
            _ => FAILED,
        })?
        .unchecked_into();
    let body = reply.get(2);
    Ok(Fetched {
        response: HttpResponse {
            status: reply.get(0).as_f64().unwrap_or(0.0) as u16,
            content_type: reply.get(1).as_string(),
            body: if body.is_undefined() { Vec::new() } else { body.unchecked_into::<Uint8Array>().to_vec() },
        },
        challenge: reply.get(3).as_string(),
        dpop_nonce: reply.get(4).as_string(),
    })
}

#[wasm_bindgen(module = "/src/worker/dpop.js")]
extern "C" {
    #[wasm_bindgen(js_name = dpopKey, catch)]
    async fn dpop_key() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = dpopSign, catch)]
    async fn dpop_sign(pair: &JsValue, input: &str) -> Result<JsValue, JsValue>;
    /// Resolves to whether the signature matches; rejects with `alg`, `jwks` or `signature`.
    #[wasm_bindgen(js_name = verifySignature, catch)]
    async fn verify_jws(jwk: &str, import_algorithm: &str, verify_algorithm: &str, signature: &[u8], input: &[u8]) -> Result<JsValue, JsValue>;
}

const DPOP_KEY: Error = Error::Config { reason: &"dpop_key" };

/// Makes the worker's DPoP key pair (`dpop.js`): WebCrypto ECDSA P-256, the private key
/// non-extractable and usable only to sign. Returns the pair as `dpop.js` made it,
/// `[privateKey, rawPublicKey]`, which stays in the worker (and its store). `config` /
/// `dpop_key` where WebCrypto cannot.
pub async fn generate_dpop_key() -> Result<JsValue, Error> {
    dpop_key().await.map_err(|_| DPOP_KEY)
}

/// The raw public key (`0x04 || X || Y`) of a key pair from [`generate_dpop_key`] (or the
/// store): what the core computes the JWK and thumbprint from. `None` for anything else.
pub fn dpop_public_key(pair: &JsValue) -> Option<Vec<u8>> {
    let public = pair.dyn_ref::<Array>()?.get(1);
    Some(public.dyn_ref::<Uint8Array>()?.to_vec())
}

/// ES256 signature (IEEE P1363 `r || s`) of `input` with the private half of `pair` (`dpop.js`).
pub async fn sign_es256(pair: &JsValue, input: &str) -> Result<Vec<u8>, Error> {
    let signature: Uint8Array = dpop_sign(pair, input).await.map_err(|_| DPOP_KEY)?.unchecked_into();
    Ok(signature.to_vec())
}

#[wasm_bindgen(module = "/src/worker/device.js")]
extern "C" {
    #[wasm_bindgen(js_name = deviceCode)]
    fn device_code_js(request: &JsValue, code: &str);
    #[wasm_bindgen(js_name = deviceWait, catch)]
    async fn device_wait_js(ms: f64, request: &JsValue) -> Result<JsValue, JsValue>;
}

/// A device login's user code for the page (`device.js`: `request.onCode`), as JSON text.
pub fn device_code(request: &JsValue, code: &str) {
    device_code_js(request, code);
}

/// Waits `seconds` between two token requests of a device login; `network` / `aborted` when
/// the page's signal stops it (`device.js`).
pub async fn device_wait(seconds: u64, request: &JsValue) -> Result<(), Error> {
    device_wait_js(seconds as f64 * 1000.0, request).await.map(drop).map_err(|_| Error::Network { reason: &"aborted" })
}

#[wasm_bindgen(module = "/src/worker/fetch.js")]
extern "C" {
    /// `fetch.js`: the provider request (headers: the JSON text of `[[name, value], ...]`); resolves to `[status, contentType, body, wwwAuthenticate, dpopNonce]` (an opaque
    /// redirect: `[302]`), rejects with a reason.
    #[wasm_bindgen(js_name = fetchProvider, catch)]
    async fn fetch_provider(
        url: &str,
        method: &str,
        headers: &str,
        body: Option<String>,
        timeout_ms: u32,
        max_bytes: u32,
    ) -> Result<JsValue, JsValue>;

    /// `fetch.js`: resolves to `[status, wwwAuthenticate, response, dpopNonce]`, rejects with a
    /// reason.
    #[wasm_bindgen(js_name = fetchApi, catch)]
    async fn fetch_api(
        url: &str,
        method: &str,
        authorization: &str,
        proof: Option<String>,
        request: &JsValue,
        timeout_ms: u32,
        max_bytes: u32,
    ) -> Result<JsValue, JsValue>;

    /// `fetch.js`: the names of the headers `fetchApi` will send, joined by `,`.
    #[wasm_bindgen(js_name = apiHeaderNames)]
    fn api_header_names_of(request: &JsValue) -> Option<String>;
}

/// The names of the headers [`api_fetch`] will send for the page's `request`, joined by `,`
/// (which no header name contains), read from those very headers. `None` unless they are a
/// list of `[name, value]` string pairs, the only shape that is sent.
pub fn api_header_names(request: &JsValue) -> Option<String> {
    api_header_names_of(request)
}

/// How long an `auth.fetch` may take and how large its response body may be
/// (`fetchTimeoutSeconds`, `fetchMaxResponseBytes`).
pub struct ApiLimits {
    timeout_ms: u32,
    max_bytes: u32,
}

impl ApiLimits {
    /// The limits the configuration sets (validated there: they fit in `u32`).
    pub fn of(config: &ClientConfig) -> ApiLimits {
        ApiLimits {
            timeout_ms: (config.fetch_timeout * 1000) as u32,
            max_bytes: config.fetch_max_response_bytes as u32,
        }
    }
}

/// An API's answer to `auth.fetch`: what the shell decides on, and the response to hand back.
pub struct ApiResponse {
    /// The HTTP status.
    pub status: u16,
    /// The `WWW-Authenticate` header, if any (exposed by the API's CORS policy).
    pub challenge: Option<String>,
    /// `fetch.js`'s response object for the page (status, headers, body), passed on untouched.
    pub value: JsValue,
    /// The `DPoP-Nonce` header, if any (exposed by the API's CORS policy).
    pub dpop_nonce: Option<String>,
}

/// Sends a page's request to an API with `Authorization: <authorization>` (`Bearer <token>`
/// or `DPoP <token>`, as the core said) and, in a DPoP session, the `DPoP: <proof>` header: CORS, redirects
/// not followed (`invalid_response` / `redirect`: the token must not travel on), the page's
/// `AbortSignal` honoured (`network` / `aborted`), given up after `limits`' timeout
/// (`network` / `timeout`) and refused beyond its size (`network` / `too_large`, read in
/// chunks, never buffered whole). The body never enters wasm memory.
pub async fn api_fetch(
    url: &str,
    method: &str,
    authorization: &str,
    proof: Option<String>,
    request: &JsValue,
    limits: &ApiLimits,
) -> Result<ApiResponse, Error> {
    let reply: Array = fetch_api(url, method, authorization, proof, request, limits.timeout_ms, limits.max_bytes)
        .await
        .map_err(|reason| match reason.as_string().as_deref() {
            Some("aborted") => Error::Network { reason: &"aborted" },
            Some("redirect") => Error::InvalidResponse { reason: &"redirect" },
            Some("timeout") => TIMEOUT,
            Some("too_large") => TOO_LARGE,
            _ => FAILED,
        })?
        .unchecked_into();
    Ok(ApiResponse {
        status: reply.get(0).as_f64().unwrap_or(0.0) as u16,
        challenge: reply.get(1).as_string(),
        value: reply.get(2),
        dpop_nonce: reply.get(3).as_string(),
    })
}
