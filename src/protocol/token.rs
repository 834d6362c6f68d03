//! The token endpoint: code exchange and refresh
//! ([RFC 6749 §4.1.3–4.1.4, §5, §6](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3)).

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::authorization::ValidatedCallback;
use crate::protocol::config::ClientConfig;
use crate::protocol::discovery::ProviderMetadata;
use crate::protocol::dpop;
use crate::protocol::error::{oauth_error_text, Error};
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::protocol::secret::Secret;
use crate::protocol::codec::json::Value;
use crate::protocol::types::TokenKey;
use crate::protocol::codec::url::form_encode;

/// A successful token response, parsed strictly (RFC 6749 §5.1). `Debug` shows no token.
#[derive(Debug, PartialEq, Eq)]
pub struct TokenResponse {
    /// `access_token`: opaque to the client, never parsed.
    pub access_token: Secret,
    /// `expires_in` in seconds, when sent.
    pub expires_in: Option<u64>,
    /// `refresh_token`, when sent.
    pub refresh_token: Option<Secret>,
    /// `id_token`, not yet validated.
    pub id_token: Option<Secret>,
    /// `scope`, when sent.
    pub scope: Option<String>,
}

/// The `token_type` of an accepted token response (RFC 6749 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// `Bearer` (RFC 6750): whoever holds the token can use it.
    Bearer,
    /// `DPoP` (RFC 9449 §5): bound to the worker's key; every use carries a proof.
    DPoP,
}

fn token_request(metadata: &ProviderMetadata, params: &[(&str, &str)]) -> HttpRequest {
    HttpRequest::form_post(metadata.token_endpoint.clone(), form_encode(params))
}

/// The authorization code grant request of a public client: no secret, the PKCE verifier
/// instead (RFC 6749 §4.1.3, RFC 7636 §4.5).
pub fn code_exchange_request(
    config: &ClientConfig,
    metadata: &ProviderMetadata,
    callback: &ValidatedCallback,
) -> HttpRequest {
    token_request(
        metadata,
        &[
            ("grant_type", "authorization_code"),
            ("code", callback.code.expose()),
            ("redirect_uri", &callback.pending.redirect_uri),
            ("client_id", &config.client_id),
            ("code_verifier", callback.pending.code_verifier.expose()),
        ],
    )
}

/// The refresh token grant request (RFC 6749 §6). For the login's token the scope is left out,
/// so it stays the same; another key adds its `resource` (RFC 8707 §2.2) and `scope`.
pub fn refresh_request(
    config: &ClientConfig,
    metadata: &ProviderMetadata,
    refresh_token: &str,
    key: &TokenKey,
) -> HttpRequest {
    let mut params = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", config.client_id.as_str()),
    ];
    if let Some(resource) = &key.resource {
        params.push(("resource", resource));
    }
    if let Some(scope) = &key.scope {
        params.push(("scope", scope));
    }
    token_request(metadata, &params)
}

/// Parses a token endpoint response (RFC 6749 §5.1, §5.2). A 3xx is never followed.
pub fn process_token_response(res: &HttpResponse) -> Result<TokenResponse, Error> {
    // RFC 6750: outside a DPoP session only Bearer tokens are usable by this client; the name
    // is case-insensitive (RFC 6749 §5.1).
    process(res, &mut |t| match t.eq_ignore_ascii_case("bearer") {
        true => Ok(()),
        false => Err(Error::InvalidResponse { reason: &"token_type" }),
    })
}

/// Parses the token endpoint's answer to a request sent with a DPoP proof: as
/// [`process_token_response`], but `token_type` must be `DPoP`, or `Bearer` with
/// `allow_bearer_downgrade` ([`dpop::token_type`]), and is returned with the tokens.
pub fn process_dpop_token_response(res: &HttpResponse, allow_bearer_downgrade: bool) -> Result<(TokenResponse, TokenType), Error> {
    let mut token_type = TokenType::DPoP;
    let tokens = process(res, &mut |t| {
        token_type = dpop::token_type(t, allow_bearer_downgrade)?;
        Ok(())
    })?;
    Ok((tokens, token_type))
}

/// The parser, with the `token_type` check as a trait object: one copy in the module for both
/// kinds of session (generic, it was two: +1.7 KB before `wasm-opt`).
fn process(res: &HttpResponse, check_token_type: &mut dyn FnMut(&str) -> Result<(), Error>) -> Result<TokenResponse, Error> {
    let body = success_object(res)?;
    let field = || Error::InvalidResponse { reason: &"field" };
    let optional_string = |name: &str| -> Result<Option<String>, Error> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(field()),
        }
    };

    let secret = |name: &str| optional_string(name).map(|s| s.map(Secret::from));
    let access_token = secret("access_token")?.ok_or_else(field)?;
    match body.get("token_type") {
        Some(Value::String(t)) => check_token_type(t)?,
        _ => return Err(field()),
    }
    let expires_in = match body.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().and_then(|n| u64::try_from(n).ok()).ok_or_else(field)?),
    };
    Ok(TokenResponse {
        access_token,
        expires_in,
        refresh_token: secret("refresh_token")?,
        id_token: secret("id_token")?,
        scope: optional_string("scope")?,
    })
}

/// The JSON object of a successful answer from an OAuth endpoint that answers 200 (the token
/// endpoint, RFC 6749 §5.1; device authorization, RFC 8628 §3.2): a redirect is malformed, any
/// other status the provider's error ([`token_error`]).
pub(crate) fn success_object(res: &HttpResponse) -> Result<Value, Error> {
    if res.is_redirect() {
        return Err(Error::InvalidResponse { reason: &"redirect" });
    }
    if res.status != 200 {
        return Err(token_error(res));
    }
    res.json_object()
}

/// RFC 6749 §5.2: an error response is a JSON object with `error`. Anything else at a
/// non-200 status is reported by its status.
pub(crate) fn token_error(res: &HttpResponse) -> Error {
    let parsed = res.json_object().ok();
    let text = |name| parsed.as_ref().and_then(|b| b.get(name)).and_then(Value::as_str);
    match text("error").and_then(oauth_error_text) {
        Some(error) => Error::token_error(error, text("error_description").and_then(oauth_error_text), res.status),
        // A 5xx without an OAuth error is an outage, not an answer about the grant.
        None if res.status >= 500 => Error::ServerError { status: res.status },
        None => Error::InvalidResponse { reason: &"status" },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::http::Method;

    fn json(status: u16, body: &str) -> HttpResponse {
        HttpResponse { status, content_type: Some("application/json".into()), body: body.as_bytes().to_vec() }
    }

    const OK: &str = r#"{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt","id_token":"a.b.c","scope":"openid profile"}"#;

    #[test]
    fn parses_a_complete_response() {
        let t = process_token_response(&json(200, OK)).unwrap();
        assert_eq!(t.access_token.expose(), "at");
        assert_eq!(t.expires_in, Some(3600));
        assert_eq!(t.refresh_token.as_ref().map(Secret::expose), Some("rt"));
        assert_eq!(t.id_token.as_ref().map(Secret::expose), Some("a.b.c"));
        assert_eq!(t.scope.as_deref(), Some("openid profile"));
        assert!(!format!("{t:?}").contains("\"at\""));
    }

    #[test]
    fn token_type_is_case_insensitive_bearer_only() {
        assert!(process_token_response(&json(200, &OK.replace("Bearer", "bEaReR"))).is_ok());
        assert_eq!(
            process_token_response(&json(200, &OK.replace("Bearer", "DPoP"))),
            Err(Error::InvalidResponse { reason: &"token_type" })
        );
    }

    #[test]
    fn a_dpop_session_wants_dpop_and_refuses_a_silent_downgrade() {
        let dpop = OK.replace("Bearer", "dpop");
        let token_type = |res: HttpResponse, allow| process_dpop_token_response(&res, allow).map(|(_, t)| t);
        assert_eq!(token_type(json(200, &dpop), false), Ok(TokenType::DPoP));
        assert_eq!(token_type(json(200, &dpop), true), Ok(TokenType::DPoP));
        let (tokens, _) = process_dpop_token_response(&json(200, &dpop), false).unwrap();
        assert_eq!((tokens.access_token.expose(), tokens.expires_in), ("at", Some(3600)));
        // Secure default: a Bearer answer to a DPoP request is refused.
        assert_eq!(token_type(json(200, OK), false), Err(Error::InvalidResponse { reason: &"token_type" }));
        assert_eq!(token_type(json(200, OK), true), Ok(TokenType::Bearer));
        // Errors are the same as outside DPoP.
        assert_eq!(
            token_type(json(400, r#"{"error":"use_dpop_nonce"}"#), false),
            Err(Error::token_error("use_dpop_nonce", None, 400))
        );
        assert_eq!(
            process_dpop_token_response(&json(200, &OK.replace(r#""token_type":"Bearer","#, "")), true),
            Err(Error::InvalidResponse { reason: &"field" })
        );
    }

    #[test]
    fn rejects_malformed_responses() {
        let cases = [
            (OK.replace(r#""access_token":"at","#, ""), &"field"),
            (OK.replace(r#""at""#, "7"), &"field"),
            (OK.replace(r#""at""#, r#""""#), &"field"),
            (OK.replace(r#""token_type":"Bearer","#, ""), &"field"),
            (OK.replace("3600", r#""3600""#), &"field"),
            (OK.replace("3600", "-1"), &"field"),
            (OK.replace("3600", "1e3"), &"field"),
            (OK.replace(r#""rt""#, "true"), &"field"),
            ("not json".into(), &"json"),
            ("[1]".into(), &"json"),
            (r#"{"a":1,"a":2}"#.into(), &"json"),
        ];
        for (body, reason) in cases {
            assert_eq!(process_token_response(&json(200, &body)), Err(Error::InvalidResponse { reason }), "{body}");
        }
        let mut text = json(200, OK);
        text.content_type = Some("text/plain".into());
        assert_eq!(process_token_response(&text), Err(Error::InvalidResponse { reason: &"content_type" }));
        let mut huge = json(200, OK);
        huge.body = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1 << 20)).into_bytes();
        assert_eq!(process_token_response(&huge), Err(Error::InvalidResponse { reason: &"field" }));
    }

    #[test]
    fn never_follows_redirects() {
        assert_eq!(process_token_response(&json(302, OK)), Err(Error::InvalidResponse { reason: &"redirect" }));
    }

    #[test]
    fn oauth_errors_keep_error_and_status() {
        let e = process_token_response(&json(400, r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#));
        assert_eq!(
            e,
            Err(Error::token_error("invalid_grant", Some("grant request is invalid".into()), 400))
        );
        // A 5xx without an OAuth error is an outage; a 4xx without one is a malformed answer.
        assert_eq!(process_token_response(&json(503, "<html>")), Err(Error::ServerError { status: 503 }));
        assert_eq!(process_token_response(&json(404, "<html>")), Err(Error::InvalidResponse { reason: &"status" }));
    }

    #[test]
    fn requests_are_form_encoded_without_secrets_in_the_url() {
        let config = crate::protocol::testing::config();
        let metadata = crate::protocol::testing::metadata();
        let r = refresh_request(&config, &metadata, "rt/1+2", &TokenKey::default());
        assert_eq!(r.method, Method::Post);
        assert_eq!(r.url, "https://op.example/token");
        assert_eq!(r.body.as_deref(), Some("grant_type=refresh_token&refresh_token=rt%2F1%2B2&client_id=spa"));
        assert!(!format!("{r:?}").contains("rt%2F1"));
    }
}
