use super::*;
use crate::protocol::testing::{claims, id_token, jws, nonce, NOW};

fn expect(nonce: &str) -> Expectations<'_> {
    Expectations {
        issuer: "https://op.example",
        client_id: "spa",
        nonce: NonceRule::Required(nonce),
        now: NOW,
        clock_skew: 60,
        trusted_audiences: &[],
        access_token_digest: Some(THE_ACCESS_TOKEN_SHA256),
        max_age: None,
    }
}

fn check(claims: &str) -> Result<(), Error> {
    let raw = id_token(claims);
    let token = Jwt::parse(&raw)?;
    let n = nonce();
    validate_claims(&token, &expect(&n))
}

/// Replaces one claim's JSON value (or removes it with `None`) in the valid claims.
fn with(name: &str, value: Option<&str>) -> String {
    let v = crate::protocol::codec::json::parse(claims().as_bytes()).unwrap();
    let mut o = crate::protocol::codec::json::ObjectWriter::new();
    for (k, old) in v.as_object().unwrap() {
        if k != name {
            o.raw(k, &old.to_json());
        }
    }
    if let Some(value) = value {
        o.raw(name, value);
    }
    o.finish()
}

fn reason(r: &'static &'static str) -> Result<(), Error> {
    Err(Error::InvalidIdToken { reason: r })
}

#[test]
fn valid_token_passes_and_exposes_its_parts() {
    assert_eq!(check(&claims()), Ok(()));
    let raw = id_token(&claims());
    let t = Jwt::parse(&raw).unwrap();
    assert_eq!(t.alg(), "RS256");
    assert_eq!(t.signature(), &[0x5a; 256]);
    assert_eq!(t.kid(), None);
    assert_eq!(t.claims_json(), claims());
    assert_eq!(t.signing_input(), &raw[..raw.rfind('.').unwrap()]);
}

#[test]
fn format_rejections() {
    let good = id_token(&claims());
    let parts: Vec<&str> = good.split('.').collect();
    let cases = [
        "".to_owned(),
        "a.b".to_owned(),
        format!("{good}.x.y"),
        format!("{}.{}.", parts[0], parts[1]),
        format!("{}.{}!.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], crate::protocol::codec::base64url::encode(b"[1]"), parts[2]),
        format!("{}.{}.{}", parts[0], crate::protocol::codec::base64url::encode(br#"{"a":1,"a":2}"#), parts[2]),
        format!("{}.{}.{}", crate::protocol::codec::base64url::encode(b"nope"), parts[1], parts[2]),
    ];
    for raw in cases {
        assert_eq!(Jwt::parse(&raw).map(|_| ()), reason(&"format"), "{raw}");
    }
}

#[test]
fn alg_none_and_missing_alg_are_refused() {
    assert_eq!(Jwt::parse(&jws(r#"{"alg":"none"}"#, &claims())).map(|_| ()), reason(&"alg"));
    assert_eq!(Jwt::parse(&jws(r#"{"typ":"JWT"}"#, &claims())).map(|_| ()), reason(&"alg"));
}

#[test]
fn iss_must_match_exactly() {
    assert_eq!(check(&with("iss", Some(r#""https://op.example/""#))), reason(&"iss"));
    assert_eq!(check(&with("iss", Some(r#""https://evil.example""#))), reason(&"iss"));
    assert_eq!(check(&with("iss", None)), reason(&"iss"));
}

#[test]
fn aud_must_contain_client_id() {
    assert_eq!(check(&with("aud", Some(r#""other""#))), reason(&"aud"));
    assert_eq!(check(&with("aud", Some("[]"))), reason(&"aud"));
    assert_eq!(check(&with("aud", Some(r#"["spa",7]"#))), reason(&"aud"));
    assert_eq!(check(&with("aud", None)), reason(&"aud"));
    assert_eq!(check(&with("aud", Some(r#"["spa"]"#))), Ok(()));
}

#[test]
fn several_audiences_need_azp_equal_to_client_id() {
    let multi = with("aud", Some(r#"["spa","api"]"#));
    let with_azp = multi.replacen('{', r#"{"azp":"spa","#, 1);
    let wrong_azp = multi.replacen('{', r#"{"azp":"api","#, 1);
    let n = nonce();
    let trusted = ["api".to_owned()];
    let trusting = Expectations { trusted_audiences: &trusted, ..expect(&n) };
    let check_trusting = |claims: &str| validate_claims(&Jwt::parse(&id_token(claims)).unwrap(), &trusting);
    assert_eq!(check_trusting(&multi), reason(&"azp"));
    assert_eq!(check_trusting(&with_azp), Ok(()));
    assert_eq!(check_trusting(&wrong_azp), reason(&"azp"));
    // Without trusting "api", the extra audience alone is reason to reject (§3.1.3.7 step 3).
    assert_eq!(check(&with_azp), reason(&"aud"));
    assert_eq!(check(&multi), reason(&"aud"));
    assert_eq!(check(&with("azp", Some(r#""api""#))), reason(&"azp"));
}

#[test]
fn exp_iat_nbf_respect_the_skew() {
    let n = |v: u64| Some(v.to_string());
    assert_eq!(check(&with("exp", n(NOW - 59).as_deref())), Ok(()));
    assert_eq!(check(&with("exp", n(NOW - 60).as_deref())), reason(&"exp"));
    assert_eq!(check(&with("exp", None)), reason(&"exp"));
    assert_eq!(check(&with("exp", Some(r#""soon""#))), reason(&"exp"));
    assert_eq!(check(&with("iat", n(NOW + 60).as_deref())), Ok(()));
    assert_eq!(check(&with("iat", n(NOW + 61).as_deref())), reason(&"iat"));
    assert_eq!(check(&with("iat", n(NOW - 86_400 * 365).as_deref())), Ok(()));
    assert_eq!(check(&with("iat", None)), reason(&"iat"));
    assert_eq!(check(&with("nbf", n(NOW + 60).as_deref())), Ok(()));
    assert_eq!(check(&with("nbf", n(NOW + 61).as_deref())), reason(&"nbf"));
    assert_eq!(check(&with("nbf", Some("null"))), reason(&"nbf"));
}

#[test]
fn nonce_is_required_and_compared() {
    assert_eq!(check(&with("nonce", Some(r#""other""#))), reason(&"nonce"));
    assert_eq!(check(&with("nonce", None)), reason(&"nonce"));
    assert_eq!(check(&with("nonce", Some("1"))), reason(&"nonce"));
}

#[test]
fn nonce_after_refresh_may_be_absent_but_not_different() {
    let raw = id_token(&with("nonce", None));
    let t = Jwt::parse(&raw).unwrap();
    let n = nonce();
    let e = Expectations { nonce: NonceRule::IfPresent(Some(&n)), ..expect(&n) };
    assert_eq!(validate_claims(&t, &e), Ok(()));
    let raw = id_token(&with("nonce", Some(r#""other""#)));
    let t = Jwt::parse(&raw).unwrap();
    assert_eq!(validate_claims(&t, &e), reason(&"nonce"));
}

#[test]
fn sub_is_required_ascii_and_short() {
    assert_eq!(check(&with("sub", None)), reason(&"sub"));
    assert_eq!(check(&with("sub", Some(r#""""#))), reason(&"sub"));
    assert_eq!(check(&with("sub", Some(&format!(r#""{}""#, "a".repeat(256))))), reason(&"sub"));
    assert_eq!(check(&with("sub", Some(r#""é""#))), reason(&"sub"));
    assert_eq!(check(&with("sub", Some("42"))), reason(&"sub"));
}

#[test]
fn typ_crit_and_kid_headers() {
    let claims = claims();
    let header_check = |header: &str| Jwt::parse(&jws(header, &claims)).map(|_| ());
    assert_eq!(header_check(r#"{"alg":"RS256","typ":"jwt"}"#), Ok(()));
    assert_eq!(header_check(r#"{"alg":"RS256","typ":"application/JWT"}"#), Ok(()));
    assert_eq!(header_check(r#"{"alg":"RS256","typ":"at+jwt"}"#), reason(&"typ"));
    assert_eq!(header_check(r#"{"alg":"RS256","typ":1}"#), reason(&"typ"));
    assert_eq!(header_check(r#"{"alg":"RS256","crit":["exp"]}"#), reason(&"format"));
    assert_eq!(header_check(r#"{"alg":"RS256","kid":7}"#), reason(&"kid"));
    let t = jws(r#"{"alg":"ES256","kid":"k1"}"#, &claims);
    assert_eq!(Jwt::parse(&t).unwrap().kid(), Some("k1"));
}

/// OIDC Core §3.1.3.6: at_hash = base64url(left half of SHA-256("the-access-token")) for RS256.
fn at_hash_of(access_token: &str, bits: u16) -> String {
    let digest = sha(bits, access_token.as_bytes());
    crate::protocol::codec::base64url::encode(&digest[..digest.len() / 2])
}

/// SHA-2 with 256, 384 or 512 bits, as WebCrypto computes it for the shell.
fn sha(bits: u16, data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    match bits {
        256 => sha2::Sha256::digest(data).to_vec(),
        384 => sha2::Sha384::digest(data).to_vec(),
        _ => sha2::Sha512::digest(data).to_vec(),
    }
}

/// SHA-256("the-access-token").
const THE_ACCESS_TOKEN_SHA256: &[u8] = &[
    185, 188, 189, 103, 193, 155, 252, 127, 241, 225, 243, 227, 192, 220, 224, 187, 191, 120, 111, 206, 180, 137, 252,
    15, 177, 188, 39, 149, 243, 98, 8, 91,
];

#[test]
fn at_hash_is_checked_when_present() {
    let good = with("at_hash", Some(&format!(r#""{}""#, at_hash_of("the-access-token", 256))));
    assert_eq!(check(&good), Ok(()));
    assert_eq!(check(&with("at_hash", Some(&format!(r#""{}""#, at_hash_of("another-token", 256))))), reason(&"at_hash"));
    assert_eq!(check(&with("at_hash", Some(&format!(r#""{}""#, at_hash_of("the-access-token", 512))))), reason(&"at_hash"));
    assert_eq!(check(&with("at_hash", Some("1"))), reason(&"at_hash"));
    // ES384 tokens hash with SHA-384: the shell is asked for that hash, and a digest of
    // another length is refused.
    let raw = jws(r#"{"alg":"ES384"}"#, &with("at_hash", Some(&format!(r#""{}""#, at_hash_of("the-access-token", 384)))));
    let token = Jwt::parse(&raw).unwrap();
    assert_eq!(at_hash_function(&token), Some("SHA-384"));
    let n = nonce();
    let sha384 = sha(384, b"the-access-token");
    assert_eq!(validate_claims(&token, &Expectations { access_token_digest: Some(&sha384), ..expect(&n) }), Ok(()));
    assert_eq!(validate_claims(&token, &expect(&n)), reason(&"at_hash"));
    assert_eq!(validate_claims(&token, &Expectations { access_token_digest: None, ..expect(&n) }), reason(&"at_hash"));
    assert_eq!(at_hash_function(&Jwt::parse(&id_token(&claims())).unwrap()), None);
    let eddsa = jws(r#"{"alg":"EdDSA"}"#, &with("at_hash", Some(r#""x""#)));
    assert_eq!(at_hash_function(&Jwt::parse(&eddsa).unwrap()), Some("SHA-512"));
    // Known answer: SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 ...
    assert_eq!(at_hash_of("abc", 256), "ungWv48Bz-pBQUDeXa4iIw");
}

#[test]
fn auth_time_is_required_and_fresh_with_max_age() {
    let n = nonce();
    let e = Expectations { max_age: Some(300), ..expect(&n) };
    let run = |claims: &str| validate_claims(&Jwt::parse(&id_token(claims)).unwrap(), &e);
    assert_eq!(run(&claims()), reason(&"auth_time"));
    assert_eq!(run(&with("auth_time", Some(&(NOW - 300 - 60).to_string()))), Ok(()));
    assert_eq!(run(&with("auth_time", Some(&(NOW - 300 - 61).to_string()))), reason(&"auth_time"));
    assert_eq!(run(&with("auth_time", Some(r#""yesterday""#))), reason(&"auth_time"));
    // Without max_age an old auth_time is fine, a malformed one is not.
    assert_eq!(check(&with("auth_time", Some("1"))), Ok(()));
    assert_eq!(check(&with("auth_time", Some("true"))), reason(&"auth_time"));
}
