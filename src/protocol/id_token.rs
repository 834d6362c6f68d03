//! ID token validation ([OIDC Core §3.1.3.7](https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation)).
//!
//! The token is a compact JWS ([RFC 7515 §7.1](https://www.rfc-editor.org/rfc/rfc7515#section-7.1)).
//! Its claims are checked here, in the order of §3.1.3.7; the signature is checked by the
//! caller before any claim is trusted (steps 6–8, see [`Jwt::signing_input`]).

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::error::{Error, Reason};
use crate::protocol::codec::base64url;
use crate::protocol::codec::json::Value;
use crate::protocol::jws::Alg;
pub use crate::protocol::jwt::Jwt;
use crate::protocol::secret::constant_time_eq;

/// OIDC Core §2: `sub` "MUST NOT exceed 255 ASCII characters in length".
const MAX_SUB_LEN: usize = 255;

fn invalid(reason: Reason) -> Error {
    Error::InvalidIdToken { reason }
}

/// What the claims must match.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    /// The configured issuer.
    pub issuer: &'a str,
    /// This client's `client_id`.
    pub client_id: &'a str,
    /// The nonce rule for this token.
    pub nonce: NonceRule<'a>,
    /// Current time, Unix seconds.
    pub now: u64,
    /// Tolerated clock difference, seconds.
    pub clock_skew: u64,
    /// Audiences besides `client_id` that the configuration trusts.
    pub trusted_audiences: &'a [String],
    /// For `at_hash`: the hash of the access token issued with the ID token, with the hash
    /// function [`at_hash_function`] names (the shell computes it with WebCrypto).
    pub access_token_digest: Option<&'a [u8]>,
    /// The `max_age` the authentication request asked for.
    pub max_age: Option<u64>,
}

/// How the `nonce` claim is checked.
#[derive(Debug, Clone, Copy)]
pub enum NonceRule<'a> {
    /// After a login: the claim must be present and equal the one sent (§3.1.3.7 step 11).
    Required(&'a str),
    /// After a refresh: if present it must equal the original one (§12.2).
    IfPresent(Option<&'a str>),
}

/// The WebCrypto name of the hash `at_hash` needs, when the token has one: the hash of its
/// signature algorithm (OIDC Core §3.1.3.6).
pub fn at_hash_function(token: &Jwt) -> Option<&'static str> {
    token.claim("at_hash")?;
    Some(match Alg::from_name(token.alg())?.hash_bits() {
        256 => "SHA-256",
        384 => "SHA-384",
        _ => "SHA-512",
    })
}

/// Validates the claims of an ID token whose signature the caller has verified.
pub fn validate_claims(token: &Jwt<'_>, expect: &Expectations<'_>) -> Result<(), Error> {
    let now = i64::try_from(expect.now).unwrap_or(i64::MAX);
    let skew = i64::try_from(expect.clock_skew).unwrap_or(0);

    // Step 2: the issuer must exactly match.
    if token.claim("iss").and_then(Value::as_str) != Some(expect.issuer) {
        return Err(invalid(&"iss"));
    }

    // Step 3: `aud` must contain the client_id; a string or an array of strings.
    let audiences: Vec<&str> = match token.claim("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or_else(|| invalid(&"aud")))
            .collect::<Result<_, _>>()?,
        _ => return Err(invalid(&"aud")),
    };
    if !audiences.contains(&expect.client_id)
        || !audiences
            .iter()
            .all(|a| *a == expect.client_id || expect.trusted_audiences.iter().any(|t| t == a))
    {
        return Err(invalid(&"aud"));
    }

    // Steps 4–5: with several audiences `azp` is required; when present it must be us.
    match token.claim("azp") {
        None if audiences.len() > 1 => return Err(invalid(&"azp")),
        None => {}
        Some(azp) if azp.as_str() == Some(expect.client_id) => {}
        Some(_) => return Err(invalid(&"azp")),
    }

    // Steps 6–8 (signature, `alg`) are the caller's, before this function runs.

    // Step 9: the current time must be before `exp` (within the skew).
    let exp = numeric_date(token, &"exp")?.ok_or_else(|| invalid(&"exp"))?;
    if now >= exp.saturating_add(skew) {
        return Err(invalid(&"exp"));
    }

    // Step 10: `iat` is required and must not be in the future (beyond the skew).
    let iat = numeric_date(token, &"iat")?.ok_or_else(|| invalid(&"iat"))?;
    if iat > now.saturating_add(skew) {
        return Err(invalid(&"iat"));
    }

    // RFC 7519 §4.1.5: not before `nbf`.
    if let Some(nbf) = numeric_date(token, &"nbf")? {
        if nbf > now.saturating_add(skew) {
            return Err(invalid(&"nbf"));
        }
    }

    // Step 11: the nonce sent in the authentication request.
    let nonce = match token.claim("nonce") {
        None => None,
        Some(v) => Some(v.as_str().ok_or_else(|| invalid(&"nonce"))?),
    };
    let nonce_ok = match (expect.nonce, nonce) {
        (NonceRule::Required(sent), Some(got)) => constant_time_eq(sent.as_bytes(), got.as_bytes()),
        (NonceRule::Required(_), None) => false,
        (NonceRule::IfPresent(_), None) => true,
        (NonceRule::IfPresent(Some(original)), Some(got)) => original == got,
        (NonceRule::IfPresent(None), Some(_)) => false,
    };
    if !nonce_ok {
        return Err(invalid(&"nonce"));
    }

    // Step 13: with `max_age`, `auth_time` is required and must be recent enough.
    let auth_time = numeric_date(token, &"auth_time")?;
    if let Some(max_age) = expect.max_age {
        let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
        match auth_time {
            Some(t) if now <= t.saturating_add(max_age).saturating_add(skew) => {}
            _ => return Err(invalid(&"auth_time")),
        }
    }

    // §3.1.3.8 via §3.2.2.9: when present, `at_hash` is the left half of the hash of the
    // access token, with the hash of the signature algorithm.
    if let Some(at_hash) = token.claim("at_hash") {
        let bits = Alg::from_name(token.alg()).map_or(0, Alg::hash_bits);
        let expected = expect
            .access_token_digest
            .filter(|digest| digest.len() * 8 == usize::from(bits))
            .map(|digest| base64url::encode(&digest[..digest.len() / 2]));
        let ok = match (at_hash.as_str(), expected) {
            (Some(got), Some(want)) => constant_time_eq(got.as_bytes(), want.as_bytes()),
            _ => false,
        };
        if !ok {
            return Err(invalid(&"at_hash"));
        }
    }

    // OIDC Core §2: `sub` is required, at most 255 ASCII characters.
    match token.claim("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() && sub.len() <= MAX_SUB_LEN && sub.is_ascii() => Ok(()),
        _ => Err(invalid(&"sub")),
    }
}

/// A NumericDate claim (RFC 7519 §2): absent is `None`, anything but a number is an error.
fn numeric_date(token: &Jwt<'_>, name: Reason) -> Result<Option<i64>, Error> {
    match token.claim(name) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| invalid(name)),
    }
}

#[cfg(test)]
mod tests;
