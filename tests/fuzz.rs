//! Bounded mutation fuzzing of every parser the core exposes to provider input: compact JWS,
//! JWK Sets, discovery documents, token responses, callback URLs, and JSON itself; and of the
//! `auth.fetch` inputs: the page's request URL and an API's `WWW-Authenticate` header.
//!
//! A deterministic xorshift generator mutates valid seeds (bit flips, deletions, duplications,
//! splices of JSON and URL fragments). Every target asserts what matters most here: the core
//! returns errors, it never panics (a panic in wasm kills the worker and every session in it).
//!
//! The three codecs still written by hand (JSON, URL, base64url: a crate for each would cost the
//! wasm more than the code) are also differential targets: on every generated input they are
//! compared with the well-kept crate (`serde_json`, `url` — the WHATWG URL Standard browsers
//! implement — and `base64`), native dev-dependencies only. Where the specs agree, accept/reject
//! and the result agree; where ours refuses more, the refusal must be one of the documented,
//! deliberate ones (see each target and the README's design notes).
//!
//! `cargo test --test fuzz` runs a short bounded pass (the test command does this); for a long
//! run: `FUZZ_ITERS=1000000 cargo test --release --test fuzz -- --nocapture`.

use oidc_worker::protocol::api::{api_token_key, is_invalid_token_challenge, origin_of};
use oidc_worker::protocol::authorization::{parse_callback, validate_callback};
use oidc_worker::protocol::base64url;
use oidc_worker::protocol::config::ClientConfig;
use oidc_worker::protocol::discovery::{process_discovery_response, ProviderMetadata};
use oidc_worker::protocol::http::HttpResponse;
use oidc_worker::protocol::id_token::{validate_claims, Expectations, NonceRule};
use oidc_worker::protocol::jwt::Jwt;
use oidc_worker::protocol::json;
use oidc_worker::protocol::jwk::JwkSet;
use oidc_worker::protocol::jws::Alg;
use oidc_worker::protocol::token::process_token_response;

// Native only: the reference crates are native dev-dependencies.
#[cfg(not(target_arch = "wasm32"))]
#[path = "fuzz/differential.rs"]
mod differential;

fn iterations() -> usize {
    std::env::var("FUZZ_ITERS").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const FRAGMENTS: [&[u8]; 24] = [
    b"{", b"}", b"[", b"]", b"\"", b",", b":", b"null", b"true", b"1e999", b"-0", b"\\u0000",
    b"\\ud800", b"%", b"%ff", b"&", b"=", b"?", b"#", b".", b"\xff", b"\"a\":1", b"eyJ", b"AAAA",
];

/// One mutation of `seed`.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let end = (at + rng.below(16)).min(out.len());
                out.drain(at..end);
            }
            2 => {
                let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())];
                out.splice(at..at, fragment.iter().copied());
            }
            3 => {
                let end = (at + rng.below(32)).min(out.len());
                let copy = out[at..end].to_vec();
                out.splice(at..at, copy);
            }
            4 => out.truncate(at),
            _ => out.insert(at, rng.next() as u8),
        }
    }
    out
}

/// Runs `target` on `iterations()` mutations of each seed; returns how many inputs it ran.
fn fuzz(name: &str, seeds: &[Vec<u8>], mut target: impl FnMut(&[u8])) -> usize {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    let mut runs = 0;
    for seed in seeds {
        target(seed);
        runs += 1;
    }
    for i in 0..iterations() {
        let input = mutate(&mut rng, &seeds[i % seeds.len()]);
        target(&input);
        runs += 1;
    }
    println!("fuzz {name}: {runs} executions, no panic");
    runs
}

fn config() -> ClientConfig {
    let options = br#"{"issuer":"https://op.example","clientId":"spa","redirectUri":"https://app.example/cb"}"#;
    ClientConfig::from_json(&json::parse(options).unwrap()).unwrap()
}

fn metadata() -> ProviderMetadata {
    let doc = br#"{"issuer":"https://op.example","authorization_endpoint":"https://op.example/auth","token_endpoint":"https://op.example/token","jwks_uri":"https://op.example/jwks","authorization_response_iss_parameter_supported":true}"#;
    process_discovery_response(&config(), &json_response(doc)).unwrap()
}

fn json_response(body: &[u8]) -> HttpResponse {
    HttpResponse { status: 200, content_type: Some("application/json".into()), body: body.to_vec() }
}

fn jws(header: &str, claims: &str) -> Vec<u8> {
    format!(
        "{}.{}.{}",
        base64url::encode(header.as_bytes()),
        base64url::encode(claims.as_bytes()),
        base64url::encode(&[7; 64])
    )
    .into_bytes()
}

pub(crate) const CLAIMS: &str = r#"{"iss":"https://op.example","sub":"alice","aud":["spa","api"],"azp":"spa","exp":1700000600,"iat":1700000000,"nbf":1699999999,"nonce":"n","at_hash":"x","auth_time":1699990000}"#;

#[test]
fn json_never_panics() {
    let seeds = [
        br#"{"a":[1,-2.5e3,true,false,null,"\u00e9\ud83d\ude00"],"b":{"c":{}}}"#.to_vec(),
        br#"[[[[[]]]]]"#.to_vec(),
        CLAIMS.as_bytes().to_vec(),
    ];
    fuzz("json", &seeds, |input| {
        if let Ok(value) = json::parse(input) {
            let _ = value.as_i64();
            let again = value.to_json();
            assert!(json::parse(again.as_bytes()).is_ok(), "re-serialization must parse");
        }
    });
}

#[test]
fn compact_jws_and_claims_never_panic() {
    let seeds = [
        jws(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#, CLAIMS),
        jws(r#"{"alg":"EdDSA"}"#, r#"{"sub":"a"}"#),
        b"a.b.c".to_vec(),
    ];
    fuzz("compact JWS", &seeds, |input| {
        if let Ok(text) = std::str::from_utf8(input) {
            check_jws(text);
        }
    });
    // Mutating the encoded form rarely yields decodable JSON: also mutate the decoded header
    // and claims, then encode them, so the claim checks see malformed values too.
    let header = r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#;
    fuzz("JWS header", &[header.as_bytes().to_vec()], |input| {
        let encoded = format!("{}.{}.AAAA", base64url::encode(input), base64url::encode(CLAIMS.as_bytes()));
        check_jws(&encoded);
    });
    fuzz("JWS claims", &[CLAIMS.as_bytes().to_vec()], |input| {
        let encoded = format!("{}.{}.AAAA", base64url::encode(header.as_bytes()), base64url::encode(input));
        check_jws(&encoded);
    });
}

fn check_jws(text: &str) {
    let trusted = vec!["api".to_owned()];
    {
        if let Ok(token) = Jwt::parse(text) {
            let _ = (token.alg(), token.kid(), token.signing_input(), Alg::from_name(token.alg()));
            let expect = Expectations {
                issuer: "https://op.example",
                client_id: "spa",
                nonce: NonceRule::Required("n"),
                now: 1_700_000_100,
                clock_skew: 60,
                trusted_audiences: &trusted,
                access_token_digest: Some(&[7; 32]),
                max_age: Some(600),
            };
            let _ = validate_claims(&token, &expect);
        }
    }
}

#[test]
fn jwk_sets_never_panic() {
    let rsa = base64url::encode(&[0xc1; 256]);
    let coord = base64url::encode(&[1; 32]);
    let seeds = [
        format!(r#"{{"keys":[{{"kty":"RSA","kid":"r","use":"sig","alg":"RS256","n":"{rsa}","e":"AQAB"}},{{"kty":"EC","crv":"P-256","x":"{coord}","y":"{coord}","key_ops":["verify"]}},{{"kty":"OKP","crv":"Ed25519","x":"{coord}"}}]}}"#).into_bytes(),
        br#"{"keys":[]}"#.to_vec(),
    ];
    fuzz("JWK Set", &seeds, |input| {
        if let Ok(set) = JwkSet::from_response(&json_response(input)) {
            for alg in ["RS256", "PS512", "ES256", "ES384", "EdDSA"] {
                let alg = Alg::from_name(alg).unwrap();
                let _ = set.select(alg, Some("r")).map(|k| k.public_jwk().len());
                let _ = set.select(alg, None);
            }
        }
    });
}

#[test]
fn discovery_documents_never_panic() {
    let seeds = [
        br#"{"issuer":"https://op.example","authorization_endpoint":"https://op.example/auth","token_endpoint":"https://op.example/token","jwks_uri":"https://op.example/jwks","userinfo_endpoint":"https://op.example/me","end_session_endpoint":"https://op.example/end?x=1","response_types_supported":["code"],"code_challenge_methods_supported":["S256"],"id_token_signing_alg_values_supported":["RS256","ES256"],"authorization_response_iss_parameter_supported":true}"#.to_vec(),
    ];
    let config = config();
    fuzz("discovery", &seeds, |input| {
        let _ = process_discovery_response(&config, &json_response(input));
    });
}

#[test]
fn token_responses_never_panic() {
    let seeds = [
        br#"{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt","id_token":"a.b.c","scope":"openid profile"}"#.to_vec(),
        br#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#.to_vec(),
    ];
    fuzz("token response", &seeds, |input| {
        for status in [200, 400] {
            let res = HttpResponse { status, ..json_response(input) };
            let _ = process_token_response(&res);
        }
    });
}

#[test]
fn callback_urls_never_panic() {
    let seeds = [
        b"https://app.example/cb?code=abc&state=xyz&iss=https%3A%2F%2Fop.example&session_state=1".to_vec(),
        b"https://app.example/cb?error=access_denied&error_description=No+way&state=s".to_vec(),
        b"HTTPS://APP.EXAMPLE:443/cb?#".to_vec(),
    ];
    let (config, metadata) = (config(), metadata());
    let record = br#"{"v":1,"state":"xyz","nonce":"n","codeVerifier":"v","issuer":"https://op.example","clientId":"spa","redirectUri":"https://app.example/cb","createdAt":1700000000,"appState":{"a":1},"maxAge":5}"#;
    let record = std::str::from_utf8(record).unwrap();
    fuzz("callback URL", &seeds, |input| {
        let Ok(url) = std::str::from_utf8(input) else { return };
        if let Ok(callback) = parse_callback(&config, url) {
            let _ = callback.pending_key();
            let _ = validate_callback(&config, &metadata, callback, Some(record), 1_700_000_010);
        }
    });
}

#[test]
fn api_requests_and_challenges_never_panic() {
    // auth.fetch: the page's URL and method decide which token goes where; the API's
    // WWW-Authenticate header decides whether to refresh and retry.
    let config = ClientConfig::from_json(
        &json::parse(
            br#"{"issuer":"https://op.example","clientId":"spa","redirectUri":"https://app.example/cb",
                "apiOrigins":["https://api.example",{"origin":"http://127.0.0.1:9000","resource":"https://api2.example/"}]}"#,
        )
        .unwrap(),
    )
    .unwrap();
    let urls = [
        b"https://api.example/v1/items?q=1#f".to_vec(),
        b"http://127.0.0.1:9000/x".to_vec(),
        b"https://[::1]:443/".to_vec(),
    ];
    fuzz("API request URL", &urls, |input| {
        let Ok(url) = std::str::from_utf8(input) else { return };
        let _ = api_token_key(&config, url, "GET", "accept,content-type");
        let _ = origin_of(url);
    });
    let challenges = [
        br#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#.to_vec(),
        br#"Basic realm="x", Bearer realm="a \"q\" b",error=invalid_token, DPoP algs="ES256""#.to_vec(),
        b"Negotiate abc==, Bearer".to_vec(),
    ];
    fuzz("WWW-Authenticate", &challenges, |input| {
        let Ok(header) = std::str::from_utf8(input) else { return };
        let _ = is_invalid_token_challenge(header);
    });
}
