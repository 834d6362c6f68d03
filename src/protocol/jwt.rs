//! A JWT in JWS Compact Serialization ([RFC 7515 §7.1](https://www.rfc-editor.org/rfc/rfc7515#section-7.1),
//! [RFC 7519](https://www.rfc-editor.org/rfc/rfc7519)), as the provider signs it: an ID token or a
//! signed UserInfo response. Parsing checks only the form and the header rules every use
//! shares (RFC 8725); each use checks the claims ([`crate::protocol::id_token`] for ID tokens).
//! Parse failures are `invalid_id_token` errors; the UserInfo path reports them as its own
//! (see [`crate::protocol::client::Client::complete_userinfo`]).

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::codec::base64url;
use crate::protocol::codec::json::{self, Value};
use crate::protocol::error::{Error, Reason};

/// A parsed, not yet trusted, JWT in JWS Compact Serialization: an ID token, or a signed
/// UserInfo response (OIDC Core §5.3.2). Its signature is checked by the caller
/// ([`Jwt::signing_input`], [`Jwt::signature`]) before any claim is trusted.
pub struct Jwt<'a> {
    raw: &'a str,
    header: Value,
    claims: Value,
    claims_json: String,
    signature: Vec<u8>,
}

impl core::fmt::Debug for Jwt<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Jwt { .. }")
    }
}

fn invalid(reason: Reason) -> Error {
    Error::InvalidIdToken { reason }
}

impl<'a> Jwt<'a> {
    /// Splits and decodes the compact JWS. Encrypted ID tokens (five parts) are not supported.
    pub fn parse(raw: &'a str) -> Result<Jwt<'a>, Error> {
        let mut parts = crate::protocol::codec::split_byte(raw, b'.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(invalid(&"format"));
        };
        let object = |part: &str| {
            let bytes = base64url::decode(part).ok_or_else(|| invalid(&"format"))?;
            let value = json::parse(&bytes).map_err(|_| invalid(&"format"))?;
            value.as_object().ok_or_else(|| invalid(&"format"))?;
            Ok::<_, Error>((value, bytes))
        };
        let (header, _) = object(h)?;
        let (claims, claims_bytes) = object(p)?;
        let signature = base64url::decode(s).ok_or_else(|| invalid(&"format"))?;
        // RFC 8725 §3.1: `none` is never acceptable, and an empty signature is not a signature.
        match header.get("alg").and_then(Value::as_str) {
            Some("none") | None => return Err(invalid(&"alg")),
            Some(_) if signature.is_empty() => return Err(invalid(&"format")),
            Some(_) => {}
        }
        // RFC 8725 §3.11 / RFC 7519 §5.1: an explicit `typ` must say JWT, so that other
        // kinds of JWT (e.g. `at+jwt` access tokens) cannot pass as ID tokens.
        if let Some(typ) = header.get("typ") {
            let typ = typ.as_str().ok_or_else(|| invalid(&"typ"))?;
            if !typ.eq_ignore_ascii_case("JWT") && !typ.eq_ignore_ascii_case("application/jwt") {
                return Err(invalid(&"typ"));
            }
        }
        // RFC 7515 §4.1.11: extensions marked critical must be understood; we know none.
        if header.get("crit").is_some() {
            return Err(invalid(&"format"));
        }
        if header.get("kid").is_some_and(|kid| kid.as_str().is_none()) {
            return Err(invalid(&"kid"));
        }
        let claims_json = String::from_utf8(claims_bytes).map_err(|_| invalid(&"format"))?;
        Ok(Jwt { raw, header, claims, claims_json, signature })
    }

    /// The JOSE header's `alg`.
    pub fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or_default()
    }

    /// The JOSE header's `kid`, when present.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// The bytes the signature covers: `BASE64URL(header) '.' BASE64URL(payload)` (RFC 7515 §5.2).
    pub fn signing_input(&self) -> &str {
        let dot = self.raw.bytes().rposition(|c| c == b'.').unwrap_or(0);
        self.raw.get(..dot).unwrap_or_default()
    }

    /// The decoded signature.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The claims, as the JSON object text the provider signed.
    pub fn claims_json(&self) -> &str {
        &self.claims_json
    }

    /// A claim.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }
}

