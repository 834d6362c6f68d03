//! DPoP, sender-constrained tokens ([RFC 9449]): the worker's key as a public JWK and its
//! thumbprint, the proofs, the servers' nonces, and the `token_type` a DPoP session accepts.
//!
//! The private key never reaches the core. The shell generates a non-extractable P-256 key
//! pair with WebCrypto ([`Alg::ES256`](crate::protocol::jws::Alg::ES256)'s parameters), exports
//! the public half raw for [`DpopKey::from_raw_p256`], and for every request signs the
//! [`UnsignedProof`] built here and hands the signature back to [`UnsignedProof::finish`].
//!
//! [RFC 9449]: https://www.rfc-editor.org/rfc/rfc9449

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::api::{has_challenge_error, origin_of};
use crate::protocol::codec::base64url;
use crate::protocol::codec::json::{ObjectWriter, Value};
use crate::protocol::error::Error;
use crate::protocol::http::HttpResponse;
use crate::protocol::token::TokenType;
use sha2::{Digest, Sha256};

/// Random bytes behind a proof's `jti`: 128 bits (RFC 9449 §4.2 asks for at least 96).
pub const JTI_BYTES: usize = 16;

fn sha256_base64url(bytes: &[u8]) -> String {
    base64url::encode(&Sha256::digest(bytes))
}

/// The JSON object of a key's required members, as RFC 7638 §3.2–3.3 hashes it: no whitespace,
/// members in the order given, which must be the lexicographic order of their names.
fn canonical_jwk(members: &[(&str, &str)]) -> String {
    let mut o = ObjectWriter::new();
    for (name, value) in members {
        o.string(name, value);
    }
    o.finish()
}

/// The JWK SHA-256 Thumbprint of a key given by its required members, sorted by name
/// (`e`,`kty`,`n` for RSA; `crv`,`kty`,`x`,`y` for EC): base64url of the SHA-256 of their
/// canonical JSON. See [RFC 7638 §3](https://www.rfc-editor.org/rfc/rfc7638#section-3).
pub fn jwk_thumbprint(required_members: &[(&str, &str)]) -> String {
    sha256_base64url(canonical_jwk(required_members).as_bytes())
}

/// The public half of the worker's ES256 key: its JWK (for the proofs' header) and thumbprint
/// (`dpop_jkt`, and the `cnf.jkt` of the tokens bound to it).
/// See [RFC 9449 §4.2](https://www.rfc-editor.org/rfc/rfc9449#section-4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopKey {
    jwk: String,
    thumbprint: String,
}

impl DpopKey {
    /// The key from WebCrypto's `exportKey("raw")` of a P-256 public key: the uncompressed point
    /// `0x04 || X || Y` (SEC 1 §2.3.3), 65 bytes. `None` for anything else.
    pub fn from_raw_p256(raw: &[u8]) -> Option<DpopKey> {
        if raw.len() != 65 || raw.first() != Some(&4) {
            return None;
        }
        let (x, y) = (base64url::encode(raw.get(1..33)?), base64url::encode(raw.get(33..)?));
        // The required members in canonical form are the thumbprint's input (RFC 7638 §3.2),
        // and a valid `jwk` header too: public members only (RFC 9449 §4.2).
        let jwk = canonical_jwk(&[("crv", "P-256"), ("kty", "EC"), ("x", &x), ("y", &y)]);
        let thumbprint = sha256_base64url(jwk.as_bytes());
        Some(DpopKey { jwk, thumbprint })
    }

    /// The public JWK, `{"crv":"P-256","kty":"EC","x":…,"y":…}`.
    pub fn jwk(&self) -> &str {
        &self.jwk
    }

    /// The JWK SHA-256 Thumbprint (RFC 7638 §3).
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The authorization request parameter that binds the code to this key: `dpop_jkt`, the
    /// thumbprint. See [RFC 9449 §10](https://www.rfc-editor.org/rfc/rfc9449#section-10).
    pub fn dpop_jkt_param(&self) -> (&'static str, &str) {
        ("dpop_jkt", &self.thumbprint)
    }
}

/// `ath`: base64url of the SHA-256 of the access token's ASCII bytes.
/// See [RFC 9449 §4.2](https://www.rfc-editor.org/rfc/rfc9449#section-4.2).
pub fn ath(access_token: &str) -> String {
    sha256_base64url(access_token.as_bytes())
}

/// `htm`: the method as `fetch` sends it, which the server compares (RFC 9449 §4.3 step 8).
/// Fetch uppercases `delete`, `get`, `head`, `options`, `post`, `put` in any case, and sends
/// every other method as written (`patch` goes out lowercase).
pub fn htm(method: &str) -> &str {
    ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]
        .into_iter()
        .find(|m| m.eq_ignore_ascii_case(method))
        .unwrap_or(method)
}

/// `htu`: the target URI without query and fragment (RFC 9449 §4.2), its scheme and host
/// lowercased and a default port dropped (RFC 3986 §6.2.2.1, §6.2.3), an empty path written
/// `/`; the path is kept as the browser sends it. `None` when `url` is not an absolute http(s)
/// URL with a valid authority.
pub fn htu(url: &str) -> Option<String> {
    let mut out = origin_of(url)?;
    // After `scheme://` (which `origin_of` checked), the authority ends at the first of
    // `/?#`, the path at the first of `?#`.
    let b = url.as_bytes();
    let at = |from: usize, stops: &[u8]| b.iter().skip(from).position(|&c| crate::protocol::codec::has_byte(stops, c)).map_or(b.len(), |i| from + i);
    let start = at(at(0, b":") + 3, b"/?#");
    let path = url.get(start..at(start, b"?#"))?;
    out.push_str(if path.is_empty() { "/" } else { path });
    Some(out)
}

/// What one proof is for (RFC 9449 §4.2). No `Debug`: it may hold the access token.
#[derive(Clone, Copy)]
pub struct ProofRequest<'a> {
    /// The request method; the claim is [`htm`] of it.
    pub htm: &'a str,
    /// The request's target URI; the claim is [`htu`] of it.
    pub htu: &'a str,
    /// The access token the request presents, if any; the claim is its [`ath`].
    pub access_token: Option<&'a str>,
    /// The nonce the target's server gave last ([`DpopCall::nonce`]), if any.
    pub nonce: Option<&'a str>,
}

impl ProofRequest<'_> {
    /// The proof to sign: header `{"typ":"dpop+jwt","alg":"ES256","jwk":…}`, claims `jti` (from
    /// fresh random bytes), `htm`, `htu`, `iat` (`now`), then `ath` and `nonce` when present.
    /// `config` / `api_origin` when the target is not an absolute http(s) URL.
    /// See [RFC 9449 §4.2](https://www.rfc-editor.org/rfc/rfc9449#section-4.2).
    pub fn signing_input(&self, key: &DpopKey, jti: &[u8; JTI_BYTES], now: u64) -> Result<UnsignedProof, Error> {
        let htu = htu(self.htu).ok_or_else(|| Error::Config { reason: &"api_origin" })?;
        let claims = self.claims(&base64url::encode(jti), &htu, now);
        Ok(UnsignedProof::new(key, &claims))
    }

    fn claims(&self, jti: &str, htu: &str, now: u64) -> String {
        let mut o = ObjectWriter::new();
        o.string("jti", jti)
            .string("htm", htm(self.htm))
            .string("htu", htu)
            .number("iat", i64::try_from(now).unwrap_or(i64::MAX));
        if let Some(token) = self.access_token {
            o.string("ath", &ath(token));
        }
        if let Some(nonce) = self.nonce {
            o.string("nonce", nonce);
        }
        o.finish()
    }
}

/// A proof waiting for its signature. The shell signs [`signing_input`](Self::signing_input)
/// with the private key (WebCrypto `sign`, `{"name":"ECDSA","hash":"SHA-256"}`) and passes the
/// result to [`finish`](Self::finish).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedProof {
    signing_input: String,
}

impl UnsignedProof {
    fn new(key: &DpopKey, claims: &str) -> UnsignedProof {
        let mut header = ObjectWriter::new();
        header.string("typ", "dpop+jwt").string("alg", "ES256").raw("jwk", &key.jwk);
        let mut signing_input = base64url::encode(header.finish().as_bytes());
        signing_input.push('.');
        signing_input.push_str(&base64url::encode(claims.as_bytes()));
        UnsignedProof { signing_input }
    }

    /// `ASCII(BASE64URL(header) '.' BASE64URL(claims))`, the bytes to sign (RFC 7515 §5.1).
    pub fn signing_input(&self) -> &str {
        &self.signing_input
    }

    /// The `DPoP` header value: the compact JWS, `signing_input '.' BASE64URL(signature)`.
    /// `signature` is what WebCrypto's ECDSA `sign` returns, `r || s` (IEEE P1363), which is
    /// exactly JWS ES256's form (RFC 7518 §3.4): 64 bytes. Any other length is refused (`None`):
    /// a DER signature, or one made with another curve, would make a proof no server accepts.
    pub fn finish(self, signature: &[u8]) -> Option<String> {
        if signature.len() != 64 {
            return None;
        }
        let mut jws = self.signing_input;
        jws.push('.');
        jws.push_str(&base64url::encode(signature));
        Some(jws)
    }
}

/// The nonce each server gave last, by origin, held in the worker only.
/// See [RFC 9449 §8](https://www.rfc-editor.org/rfc/rfc9449#section-8) (authorization server)
/// and [§9](https://www.rfc-editor.org/rfc/rfc9449#section-9) (resource servers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nonces {
    by_origin: Vec<(String, String)>,
}

impl Nonces {
    /// The nonce `origin` (`scheme://host[:port]`) gave last, if any.
    pub fn nonce_for(&self, origin: &str) -> Option<&str> {
        self.by_origin.iter().find(|(o, _)| o == origin).map(|(_, n)| n.as_str())
    }

    /// Keeps a `DPoP-Nonce` header value `origin` sent, on any response (§8.2: a new nonce may
    /// come with a success too), in place of the one before. A value that is not `1*NQCHAR`
    /// (§8.1: `%x21 / %x23-5B / %x5D-7E`) is ignored, and `false` returned.
    pub fn remember(&mut self, origin: &str, nonce: &str) -> bool {
        let valid = !nonce.is_empty() && nonce.bytes().all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E));
        if valid {
            match self.by_origin.iter_mut().find(|(o, _)| o == origin) {
                Some(slot) => slot.1 = nonce.to_owned(),
                None => self.by_origin.push((origin.to_owned(), nonce.to_owned())),
            }
        }
        valid
    }
}

/// What the shell does with the answer to a request sent with a DPoP proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceStep {
    /// The answer stands: process it, or hand it to the caller.
    Done,
    /// Send the request again, with a new proof carrying the nonce the server just gave.
    RetryWithNonce,
}

/// The nonce side of one request sent with a DPoP proof: which nonce its proof carries, and
/// whether the server's answer asks for another. A server that demands a nonce gets one retry
/// with the nonce it sent; a second demand is its answer (from the token endpoint a
/// `token_error` `use_dpop_nonce`, from an API its `401` for the caller, as after a second
/// `invalid_token`), so a server that never accepts a nonce cannot loop the worker.
#[derive(Debug)]
pub struct DpopCall {
    origin: String,
    retried: bool,
}

impl DpopCall {
    /// A request to `url`, whose origin keys its nonces. `config` / `api_origin` when `url` is
    /// not an absolute http(s) URL.
    pub fn new(url: &str) -> Result<DpopCall, Error> {
        let origin = origin_of(url).ok_or_else(|| Error::Config { reason: &"api_origin" })?;
        Ok(DpopCall { origin, retried: false })
    }

    /// The target's origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The nonce the next proof carries ([`ProofRequest::nonce`]).
    pub fn nonce<'n>(&self, nonces: &'n Nonces) -> Option<&'n str> {
        nonces.nonce_for(&self.origin)
    }

    /// The token endpoint's answer and its `DPoP-Nonce` header. RFC 9449 §8: a `400` whose
    /// error is `use_dpop_nonce` asks for the nonce the header carries.
    pub fn on_token_response(&mut self, nonces: &mut Nonces, res: &HttpResponse, dpop_nonce: Option<&str>) -> NonceStep {
        let asked = res.status == 400
            && res.json_body().is_ok_and(|b| b.get("error").and_then(Value::as_str) == Some("use_dpop_nonce"));
        self.step(nonces, asked, dpop_nonce)
    }

    /// A resource server's answer: its status, `WWW-Authenticate` and `DPoP-Nonce` headers.
    /// RFC 9449 §9: a `401` with a `DPoP` challenge whose error is `use_dpop_nonce` asks for the
    /// nonce the header carries.
    pub fn on_resource_response(&mut self, nonces: &mut Nonces, status: u16, challenge: Option<&str>, dpop_nonce: Option<&str>) -> NonceStep {
        let asked = status == 401 && challenge.is_some_and(|c| has_challenge_error(c, "DPoP", "use_dpop_nonce"));
        self.step(nonces, asked, dpop_nonce)
    }

    fn step(&mut self, nonces: &mut Nonces, asked: bool, dpop_nonce: Option<&str>) -> NonceStep {
        let fresh = dpop_nonce.is_some_and(|n| nonces.remember(&self.origin, n));
        // Without a usable new nonce a retry would fail the same way.
        if asked && fresh && !self.retried {
            self.retried = true;
            return NonceStep::RetryWithNonce;
        }
        NonceStep::Done
    }
}

/// A DPoP session's check of a token response's `token_type` (RFC 9449 §5): `DPoP`, in any
/// case (RFC 6749 §5.1). `Bearer` only with `allow_bearer_downgrade`, else `invalid_response`
/// / `token_type`. Secure default: refused. A provider that answers a DPoP request with a
/// bearer token (one without DPoP support, or not for this client) has dropped the sender
/// constraint, and a copied token would work anywhere without the app knowing.
pub fn token_type(token_type: &str, allow_bearer_downgrade: bool) -> Result<TokenType, Error> {
    if token_type.eq_ignore_ascii_case("DPoP") {
        Ok(TokenType::DPoP)
    } else if allow_bearer_downgrade && token_type.eq_ignore_ascii_case("Bearer") {
        Ok(TokenType::Bearer)
    } else {
        Err(Error::InvalidResponse { reason: &"token_type" })
    }
}

#[cfg(test)]
mod tests;
