//! RP-Initiated Logout ([OpenID Connect RP-Initiated Logout 1.0 §2](https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout)).

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::config::ClientConfig;
use crate::protocol::discovery::ProviderMetadata;
use crate::protocol::http::{HttpRequest, Method};
use crate::protocol::url::{form_encode, with_query};

/// The request that revokes `token` ([RFC 7009 §2.1](https://www.rfc-editor.org/rfc/rfc7009#section-2.1)),
/// when the provider has a `revocation_endpoint`. A public client identifies itself with
/// `client_id` in the body; `hint` is `refresh_token` or `access_token`.
pub fn revocation_request(
    config: &ClientConfig,
    metadata: &ProviderMetadata,
    token: &str,
    hint: &str,
) -> Option<HttpRequest> {
    Some(HttpRequest {
        method: Method::Post,
        url: metadata.revocation_endpoint.clone()?,
        headers: vec![("Content-Type".into(), "application/x-www-form-urlencoded".into())],
        body: Some(form_encode(&[("token", token), ("token_type_hint", hint), ("client_id", &config.client_id)])),
    })
}

/// The URL that ends the session at the provider, when it has an `end_session_endpoint`;
/// `state` is fresh.
///
/// It names the client with `client_id`, not `id_token_hint` (both are RECOMMENDED, §2): the
/// page navigates to this URL, so it sees it, and the raw ID token never leaves the worker.
/// §2 lets `client_id` alone identify the RP for `post_logout_redirect_uri`; the price is that
/// the provider cannot tell which user is meant, and some then ask the user to confirm.
pub fn end_session_url(config: &ClientConfig, metadata: &ProviderMetadata, state: &str) -> Option<String> {
    let endpoint = metadata.end_session_endpoint.as_deref()?;
    let mut params: Vec<(&str, &str)> = Vec::with_capacity(3);
    params.push(("client_id", &config.client_id));
    if let Some(uri) = config.post_logout_redirect_uri.as_deref() {
        params.push(("post_logout_redirect_uri", uri));
        // §3: `state` only means something when the provider redirects back.
        params.push(("state", state));
    }
    Some(with_query(endpoint, &params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testing::{config, metadata};

    #[test]
    fn carries_client_redirect_and_state_but_no_id_token() {
        let mut c = config();
        c.post_logout_redirect_uri = Some("https://app.example/".into());
        assert_eq!(
            end_session_url(&c, &metadata(), "st").as_deref(),
            Some("https://op.example/session/end?client_id=spa&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2F&state=st")
        );
    }

    #[test]
    fn revocation_is_a_form_post_with_hint_and_client_id() {
        let mut m = metadata();
        assert_eq!(revocation_request(&config(), &m, "rt", "refresh_token"), None);
        m.revocation_endpoint = Some("https://op.example/revoke".into());
        let r = revocation_request(&config(), &m, "rt/1", "refresh_token").unwrap();
        assert_eq!((r.method, r.url.as_str()), (Method::Post, "https://op.example/revoke"));
        assert_eq!(r.body.as_deref(), Some("token=rt%2F1&token_type_hint=refresh_token&client_id=spa"));
    }

    #[test]
    fn without_endpoint_there_is_no_url() {
        let mut m = metadata();
        m.end_session_endpoint = None;
        assert_eq!(end_session_url(&config(), &m, "st"), None);
        assert_eq!(
            end_session_url(&config(), &metadata(), "st").as_deref(),
            Some("https://op.example/session/end?client_id=spa")
        );
    }
}
