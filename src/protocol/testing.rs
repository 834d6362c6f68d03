//! Fixtures shared by the core's unit tests: a fixed clock, fixed entropy, a fixed provider.

use crate::protocol::base64url;
use crate::protocol::config::ClientConfig;
use crate::protocol::discovery::ProviderMetadata;

/// The fixed "now" of every test (2023-11-14T22:13:20Z).
pub const NOW: u64 = 1_700_000_000;

/// Fixed entropy: 0..96, so every derived value is a golden.
pub fn entropy() -> [u8; 96] {
    core::array::from_fn(|i| i as u8)
}

pub fn config() -> ClientConfig {
    ClientConfig {
        issuer: "https://op.example".into(),
        client_id: "spa".into(),
        redirect_uri: "https://app.example/cb".into(),
        scope: "openid profile".into(),
        post_logout_redirect_uri: None,
        clock_skew: 60,
        extra_auth_params: vec![],
    }
}

pub fn metadata() -> ProviderMetadata {
    ProviderMetadata {
        issuer: "https://op.example".into(),
        authorization_endpoint: "https://op.example/auth".into(),
        token_endpoint: "https://op.example/token".into(),
        jwks_uri: Some("https://op.example/jwks".into()),
        userinfo_endpoint: Some("https://op.example/me".into()),
        end_session_endpoint: Some("https://op.example/session/end".into()),
        revocation_endpoint: None,
        authorization_response_iss_parameter_supported: true,
    }
}

/// A compact JWS with the given header and claims and a dummy signature.
pub fn jws(header: &str, claims: &str) -> String {
    format!(
        "{}.{}.{}",
        base64url::encode(header.as_bytes()),
        base64url::encode(claims.as_bytes()),
        base64url::encode(b"signature")
    )
}

/// The nonce `authorization_request` derives from [`entropy`].
pub fn nonce() -> String {
    base64url::encode(&entropy()[64..96])
}

/// Valid ID token claims for [`config`] at [`NOW`], with `nonce` from [`entropy`].
pub fn claims() -> String {
    format!(
        r#"{{"iss":"https://op.example","sub":"alice","aud":"spa","exp":{},"iat":{},"nonce":"{}","name":"Alice"}}"#,
        NOW + 600,
        NOW,
        nonce()
    )
}

pub fn id_token(claims: &str) -> String {
    jws(r#"{"alg":"RS256","typ":"JWT"}"#, claims)
}
