use super::*;
use crate::protocol::codec::json;
use crate::protocol::testing::NOW;
use crate::protocol::token::process_token_response;

// RFC 9449's examples: the key of its proofs (§4.1) and its thumbprint (§6.1), the proof of a
// token request (§4.1: header, claims, signature), the claims of a resource request's proof
// (§7.1) and the access token they hash into `ath`.
const RFC_X: &str = "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs";
const RFC_Y: &str = "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA";
const RFC_JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
const RFC_HEADER: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19";
const RFC_TOKEN_CLAIMS: &str = "eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ";
const RFC_TOKEN_SIGNATURE: &str = "2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
const RFC_RESOURCE_CLAIMS: &str = "eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9";
const RFC_ACCESS_TOKEN: &str = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
const RFC_ATH: &str = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo";

fn rfc_key() -> DpopKey {
    let mut raw = vec![4];
    raw.extend(base64url::decode(RFC_X).unwrap());
    raw.extend(base64url::decode(RFC_Y).unwrap());
    DpopKey::from_raw_p256(&raw).unwrap()
}

fn text(segment: &str) -> String {
    String::from_utf8(base64url::decode(segment).unwrap()).unwrap()
}

/// A JSON object with its members (and theirs) sorted by name, to compare objects whatever the
/// order of their members.
fn sorted_json(text: &str) -> Value {
    fn sort(mut v: Value) -> Value {
        if let Value::Object(members) = &mut v {
            members.sort_by(|a, b| a.0.cmp(&b.0));
            for (_, member) in members.iter_mut() {
                *member = sort(core::mem::replace(member, Value::Null));
            }
        }
        v
    }
    sort(json::parse(text.as_bytes()).unwrap())
}

#[test]
fn rfc7638_rsa_thumbprint() {
    // RFC 7638 §3.1.
    let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    let members = [("e", "AQAB"), ("kty", "RSA"), ("n", n)];
    assert_eq!(canonical_jwk(&members), format!(r#"{{"e":"AQAB","kty":"RSA","n":"{n}"}}"#));
    assert_eq!(jwk_thumbprint(&members), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

#[test]
fn rfc9449_example_key_jwk_thumbprint_and_dpop_jkt() {
    let key = rfc_key();
    assert_eq!(key.jwk(), format!(r#"{{"crv":"P-256","kty":"EC","x":"{RFC_X}","y":"{RFC_Y}"}}"#));
    assert_eq!(key.thumbprint(), RFC_JKT);
    assert_eq!(jwk_thumbprint(&[("crv", "P-256"), ("kty", "EC"), ("x", RFC_X), ("y", RFC_Y)]), RFC_JKT);
    // RFC 9449 §10: `dpop_jkt` is the thumbprint.
    assert_eq!(key.dpop_jkt_param(), ("dpop_jkt", RFC_JKT));
}

// serde_json and base64 are native dev-dependencies (Cargo.toml).
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn ec_thumbprint_matches_an_independent_computation() {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    for seed in 0u8..8 {
        let raw: Vec<u8> = [4].into_iter().chain((0..64).map(|i: u8| i.wrapping_mul(37).wrapping_add(seed.wrapping_mul(101)))).collect();
        let key = DpopKey::from_raw_p256(&raw).unwrap();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        // serde_json's map sorts its keys: written compactly it is RFC 7638's canonical form.
        let jwk = serde_json::json!({ "y": b64.encode(&raw[33..]), "x": b64.encode(&raw[1..33]), "kty": "EC", "crv": "P-256" });
        let canonical = serde_json::to_string(&jwk).unwrap();
        assert_eq!(key.jwk(), canonical);
        assert_eq!(key.thumbprint(), b64.encode(Sha256::digest(canonical.as_bytes())));
    }
}

#[test]
fn only_an_uncompressed_p256_point_is_a_key() {
    let good = [[4u8].as_slice(), &[7; 64]].concat();
    assert!(DpopKey::from_raw_p256(&good).is_some());
    for bad in [
        vec![],
        vec![4; 64],                       // one byte short
        [good.as_slice(), &[0]].concat(), // one byte long
        [[2u8].as_slice(), &[7; 64]].concat(),
        [[0u8].as_slice(), &[7; 64]].concat(),
        [[2u8].as_slice(), &[7; 32]].concat(), // compressed
        [[4u8].as_slice(), &[7; 96]].concat(), // P-384
    ] {
        assert_eq!(DpopKey::from_raw_p256(&bad), None, "{} bytes", bad.len());
    }
}

#[test]
fn rfc9449_example_claims_and_proof() {
    // The claims the RFC's token request and resource request proofs carry, byte for byte.
    let token = ProofRequest { htm: "POST", htu: "https://server.example.com/token", access_token: None, nonce: None };
    assert_eq!(base64url::encode(token.claims("-BwC3ESc6acc2lTc", "https://server.example.com/token", 1562262616).as_bytes()), RFC_TOKEN_CLAIMS);
    let resource = ProofRequest {
        htm: "GET",
        htu: "https://resource.example.org/protectedresource",
        access_token: Some(RFC_ACCESS_TOKEN),
        nonce: None,
    };
    let htu = htu(resource.htu).unwrap();
    assert_eq!(base64url::encode(resource.claims("e1j3V_bKic8-LAEB", &htu, 1562262618).as_bytes()), RFC_RESOURCE_CLAIMS);
    // The header is the RFC's but for the order of the `jwk` members (ours is canonical).
    let ours = UnsignedProof::new(&rfc_key(), "{}");
    let (header, _) = ours.signing_input().split_once('.').unwrap();
    assert_eq!(sorted_json(&text(header)), sorted_json(&text(RFC_HEADER)));
    // `finish` puts the RFC's signature where the RFC has it.
    let rfc = UnsignedProof { signing_input: format!("{RFC_HEADER}.{RFC_TOKEN_CLAIMS}") };
    let signature = base64url::decode(RFC_TOKEN_SIGNATURE).unwrap();
    assert_eq!(rfc.finish(&signature), Some(format!("{RFC_HEADER}.{RFC_TOKEN_CLAIMS}.{RFC_TOKEN_SIGNATURE}")));
}

#[test]
fn header_and_claims_are_exactly_as_expected() {
    let key = rfc_key();
    let jti: [u8; JTI_BYTES] = core::array::from_fn(|i| i as u8);
    let req = ProofRequest { htm: "post", htu: "https://OP.example:443/token?x=1#f", access_token: None, nonce: None };
    let proof = req.signing_input(&key, &jti, NOW).unwrap();
    let (header, claims) = proof.signing_input().split_once('.').unwrap();
    assert_eq!(text(header), format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"crv":"P-256","kty":"EC","x":"{RFC_X}","y":"{RFC_Y}"}}}}"#));
    assert_eq!(text(claims), r#"{"jti":"AAECAwQFBgcICQoLDA0ODw","htm":"POST","htu":"https://op.example/token","iat":1700000000}"#);

    let req = ProofRequest { htm: "GET", htu: "https://api.example/me", access_token: Some(RFC_ACCESS_TOKEN), nonce: Some("eyJ7S_zG.eyJH0-Z.HX4w-7v") };
    let proof = req.signing_input(&key, &jti, NOW).unwrap();
    let (_, claims) = proof.signing_input().split_once('.').unwrap();
    assert_eq!(
        text(claims),
        format!(r#"{{"jti":"AAECAwQFBgcICQoLDA0ODw","htm":"GET","htu":"https://api.example/me","iat":1700000000,"ath":"{RFC_ATH}","nonce":"eyJ7S_zG.eyJH0-Z.HX4w-7v"}}"#)
    );
    // Another jti, another proof; the header stays the key's.
    let other = req.signing_input(&key, &[9; JTI_BYTES], NOW).unwrap();
    assert_ne!(other, proof);
    assert_eq!(other.signing_input().split_once('.').unwrap().0, header);
    // A target that is no URL is refused, as `auth.fetch` refuses it.
    let bad = ProofRequest { htu: "/token", ..req };
    assert_eq!(bad.signing_input(&key, &jti, NOW), Err(Error::Config { reason: &"api_origin" }));
}

#[test]
fn htu_drops_query_and_fragment_and_normalises_scheme_host_and_port() {
    for (url, expected) in [
        ("https://server.example.com/token", "https://server.example.com/token"),
        ("https://api.example/v1/items?q=1&r=2", "https://api.example/v1/items"),
        ("https://api.example/v1/items#frag", "https://api.example/v1/items"),
        ("https://api.example/v1/items?q=#f?g", "https://api.example/v1/items"),
        ("HTTPS://API.Example/Path/Keeps/Case", "https://api.example/Path/Keeps/Case"),
        ("https://api.example:443/x", "https://api.example/x"),
        ("http://localhost:80/x", "http://localhost/x"),
        ("https://api.example:8443/x", "https://api.example:8443/x"),
        ("http://127.0.0.1:8080/x?y", "http://127.0.0.1:8080/x"),
        ("https://[::1]:443/x", "https://[::1]/x"),
        ("https://api.example", "https://api.example/"),
        ("https://api.example?q", "https://api.example/"),
        ("https://api.example#f", "https://api.example/"),
        ("https://api.example/a%2fb|c", "https://api.example/a%2fb|c"),
    ] {
        assert_eq!(htu(url).as_deref(), Some(expected), "{url}");
    }
    for bad in ["", "/token", "ftp://api.example/", "https://user@api.example/", "https://", "api.example/x"] {
        assert_eq!(htu(bad), None, "{bad}");
    }
}

#[test]
fn htm_is_the_method_fetch_sends() {
    for (method, expected) in [("GET", "GET"), ("post", "POST"), ("Delete", "DELETE"), ("options", "OPTIONS"), ("PATCH", "PATCH"), ("patch", "patch"), ("PROPFIND", "PROPFIND")] {
        assert_eq!(htm(method), expected, "{method}");
    }
}

#[test]
fn ath_known_answer() {
    // RFC 9449 §7.1.
    assert_eq!(ath(RFC_ACCESS_TOKEN), RFC_ATH);
}

#[test]
fn signature_length_other_than_64_is_refused() {
    let proof = ProofRequest { htm: "GET", htu: "https://api.example/", access_token: None, nonce: None }
        .signing_input(&rfc_key(), &[1; JTI_BYTES], NOW)
        .unwrap();
    for len in [0, 32, 63, 65, 70, 72, 96, 132] {
        assert_eq!(proof.clone().finish(&vec![1; len]), None, "{len}");
    }
    let jws = proof.clone().finish(&[0xff; 64]).unwrap();
    // 512 bits: 85 characters of 6 bits, and one with the last 2.
    assert_eq!(jws, format!("{}.{}w", proof.signing_input(), "_".repeat(85)));
    assert_eq!(jws.split('.').count(), 3);
}

#[test]
fn nonces_are_nqchar_strings() {
    let mut nonces = Nonces::default();
    // RFC 9449 §8's example, and the extremes of NQCHAR.
    for good in ["eyJ7S_zG.eyJH0-Z.HX4w-7v", "!", "~", "#[]{}", "a=b/c+d"] {
        assert!(nonces.remember("https://op.example", good), "{good}");
        assert_eq!(nonces.nonce_for("https://op.example"), Some(good));
    }
    for bad in ["", " ", "a b", "a\"b", "a\\b", "a\tb", "a\nb", "\u{7f}", "é", "a,b c"] {
        assert!(!nonces.remember("https://op.example", bad), "{bad:?}");
        // The nonce before stays.
        assert_eq!(nonces.nonce_for("https://op.example"), Some("a=b/c+d"));
    }
}

#[test]
fn nonces_are_kept_per_origin() {
    let mut nonces = Nonces::default();
    assert_eq!(nonces.nonce_for("https://op.example"), None);
    nonces.remember("https://op.example", "as-1");
    nonces.remember("https://api.example", "rs-1");
    nonces.remember("https://api.example:8443", "rs-2");
    assert_eq!(nonces.nonce_for("https://op.example"), Some("as-1"));
    assert_eq!(nonces.nonce_for("https://api.example"), Some("rs-1"));
    assert_eq!(nonces.nonce_for("https://api.example:8443"), Some("rs-2"));
    assert_eq!(nonces.nonce_for("http://api.example"), None);
    nonces.remember("https://api.example", "rs-3");
    assert_eq!(nonces.nonce_for("https://api.example"), Some("rs-3"));
    assert_eq!(nonces.nonce_for("https://op.example"), Some("as-1"));
    // A call's origin is its URL's, normalised as the nonces' keys are.
    let call = DpopCall::new("HTTPS://API.example:443/v1?x").unwrap();
    assert_eq!(call.origin(), "https://api.example");
    assert_eq!(call.nonce(&nonces), Some("rs-3"));
    assert_eq!(DpopCall::new("/v1").err(), Some(Error::Config { reason: &"api_origin" }));
}

fn token_answer(status: u16, body: &str) -> HttpResponse {
    HttpResponse { status, content_type: Some("application/json".into()), body: body.as_bytes().to_vec() }
}

const USE_DPOP_NONCE: &str = r#"{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}"#;

#[test]
fn token_endpoint_use_dpop_nonce_gets_one_retry() {
    let mut nonces = Nonces::default();
    let mut call = DpopCall::new("https://op.example/token").unwrap();
    assert_eq!(call.nonce(&nonces), None);
    let demand = token_answer(400, USE_DPOP_NONCE);
    assert_eq!(call.on_token_response(&mut nonces, &demand, Some("n-1")), NonceStep::RetryWithNonce);
    assert_eq!(call.nonce(&nonces), Some("n-1"));
    // A second demand, even with another nonce, is the answer: a token error.
    assert_eq!(call.on_token_response(&mut nonces, &demand, Some("n-2")), NonceStep::Done);
    assert_eq!(nonces.nonce_for("https://op.example"), Some("n-2"));
    assert_eq!(
        process_token_response(&demand),
        Err(Error::token_error("use_dpop_nonce", Some("Authorization server requires nonce in DPoP proof".into()), 400))
    );
    // The next request starts with the nonce the server gave last, and its own retry.
    let mut next = DpopCall::new("https://op.example/token").unwrap();
    assert_eq!(next.nonce(&nonces), Some("n-2"));
    assert_eq!(next.on_token_response(&mut nonces, &demand, Some("n-3")), NonceStep::RetryWithNonce);
}

#[test]
fn token_endpoint_without_a_usable_nonce_or_demand_is_done() {
    let mut nonces = Nonces::default();
    let demand = token_answer(400, USE_DPOP_NONCE);
    for (answer, header) in [
        (demand.clone(), None),                        // no new nonce: a retry would fail alike
        (demand.clone(), Some("bad nonce")),           // not NQCHAR
        (demand.clone(), Some("")),
        (token_answer(401, USE_DPOP_NONCE), Some("n")), // not the §8 status
        (token_answer(400, r#"{"error":"invalid_dpop_proof"}"#), Some("n")),
        (token_answer(400, "use_dpop_nonce"), Some("n")),
    ] {
        let mut call = DpopCall::new("https://op.example/token").unwrap();
        assert_eq!(call.on_token_response(&mut nonces, &answer, header), NonceStep::Done, "{answer:?} {header:?}");
    }
}

#[test]
fn a_nonce_on_a_success_replaces_the_cached_one() {
    let mut nonces = Nonces::default();
    nonces.remember("https://op.example", "old");
    let mut call = DpopCall::new("https://op.example/token").unwrap();
    let ok = token_answer(200, r#"{"access_token":"at","token_type":"DPoP"}"#);
    assert_eq!(call.on_token_response(&mut nonces, &ok, Some("new")), NonceStep::Done);
    assert_eq!(nonces.nonce_for("https://op.example"), Some("new"));
    assert_eq!(call.on_token_response(&mut nonces, &ok, None), NonceStep::Done);
    assert_eq!(nonces.nonce_for("https://op.example"), Some("new"));

    let mut api = DpopCall::new("https://api.example/me").unwrap();
    assert_eq!(api.on_resource_response(&mut nonces, 200, None, Some("rs")), NonceStep::Done);
    assert_eq!(nonces.nonce_for("https://api.example"), Some("rs"));
    assert_eq!(nonces.nonce_for("https://op.example"), Some("new"));
}

#[test]
fn resource_server_use_dpop_nonce_gets_one_retry() {
    // RFC 9449 §9's example challenge.
    let challenge = Some(r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#);
    let mut nonces = Nonces::default();
    let mut call = DpopCall::new("https://api.example/me").unwrap();
    assert_eq!(call.on_resource_response(&mut nonces, 401, challenge, Some("rs-1")), NonceStep::RetryWithNonce);
    assert_eq!(call.nonce(&nonces), Some("rs-1"));
    assert_eq!(call.on_resource_response(&mut nonces, 401, challenge, Some("rs-2")), NonceStep::Done);
    assert_eq!(call.nonce(&nonces), Some("rs-2"));

    for (status, challenge, header) in [
        (401, challenge, None),
        (403, challenge, Some("n")),
        (400, challenge, Some("n")),
        (401, None, Some("n")),
        (401, Some(r#"Bearer error="use_dpop_nonce""#), Some("n")),
        (401, Some(r#"DPoP error="invalid_token""#), Some("n")),
        (401, Some(r#"DPoP algs="ES256 PS256""#), Some("n")),
    ] {
        let mut call = DpopCall::new("https://api.example/me").unwrap();
        assert_eq!(call.on_resource_response(&mut nonces, status, challenge, header), NonceStep::Done, "{status} {challenge:?} {header:?}");
    }
    let mut call = DpopCall::new("https://api.example/me").unwrap();
    let several = Some(r#"Bearer realm="x", DPoP algs="ES256", error="use_dpop_nonce""#);
    assert_eq!(call.on_resource_response(&mut nonces, 401, several, Some("rs-3")), NonceStep::RetryWithNonce);
}

#[test]
fn dpop_token_type_rule() {
    for t in ["DPoP", "dpop", "DPOP", "dPoP"] {
        assert_eq!(token_type(t, false), Ok(TokenType::DPoP), "{t}");
        assert_eq!(token_type(t, true), Ok(TokenType::DPoP), "{t}");
    }
    let refused = Err(Error::InvalidResponse { reason: &"token_type" });
    // Secure default: a silent downgrade to a bearer token is refused.
    for t in ["Bearer", "bearer"] {
        assert_eq!(token_type(t, false), refused, "{t}");
        assert_eq!(token_type(t, true), Ok(TokenType::Bearer), "{t}");
    }
    for t in ["", "N_A", "mac", "DPoP ", "Bearer DPoP"] {
        assert_eq!(token_type(t, true), refused, "{t}");
    }
}
