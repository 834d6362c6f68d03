//! One `auth.fetch` call to an API: the token it carries, and what the API's answer means for
//! it. RFC 6750 §3.1: a `401` with a Bearer `invalid_token` challenge means the token expired
//! or was revoked, so the call gets one refresh and one retry; any other answer (a second
//! `401` included) is the caller's.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::api::has_challenge_error;
use crate::protocol::types::TokenKey;

/// What the shell does with an API's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiStep {
    /// Hand the response to the caller.
    Return,
    /// Get a token replacing the refused one
    /// ([`Need::Replacing`](crate::protocol::refresh::Need::Replacing)) and send the request again.
    RetryWithNewToken,
}

/// The state of one `auth.fetch` call.
#[derive(Debug)]
pub struct ApiCall {
    key: TokenKey,
    /// The scheme the token is presented with: `Bearer`, or `DPoP` (RFC 9449 §7.1).
    scheme: &'static str,
    retried: bool,
}

impl ApiCall {
    /// A call whose requests carry `key`'s token
    /// ([`Client::api_token_key`](crate::protocol::client::Client::api_token_key)).
    pub fn new(key: TokenKey) -> ApiCall {
        ApiCall { key, scheme: "Bearer", retried: false }
    }

    /// A call of a DPoP session: its token is refused with a `DPoP` challenge (RFC 9449 §7.1).
    pub fn dpop(key: TokenKey) -> ApiCall {
        ApiCall { key, scheme: "DPoP", retried: false }
    }

    /// Which access token the requests carry.
    pub fn key(&self) -> &TokenKey {
        &self.key
    }

    /// What the API's answer (`status`, its `WWW-Authenticate` header) means for the call.
    pub fn on_response(&mut self, status: u16, challenge: Option<&str>) -> ApiStep {
        // RFC 6750 §3.1: `invalid_token` means expired or revoked; one refresh, one retry.
        if status == 401 && !self.retried && challenge.is_some_and(|c| has_challenge_error(c, self.scheme, "invalid_token")) {
            self.retried = true;
            return ApiStep::RetryWithNewToken;
        }
        ApiStep::Return
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVALID_TOKEN: Option<&str> = Some(r#"Bearer error="invalid_token""#);

    #[test]
    fn one_retry_on_invalid_token_only() {
        let mut call = ApiCall::new(TokenKey::default());
        assert_eq!(call.on_response(200, None), ApiStep::Return);
        assert_eq!(call.on_response(401, None), ApiStep::Return);
        assert_eq!(call.on_response(401, Some(r#"Bearer error="insufficient_scope""#)), ApiStep::Return);
        assert_eq!(call.on_response(403, INVALID_TOKEN), ApiStep::Return);
        assert_eq!(call.on_response(401, INVALID_TOKEN), ApiStep::RetryWithNewToken);
        // The retry's own `401` is the caller's answer.
        assert_eq!(call.on_response(401, INVALID_TOKEN), ApiStep::Return);
    }

    #[test]
    fn a_dpop_call_retries_on_a_dpop_invalid_token_only() {
        let mut call = ApiCall::dpop(TokenKey::default());
        assert_eq!(call.on_response(401, INVALID_TOKEN), ApiStep::Return);
        assert_eq!(call.on_response(401, Some(r#"DPoP algs="ES256", error="use_dpop_nonce""#)), ApiStep::Return);
        assert_eq!(call.on_response(401, Some(r#"DPoP algs="ES256", error="invalid_token""#)), ApiStep::RetryWithNewToken);
        assert_eq!(call.on_response(401, Some(r#"DPoP error="invalid_token""#)), ApiStep::Return);
    }
}
