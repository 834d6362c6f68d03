//! Pushed authorization requests ([RFC 9126](https://www.rfc-editor.org/rfc/rfc9126)): the
//! authorization request's parameters are POSTed to the provider first, which checks them
//! before the user sees anything and answers with a `request_uri`; the browser then goes to the
//! authorization endpoint with only `client_id` and `request_uri`, so nothing of the request
//! (state, PKCE challenge, `dpop_jkt`, scopes) is in the URL.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::config::{ClientConfig, Par};
use crate::protocol::discovery::ProviderMetadata;
use crate::protocol::error::Error;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::protocol::token::token_error;
use crate::protocol::json::Value;
use crate::protocol::url::with_query;

/// Whether this login pushes its request: the `par` option against what discovery says.
/// `config` / `par` when they cannot agree: `par: true` and the provider has no
/// `pushed_authorization_request_endpoint`, or `par: false` and it requires pushed requests
/// (`require_pushed_authorization_requests`, RFC 9126 §5: it would refuse the plain request).
pub fn uses_par(config: &ClientConfig, metadata: &ProviderMetadata) -> Result<bool, Error> {
    let offered = metadata.pushed_authorization_request_endpoint.is_some();
    match config.par {
        Par::Off if metadata.require_pushed_authorization_requests => Err(Error::Config { reason: &"par" }),
        Par::Off => Ok(false),
        Par::On if !offered => Err(Error::Config { reason: &"par" }),
        Par::On => Ok(true),
        // RFC 9126 §5: a provider that requires it also advertises the endpoint; one that
        // requires it without one cannot be served either way.
        Par::Auto if metadata.require_pushed_authorization_requests && !offered => Err(Error::Config { reason: &"par" }),
        Par::Auto => Ok(offered),
    }
}

/// The push (RFC 9126 §2.1): every authorization request parameter, form-encoded, to the
/// pushed authorization request endpoint. A public client authenticates with `client_id`
/// alone, which is among the parameters.
pub fn push_request(metadata: &ProviderMetadata, form: String) -> Option<HttpRequest> {
    Some(HttpRequest::form_post(metadata.pushed_authorization_request_endpoint.clone()?, form))
}

/// The provider's answer to the push (RFC 9126 §2.2, §2.3) made into the authorization URL the
/// browser goes to: `client_id` and `request_uri` only (§4). `201` with a `request_uri` string
/// and a positive `expires_in` number, nothing else; an OAuth error is the provider's
/// `authorization_error` (its codes are those of the authorization endpoint, §2.3), with its
/// `error_description`.
pub fn authorization_url(config: &ClientConfig, metadata: &ProviderMetadata, res: &HttpResponse) -> Result<String, Error> {
    if res.is_redirect() {
        return Err(Error::InvalidResponse { reason: &"redirect" });
    }
    if res.status != 201 {
        // (Read as a token endpoint's error, RFC 6749 §5.2; reported as the authorization
        // request's, §2.3.)
        return Err(match token_error(res) {
            Error::TokenError(mut e) => {
                e.status = 0;
                Error::AuthorizationError(e)
            }
            other => other,
        });
    }
    let body = res.json_object()?;
    let request_uri = body.get("request_uri").and_then(Value::as_str).filter(|u| !u.is_empty());
    let expires = body.get("expires_in").and_then(Value::as_i64).filter(|s| *s > 0);
    match (request_uri, expires) {
        (Some(request_uri), Some(_)) => {
            Ok(with_query(&metadata.authorization_endpoint, &[("client_id", &config.client_id), ("request_uri", request_uri)]))
        }
        _ => Err(Error::InvalidResponse { reason: &"field" }),
    }
}

#[cfg(test)]
mod tests;
