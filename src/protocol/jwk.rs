//! The provider's signing keys: JWK Sets ([RFC 7517 §5]) and key selection.
//!
//! Keys come only from the `jwks_uri` of validated discovery, never from a token's header
//! (`jku`, `x5u`, `jwk`, `x5c` are ignored: RFC 8725 §3.10). A key that is malformed, of an
//! unknown type, meant for encryption, or an RSA key under 2048 bits is never used.
//!
//! [RFC 7517 §5]: https://www.rfc-editor.org/rfc/rfc7517#section-5

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::codec::base64url;
use crate::protocol::error::Error;
use crate::protocol::http::HttpResponse;
use crate::protocol::codec::json::{ObjectWriter, Value};
use crate::protocol::jws::{Alg, KeyType};

/// RSA keys shorter than this are refused (RFC 7518 §3.3: "2048 bits or larger MUST be used").
pub const MIN_RSA_BITS: usize = 2048;
/// A JWK Set larger than this is refused: no provider publishes that many keys.
pub const MAX_KEYS: usize = 64;

/// A usable public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    kid: Option<String>,
    alg: Option<String>,
    key_type: KeyType,
    /// The length every signature made with this key has.
    signature_len: usize,
    /// The public JWK for WebCrypto's `importKey`: `kty` and the key members only.
    public_jwk: String,
}

/// Why no key could be chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoKey {
    /// No compatible key (with the token's `kid`, if it has one): the set may be stale.
    NotFound,
    /// No `kid`, and more than one compatible key.
    Ambiguous,
}

/// The provider's usable signing keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JwkSet {
    keys: Vec<Jwk>,
}

impl Jwk {
    /// The length of a signature made with this key: the modulus for RSA (RFC 8017 §8.2.2),
    /// twice the coordinate for ECDSA (RFC 7518 §3.4), 64 bytes for Ed25519 (RFC 8032 §5.1.6).
    pub fn signature_len(&self) -> usize {
        self.signature_len
    }

    /// The `importKey` JWK text.
    pub fn public_jwk(&self) -> &str {
        &self.public_jwk
    }

    /// RFC 7517 §4.2–4.4: the key may be used to verify `alg` signatures.
    fn fits(&self, alg: Alg) -> bool {
        self.key_type == alg.key_type() && self.alg.as_deref().is_none_or(|a| a == alg.name())
    }

    /// Reads one JWK; `None` when it is not a usable signature-verification key.
    fn parse(v: &Value) -> Option<Jwk> {
        let text = |name: &str| match v.get(name) {
            None => Some(None),
            Some(s) => s.as_str().map(Some),
        };
        // RFC 7517 §4.2–4.3: `use` must be `sig` and `key_ops` must allow `verify` when present.
        if text("use")?.is_some_and(|u| u != "sig") {
            return None;
        }
        if let Some(ops) = v.get("key_ops") {
            if !ops.as_array()?.iter().any(|op| op.as_str() == Some("verify")) {
                return None;
            }
        }
        let member = |name: &str, len: Option<usize>| {
            let value = text(name)?.filter(|s| !s.is_empty())?;
            let bytes = base64url::decode(value)?;
            len.is_none_or(|l| bytes.len() == l).then_some((value, bytes))
        };
        let mut public = ObjectWriter::new();
        let (key_type, signature_len) = match text("kty")?? {
            "RSA" => {
                let (n, modulus) = member("n", None)?;
                let (e, exponent) = member("e", None)?;
                // RFC 7518 §6.3.1.1: big-endian, no leading zero octets.
                if modulus[0] == 0 || exponent[0] == 0 || exponent.len() > 8 {
                    return None;
                }
                let bits = modulus.len() * 8 - modulus[0].leading_zeros() as usize;
                if bits < MIN_RSA_BITS {
                    return None;
                }
                public.string("kty", "RSA").string("n", n).string("e", e);
                (KeyType::Rsa, modulus.len())
            }
            "EC" => {
                // RFC 7518 §6.2.1: coordinates are exactly as long as the curve's field.
                let (curve, len) = match text("crv")?? {
                    "P-256" => ("P-256", 32),
                    "P-384" => ("P-384", 48),
                    "P-521" => ("P-521", 66),
                    _ => return None,
                };
                let (x, _) = member("x", Some(len))?;
                let (y, _) = member("y", Some(len))?;
                public.string("kty", "EC").string("crv", curve).string("x", x).string("y", y);
                (KeyType::Ec(curve), 2 * len)
            }
            // RFC 8037 §2: only Ed25519 of the OKP curves signs and is supported.
            "OKP" if text("crv")?? == "Ed25519" => {
                let (x, _) = member("x", Some(32))?;
                public.string("kty", "OKP").string("crv", "Ed25519").string("x", x);
                (KeyType::Ed25519, 64)
            }
            _ => return None,
        };
        Some(Jwk {
            kid: text("kid")?.map(str::to_owned),
            alg: text("alg")?.map(str::to_owned),
            key_type,
            signature_len,
            public_jwk: public.finish(),
        })
    }
}

impl JwkSet {
    /// Processes the `jwks_uri` response: a JSON object with a `keys` array (RFC 7517 §5).
    pub fn from_response(res: &HttpResponse) -> Result<JwkSet, Error> {
        let invalid = Error::InvalidResponse { reason: &"jwks" };
        if res.is_redirect() {
            return Err(Error::InvalidResponse { reason: &"redirect" });
        }
        if res.status != 200 {
            return Err(invalid);
        }
        // RFC 7517 §8.5.1 registers application/jwk-set+json; plain JSON is common.
        if !res.is_json() && !res.has_media_type("application/jwk-set+json") {
            return Err(invalid);
        }
        let doc = res.json_body().map_err(|_| invalid.clone())?;
        let keys = doc.get("keys").and_then(Value::as_array).ok_or_else(|| invalid.clone())?;
        if keys.len() > MAX_KEYS {
            return Err(invalid);
        }
        Ok(JwkSet { keys: keys.iter().filter_map(Jwk::parse).collect() })
    }

    /// Chooses the key for a signature: by `kid` when the header has one, else the only
    /// compatible key (OIDC Core §10.1: without `kid` the set must not be ambiguous).
    pub fn select(&self, alg: Alg, kid: Option<&str>) -> Result<&Jwk, NoKey> {
        let mut compatible = self
            .keys
            .iter()
            .filter(|k| k.fits(alg) && kid.is_none_or(|id| k.kid.as_deref() == Some(id)));
        match (compatible.next(), compatible.next()) {
            (Some(key), None) => Ok(key),
            (None, _) => Err(NoKey::NotFound),
            (Some(_), Some(_)) => Err(NoKey::Ambiguous),
        }
    }
}

#[cfg(test)]
mod tests;
