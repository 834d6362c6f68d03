//! The I/O the core asks for: `fetch`, the clock, randomness and signature checks.
//!
//! Nothing here logs: requests and responses carry codes, verifiers and tokens.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::rc::Rc;
use core::cell::Cell;
use core::future::Future;

use js_sys::{Array, Object, Promise, Uint8Array, JSON};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, DomException, Headers, ReadableStream, ReadableStreamDefaultReader,
    ReadableStreamReadResult, RequestCache, RequestCredentials, RequestInit, RequestMode,
    RequestRedirect, Response, ResponseType, SubtleCrypto, WorkerGlobalScope,
};

use crate::protocol::http::{HttpRequest, HttpResponse, MAX_RESPONSE_BYTES, REQUEST_TIMEOUT_MS};
use crate::protocol::jws::SignatureCheck;
use crate::protocol::Error;

const FAILED: Error = Error::Network { reason: "failed" };
const TIMEOUT: Error = Error::Network { reason: "timeout" };
const TOO_LARGE: Error = Error::Network {
    reason: "too_large",
};

/// The current time in Unix seconds, as the core expects `now`.
pub fn now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Fills `buf` from the platform CSPRNG (`crypto.getRandomValues`).
pub fn fill_random(buf: &mut [u8]) -> Result<(), Error> {
    getrandom::fill(buf).map_err(|_| Error::Config {
        reason: "randomness_unavailable",
    })
}

/// Checks `check.signature` over `check.signing_input` with WebCrypto:
/// `importKey("jwk", jwk, import_algorithm, false, ["verify"])`, then
/// `verify(verify_algorithm, key, signature, signing_input)`. `Ok(false)`: it does not match.
///
/// Errors: `InvalidIdToken { alg }` when the browser lacks the algorithm or curve
/// (`importKey` rejects with `NotSupportedError`); `InvalidResponse { jwks }` when it refuses
/// the key otherwise (`DataError`, a malformed key); `InvalidIdToken { signature }` when
/// `verify` itself fails.
pub async fn verify_signature(check: &SignatureCheck) -> Result<bool, Error> {
    let subtle = scope().crypto().map_err(|_| ALG)?.subtle();
    if subtle.is_undefined() {
        return Err(ALG); // not a secure context: no WebCrypto
    }
    let key = JsFuture::from(import_key(&subtle, check)?)
        .await
        .map_err(|e| {
            // A DOMException's legacy `code` (WebIDL); 0 for newer names such as DataError,
            // undefined (also 0) for a TypeError. Cheaper to read than `name`.
            match e.unchecked_into::<DomException>().code() {
                DomException::NOT_SUPPORTED_ERR => ALG,
                _ => JWKS,
            }
        })?;
    let valid = JsFuture::from(verify(&subtle, &key, check)?)
        .await
        .map_err(|_| SIGNATURE)?;
    Ok(valid.is_truthy())
}

const ALG: Error = Error::InvalidIdToken { reason: "alg" };
const JWKS: Error = Error::InvalidResponse { reason: "jwks" };
const SIGNATURE: Error = Error::InvalidIdToken {
    reason: "signature",
};

// The two WebCrypto calls are kept out of `verify_signature`'s state machine: that is
// smaller once it is inlined into the caller's.

fn import_key(subtle: &SubtleCrypto, check: &SignatureCheck) -> Result<Promise, Error> {
    subtle
        .import_key_with_object(
            "jwk",
            &parse(&check.jwk, JWKS)?,
            &parse(&check.import_algorithm, ALG)?,
            false,
            &Array::of1(&JsValue::from_str("verify")),
        )
        .map_err(|_| JWKS)
}

/// The slices go to JS as views of wasm memory, which `verify` copies before it returns.
fn verify(subtle: &SubtleCrypto, key: &JsValue, check: &SignatureCheck) -> Result<Promise, Error> {
    subtle
        .verify_with_object_and_u8_array_and_u8_array(
            &parse(&check.verify_algorithm, SIGNATURE)?,
            key.unchecked_ref(),
            &check.signature,
            &check.signing_input,
        )
        .map_err(|_| SIGNATURE)
}

/// `JSON.parse`: the core hands over JSON texts, cheaper to parse than to build field by field.
fn parse(text: &str, error: Error) -> Result<Object, Error> {
    JSON::parse(text)
        .map(JsCast::unchecked_into)
        .map_err(|_| error)
}

/// The worker's global scope (the shell only ever runs in a dedicated worker).
pub(crate) fn scope() -> WorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Performs `req` with `fetch`: CORS, no credentials, no cache, redirects not followed (an
/// opaque redirect is reported as status 302), aborted after
/// [`REQUEST_TIMEOUT_MS`], and refused beyond [`MAX_RESPONSE_BYTES`].
pub async fn fetch(req: &HttpRequest) -> Result<HttpResponse, Error> {
    fetch_within(req, REQUEST_TIMEOUT_MS).await
}

/// [`fetch`] with an explicit timeout in milliseconds.
pub async fn fetch_within(req: &HttpRequest, timeout_ms: u32) -> Result<HttpResponse, Error> {
    let controller = AbortController::new().map_err(|_| FAILED)?;
    let init = RequestInit::new();
    init.set_method(req.method.as_str());
    init.set_mode(RequestMode::Cors);
    init.set_credentials(RequestCredentials::Omit);
    init.set_cache(RequestCache::NoStore);
    init.set_redirect(RequestRedirect::Manual);
    let headers = Headers::new().map_err(|_| FAILED)?;
    for (name, value) in &req.headers {
        headers.append(name, value).map_err(|_| FAILED)?;
    }
    init.set_headers(&headers);
    if let Some(body) = &req.body {
        init.set_body(&JsValue::from_str(body));
    }
    init.set_signal(Some(&controller.signal()));
    with_deadline(
        &controller,
        timeout_ms,
        perform(&req.url, &init, &controller),
    )
    .await
}

/// Runs `work`, aborting `controller` after `timeout_ms`; a failure after the deadline
/// fired is reported as `Network { timeout }`. `work` must observe the controller's signal.
pub async fn with_deadline<T>(
    controller: &AbortController,
    timeout_ms: u32,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let expired = Rc::new(Cell::new(false));
    let on_timeout = Closure::<dyn FnMut()>::new({
        let expired = expired.clone();
        let controller = controller.clone();
        move || {
            expired.set(true);
            controller.abort();
        }
    });
    let scope = scope();
    let timer = scope
        .set_timeout_with_callback_and_timeout_and_arguments_0(
            on_timeout.as_ref().unchecked_ref(),
            i32::try_from(timeout_ms).unwrap_or(i32::MAX),
        )
        .map_err(|_| FAILED)?;
    let result = work.await;
    scope.clear_timeout_with_handle(timer);
    drop(on_timeout);
    match result {
        Err(_) if expired.get() => Err(TIMEOUT),
        result => result,
    }
}

async fn perform(
    url: &str,
    init: &RequestInit,
    controller: &AbortController,
) -> Result<HttpResponse, Error> {
    // `fetch` resolves with a Response, and a body stream yields Uint8Arrays (Fetch, Streams
    // standards): unchecked casts spare the glue an `instanceof` import each.
    let response: Response = JsFuture::from(scope().fetch_with_str_and_init(url, init))
        .await
        .map_err(|_| FAILED)?
        .unchecked_into();
    // `redirect: "manual"` yields an opaque redirect with status 0; the core rejects 3xx.
    if response.type_() == ResponseType::Opaqueredirect {
        return Ok(HttpResponse {
            status: 302,
            content_type: None,
            body: Vec::new(),
        });
    }
    let headers = response.headers();
    let declared = headers.get("content-length").ok().flatten();
    if declared.is_some_and(|n| {
        n.trim()
            .parse::<u64>()
            .is_ok_and(|n| n > MAX_RESPONSE_BYTES as u64)
    }) {
        controller.abort();
        return Err(TOO_LARGE);
    }
    let content_type = headers.get("content-type").ok().flatten();
    let body = match response.body() {
        Some(stream) => read_capped(&stream, controller).await?,
        None => Vec::new(),
    };
    Ok(HttpResponse {
        status: response.status(),
        content_type,
        body,
    })
}

/// Reads the body chunk by chunk, so an oversized body is refused without being buffered.
async fn read_capped(
    stream: &ReadableStream,
    controller: &AbortController,
) -> Result<Vec<u8>, Error> {
    let reader = ReadableStreamDefaultReader::new(stream).map_err(|_| FAILED)?;
    let mut body = Vec::new();
    loop {
        let chunk: ReadableStreamReadResult = JsFuture::from(reader.read())
            .await
            .map_err(|_| FAILED)?
            .unchecked_into();
        if chunk.get_done().unwrap_or(true) {
            return Ok(body);
        }
        let bytes: Uint8Array = chunk.get_value().unchecked_into();
        let start = body.len();
        let end = start + bytes.length() as usize;
        if end > MAX_RESPONSE_BYTES {
            controller.abort();
            return Err(TOO_LARGE);
        }
        body.resize(end, 0);
        bytes.copy_to(&mut body[start..]);
    }
}
