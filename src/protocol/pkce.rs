//! Proof Key for Code Exchange, S256 only ([RFC 7636](https://www.rfc-editor.org/rfc/rfc7636)).

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::base64url;
use sha2::{Digest, Sha256};

/// Number of random bytes behind a verifier: 32 bytes give the 43-character verifier
/// RFC 7636 §4.1 recommends (256 bits of entropy).
pub const VERIFIER_BYTES: usize = 32;

/// The `code_verifier` from 32 random bytes, base64url without padding (RFC 7636 §4.1).
pub fn verifier(random: &[u8; VERIFIER_BYTES]) -> String {
    base64url::encode(random)
}

/// The S256 `code_challenge`: `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2).
/// `plain` is never offered: it protects nothing if the request leaks.
pub fn s256_challenge(verifier: &str) -> String {
    base64url::encode(&Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    #[test]
    fn rfc7636_appendix_b() {
        let random = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        let v = verifier(&random);
        assert_eq!(v, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(s256_challenge(&v), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn verifier_has_43_unreserved_characters() {
        let v = verifier(&[0xff; 32]);
        assert_eq!(v.len(), 43);
        assert!(v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
}
