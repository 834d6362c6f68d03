//! The device authorization grant ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)): for
//! TV and kiosk web apps where the user cannot type a password. The provider gives a user code
//! and a page to enter it on (a phone); the worker polls the token endpoint until the user
//! approved (or denied, or the code expired), and the login ends with the same validated
//! session as a redirect login.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::config::ClientConfig;
use crate::protocol::discovery::ProviderMetadata;
use crate::protocol::error::Error;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::protocol::token::{success_object, token_error};
use crate::protocol::json::{ObjectWriter, Value};
use crate::protocol::secret::Secret;
use crate::protocol::url::{form_encode, is_secure_or_loopback, Url};

/// RFC 8628 §3.4: the grant type of the token requests.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// §3.2: the polling interval when the provider names none.
pub const DEFAULT_INTERVAL_SECONDS: u64 = 5;
/// §3.5: `slow_down` adds this much to the interval, for this and every later request.
pub const SLOW_DOWN_SECONDS: u64 = 5;
/// Polling stops this long after the code's `expires_in` even if the provider never says
/// `expired_token`.
pub const EXPIRY_GRACE_SECONDS: u64 = 60;

/// A started device login: what the user is shown, and what the worker polls with.
pub struct DeviceLogin {
    /// `device_code`: secret, it is what the token request presents.
    device_code: Secret,
    /// `user_code`, for the user to enter.
    pub user_code: String,
    /// `verification_uri`: where to enter it.
    pub verification_uri: String,
    /// `verification_uri_complete`: the same with the code in it (for a QR code), if given.
    pub verification_uri_complete: Option<String>,
    /// When the codes expire (Unix seconds).
    pub expires_at: u64,
    /// Seconds between two token requests (§3.5), grown by each `slow_down`.
    pub interval: u64,
}

impl core::fmt::Debug for DeviceLogin {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeviceLogin").field("interval", &self.interval).finish_non_exhaustive()
    }
}

/// What the shell does after a token request of a device login.
#[derive(Debug, PartialEq, Eq)]
pub enum DevicePoll {
    /// Ask again in this many seconds (`authorization_pending`, `slow_down`).
    Wait(u64),
    /// The provider answered with tokens: complete the login with this response.
    Tokens,
}

/// The device authorization request (§3.1): the client ID and the scope. `None` when the
/// provider has no `device_authorization_endpoint`.
pub fn device_authorization_request(config: &ClientConfig, metadata: &ProviderMetadata, scope: &str) -> Option<HttpRequest> {
    Some(HttpRequest::form_post(
        metadata.device_authorization_endpoint.clone()?,
        form_encode(&[("client_id", &config.client_id), ("scope", scope)]),
    ))
}

/// Reads the device authorization response (§3.2): `device_code`, `user_code`,
/// `verification_uri` (https, or loopback for a loopback issuer), `expires_in` required;
/// `verification_uri_complete` and `interval` optional. An OAuth error (§3.2: as RFC 6749 §5.2)
/// is `token_error` with the provider's `error`.
pub fn process_device_authorization(config: &ClientConfig, res: &HttpResponse, now: u64) -> Result<DeviceLogin, Error> {
    let body = success_object(res)?;
    let field = || Error::InvalidResponse { reason: &"field" };
    let text = |name: &str| body.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
    let seconds = |name: &str| body.get(name).and_then(Value::as_i64).filter(|s| *s > 0).map(|s| s as u64);
    let issuer_is_loopback = Url::parse(&config.issuer).is_some_and(|u| u.is_loopback());
    let page = |name: &str| -> Result<Option<String>, Error> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => {
                let url = value.as_str().and_then(Url::parse).ok_or_else(field)?;
                let allowed = url.scheme == "https" || (issuer_is_loopback && is_secure_or_loopback(&url));
                if !allowed || url.fragment.is_some() {
                    return Err(field());
                }
                Ok(value.as_str().map(str::to_owned))
            }
        }
    };
    let interval = match body.get("interval") {
        None | Some(Value::Null) => DEFAULT_INTERVAL_SECONDS,
        Some(_) => seconds("interval").ok_or_else(field)?,
    };
    Ok(DeviceLogin {
        device_code: Secret::from(text("device_code").ok_or_else(field)?),
        user_code: text("user_code").ok_or_else(field)?.to_owned(),
        verification_uri: page("verification_uri")?.ok_or_else(field)?,
        verification_uri_complete: page("verification_uri_complete")?,
        expires_at: now.saturating_add(seconds("expires_in").ok_or_else(field)?),
        interval,
    })
}

impl DeviceLogin {
    /// The token request (§3.4) the worker repeats until the user decided.
    pub fn token_request(&self, config: &ClientConfig, metadata: &ProviderMetadata) -> HttpRequest {
        HttpRequest::form_post(
            metadata.token_endpoint.clone(),
            form_encode(&[("grant_type", GRANT_TYPE), ("device_code", self.device_code.expose()), ("client_id", &config.client_id)]),
        )
    }

    /// What a token response means (§3.5): tokens; `authorization_pending`: ask again after
    /// the interval; `slow_down`: the interval grows by 5 s, for good; anything else (above
    /// all `access_denied`, `expired_token`) ends the login with `token_error` and the
    /// provider's `error`. Past the codes' expiry (and a grace) polling stops with `network` /
    /// `timeout` whatever the provider says.
    pub fn on_token_response(&mut self, res: &HttpResponse, now: u64) -> Result<DevicePoll, Error> {
        if res.status == 200 {
            return Ok(DevicePoll::Tokens);
        }
        let error = token_error(res);
        let waiting = match &error {
            Error::TokenError(e) if e.error == "authorization_pending" => true,
            Error::TokenError(e) if e.error == "slow_down" => {
                self.interval = self.interval.saturating_add(SLOW_DOWN_SECONDS);
                true
            }
            _ => false,
        };
        if !waiting {
            return Err(error);
        }
        if now.saturating_add(self.interval) > self.expires_at.saturating_add(EXPIRY_GRACE_SECONDS) {
            return Err(Error::Network { reason: &"timeout" });
        }
        Ok(DevicePoll::Wait(self.interval))
    }

    /// What the page's `onCode` gets: `{ userCode, verificationUri, verificationUriComplete,
    /// expiresAt }` (ms), as JSON text. No secret: the device code stays here.
    pub fn code_json(&self) -> String {
        let mut code = ObjectWriter::new();
        code.string("userCode", &self.user_code).string("verificationUri", &self.verification_uri);
        match &self.verification_uri_complete {
            Some(uri) => code.string("verificationUriComplete", uri),
            None => code.null("verificationUriComplete"),
        };
        code.number("expiresAt", self.expires_at.saturating_mul(1000).min((1 << 53) - 1) as i64);
        code.finish()
    }
}


#[cfg(test)]
mod tests;
