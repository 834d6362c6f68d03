//! Benchmark entry (cargo feature `bench` only; never in the shipped package): times ID token
//! validation inside the worker through the real code path, for `bench/idtoken.mjs`.
//!
//! One run is what a login does with an ID token once the JWK Set is cached:
//! [`Jwt::parse`], [`Client::signature_step`] (key selection; it yields
//! [`SignatureStep::Verify`] because the keys are loaded before the loop),
//! [`io::verify_signature`] (WebCrypto through `dpop.js`), [`SignatureCheck::verdict`],
//! the proof check ([`VerifiedSignature::covers`]) and [`validate_claims`] (nonce required,
//! `at_hash` against the access token).
//!
//! [`SignatureCheck::verdict`]: crate::protocol::jws::SignatureCheck::verdict
//! [`VerifiedSignature::covers`]: crate::protocol::jws::VerifiedSignature::covers

#[allow(unused_imports)]
use crate::prelude::*;

use wasm_bindgen::prelude::*;

use super::io;
use crate::protocol::client::{Client, Purpose, SignatureStep};
use crate::protocol::http::HttpResponse;
use crate::protocol::id_token::{at_hash_function, validate_claims, Expectations, NonceRule};
use crate::protocol::jwt::Jwt;
use crate::protocol::codec::json;
use crate::protocol::Error;

#[wasm_bindgen]
extern "C" {
    /// `performance.now()` of the worker's global scope.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

fn json_response(body: &str) -> HttpResponse {
    HttpResponse {
        status: 200,
        content_type: Some("application/json".into()),
        body: body.as_bytes().to_vec(),
    }
}

fn fail(stage: &str, error: &Error) -> JsValue {
    let mut message = String::from("{\"stage\":\"");
    message.push_str(stage);
    message.push_str("\",\"error\":");
    message.push_str(&error.to_json());
    message.push('}');
    JsValue::from(message)
}

/// One validation, as the worker does it after a code exchange.
async fn validate_once(client: &mut Client, id_token: &str, nonce: &str, access_token: &str, now: u64) -> Result<(), Error> {
    let token = Jwt::parse(id_token)?;
    let check = match client.signature_step(id_token, Purpose::IdToken, now)? {
        SignatureStep::Verify(check) => check,
        // The keys were loaded before the loop: asking for them again is a bench setup bug.
        SignatureStep::FetchKeys(_) => return Err(Error::Config { reason: &"bench_keys_not_loaded" }),
    };
    let valid = io::verify_signature(&check).await?;
    let signature = check.verdict(valid)?;
    if !signature.covers(token.signing_input()) {
        return Err(Error::InvalidIdToken { reason: &"signature" });
    }
    // As the worker does: the at_hash digest from WebCrypto, when the token has at_hash.
    let digest = match at_hash_function(&token) {
        Some(function) => Some(io::digest(function, access_token.as_bytes()).await?),
        None => None,
    };
    let config = client.config();
    validate_claims(
        &token,
        &Expectations {
            issuer: &config.issuer,
            client_id: &config.client_id,
            nonce: NonceRule::Required(nonce),
            now,
            clock_skew: config.clock_skew,
            trusted_audiences: &config.trusted_audiences,
            access_token_digest: digest.as_deref(),
            max_age: None,
        },
    )
}

/// Configures a client (`config_json` as `configure` takes it), gives it the discovery
/// document and the JWK Set as 200 `application/json` responses, then validates `id_token`
/// `iterations` times. Resolves to a `Float64Array` of per-run milliseconds
/// (`performance.now()`); rejects with `{"stage":…,"error":{code,…}}` JSON text at the first
/// failure of any run, so every timed run is a successful validation.
#[wasm_bindgen(js_name = benchIdTokenValidation)]
#[allow(clippy::too_many_arguments)]
pub async fn bench_id_token_validation(
    config_json: String,
    discovery_json: String,
    jwks_json: String,
    id_token: String,
    nonce: String,
    access_token: String,
    now_seconds: f64,
    iterations: u32,
) -> Result<JsValue, JsValue> {
    let config = json::parse(config_json.as_bytes())
        .map_err(|_| fail("config", &Error::Config { reason: &"invalid_call" }))?;
    let mut client = Client::new(&config).map_err(|e| fail("config", &e))?;
    client
        .process_discovery_response(&json_response(&discovery_json))
        .map_err(|e| fail("discovery", &e))?;
    client
        .process_jwks_response(&json_response(&jwks_json))
        .map_err(|e| fail("jwks", &e))?;
    let now = now_seconds as u64;
    let mut times = Vec::with_capacity(iterations as usize);
    for _ in 0..iterations {
        let start = performance_now();
        validate_once(&mut client, &id_token, &nonce, &access_token, now)
            .await
            .map_err(|e| fail("validate", &e))?;
        times.push(performance_now() - start);
    }
    Ok(js_sys::Float64Array::from(&times[..]).into())
}
