//! The one error type of the core, with the stable codes the TypeScript `AuthError` carries.
//!
//! No variant ever holds a token, an authorization code, a PKCE verifier, a nonce or a state:
//! only fixed reasons and the provider's own OAuth `error` / `error_description`.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::codec::json::ObjectWriter;

/// Which rule or check failed: one of the closed set of reasons in src/contract.json, written
/// `&"issuer"`. A reference to a `&'static str` rather than the `&str` itself: one word instead of
/// two, so that an `Error` is two words and every `Result` in the worker small to move (the wasm
/// is ~2.9 KB gzip smaller for it, measured with scripts/build.sh).
pub type Reason = &'static &'static str;

/// Everything that can go wrong, grouped by the stable `code` the app sees.
///
/// Made only on the path that fails: `ok_or_else(|| ...)`, not `ok_or(...)`. An error made
/// eagerly is dropped on the path that succeeds, and its drop (the boxed provider errors) was
/// code at every such place: the wasm is ~960 B gzip smaller without them, measured.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Invalid options. `reason` names the option or rule (`client_id`, `issuer`, `redirect_uri`, ...).
    Config {
        /// Which option or rule was violated.
        reason: Reason,
    },
    /// A request failed, timed out, or its response exceeded the size cap.
    Network {
        /// `failed`, `timeout` or `too_large`.
        reason: Reason,
    },
    /// A server answered with a 5xx status and no OAuth error (RFC 9110 §15.6): code `network`,
    /// reason `status`, like an outage.
    ServerError {
        /// The HTTP status.
        status: u16,
    },
    /// A provider response is malformed.
    InvalidResponse {
        /// `json`, `field`, `token_type`, `redirect`, `content_type`, `status`.
        reason: Reason,
    },
    /// The issuer is not the configured one (RFC 8414 §3.3, RFC 9207 §2.4).
    IssuerMismatch {
        /// `discovery` (metadata `issuer`) or `callback` (the `iss` response parameter).
        reason: Reason,
    },
    /// The callback's `state` is absent, unknown, expired or already used.
    StateMismatch,
    /// A malformed callback. `reason`: `missing_code`, `duplicate_parameter`, `redirect_uri`, ...
    InvalidCallback {
        /// Which rule the callback broke.
        reason: Reason,
    },
    /// The provider redirected back with `error=` (RFC 6749 §4.1.2.1).
    /// (Boxed, as is [`Error::TokenError`]'s: every `Result` in the worker carries an `Error`,
    /// and a one-word payload keeps them all small, which the wasm's size shows.)
    AuthorizationError(Box<ProviderError>),
    /// The token endpoint answered with an OAuth error (RFC 6749 §5.2).
    /// (`status`: the HTTP status of the error response.)
    TokenError(Box<ProviderError>),
    /// The ID token failed validation (OIDC Core §3.1.3.7). `reason` names the check.
    InvalidIdToken {
        /// `format`, `iss`, `aud`, `azp`, `exp`, `iat`, `nbf`, `nonce`, `sub`.
        reason: Reason,
    },
    /// There is no session (or no longer one).
    LoginRequired,
}

/// A provider's OAuth error (RFC 6749 §4.1.2.1, §5.2): what [`Error::AuthorizationError`] and
/// [`Error::TokenError`] carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    /// The OAuth error code, e.g. `access_denied`, `invalid_grant`.
    pub error: String,
    /// The provider's `error_description`, when it sent a well-formed one.
    pub error_description: Option<String>,
    /// The HTTP status of a token endpoint's error response (0 for an authorization error).
    pub status: u16,
}

impl Error {
    /// An authorization error (`authorization_error`): the provider's `error` and description.
    pub fn authorization_error(error: impl Into<String>, error_description: Option<String>) -> Error {
        Error::AuthorizationError(Box::new(ProviderError { error: error.into(), error_description, status: 0 }))
    }

    /// A token endpoint's error (`token_error`) with the response's HTTP status.
    pub fn token_error(error: impl Into<String>, error_description: Option<String>, status: u16) -> Error {
        Error::TokenError(Box::new(ProviderError { error: error.into(), error_description, status }))
    }

    /// The provider's OAuth `error` code of a token or authorization error.
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            Error::AuthorizationError(e) | Error::TokenError(e) => Some(&e.error),
            _ => None,
        }
    }

    /// The stable machine-readable code; never changes once published.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Config { .. } => "config",
            Error::Network { .. } | Error::ServerError { .. } => "network",
            Error::InvalidResponse { .. } => "invalid_response",
            Error::IssuerMismatch { .. } => "issuer_mismatch",
            Error::StateMismatch => "state_mismatch",
            Error::InvalidCallback { .. } => "invalid_callback",
            Error::AuthorizationError(_) => "authorization_error",
            Error::TokenError(_) => "token_error",
            Error::InvalidIdToken { .. } => "invalid_id_token",
            Error::LoginRequired => "login_required",
        }
    }

    /// Which check failed, where the code has several.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Error::Config { reason }
            | Error::Network { reason }
            | Error::InvalidResponse { reason }
            | Error::IssuerMismatch { reason }
            | Error::InvalidCallback { reason }
            | Error::InvalidIdToken { reason } => Some(reason),
            Error::ServerError { .. } => Some("status"),
            _ => None,
        }
    }

    /// A human-readable message. Built only from fixed text and the provider's OAuth error
    /// fields, so it can be logged.
    pub fn message(&self) -> String {
        // Plain concatenation rather than `format!`: this runs in wasm, where bytes count.
        let (text, detail): (&str, Option<&str>) = match self {
            Error::Config { reason: &"access_token_not_exposed" } => (
                "the access token is not exposed to the page (exposeAccessToken is false): call your APIs with auth.fetch, or set exposeAccessToken: true",
                None,
            ),
            Error::Config { reason } => ("invalid configuration: ", Some(reason)),
            Error::Network { reason } => ("request failed: ", Some(reason)),
            Error::ServerError { .. } => ("server error status", None),
            Error::InvalidResponse { reason } => ("malformed provider response: ", Some(reason)),
            Error::IssuerMismatch { reason } => ("issuer does not match the configured issuer: ", Some(reason)),
            Error::StateMismatch => ("callback state is absent, unknown, expired or already used", None),
            Error::InvalidCallback { reason } => ("malformed callback: ", Some(reason)),
            Error::AuthorizationError(e) => ("the provider returned an authorization error: ", Some(&e.error)),
            Error::TokenError(e) => ("the token endpoint returned an error: ", Some(&e.error)),
            Error::InvalidIdToken { reason } => ("ID token failed validation: ", Some(reason)),
            Error::LoginRequired => ("no session: login required", None),
        };
        let mut message = String::from(text);
        message.push_str(detail.unwrap_or_default());
        message
    }

    /// The error as JSON text, `{ code, message, reason?, error?, errorDescription?, status? }`
    /// (for the benchmark harness; the worker posts [`ErrorData`], the same object as a JS value).
    ///
    /// [`ErrorData`]: crate::protocol::messages::ErrorData
    pub fn to_json(&self) -> String {
        let mut o = ObjectWriter::new();
        o.string("code", self.code());
        o.string("message", &self.message());
        if let Some(reason) = self.reason() {
            o.string("reason", reason);
        }
        if let Error::AuthorizationError(e) | Error::TokenError(e) = self {
            o.string("error", &e.error);
            if let Some(d) = &e.error_description {
                o.string("errorDescription", d);
            }
        }
        let status = match self {
            Error::TokenError(e) => Some(e.status),
            Error::ServerError { status } => Some(*status),
            _ => None,
        };
        if let Some(status) = status {
            o.number("status", i64::from(status));
        }
        o.finish()
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message())
    }
}

/// RFC 6749 §5.2 / §4.1.2.1: `error` and `error_description` are limited to
/// `%x20-21 / %x23-5B / %x5D-7E`. Values outside it (or absurdly long) are not passed on.
pub(crate) fn oauth_error_text(value: &str) -> Option<String> {
    let ok = !value.is_empty()
        && value.len() <= 512
        && value
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E));
    ok.then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(Error::StateMismatch.code(), "state_mismatch");
        assert_eq!(Error::InvalidIdToken { reason: &"nonce" }.reason(), Some("nonce"));
        assert_eq!(Error::LoginRequired.reason(), None);
    }

    #[test]
    fn the_refused_access_token_names_the_option_that_allows_it() {
        let message = Error::Config { reason: &"access_token_not_exposed" }.message();
        assert!(message.contains("exposeAccessToken") && message.contains("auth.fetch"), "{message}");
    }

    #[test]
    fn token_error_serializes_its_fields() {
        let e = Error::token_error("invalid_grant", Some("grant request is invalid".into()), 400);
        assert_eq!(
            e.to_json(),
            r#"{"code":"token_error","message":"the token endpoint returned an error: invalid_grant","error":"invalid_grant","errorDescription":"grant request is invalid","status":400}"#
        );
    }

    #[test]
    fn oauth_error_text_rejects_quotes_backslashes_and_controls() {
        assert_eq!(oauth_error_text("access_denied").as_deref(), Some("access_denied"));
        assert_eq!(oauth_error_text("a\"b"), None);
        assert_eq!(oauth_error_text("a\\b"), None);
        assert_eq!(oauth_error_text("a\nb"), None);
        assert_eq!(oauth_error_text(""), None);
        assert_eq!(oauth_error_text(&"x".repeat(513)), None);
    }
}
