//! JWS signature verification, split between the core and the shell: the core chooses the key
//! and the algorithm and says which bytes are signed ([RFC 7515 §5.2]); the shell asks
//! WebCrypto (`SubtleCrypto.importKey` + `verify`) and reports the verdict.
//!
//! [RFC 7515 §5.2]: https://www.rfc-editor.org/rfc/rfc7515#section-5.2

#[allow(unused_imports)]
use crate::prelude::*;
/// One signature for the shell to check with WebCrypto. `Debug` shows no key or bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    /// The public key as a JWK (JSON object text) holding only `kty` and the key members
    /// (`n`,`e` / `crv`,`x`,`y` / `crv`,`x`), for `importKey("jwk", …, ["verify"])`.
    pub jwk: String,
    /// The `importKey` algorithm (JSON object text), e.g. `{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-256"}`.
    pub import_algorithm: &'static str,
    /// The `verify` algorithm (JSON object text), e.g. `{"name":"ECDSA","hash":"SHA-256"}`.
    pub verify_algorithm: &'static str,
    /// `ASCII(BASE64URL(header) || '.' || BASE64URL(payload))`.
    pub signing_input: Vec<u8>,
    /// The decoded signature (for ECDSA the raw `r || s` WebCrypto expects, RFC 7518 §3.4).
    pub signature: Vec<u8>,
}

impl core::fmt::Debug for SignatureCheck {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SignatureCheck").field("verify_algorithm", &self.verify_algorithm).finish_non_exhaustive()
    }
}

impl SignatureCheck {
    /// Turns the shell's WebCrypto verdict into proof of a valid signature, or the
    /// `signature` error.
    pub fn verdict(self, valid: bool) -> Result<VerifiedSignature, crate::protocol::Error> {
        match valid {
            true => Ok(VerifiedSignature { signing_input: self.signing_input }),
            false => Err(crate::protocol::Error::InvalidIdToken { reason: &"signature" }),
        }
    }
}

/// Proof that WebCrypto accepted the signature over these signing-input bytes; the core
/// trusts a token's claims only when it holds one that covers the token.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    signing_input: Vec<u8>,
}

impl core::fmt::Debug for VerifiedSignature {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("VerifiedSignature { .. }")
    }
}

impl VerifiedSignature {
    /// Whether this proof is for the JWS whose signing input is `signing_input`.
    pub fn covers(&self, signing_input: &str) -> bool {
        self.signing_input == signing_input.as_bytes()
    }
}

/// The JWS algorithms the client verifies (RFC 7518 §3.1, RFC 8037 §3.1). `none` and the
/// `HS*` family are deliberately absent: a public client has no shared secret, and accepting
/// them would let anyone mint tokens (RFC 8725 §2.1, §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA with P-256 and SHA-256.
    ES256,
    /// ECDSA with P-384 and SHA-384.
    ES384,
    /// ECDSA with P-521 and SHA-512.
    ES512,
    /// EdDSA with Ed25519.
    EdDSA,
}

/// The key a signature algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// `kty: RSA`.
    Rsa,
    /// `kty: EC` on the named curve.
    Ec(&'static str),
    /// `kty: OKP`, `crv: Ed25519`.
    Ed25519,
}

const ALL: [Alg; 10] = [
    Alg::RS256,
    Alg::RS384,
    Alg::RS512,
    Alg::PS256,
    Alg::PS384,
    Alg::PS512,
    Alg::ES256,
    Alg::ES384,
    Alg::ES512,
    Alg::EdDSA,
];

impl Alg {
    /// The algorithm of a JOSE `alg` name, if the client supports it.
    pub fn from_name(name: &str) -> Option<Alg> {
        ALL.into_iter().find(|a| a.name() == name)
    }

    /// The JOSE `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// The hash size in bits, also the one `at_hash` uses (OIDC Core §3.1.3.6; for Ed25519
    /// the OpenID Foundation settled on SHA-512).
    pub fn hash_bits(self) -> u16 {
        match self {
            Alg::RS256 | Alg::PS256 | Alg::ES256 => 256,
            Alg::RS384 | Alg::PS384 | Alg::ES384 => 384,
            Alg::RS512 | Alg::PS512 | Alg::ES512 | Alg::EdDSA => 512,
        }
    }

    /// The key type (and curve) the algorithm verifies with.
    pub fn key_type(self) -> KeyType {
        match self {
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => KeyType::Rsa,
            Alg::ES256 => KeyType::Ec("P-256"),
            Alg::ES384 => KeyType::Ec("P-384"),
            Alg::ES512 => KeyType::Ec("P-521"),
            Alg::EdDSA => KeyType::Ed25519,
        }
    }

    /// WebCrypto's `importKey` and `verify` algorithm parameters, as JSON object texts.
    pub fn webcrypto(self) -> (&'static str, &'static str) {
        match self {
            Alg::RS256 => (r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-256"}"#, r#"{"name":"RSASSA-PKCS1-v1_5"}"#),
            Alg::RS384 => (r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-384"}"#, r#"{"name":"RSASSA-PKCS1-v1_5"}"#),
            Alg::RS512 => (r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-512"}"#, r#"{"name":"RSASSA-PKCS1-v1_5"}"#),
            // RFC 7518 §3.5: the salt is as long as the hash.
            Alg::PS256 => (r#"{"name":"RSA-PSS","hash":"SHA-256"}"#, r#"{"name":"RSA-PSS","saltLength":32}"#),
            Alg::PS384 => (r#"{"name":"RSA-PSS","hash":"SHA-384"}"#, r#"{"name":"RSA-PSS","saltLength":48}"#),
            Alg::PS512 => (r#"{"name":"RSA-PSS","hash":"SHA-512"}"#, r#"{"name":"RSA-PSS","saltLength":64}"#),
            Alg::ES256 => (r#"{"name":"ECDSA","namedCurve":"P-256"}"#, r#"{"name":"ECDSA","hash":"SHA-256"}"#),
            Alg::ES384 => (r#"{"name":"ECDSA","namedCurve":"P-384"}"#, r#"{"name":"ECDSA","hash":"SHA-384"}"#),
            Alg::ES512 => (r#"{"name":"ECDSA","namedCurve":"P-521"}"#, r#"{"name":"ECDSA","hash":"SHA-512"}"#),
            Alg::EdDSA => (r#"{"name":"Ed25519"}"#, r#"{"name":"Ed25519"}"#),
        }
    }
}

/// The algorithms the client accepts from a provider: those it advertises (for ID tokens,
/// `id_token_signing_alg_values_supported`) that the client supports; RS256 when it
/// advertises nothing (OIDC Discovery §3: RS256 "MUST be included").
pub fn accepted_algs(advertised: Option<&[String]>) -> Vec<Alg> {
    match advertised {
        None => vec![Alg::RS256],
        Some(names) => names.iter().filter_map(|n| Alg::from_name(n)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unsafe_algs_are_unknown() {
        for alg in ALL {
            assert_eq!(Alg::from_name(alg.name()), Some(alg));
        }
        for name in ["none", "None", "HS256", "HS384", "HS512", "rs256", "", "ES256K", "Ed25519"] {
            assert_eq!(Alg::from_name(name), None, "{name}");
        }
    }

    #[test]
    fn webcrypto_parameters() {
        assert_eq!(
            Alg::RS256.webcrypto(),
            (r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-256"}"#, r#"{"name":"RSASSA-PKCS1-v1_5"}"#)
        );
        assert_eq!(Alg::PS384.webcrypto(), (r#"{"name":"RSA-PSS","hash":"SHA-384"}"#, r#"{"name":"RSA-PSS","saltLength":48}"#));
        assert_eq!(Alg::ES512.webcrypto(), (r#"{"name":"ECDSA","namedCurve":"P-521"}"#, r#"{"name":"ECDSA","hash":"SHA-512"}"#));
        // Every algorithm's parameters are valid JSON, and the salt/hash agree with hash_bits.
        for alg in ALL {
            let (import, verify) = alg.webcrypto();
            assert!(crate::protocol::codec::json::parse(import.as_bytes()).is_ok() && crate::protocol::codec::json::parse(verify.as_bytes()).is_ok());
            let bits = alg.hash_bits().to_string();
            assert!(import.contains(&bits) || verify.contains(&bits) || alg == Alg::EdDSA, "{alg:?}");
        }
        assert_eq!(Alg::EdDSA.webcrypto().0, r#"{"name":"Ed25519"}"#);
    }

    #[test]
    fn accepted_algs_intersect_and_default_to_rs256() {
        assert_eq!(accepted_algs(None), vec![Alg::RS256]);
        let advertised = ["HS256", "none", "ES256", "RS256", "XX1"].map(String::from);
        assert_eq!(accepted_algs(Some(&advertised)), vec![Alg::ES256, Alg::RS256]);
        assert_eq!(accepted_algs(Some(&[])), vec![]);
    }
}
