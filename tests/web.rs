//! Headless tests of the wasm shell, run inside a dedicated worker like the real thing:
//! randomness, `fetch` wiring and its error mapping, signature checks with WebCrypto, the
//! IndexedDB pending-login store, the single-flight refresh, and the reply format of
//! `WorkerHost::handle`.
//!
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test --target wasm32-unknown-unknown`
//!
//! The runner's HTTP server also serves the crate directory, so `/Cargo.toml` is a real
//! same-origin endpoint.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Promise, Uint8Array};
use oidc_worker::__shell::single_flight::{SingleFlight, Turn};
use oidc_worker::__shell::{io, store, task, WorkerHost};
use oidc_worker::protocol::base64url;
use oidc_worker::protocol::http::{HttpRequest, HttpResponse, Method, MAX_RESPONSE_BYTES};
use oidc_worker::protocol::json::{self, Value};
use oidc_worker::protocol::jws::SignatureCheck;
use oidc_worker::protocol::Error;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen(inline_js = "
export function blob_url(len, type) { return URL.createObjectURL(new Blob([new Uint8Array(len)], { type })); }
export function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }
export function settle_later(ms, ok, value) { return new Promise((resolve, reject) => setTimeout(() => (ok ? resolve : reject)(value), ms)); }
export function all_settled(promises) { return Promise.allSettled(promises); }
export function is_dedicated_worker() { return typeof DedicatedWorkerGlobalScope !== 'undefined' && self instanceof DedicatedWorkerGlobalScope; }
")]
extern "C" {
    fn blob_url(len: u32, content_type: &str) -> String;
    fn sleep(ms: u32) -> Promise;
    fn is_dedicated_worker() -> bool;
    fn settle_later(ms: u32, ok: bool, value: &JsValue) -> Promise;
    fn all_settled(promises: &Array) -> Promise;
}

fn get(url: &str) -> HttpRequest {
    HttpRequest {
        method: Method::Get,
        url: url.into(),
        headers: vec![],
        body: None,
    }
}

/// Sends the call as the JSON text `worker.js` makes of the page's call (a typed message of
/// src/protocol/messages.rs) and returns the reply as JSON.
async fn call(host: &WorkerHost, call: &str) -> Value {
    call_with(host, call, JsValue::UNDEFINED).await
}

/// A call with what `worker.js` passes beside it (for `fetch`: `{ headers, body, init, signal }`).
async fn call_with(host: &WorkerHost, call: &str, request: JsValue) -> Value {
    let reply = JsFuture::from(host.handle(call.to_owned(), request))
        .await
        .expect("handle always resolves");
    reply_json(&reply)
}

/// A reply is JSON text (only a successful `fetch` answers with its response object).
fn reply_json(reply: &JsValue) -> Value {
    let text = reply.as_string().expect("a reply is JSON text");
    json::parse(text.as_bytes()).expect("reply is JSON")
}

/// `{ configure: "<options JSON>" }`: the options travel as JSON text.
fn configure_call(config: &str) -> String {
    let mut text = String::from(r#"{"configure":"#);
    json::write_string(&mut text, config);
    text + "}"
}

/// `{ login: "<login options JSON>" }`: the login options travel as JSON text.
fn login_call(options: &str) -> String {
    let mut text = String::from(r#"{"login":"#);
    json::write_string(&mut text, options);
    text + "}"
}

fn error_of(reply: &Value) -> (&str, Option<&str>) {
    assert_eq!(
        reply.get("ok").and_then(Value::as_bool),
        Some(false),
        "{}",
        reply.to_json()
    );
    let error = reply.get("error").expect("error");
    assert!(error.get("message").and_then(Value::as_str).is_some());
    (
        error.get("code").and_then(Value::as_str).expect("code"),
        error.get("reason").and_then(Value::as_str),
    )
}

fn value_of(reply: &Value) -> &Value {
    assert_eq!(
        reply.get("ok").and_then(Value::as_bool),
        Some(true),
        "{}",
        reply.to_json()
    );
    reply.get("value").expect("value")
}

fn unique_key(tag: &str) -> String {
    format!("{tag}-{}", js_sys::Math::random())
}

// ---- environment, clock, randomness ----

#[wasm_bindgen_test]
fn runs_in_a_dedicated_worker() {
    assert!(is_dedicated_worker());
}

#[wasm_bindgen_test]
fn clock_is_unix_seconds() {
    let now = io::now();
    assert!(now > 1_700_000_000 && now < 4_000_000_000, "{now}");
}

#[wasm_bindgen_test]
fn randomness_fills_every_byte_and_never_repeats() {
    let (mut a, mut b) = ([0u8; 96], [0u8; 96]);
    io::fill_random(&mut a).unwrap();
    io::fill_random(&mut b).unwrap();
    assert_ne!(a, b);
    // 96 random bytes leave the last 16 all zero with probability 2^-128.
    assert_ne!(a[80..], [0u8; 16]);
    assert_ne!(b[80..], [0u8; 16]);
}

// ---- fetch ----

/// `io::fetch`'s response (the DPoP headers beside it are not looked at here).
async fn fetch(req: &HttpRequest) -> Result<HttpResponse, Error> {
    io::fetch(req).await.map(|fetched| fetched.response)
}

#[wasm_bindgen_test]
async fn fetch_reads_status_content_type_and_body() {
    let res = fetch(&get("/Cargo.toml")).await.unwrap();
    assert_eq!(res.status, 200);
    assert!(res.content_type.is_some());
    assert!(res.body.starts_with(b"[package]"), "{:?}", &res.body[..16]);
}

#[wasm_bindgen_test]
async fn fetch_reports_http_errors_as_responses() {
    let res = fetch(&get("/no/such/file.json")).await.unwrap();
    assert_eq!(res.status, 404);
}

#[wasm_bindgen_test]
async fn fetch_sends_method_headers_and_body() {
    // A POST to a static file server still answers; what matters is that building the
    // request (method, headers, body) does not fail.
    let req = HttpRequest {
        method: Method::Post,
        url: "/Cargo.toml".into(),
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("accept".into(), "application/json".into()),
        ],
        body: Some("grant_type=refresh_token&refresh_token=x".into()),
    };
    let res = fetch(&req).await.unwrap();
    assert!(res.status >= 200, "{}", res.status);
}

#[wasm_bindgen_test]
async fn fetch_rejects_bad_headers_as_failed() {
    let mut req = get("/Cargo.toml");
    req.headers.push(("bad header".into(), "x".into()));
    assert_eq!(
        fetch(&req).await,
        Err(Error::Network { reason: &"failed" })
    );
}

#[wasm_bindgen_test]
async fn fetch_reads_data_urls() {
    let res = fetch(&get(r#"data:application/json,{"a":1}"#))
        .await
        .unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.content_type.as_deref(), Some("application/json"));
    assert_eq!(res.body, br#"{"a":1}"#);
}

#[wasm_bindgen_test]
async fn fetch_maps_connection_failure_to_failed() {
    let res = fetch(&get("http://127.0.0.1:1/")).await;
    assert_eq!(res, Err(Error::Network { reason: &"failed" }));
}

#[wasm_bindgen_test]
async fn fetch_accepts_a_body_of_exactly_the_cap() {
    let url = blob_url(MAX_RESPONSE_BYTES as u32, "application/json");
    let res = fetch(&get(&url)).await.unwrap();
    assert_eq!(res.body.len(), MAX_RESPONSE_BYTES);
    assert_eq!(res.content_type.as_deref(), Some("application/json"));
}

#[wasm_bindgen_test]
async fn fetch_refuses_a_declared_length_over_the_cap() {
    // Blob responses carry Content-Length; the shell does not trust it either way: the streamed
    // count refuses the body once it passes the cap, before that chunk is copied into wasm.
    let url = blob_url(MAX_RESPONSE_BYTES as u32 + 1, "application/json");
    let res = fetch(&get(&url)).await;
    assert_eq!(
        res,
        Err(Error::Network {
            reason: &"too_large"
        })
    );
}

#[wasm_bindgen_test]
async fn fetch_refuses_a_streamed_body_over_the_cap() {
    // data: responses carry no Content-Length: the streamed byte count decides.
    let url = format!(
        "data:application/json,{}",
        "a".repeat(MAX_RESPONSE_BYTES + 1)
    );
    let res = fetch(&get(&url)).await;
    assert_eq!(
        res,
        Err(Error::Network {
            reason: &"too_large"
        })
    );
}

#[wasm_bindgen_test]
async fn a_request_past_its_deadline_is_a_timeout() {
    // A zero deadline fires before any response can arrive from the network service.
    let res = io::fetch_within(&get("/Cargo.toml"), 0).await.map(|fetched| fetched.response);
    assert_eq!(res, Err(Error::Network { reason: &"timeout" }));
    // The same request with time to spare succeeds.
    assert_eq!(io::fetch_within(&get("/Cargo.toml"), 10_000).await.unwrap().response.status, 200);
}

// ---- randomness and digests ----

#[wasm_bindgen_test]
fn fill_random_draws_fresh_bytes() {
    let (mut a, mut b) = ([0u8; 96], [0u8; 96]);
    io::fill_random(&mut a).unwrap();
    io::fill_random(&mut b).unwrap();
    assert_ne!(a, [0; 96]);
    assert_ne!(a, b);
}

#[wasm_bindgen_test]
async fn digest_is_webcrypto_sha2() {
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
    // FIPS 180-4 examples for "abc".
    for (function, want) in [
        ("SHA-256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("SHA-384", "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
        (
            "SHA-512",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ] {
        assert_eq!(hex(&io::digest(function, b"abc").await.unwrap()), want, "{function}");
    }
    assert_eq!(io::digest("MD5", b"abc").await, Err(Error::InvalidIdToken { reason: &"at_hash" }));
}

// ---- signature verification (WebCrypto) ----

#[wasm_bindgen(inline_js = "
export async function sign_with_fresh_key(generate, sign, data) {
  data = data.slice(); // a view of wasm memory must not be used after an await
  const algorithm = JSON.parse(generate);
  if (algorithm.modulusLength) algorithm.publicExponent = new Uint8Array([1, 0, 1]);
  const { privateKey, publicKey } = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const signature = new Uint8Array(await crypto.subtle.sign(JSON.parse(sign), privateKey, data));
  const { kty, n, e, crv, x, y } = await crypto.subtle.exportKey('jwk', publicKey);
  return [JSON.stringify({ kty, n, e, crv, x, y }), signature]; // undefined members drop out
}
")]
extern "C" {
    fn sign_with_fresh_key(generate: &str, sign: &str, data: &[u8]) -> Promise;
}

/// A JWS `alg` as the core describes it to WebCrypto, and how a test makes a key for it.
struct Alg {
    /// `generateKey`'s algorithm (RSA: plus a 65537 `publicExponent`).
    generate: &'static str,
    /// `importKey`'s, as in `SignatureCheck::import_algorithm`.
    import: &'static str,
    /// `sign`'s and `verify`'s, as in `SignatureCheck::verify_algorithm`.
    verify: &'static str,
}

const RS256: Alg = Alg {
    generate: r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-256","modulusLength":2048}"#,
    import: r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-256"}"#,
    verify: r#"{"name":"RSASSA-PKCS1-v1_5"}"#,
};
const RS512: Alg = Alg {
    generate: r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-512","modulusLength":2048}"#,
    import: r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-512"}"#,
    verify: r#"{"name":"RSASSA-PKCS1-v1_5"}"#,
};
const PS256: Alg = Alg {
    generate: r#"{"name":"RSA-PSS","hash":"SHA-256","modulusLength":2048}"#,
    import: r#"{"name":"RSA-PSS","hash":"SHA-256"}"#,
    verify: r#"{"name":"RSA-PSS","saltLength":32}"#,
};
const ES256: Alg = Alg {
    generate: r#"{"name":"ECDSA","namedCurve":"P-256"}"#,
    import: r#"{"name":"ECDSA","namedCurve":"P-256"}"#,
    verify: r#"{"name":"ECDSA","hash":"SHA-256"}"#,
};
const ES384: Alg = Alg {
    generate: r#"{"name":"ECDSA","namedCurve":"P-384"}"#,
    import: r#"{"name":"ECDSA","namedCurve":"P-384"}"#,
    verify: r#"{"name":"ECDSA","hash":"SHA-384"}"#,
};
const ES512: Alg = Alg {
    generate: r#"{"name":"ECDSA","namedCurve":"P-521"}"#,
    import: r#"{"name":"ECDSA","namedCurve":"P-521"}"#,
    verify: r#"{"name":"ECDSA","hash":"SHA-512"}"#,
};
const EDDSA: Alg = Alg {
    generate: r#"{"name":"Ed25519"}"#,
    import: r#"{"name":"Ed25519"}"#,
    verify: r#"{"name":"Ed25519"}"#,
};

/// `{"alg":"RS256"}.{"sub":"alice"}`, as a JWS signing input looks.
const SIGNING_INPUT: &[u8] = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";

const ALG: Error = Error::InvalidIdToken { reason: &"alg" };
const JWKS: Error = Error::InvalidResponse { reason: &"jwks" };
const SIGNATURE: Error = Error::InvalidIdToken {
    reason: &"signature",
};

/// A check of a fresh signature over [`SIGNING_INPUT`] by a fresh key pair, whose public
/// half is exported as a JWK holding only the members the core keeps. `Err` holds the name
/// of the exception when the browser cannot generate such a key.
async fn fresh_check(alg: &Alg) -> Result<SignatureCheck, String> {
    let made = JsFuture::from(sign_with_fresh_key(alg.generate, alg.verify, SIGNING_INPUT))
        .await
        .map_err(|e| String::from(e.unchecked_into::<js_sys::Error>().name()))?;
    let made = Array::from(&made);
    Ok(SignatureCheck {
        jwk: made.get(0).as_string().expect("JWK text"),
        import_algorithm: alg.import.into(),
        verify_algorithm: alg.verify.into(),
        signing_input: SIGNING_INPUT.to_vec(),
        signature: made.get(1).unchecked_into::<Uint8Array>().to_vec(),
    })
}

/// Valid, then with one bit of the signature flipped, then with one bit of the input flipped.
async fn verdicts(check: &SignatureCheck) -> [Result<bool, Error>; 3] {
    let mut bad_signature = check.clone();
    *bad_signature.signature.last_mut().unwrap() ^= 1;
    let mut bad_input = check.clone();
    bad_input.signing_input[0] ^= 1;
    [
        io::verify_signature(check).await,
        io::verify_signature(&bad_signature).await,
        io::verify_signature(&bad_input).await,
    ]
}

async fn assert_verifies(alg: &Alg) {
    let check = fresh_check(alg).await.expect("key generation");
    assert!(!check.jwk.contains("\"d\""), "a public key: {}", check.jwk);
    assert_eq!(verdicts(&check).await, [Ok(true), Ok(false), Ok(false)]);
}

fn b64(text: &str) -> Vec<u8> {
    base64url::decode(text).expect("base64url")
}

fn check_of(jwk: &str, alg: &Alg, signing_input: &[u8], signature: Vec<u8>) -> SignatureCheck {
    SignatureCheck {
        jwk: jwk.into(),
        import_algorithm: alg.import.into(),
        verify_algorithm: alg.verify.into(),
        signing_input: signing_input.to_vec(),
        signature,
    }
}

#[wasm_bindgen_test]
async fn verifies_rs256() {
    assert_verifies(&RS256).await;
}

#[wasm_bindgen_test]
async fn verifies_rs512() {
    assert_verifies(&RS512).await;
}

#[wasm_bindgen_test]
async fn verifies_ps256() {
    assert_verifies(&PS256).await;
}

#[wasm_bindgen_test]
async fn verifies_es256() {
    assert_verifies(&ES256).await;
}

#[wasm_bindgen_test]
async fn verifies_es384() {
    assert_verifies(&ES384).await;
}

#[wasm_bindgen_test]
async fn verifies_es512_or_reports_p521_unsupported() {
    match fresh_check(&ES512).await {
        Ok(check) => assert_eq!(verdicts(&check).await, [Ok(true), Ok(false), Ok(false)]),
        // A browser without P-521: importing a P-521 key is an `alg` error.
        Err(name) => {
            assert_eq!(name, "NotSupportedError");
            assert_eq!(io::verify_signature(&rfc7515_a4()).await, Err(ALG));
        }
    }
}

#[wasm_bindgen_test]
async fn verifies_eddsa_ed25519() {
    assert_verifies(&EDDSA).await;
}

// Known answers: published JWS examples, checked with their published public keys.

/// RFC 7515 Appendix A.2: RS256. The JWK is A.2.1's key without its private members.
fn rfc7515_a2() -> SignatureCheck {
    let jwk = concat!(
        r#"{"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"#,
        "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs",
        "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH",
        "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV",
        "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8",
        r#"NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"}"#,
    );
    let signing_input = concat!(
        "eyJhbGciOiJSUzI1NiJ9",
        ".",
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt",
        "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    );
    let signature = concat!(
        "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7",
        "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4",
        "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K",
        "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv",
        "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB",
        "p0igcN_IoypGlUPQGe77Rw",
    );
    check_of(jwk, &RS256, signing_input.as_bytes(), b64(signature))
}

/// RFC 7515 Appendix A.4: ES512 (P-521; the signature is `R || S`, 66 bytes each).
fn rfc7515_a4() -> SignatureCheck {
    let jwk = concat!(
        r#"{"kty":"EC","crv":"P-521","#,
        r#""x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk","#,
        r#""y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"}"#,
    );
    let signature = concat!(
        "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7Xdt",
        "AG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn",
    );
    check_of(
        jwk,
        &ES512,
        b"eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA",
        b64(signature),
    )
}

/// RFC 8037 Appendix A.4: EdDSA with A.1's Ed25519 key (public member only).
fn rfc8037_a4() -> SignatureCheck {
    let jwk = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    let signature =
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    let signing_input = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    check_of(jwk, &EDDSA, signing_input, b64(signature))
}

#[wasm_bindgen_test]
async fn verifies_rfc7515_a2_rs256() {
    assert_eq!(
        verdicts(&rfc7515_a2()).await,
        [Ok(true), Ok(false), Ok(false)]
    );
}

#[wasm_bindgen_test]
async fn verifies_rfc7515_a4_es512() {
    assert_eq!(
        verdicts(&rfc7515_a4()).await,
        [Ok(true), Ok(false), Ok(false)]
    );
}

#[wasm_bindgen_test]
async fn verifies_rfc8037_a4_eddsa() {
    assert_eq!(
        verdicts(&rfc8037_a4()).await,
        [Ok(true), Ok(false), Ok(false)]
    );
}

// Failures, and which error each one is.

#[wasm_bindgen_test]
async fn a_malformed_key_is_a_jwks_error() {
    let good = rfc7515_a2();
    for jwk in [
        r#"{"kty":"RSA","n":"!!not base64url!!","e":"AQAB"}"#,
        r#"{"kty":"RSA","n":"","e":"AQAB"}"#,
        r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#, // a 17-bit modulus: OperationError
        r#"{"kty":"RSA","e":"AQAB"}"#,
        r#"{"kty":"EC","crv":"P-256","x":"AQAB","y":"AQAB"}"#, // an RSA import, an EC key
        "not json",
    ] {
        let check = SignatureCheck {
            jwk: jwk.into(),
            ..good.clone()
        };
        assert_eq!(io::verify_signature(&check).await, Err(JWKS), "{jwk}");
    }
}

#[wasm_bindgen_test]
async fn an_ec_key_on_another_curve_is_a_jwks_error() {
    // A P-256 key offered for the ES384 algorithm (`crv` differs from `namedCurve`).
    let check = fresh_check(&ES256).await.unwrap();
    let check = SignatureCheck {
        import_algorithm: ES384.import.into(),
        verify_algorithm: ES384.verify.into(),
        ..check
    };
    assert_eq!(io::verify_signature(&check).await, Err(JWKS));
}

#[wasm_bindgen_test]
async fn an_algorithm_the_browser_lacks_is_an_alg_error() {
    let good = rfc7515_a2();
    // Chromium rejects these with NotSupportedError before it looks at the key.
    for (jwk, import) in [
        (good.jwk.as_str(), r#"{"name":"ES256K"}"#),
        (
            good.jwk.as_str(),
            r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-3"}"#,
        ),
        (
            r#"{"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"}"#,
            r#"{"name":"ECDSA","namedCurve":"secp256k1"}"#,
        ),
        (
            r#"{"kty":"OKP","crv":"Ed448","x":"AA"}"#,
            r#"{"name":"Ed448"}"#,
        ),
    ] {
        let check = SignatureCheck {
            jwk: jwk.into(),
            import_algorithm: import.into(),
            ..good.clone()
        };
        assert_eq!(io::verify_signature(&check).await, Err(ALG), "{import}");
    }
}

#[wasm_bindgen_test]
async fn a_wrong_length_ecdsa_signature_does_not_verify() {
    // WebCrypto takes ECDSA signatures as `R || S` (here 64 bytes); Chromium answers `false`
    // for any other length, DER included, rather than rejecting.
    let check = fresh_check(&ES256).await.unwrap();
    for len in [0, 1, 63, 65, 70, 72, 128] {
        let mut signature = check.signature.clone();
        signature.resize(len, 0x30);
        let bad = SignatureCheck {
            signature,
            ..check.clone()
        };
        assert_eq!(io::verify_signature(&bad).await, Ok(false), "{len} bytes");
    }
}

#[wasm_bindgen_test]
async fn a_verify_that_throws_is_a_signature_error() {
    // The key was imported for RSASSA-PKCS1-v1_5; verifying with RSA-PSS is refused.
    let check = SignatureCheck {
        verify_algorithm: PS256.verify.into(),
        ..rfc7515_a2()
    };
    assert_eq!(io::verify_signature(&check).await, Err(SIGNATURE));
}

// ---- IndexedDB pending-login store ----

#[wasm_bindgen_test]
async fn store_take_is_single_use() {
    let key = unique_key("single");
    let now = io::now();
    store::put(&key, "record-1", now + 600, now, &JsValue::UNDEFINED).await.unwrap();
    assert_eq!(
        store::take(&key, now).await.unwrap().map(|(record, _)| record).as_deref(),
        Some("record-1")
    );
    assert_eq!(store::take(&key, now).await.unwrap(), None);
}

#[wasm_bindgen_test]
async fn store_take_is_single_use_under_concurrency() {
    let key = unique_key("race");
    let now = io::now();
    store::put(&key, "record", now + 600, now, &JsValue::UNDEFINED).await.unwrap();
    let takes: Array = (0..4)
        .map(|_| {
            let key = key.clone();
            JsValue::from(task::to_promise(async move {
                Ok(store::take(&key, now)
                    .await
                    .unwrap()
                    .map_or(JsValue::NULL, |(record, _)| JsValue::from(record)))
            }))
        })
        .collect();
    let got = Array::from(&JsFuture::from(Promise::all(&takes)).await.unwrap());
    let records: Vec<String> = got.iter().filter_map(|v| v.as_string()).collect();
    assert_eq!(records, ["record"]);
}

#[wasm_bindgen_test]
async fn store_take_of_an_unknown_key_is_none() {
    assert_eq!(
        store::take(&unique_key("unknown"), io::now())
            .await
            .unwrap(),
        None
    );
}

#[wasm_bindgen_test]
async fn store_take_refuses_and_removes_an_expired_record() {
    let key = unique_key("expired");
    let now = io::now();
    store::put(&key, "record", now + 10, now, &JsValue::UNDEFINED).await.unwrap();
    assert_eq!(store::take(&key, now + 10).await.unwrap(), None);
    // Removed even though it was refused: not there at an earlier time either.
    assert_eq!(store::take(&key, now).await.unwrap(), None);
}

#[wasm_bindgen_test]
async fn store_put_purges_expired_records() {
    let (old, fresh) = (unique_key("old"), unique_key("fresh"));
    let now = io::now();
    store::put(&old, "old", now + 5, now, &JsValue::UNDEFINED).await.unwrap();
    store::put(&fresh, "fresh", now + 600, now + 5, &JsValue::UNDEFINED)
        .await
        .unwrap(); // `old` expired by now + 5
    assert_eq!(store::take(&old, now).await.unwrap(), None, "purged");
    assert_eq!(
        store::take(&fresh, now).await.unwrap().map(|(record, _)| record).as_deref(),
        Some("fresh")
    );
}

#[wasm_bindgen_test]
async fn store_keeps_records_apart_and_overwrites_a_key() {
    let (a, b) = (unique_key("a"), unique_key("b"));
    let now = io::now();
    store::put(&a, "a1", now + 600, now, &JsValue::UNDEFINED).await.unwrap();
    store::put(&a, "a2", now + 600, now, &JsValue::UNDEFINED).await.unwrap();
    store::put(&b, "b", now + 600, now, &JsValue::UNDEFINED).await.unwrap();
    assert_eq!(store::take(&a, now).await.unwrap().map(|(record, _)| record).as_deref(), Some("a2"));
    assert_eq!(store::take(&b, now).await.unwrap().map(|(record, _)| record).as_deref(), Some("b"));
}

#[wasm_bindgen_test]
async fn store_keeps_the_login_key_with_the_pending_record() {
    let key = unique_key("with-key");
    let now = io::now();
    let pair = io::generate_dpop_key().await.unwrap();
    let public = io::dpop_public_key(&pair).unwrap();
    store::put(&key, "record", now + 600, now, &pair).await.unwrap();
    let (record, stored) = store::take(&key, now).await.unwrap().unwrap();
    assert_eq!(record, "record");
    assert_eq!(io::dpop_public_key(&stored).unwrap(), public);
    // The private half came back as a CryptoKey, still non-extractable, still able to sign.
    let private = Array::from(&stored).get(0);
    assert_eq!(js_sys::Reflect::get(&private, &"extractable".into()).unwrap(), JsValue::FALSE);
    assert_eq!(io::sign_es256(&stored, "x").await.unwrap().len(), 64);
}

#[wasm_bindgen_test]
async fn persisted_session_is_written_read_and_deleted_with_its_key() {
    let id = unique_key("session");
    let pair = io::generate_dpop_key().await.unwrap();
    assert_eq!(store::session_get(&id).await.unwrap(), None);
    store::session_write(&id, Some("record-1"), &pair).await.unwrap();
    store::session_write(&id, Some("record-2"), &pair).await.unwrap();
    let (record, stored) = store::session_get(&id).await.unwrap().unwrap();
    assert_eq!(record, "record-2");
    assert_eq!(io::dpop_public_key(&stored), io::dpop_public_key(&pair));
    store::session_write(&id, None, &JsValue::UNDEFINED).await.unwrap();
    assert_eq!(store::session_get(&id).await.unwrap(), None);
}

// ---- single-flight ----

/// Starts `flight.run(key, ..)` as its own task; the run sleeps 20 ms, appends its key to `log`
/// and returns how many runs had started. Resolves to that number, or -1 for `Turn::Waited`.
fn flight_task(flight: &Rc<SingleFlight<u32, u32>>, key: u32, log: &Rc<RefCell<Vec<u32>>>) -> Promise {
    let (flight, log) = (flight.clone(), log.clone());
    task::to_promise(async move {
        let turn = flight
            .run(&key, || async move {
                JsFuture::from(sleep(20)).await.unwrap();
                log.borrow_mut().push(key);
                log.borrow().len() as u32
            })
            .await;
        Ok(JsValue::from(match turn {
            Turn::Done(n) => f64::from(n),
            Turn::Waited => -1.0,
        }))
    })
}

async fn settle_all(calls: &[Promise]) -> Vec<f64> {
    let results = JsFuture::from(Promise::all(&calls.iter().collect::<Array>())).await.unwrap();
    Array::from(&results).iter().map(|v| v.as_f64().unwrap()).collect()
}

#[wasm_bindgen_test]
async fn single_flight_shares_one_run_among_concurrent_callers_of_a_key() {
    let flight = Rc::new(SingleFlight::<u32, u32>::default());
    let log = Rc::new(RefCell::new(Vec::new()));
    let calls: Vec<Promise> = (0..5).map(|_| flight_task(&flight, 7, &log)).collect();
    assert_eq!(settle_all(&calls).await, vec![1.0; 5]);
    assert_eq!(*log.borrow(), [7]);
    assert_eq!(flight.runs(), 1);
    // Settled: the next caller starts a new run.
    assert_eq!(settle_all(&[flight_task(&flight, 7, &log)]).await, [2.0]);
    assert_eq!(flight.runs(), 2);
}

#[wasm_bindgen_test]
async fn single_flight_never_overlaps_runs_for_different_keys() {
    let flight = Rc::new(SingleFlight::<u32, u32>::default());
    let log = Rc::new(RefCell::new(Vec::new()));
    // Key 1 runs; key 2 waits for it to settle (Waited) instead of running alongside it.
    let calls = [flight_task(&flight, 1, &log), flight_task(&flight, 2, &log), flight_task(&flight, 1, &log)];
    assert_eq!(settle_all(&calls).await, [1.0, -1.0, 1.0]);
    assert_eq!(*log.borrow(), [1]);
    assert_eq!(flight.runs(), 1);
}

// ---- WorkerHost: the reply format across the boundary ----

const CONFIG: &str = r#"{"issuer":"http://127.0.0.1:1","clientId":"spa","redirectUri":"http://127.0.0.1:8080/cb","exposeAccessToken":true}"#;

async fn configured() -> WorkerHost {
    let host = WorkerHost::new();
    let reply = call(
        &host,
        &configure_call(CONFIG),
    )
    .await;
    assert!(value_of(&reply).is_null());
    host
}

#[wasm_bindgen_test]
async fn host_answers_garbage_with_a_config_error() {
    // Anything that is not one of the typed calls, including names that are not calls and
    // calls whose fields have the wrong shape (or a JSON-less `config`), is `invalid_call`.
    let host = WorkerHost::new();
    for garbage in [
        r#""""#,
        "null",
        "7",
        "[]",
        "{}",
        r#""steal""#,
        r#"{"steal":{}}"#,
        r#"{"type":"isAuthenticated"}"#,
        r#"{"handleCallback":{}}"#,
        r#"{"handleCallback":{"url":7}}"#,
        r#"{"getUser":{},"logout":{}}"#,
        r#""getAccessToken""#,
        r#"{"configure":{"issuer":"http://127.0.0.1:1"}}"#,
        r#""logout""#,
        // What worker.js sends for a call JSON cannot hold (a BigInt, a cycle), and non-JSON.
        "",
        "isAuthenticated",
    ] {
        let reply = call(&host, garbage).await;
        assert_eq!(
            error_of(&reply),
            ("config", Some("invalid_call")),
            "{garbage:?}"
        );
    }
}

#[wasm_bindgen_test]
async fn host_refuses_calls_before_configure() {
    let host = WorkerHost::new();
    for c in [
        r#""isAuthenticated""#,
        r#"{"getUser":false}"#,
        r#"{"getAccessToken":{}}"#,
        login_call(r#"{}"#).as_str(),
        r#"{"handleCallback":"http://127.0.0.1:8080/cb?code=c&state=s"}"#,
        r#"{"logout":true}"#,
    ] {
        assert_eq!(
            error_of(&call(&host, c).await),
            ("config", Some("not_configured")),
            "{c}"
        );
    }
}

#[wasm_bindgen_test]
async fn host_reports_invalid_options_and_configures_once() {
    let host = WorkerHost::new();
    let reply = call(&host, &configure_call(r#"{"clientId":"spa"}"#)).await;
    assert_eq!(error_of(&reply).0, "config");
    // A failed configure leaves the host unconfigured, so it can be retried...
    let reply = call(
        &host,
        &configure_call(CONFIG),
    )
    .await;
    assert!(value_of(&reply).is_null());
    // ...but a configured host serves one provider for good.
    let reply = call(
        &host,
        &configure_call(CONFIG),
    )
    .await;
    assert_eq!(error_of(&reply), ("config", Some("already_configured")));
}

#[wasm_bindgen_test]
async fn host_fetch_refuses_unlisted_origins_and_exposure_can_be_off() {
    let host = WorkerHost::new();
    let config = CONFIG.replace(
        r#""exposeAccessToken":true"#,
        r#""apiOrigins":["http://127.0.0.1:9"],"exposeAccessToken":false"#,
    );
    assert!(value_of(&call(&host, &configure_call(&config)).await).is_null());
    let request = |headers: &str| js_sys::JSON::parse(&format!(r#"{{"headers":{headers}}}"#)).unwrap();
    // Not listed (another port, another host): refused before anything else, so with no
    // session at all the answer is still `config`, and no token could be attached.
    for url in ["http://127.0.0.1:10/x", "http://localhost:9/x", "https://127.0.0.1:9/x"] {
        let c = format!(r#"{{"fetch":{{"url":"{url}","method":"GET"}}}}"#);
        assert_eq!(error_of(&call_with(&host, &c, request("[]")).await), ("config", Some("api_origin")), "{url}");
    }
    // Listed: the next requirement is a session.
    let listed = r#"{"fetch":{"url":"http://127.0.0.1:9/x","method":"GET"}}"#;
    assert_eq!(error_of(&call_with(&host, listed, request(r#"[["Accept","*/*"]]"#)).await), ("login_required", None));
    // The header names are read from the headers that would be sent; a `headerNames` list
    // beside them (as a script wrapping postMessage could send) is not looked at.
    let declared = r#"{"fetch":{"url":"http://127.0.0.1:9/x","method":"GET","headerNames":"x-harmless"}}"#;
    for headers in [r#"[["Authorization","Bearer page"]]"#, r#"[["x-harmless","1"],["AUTHORIZATION","Basic x"]]"#] {
        assert_eq!(
            error_of(&call_with(&host, declared, request(headers)).await),
            ("config", Some("authorization_header")),
            "{headers}"
        );
    }
    // Headers in any other shape than [name, value] string pairs are refused, not guessed at.
    for headers in [r#""Authorization""#, r#"{"Authorization":"x"}"#, r#"[["Authorization"]]"#, r#"[[1,"x"]]"#, "null"] {
        assert_eq!(error_of(&call_with(&host, listed, request(headers)).await), ("config", Some("invalid_call")), "{headers}");
    }
    assert_eq!(error_of(&call(&host, listed).await), ("config", Some("invalid_call")));
    // exposeAccessToken: false: getAccessToken refuses whatever the session.
    assert_eq!(
        error_of(&call(&host, r#"{"getAccessToken":{}}"#).await),
        ("config", Some("access_token_not_exposed"))
    );
    // A tick without a session does nothing.
    assert!(value_of(&call(&host, r#""tick""#).await).is_null());
}

#[wasm_bindgen_test]
async fn host_does_not_expose_the_access_token_by_default() {
    let host = WorkerHost::new();
    let config = CONFIG.replace(r#","exposeAccessToken":true"#, "");
    assert!(value_of(&call(&host, &configure_call(&config)).await).is_null());
    let reply = call(&host, r#"{"getAccessToken":{}}"#).await;
    assert_eq!(error_of(&reply), ("config", Some("access_token_not_exposed")));
    let message = reply.get("error").and_then(|e| e.get("message")).and_then(Value::as_str).unwrap();
    assert!(message.contains("exposeAccessToken"), "the message names the option: {message}");
}

#[wasm_bindgen_test]
async fn host_without_a_session() {
    let host = configured().await;
    assert_eq!(
        value_of(&call(&host, r#""isAuthenticated""#).await),
        &Value::Bool(false)
    );
    assert!(value_of(&call(&host, r#"{"getUser":false}"#).await).is_null());
    for c in [
        r#"{"getAccessToken":{}}"#,
        r#"{"getAccessToken":{"forceRefresh":true}}"#,
    ] {
        assert_eq!(
            error_of(&call(&host, c).await),
            ("login_required", None),
            "{c}"
        );
    }
}

#[wasm_bindgen_test]
async fn host_reports_an_unreachable_provider_as_network_failed() {
    let host = configured().await;
    for c in [
        login_call(r#"{"appState":{"to":"/"}}"#).as_str(),
        r#"{"handleCallback":"http://127.0.0.1:8080/cb?code=c&state=s"}"#,
        r#"{"logout":true}"#,
    ] {
        assert_eq!(
            error_of(&call(&host, c).await),
            ("network", Some("failed")),
            "{c}"
        );
    }
    // Still usable afterwards.
    assert_eq!(
        value_of(&call(&host, r#""isAuthenticated""#).await),
        &Value::Bool(false)
    );
}

#[wasm_bindgen_test]
async fn host_serves_concurrent_calls() {
    // No RefCell borrow is held across an await: interleaved calls never trap.
    let host = configured().await;
    let calls: Array = [
        login_call(r#"{}"#).as_str(),
        r#""isAuthenticated""#,
        r#"{"getAccessToken":{}}"#,
        r#"{"logout":true}"#,
        r#"{"getUser":false}"#,
        login_call(r#"{}"#).as_str(),
    ]
    .iter()
    .map(|c| JsValue::from(host.handle(String::from(*c), JsValue::UNDEFINED)))
    .collect();
    let replies = JsFuture::from(Promise::all(&calls)).await.unwrap();
    let codes: Vec<String> = Array::from(&replies)
        .iter()
        .map(|r| {
            let r = reply_json(&r);
            match r.get("ok").and_then(Value::as_bool) {
                Some(true) => "ok".into(),
                _ => error_of(&r).0.to_owned(),
            }
        })
        .collect();
    assert_eq!(
        codes,
        [
            "network",
            "ok",
            "login_required",
            "network",
            "ok",
            "network"
        ]
    );
}

// ---- the boundary's reader against serde-wasm-bindgen ----

#[wasm_bindgen(inline_js = r#"
export function call_corpus() {
  return [
    // Every call shape.
    { configure: '{"issuer":"https://op.example"}' }, { login: '{}' },
    { handleCallback: 'https://app.example/cb?code=c&state=s' }, 'isAuthenticated', { isAuthenticated: null },
    { getUser: true }, { getUser: false }, { getAccessToken: {} },
    { getAccessToken: { forceRefresh: true, resource: 'https://api.example/', scope: 'read \u00e9' } },
    { getAccessToken: { resource: null, scope: null, other: [1, { x: -0 }] } },
    { getAccessToken: { scope: '\u{1f600}\u0000"\\\u2028' } },
    { fetch: { url: 'https://api.example/x', method: 'GET' } },
    { fetch: { url: 'https://api.example/x', method: 'GET', headerNames: 'x', nested: [[[[{ a: [{}] }]]]] } },
    { logout: true }, { logout: false }, 'tick', { tick: null },
    // Garbage: not a call, wrong types, missing and extra members.
    '', 'steal', 'Tick', 'logout', 'getAccessToken', null, 7, 1e308, true, [], [{}], {}, { steal: {} },
    { type: 'isAuthenticated' }, { Tick: null }, { getUser: 1 }, { getUser: 'true' }, { getUser: null },
    { getUser: {} }, { handleCallback: {} }, { handleCallback: 7 }, { handleCallback: ['x'] },
    { getUser: true, logout: true }, { fetch: { url: 'u' } }, { fetch: { method: 'GET' } },
    { fetch: { url: 1, method: 'GET' } }, { fetch: 'https://api.example/x' }, { fetch: null },
    { getAccessToken: { forceRefresh: 1 } }, { getAccessToken: { forceRefresh: 'true' } },
    { getAccessToken: { resource: true } }, { getAccessToken: { scope: 7 } }, { getAccessToken: { scope: ['a'] } },
    { getAccessToken: null }, { getAccessToken: 'x' }, { getAccessToken: true },
    { configure: { issuer: 'x' } }, { login: {} }, { login: null }, { tick: {} }, { tick: 0 }, { tick: false },
    { isAuthenticated: false }, { isAuthenticated: [] },
    // Values only JS has.
    { getUser: 1n }, { getAccessToken: { resource: undefined } },
    { fetch: { url: 'u', method: 'GET', extra: undefined } }, { fetch: new Map([['url', 'u'], ['method', 'GET']]) },
  ];
}

// Where the two readers differ: see `calls_are_read_as_serde_wasm_bindgen_reads_them`.
export function known_differences() {
  return [
    { isAuthenticated: undefined }, { getAccessToken: { forceRefresh: undefined } }, { getAccessToken: { scope: Symbol.iterator } }, { getAccessToken: { resource: NaN } }, { getAccessToken: { scope: Infinity } },
    { getUser: new Boolean(true) }, { handleCallback: new String('https://app.example/cb') },
    { handleCallback: new Date(0) }, { getAccessToken: { scope: '\ud800' } },
    { getAccessToken: [false, 'https://api.example/', 'read'] },
  ];
}
"#)]
extern "C" {
    fn call_corpus() -> Array;
    fn known_differences() -> Array;
}

/// Ours (JSON.stringify → json.rs → Call::from_json) and serde-wasm-bindgen, the crate the boundary
/// used to convert JS values with, read every call of `call_corpus` alike (the same call, or
/// both refuse). They differ on `known_differences`, by design: the page's call reaches the
/// wasm as `JSON.stringify` makes it, so what JSON cannot hold becomes what JSON has
/// (`undefined` members vanish, and so do symbols, which a structured clone refuses anyway;
/// `NaN` and `Infinity` are `null`, boxed primitives and `Date`s are their JSON values); a lone surrogate becomes an escape json.rs refuses (serde-wasm-bindgen
/// replaces it with U+FFFD); and an array where a struct is expected is refused
/// (serde-wasm-bindgen looks the field names up on the array, finds none, and reads defaults).
#[wasm_bindgen_test]
fn calls_are_read_as_serde_wasm_bindgen_reads_them() {
    use oidc_worker::protocol::messages::Call;
    let read = |call: &JsValue| {
        let theirs = serde_wasm_bindgen::from_value::<Call>(call.clone()).ok();
        // What worker.js does: the call's JSON text, or "" when JSON cannot hold it.
        let text = js_sys::JSON::stringify(call).ok().and_then(|t| t.as_string()).unwrap_or_default();
        (Call::from_json(&text), theirs, text)
    };
    let mut accepted = 0;
    let mut differences = vec![];
    for call in call_corpus().iter() {
        let (ours, theirs, text) = read(&call);
        accepted += usize::from(ours.is_some());
        if ours != theirs {
            differences.push(format!("{text}: ours {ours:?}, serde-wasm-bindgen {theirs:?}"));
        }
    }
    assert_eq!(differences, Vec::<String>::new());
    assert_eq!(accepted, 19, "every valid call is read alike");
    for call in known_differences().iter() {
        let (ours, theirs, text) = read(&call);
        console_log!("{text}: ours {ours:?}, serde-wasm-bindgen {theirs:?}");
        assert_ne!(ours, theirs, "{text}");
    }
}

// ---- Issue 9: the holder's session key, and restore decided by the core ----

/// `{ restore: "<{ url, hint } JSON>" }`.
fn restore_call(url: &str, hint: Option<u64>) -> String {
    let mut request = String::from(r#"{"url":"#);
    json::write_string(&mut request, url);
    request += &match hint {
        Some(hint) => format!(r#","hint":{hint}}}"#),
        None => r#","hint":null}"#.to_owned(),
    };
    let mut text = String::from(r#"{"restore":"#);
    json::write_string(&mut text, &request);
    text + "}"
}

#[wasm_bindgen_test]
async fn the_session_key_names_the_client_then_the_options_once_configured() {
    let host = WorkerHost::new();
    assert_eq!(host.session_key(), None);
    let _ = call(&host, &configure_call(CONFIG)).await;
    assert_eq!(host.session_key(), Some(format!("http://127.0.0.1:1\nspa\n{CONFIG}")));
    // A refused configuration files nothing.
    let refused = WorkerHost::new();
    let _ = call(&refused, &configure_call(r#"{"issuer":"http://127.0.0.1:1","clientId":"spa","redirectUri":"x"}"#)).await;
    assert_eq!(refused.session_key(), None);
}

#[wasm_bindgen_test]
async fn restore_without_a_hint_or_on_a_callback_asks_nothing_of_the_provider() {
    // The issuer (127.0.0.1:1) is unreachable: any attempt would fail with `network`, so a
    // `null` value proves no request was made.
    let host = configured().await;
    let now = js_sys::Date::now() as u64;
    for (url, hint) in [
        ("http://127.0.0.1:8080/app", None),
        ("http://127.0.0.1:8080/cb?code=c&state=s", Some(now)),
        ("http://127.0.0.1:8080/app", Some(now - 31 * 24 * 3600 * 1000)),
    ] {
        let reply = call(&host, &restore_call(url, hint)).await;
        assert!(value_of(&reply).is_null(), "{url} {hint:?}: {}", reply.to_json());
    }
    // With a fresh hint the core decides to try, and the discovery request fails here.
    let reply = call(&host, &restore_call("http://127.0.0.1:8080/app", Some(now))).await;
    assert_eq!(error_of(&reply).0, "network");
    // A malformed request is an invalid call.
    let reply = call(&host, r#"{"restore":"{\"hint\":1}"}"#).await;
    assert_eq!(error_of(&reply), ("config", Some("invalid_call")));
}

// ---- the shell's executor, against wasm-bindgen-futures ----

/// What a task of [`executor_scenario`] does at each step.
#[derive(Clone, Copy)]
enum Step {
    /// Awaits a promise that settles after `ms` (fulfilled or rejected) and logs its outcome.
    Timer { ms: u32, ok: bool },
    /// Awaits an already fulfilled promise.
    Ready,
    /// Wakes itself during its own poll and returns pending once (a yield).
    Yield,
    /// Awaits the gate another task opens, then logs.
    Gate,
    /// Opens the gate.
    Open,
}

/// Returns pending once after waking its own task from inside the poll.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            return std::task::Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// Runs the same tasks through `spawn` (the shell's `to_promise`, or wasm-bindgen-futures'
/// `future_to_promise`) and returns what the two can be compared on: how each promise
/// settled, and each task's log of its steps after an await, in order.
async fn executor_scenario(spawn: fn(std::pin::Pin<Box<dyn std::future::Future<Output = Result<JsValue, JsValue>>>>) -> Promise) -> (String, Vec<String>) {
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let mut open_gate = None;
    let gate = Promise::new(&mut |resolve, _| open_gate = Some(resolve));
    let open_gate = Rc::new(open_gate.unwrap());
    let plans: Vec<Vec<Step>> = vec![
        vec![Step::Timer { ms: 30, ok: true }, Step::Ready, Step::Timer { ms: 10, ok: true }],
        vec![Step::Gate, Step::Timer { ms: 5, ok: false }, Step::Timer { ms: 1, ok: false }],
        vec![Step::Timer { ms: 20, ok: true }, Step::Open, Step::Yield, Step::Ready],
        vec![Step::Yield, Step::Yield, Step::Timer { ms: 15, ok: false }],
        vec![Step::Ready, Step::Gate, Step::Ready],
        vec![],
    ];
    let promises = Array::new();
    for (task, plan) in plans.into_iter().enumerate() {
        let (log, gate, open_gate) = (log.clone(), gate.clone(), open_gate.clone());
        promises.push(&spawn(Box::pin(async move {
            let mut failures = 0;
            for (i, step) in plan.iter().enumerate() {
                let outcome = match *step {
                    Step::Timer { ms, ok } => JsFuture::from(settle_later(ms, ok, &JsValue::from(format!("{task}.{i}")))).await,
                    Step::Ready => JsFuture::from(Promise::resolve(&JsValue::from(i as u32))).await,
                    Step::Yield => {
                        YieldOnce(false).await;
                        Ok(JsValue::UNDEFINED)
                    }
                    Step::Gate => JsFuture::from(gate.clone()).await,
                    Step::Open => Ok(open_gate.call0(&JsValue::UNDEFINED).unwrap()),
                };
                failures += u32::from(outcome.is_err());
                log.borrow_mut().push(format!("{task}:{i}:{:?}", outcome));
            }
            match failures {
                0 => Ok(JsValue::from(format!("task {task} done"))),
                n => Err(JsValue::from(n)),
            }
        })));
    }
    // Many more, each on a timer: none lost, none settled twice.
    for n in 0..200u32 {
        promises.push(&spawn(Box::pin(async move {
            JsFuture::from(settle_later(n % 7, n % 3 != 0, &JsValue::from(n))).await
        })));
    }
    let settled = JsFuture::from(all_settled(&promises)).await.unwrap();
    let settled = js_sys::JSON::stringify(&settled).unwrap().as_string().unwrap();
    // Each task's own steps, in its order (a stable sort by task): how steps of different tasks
    // interleave depends on timers a few ms apart, which a loaded machine may fire out of order.
    let mut log = log.borrow().clone();
    log.sort_by_key(|step| step.split(':').next().map(str::to_owned));
    (settled, log)
}

#[wasm_bindgen_test]
async fn the_shells_executor_settles_and_orders_like_wasm_bindgen_futures() {
    let ours = executor_scenario(|future| task::to_promise(future)).await;
    let theirs = executor_scenario(|future| wasm_bindgen_futures::future_to_promise(future)).await;
    assert_eq!(ours, theirs);
    // The scenario did what it says (so the comparison is not of two empty runs).
    assert_eq!(ours.1.len(), 16);
    assert!(ours.0.contains(r#""status":"rejected","reason":2"#), "{}", ours.0);
    assert_eq!(ours.0.matches("fulfilled").count(), 4 + 133);
}
