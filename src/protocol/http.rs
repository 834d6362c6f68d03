//! HTTP requests and responses as plain values: the core builds the one, the shell performs it
//! and hands back the other.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::error::Error;
use crate::protocol::codec::json::{self, Value};

/// The request methods the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A request the core wants performed. Its URL always comes from the configuration or from the
/// validated discovery document, never from the page.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// An `application/x-www-form-urlencoded` body (it may carry a code or a token).
    pub body: Option<String>,
}

impl HttpRequest {
    /// A `POST` of a form to one of the provider's endpoints (token, PAR, device authorization,
    /// revocation), asking for JSON.
    pub(crate) fn form_post(url: String, body: String) -> HttpRequest {
        HttpRequest {
            method: Method::Post,
            url,
            headers: vec![
                ("Content-Type".into(), "application/x-www-form-urlencoded".into()),
                ("Accept".into(), "application/json".into()),
            ],
            body: Some(body),
        }
    }
}

impl core::fmt::Debug for HttpRequest {
    // The body carries secrets (code, verifier, refresh token): never print it.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field("body", &self.body.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// The response as the shell received it. The shell enforces the timeout and the size cap
/// ([`MAX_RESPONSE_BYTES`]) and never follows redirects: it reports an opaque redirect as
/// status 302 so the core can reject it.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// The `Content-Type` header, when present.
    pub content_type: Option<String>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl core::fmt::Debug for HttpResponse {
    // The body may carry tokens: never print it.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Responses larger than this are refused (`network`, reason `too_large`).
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Requests that take longer than this are aborted (`network`, reason `timeout`).
pub const REQUEST_TIMEOUT_MS: u32 = 10_000;

impl HttpResponse {
    /// Whether the `Content-Type` names `media_type` (ignoring parameters and case). (Trimmed of
    /// ASCII whitespace only: HTTP's is spaces and tabs, RFC 9110 §5.6.3; and Unicode's would
    /// bring its tables into the wasm.)
    pub fn has_media_type(&self, media_type: &str) -> bool {
        self.content_type
            .as_deref()
            .and_then(|ct| crate::protocol::codec::split_byte(ct, b';').next())
            .is_some_and(|mt| mt.trim_ascii().eq_ignore_ascii_case(media_type))
    }

    /// Whether the media type is `application/json`.
    pub fn is_json(&self) -> bool {
        self.has_media_type("application/json")
    }

    /// Whether the status is a redirect, which the client never follows.
    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status)
    }
}

impl HttpResponse {
    /// The body as a JSON object, for a response that must be `application/json`.
    pub(crate) fn json_object(&self) -> Result<Value, Error> {
        if !self.is_json() {
            return Err(Error::InvalidResponse { reason: &"content_type" });
        }
        self.json_body()
    }

    /// The body as a JSON object, whatever the `Content-Type` (the caller checked it).
    pub(crate) fn json_body(&self) -> Result<Value, Error> {
        json::parse(&self.body)
            .ok()
            .filter(|v| v.as_object().is_some())
            .ok_or_else(|| Error::InvalidResponse { reason: &"json" })
    }
}
