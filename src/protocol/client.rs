//! The client: the one stateful object of the core, driven by the shell one step at a time.
//!
//! Each method either builds a request, processes a response, or answers from memory. The
//! shell performs the requests, supplies `now` and random bytes, and persists the pending
//! login between [`Client::begin_login`] and [`Client::complete_callback`].

use crate::protocol::authorization::{self, Callback, ValidatedCallback};
use crate::protocol::config::{auth_params, ClientConfig};
use crate::protocol::discovery::{self, ProviderMetadata};
use crate::protocol::error::Error;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::protocol::id_token::{validate_claims, Expectations, IdToken, NonceRule};
use crate::protocol::json::{ObjectWriter, Value};
use crate::protocol::session::Session;
use crate::protocol::transaction::pending_key;
use crate::protocol::{base64url, logout, token};

pub use crate::protocol::authorization::ENTROPY_LEN;

/// A login the shell must persist, then send the browser to `url`.
pub struct LoginStart {
    /// The authorization request URL.
    pub url: String,
    /// The key to store `pending_record` under.
    pub pending_key: String,
    /// The pending login (secrets included): persisted only until the callback.
    pub pending_record: String,
    /// When the record stops being accepted (Unix seconds).
    pub expires_at: u64,
}

/// Configuration, discovered metadata and, once signed in, the session.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    metadata: Option<ProviderMetadata>,
    session: Option<Session>,
}

impl Client {
    /// A client for the validated options (see [`ClientConfig::from_json`]).
    pub fn new(config: &Value) -> Result<Client, Error> {
        Ok(Client { config: ClientConfig::from_json(config)?, metadata: None, session: None })
    }

    /// The validated configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Whether the provider metadata still has to be fetched (once per client).
    pub fn needs_discovery(&self) -> bool {
        self.metadata.is_none()
    }

    /// The discovery request.
    pub fn discovery_request(&self) -> HttpRequest {
        discovery::discovery_request(&self.config)
    }

    /// Validates and keeps the provider metadata.
    pub fn process_discovery_response(&mut self, res: HttpResponse) -> Result<(), Error> {
        self.metadata = Some(discovery::process_discovery_response(&self.config, &res)?);
        Ok(())
    }

    fn metadata(&self) -> Result<&ProviderMetadata, Error> {
        // The shell always discovers first; reaching this is a shell bug, reported as config.
        self.metadata.as_ref().ok_or(Error::Config { reason: "not_discovered" })
    }

    /// Starts a login attempt. `options`: `{ appState?, extraParams? }`; `entropy` must be fresh
    /// CSPRNG output, never reused.
    pub fn begin_login(&self, options: &Value, entropy: &[u8; ENTROPY_LEN], now: u64) -> Result<LoginStart, Error> {
        let metadata = self.metadata()?;
        let extra_params = match options.get("extraParams").filter(|v| !v.is_null()) {
            None => Vec::new(),
            Some(v) => auth_params(v).ok_or(Error::Config { reason: "extra_params" })?,
        };
        let app_state = options.get("appState").map(Value::to_json);
        let start = authorization::authorization_request(&self.config, metadata, &extra_params, app_state, entropy, now);
        Ok(LoginStart {
            url: start.url,
            pending_key: pending_key(&start.pending.state),
            pending_record: start.pending.to_record(),
            expires_at: start.pending.expires_at(),
        })
    }

    /// Reads the callback URL; the shell then takes the pending record stored under
    /// [`Callback::pending_key`] out of its store.
    pub fn parse_callback(&self, url: &str) -> Result<Callback, Error> {
        authorization::parse_callback(&self.config, url)
    }

    /// Checks the callback against the pending record the shell took out of its store.
    pub fn complete_callback(&self, callback: Callback, pending_record: Option<&str>, now: u64) -> Result<ValidatedCallback, Error> {
        authorization::validate_callback(&self.config, self.metadata()?, callback, pending_record, now)
    }

    /// The code exchange request for a validated callback.
    pub fn code_exchange_request(&self, callback: &ValidatedCallback) -> Result<HttpRequest, Error> {
        Ok(token::code_exchange_request(&self.config, self.metadata()?, callback))
    }

    /// Processes the code exchange: the token response, then the ID token
    /// (OIDC Core §3.1.3.7). On success the session starts; the reply is `{ "appState": … }`.
    pub fn process_code_exchange_response(&mut self, callback: ValidatedCallback, res: HttpResponse, now: u64) -> Result<String, Error> {
        let tokens = token::process_token_response(&res)?;
        // OIDC Core §3.1.3.3: the response to an `openid` request carries an ID token.
        let raw_id_token = tokens.id_token.clone().ok_or(Error::InvalidResponse { reason: "field" })?;
        let id_token = IdToken::parse(&raw_id_token)?;
        verify_signature(&id_token)?;
        validate_claims(&id_token, &expectations(&self.config, NonceRule::Required(&callback.pending.nonce), now))?;
        let claims_json = id_token.claims_json().to_owned();
        let mut reply = ObjectWriter::new();
        match callback.app_state() {
            Some(app_state) => reply.raw("appState", app_state),
            None => reply.null("appState"),
        };
        self.session = Some(Session::new(tokens, raw_id_token, claims_json, now, self.config.clock_skew));
        Ok(reply.finish())
    }

    /// Whether there is a session.
    pub fn is_authenticated(&self) -> bool {
        self.session.is_some()
    }

    /// The validated ID token claims as JSON object text.
    pub fn user_json(&self) -> Option<&str> {
        self.session.as_ref().map(Session::claims_json)
    }

    /// `Ok(Some(token))` while the access token is valid, `Ok(None)` when it must be refreshed
    /// first, `Err(LoginRequired)` without a session or without a way to refresh.
    pub fn access_token(&self, now: u64) -> Result<Option<&str>, Error> {
        let session = self.session.as_ref().ok_or(Error::LoginRequired)?;
        match session.access_token(now) {
            Some(token) => Ok(Some(token)),
            None if session.refresh_token().is_some() => Ok(None),
            None => Err(Error::LoginRequired),
        }
    }

    /// The refresh token grant request; `LoginRequired` without a refresh token.
    pub fn refresh_request(&self) -> Result<HttpRequest, Error> {
        let refresh_token = self.session.as_ref().and_then(Session::refresh_token).ok_or(Error::LoginRequired)?;
        Ok(token::refresh_request(&self.config, self.metadata()?, refresh_token))
    }

    /// Applies a refresh response. `invalid_grant` means the grant is gone (revoked, expired,
    /// reused): the session ends (RFC 6749 §5.2).
    pub fn process_refresh_response(&mut self, res: HttpResponse, now: u64) -> Result<(), Error> {
        let tokens = match token::process_token_response(&res) {
            Ok(tokens) => tokens,
            Err(e) => {
                if matches!(&e, Error::TokenError { error, .. } if error == "invalid_grant") {
                    self.session = None;
                }
                return Err(e);
            }
        };
        let expect = expectations(&self.config, NonceRule::IfPresent(None), now);
        let session = self.session.as_mut().ok_or(Error::LoginRequired)?;
        session.apply_refresh(tokens, expect, verify_signature)
    }

    /// Ends the local session and returns the provider's end-session URL, if it has one
    /// (with `id_token_hint` and a fresh `state` from `entropy`).
    pub fn logout(&mut self, entropy: &[u8; 16]) -> Option<String> {
        let session = self.session.take();
        let metadata = self.metadata.as_ref()?;
        let state = base64url::encode(entropy);
        logout::end_session_url(&self.config, metadata, session.as_ref().map(Session::id_token), &state)
    }
}

fn expectations<'a>(config: &'a ClientConfig, nonce: NonceRule<'a>, now: u64) -> Expectations<'a> {
    Expectations { issuer: &config.issuer, client_id: &config.client_id, nonce, now, clock_skew: config.clock_skew }
}

/// OIDC Core §3.1.3.7 steps 6–8: the signature check with the provider's JWKS goes here,
/// before any claim is trusted. Until it exists only `alg: none` is refused (in
/// [`IdToken::parse`]); nothing else is claimed.
fn verify_signature(_token: &IdToken<'_>) -> Result<(), Error> {
    Ok(())
}

#[cfg(test)]
mod tests;
