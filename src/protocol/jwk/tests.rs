use super::*;

fn b64(bytes: &[u8]) -> String {
    base64url::encode(bytes)
}

/// A syntactically valid RSA public JWK with a `bits`-bit modulus (synthetic bytes).
fn rsa(kid: &str, bits: usize, extra: &str) -> String {
    let mut n = vec![0xA5u8; bits.div_ceil(8)];
    n[0] = 0x80 >> ((8 - bits % 8) % 8);
    format!(r#"{{"kty":"RSA","kid":"{kid}","n":"{}","e":"AQAB"{extra}}}"#, b64(&n))
}

fn ec(kid: &str, crv: &str, len: usize, extra: &str) -> String {
    format!(r#"{{"kty":"EC","kid":"{kid}","crv":"{crv}","x":"{}","y":"{}"{extra}}}"#, b64(&vec![1; len]), b64(&vec![2; len]))
}

fn ed(kid: &str) -> String {
    format!(r#"{{"kty":"OKP","crv":"Ed25519","kid":"{kid}","x":"{}"}}"#, b64(&[3; 32]))
}

fn set(keys: &[String]) -> Result<JwkSet, Error> {
    JwkSet::from_response(&HttpResponse {
        status: 200,
        content_type: Some("application/json".into()),
        body: format!(r#"{{"keys":[{}]}}"#, keys.join(",")).into_bytes(),
    })
}

#[test]
fn selects_by_kid_and_type() {
    let s = set(&[rsa("r1", 2048, ""), ec("e1", "P-256", 32, ""), ed("d1")]).unwrap();
    assert_eq!(s.select(Alg::RS256, Some("r1")).unwrap().kid.as_deref(), Some("r1"));
    assert_eq!(s.select(Alg::PS512, Some("r1")).unwrap().kid.as_deref(), Some("r1"));
    assert_eq!(s.select(Alg::ES256, Some("e1")).unwrap().kid.as_deref(), Some("e1"));
    assert_eq!(s.select(Alg::EdDSA, Some("d1")).unwrap().kid.as_deref(), Some("d1"));
    // The right kid on the wrong type of key is no key at all.
    assert_eq!(s.select(Alg::ES256, Some("r1")), Err(NoKey::NotFound));
    assert_eq!(s.select(Alg::ES384, Some("e1")), Err(NoKey::NotFound));
    assert_eq!(s.select(Alg::RS256, Some("unknown")), Err(NoKey::NotFound));
}

#[test]
fn without_kid_only_an_unambiguous_key_is_used() {
    let one = set(&[rsa("r1", 2048, ""), ec("e1", "P-256", 32, "")]).unwrap();
    assert_eq!(one.select(Alg::RS256, None).unwrap().kid.as_deref(), Some("r1"));
    let two = set(&[rsa("r1", 2048, ""), rsa("r2", 3072, "")]).unwrap();
    assert_eq!(two.select(Alg::RS256, None), Err(NoKey::Ambiguous));
    // An `alg` on the key disambiguates.
    let pinned = set(&[rsa("r1", 2048, r#","alg":"RS256""#), rsa("r2", 2048, r#","alg":"PS256""#)]).unwrap();
    assert_eq!(pinned.select(Alg::PS256, None).unwrap().kid.as_deref(), Some("r2"));
    assert_eq!(pinned.select(Alg::RS384, None), Err(NoKey::NotFound));
}

#[test]
fn unusable_keys_are_skipped() {
    let s = set(&[
        rsa("short", 2047, ""),
        rsa("enc", 2048, r#","use":"enc""#),
        rsa("ops", 2048, r#","key_ops":["encrypt"]"#),
        ec("badlen", "P-256", 31, ""),
        ec("curve", "secp256k1", 32, ""),
        r#"{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}"#.into(),
        r#"{"kty":"OKP","crv":"X25519","kid":"x","x":"AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM"}"#.into(),
        r#"{"kty":"RSA","kid":"zero","n":"AKWl","e":"AQAB"}"#.into(),
        r#"{"kty":"RSA","kid":"nonstr","n":7,"e":"AQAB"}"#.into(),
        r#"{"kid":"nokty"}"#.into(),
        "42".into(),
    ])
    .unwrap();
    assert!(s.keys.is_empty(), "{:?}", s.keys);
    let ok = set(&[rsa("sig", 2048, r#","use":"sig","key_ops":["verify"]"#), rsa("min", 2048, "")]).unwrap();
    assert_eq!(ok.keys.len(), 2);
}

#[test]
fn public_jwk_keeps_only_key_members() {
    let s = set(&[ec("e1", "P-384", 48, r#","use":"sig","alg":"ES384","d":"private!""#)]).unwrap();
    let key = s.select(Alg::ES384, Some("e1")).unwrap();
    assert_eq!(
        key.public_jwk(),
        format!(r#"{{"kty":"EC","crv":"P-384","x":"{}","y":"{}"}}"#, b64(&[1; 48]), b64(&[2; 48]))
    );
}

#[test]
fn malformed_sets_are_refused() {
    let res = |status: u16, ct: &str, body: &str| HttpResponse {
        status,
        content_type: Some(ct.into()),
        body: body.as_bytes().to_vec(),
    };
    let jwks = Error::InvalidResponse { reason: &"jwks" };
    assert_eq!(JwkSet::from_response(&res(200, "application/json", "{}")), Err(jwks.clone()));
    assert_eq!(JwkSet::from_response(&res(200, "application/json", r#"{"keys":{}}"#)), Err(jwks.clone()));
    assert_eq!(JwkSet::from_response(&res(200, "text/html", r#"{"keys":[]}"#)), Err(jwks.clone()));
    assert_eq!(JwkSet::from_response(&res(404, "application/json", r#"{"keys":[]}"#)), Err(jwks.clone()));
    assert_eq!(
        JwkSet::from_response(&res(301, "application/json", r#"{"keys":[]}"#)),
        Err(Error::InvalidResponse { reason: &"redirect" })
    );
    let many = vec![ed("k"); MAX_KEYS + 1];
    assert_eq!(set(&many), Err(jwks));
    assert!(JwkSet::from_response(&res(200, "application/jwk-set+json; charset=utf-8", r#"{"keys":[]}"#)).is_ok());
}
