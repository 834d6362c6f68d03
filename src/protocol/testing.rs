//! Fixtures shared by the core's unit tests: a fixed clock, fixed entropy, a fixed provider.

use crate::protocol::codec::base64url;
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
        trusted_audiences: vec![],
        auto_refresh: true,
        refresh_lead: 30,
        api_origins: vec![],
        expose_access_token: false,
        fetch_timeout: crate::protocol::config::DEFAULT_FETCH_TIMEOUT_SECONDS,
        fetch_max_response_bytes: crate::protocol::config::DEFAULT_FETCH_MAX_RESPONSE_BYTES,
        restore: crate::protocol::config::Restore::Redirect,
        silent_redirect_uri: None,
        dpop: crate::protocol::config::Dpop::Off,
        persist: false,
        par: crate::protocol::config::Par::Auto,
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
        id_token_signing_alg_values_supported: None,
        userinfo_signing_alg_values_supported: None,
        dpop_signing_alg_values_supported: None,
        pushed_authorization_request_endpoint: None,
        require_pushed_authorization_requests: false,
        device_authorization_endpoint: None,
    }
}

/// A compact JWS with the given header and claims and a dummy signature as long as an
/// RSA-2048 one (the core never checks signature bytes itself: WebCrypto does).
pub fn jws(header: &str, claims: &str) -> String {
    format!(
        "{}.{}.{}",
        base64url::encode(header.as_bytes()),
        base64url::encode(claims.as_bytes()),
        base64url::encode(&[0x5a; 256])
    )
}

/// A syntactically valid RSA-2048 public JWK (synthetic modulus) with the given `kid`.
pub fn rsa_jwk(kid: &str) -> String {
    let mut n = [0xa5u8; 256];
    n[0] = 0xc1;
    format!(r#"{{"kty":"RSA","kid":"{kid}","use":"sig","n":"{}","e":"AQAB"}}"#, base64url::encode(&n))
}

/// A JWK Set response holding `keys` (JWK object texts).
pub fn jwks_response(keys: &[String]) -> crate::protocol::http::HttpResponse {
    crate::protocol::http::HttpResponse {
        status: 200,
        content_type: Some("application/json".into()),
        body: format!(r#"{{"keys":[{}]}}"#, keys.join(",")).into_bytes(),
    }
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
