//! The client: the one stateful object of the core, driven by the shell one step at a time.
//!
//! Each method either builds a request, processes a response, answers from memory, or decides
//! what the shell does next ([`TokenStep`], [`RefreshEnd`], [`Exchanged`]: the session policy of
//! [`crate::protocol::refresh`]). The shell performs the requests, supplies `now` and random
//! bytes, shares a grant between the callers of one key, and persists the pending login between
//! [`Client::begin_login`] and [`Client::complete_callback`].

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::authorization::{self, Callback, ValidatedCallback};
use crate::protocol::config::{auth_params, ClientConfig, Restore};
use crate::protocol::restore::{RestoreGate, RestoreRequest};
use crate::protocol::discovery::{self, ProviderMetadata};
use crate::protocol::error::Error;
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::protocol::http::Method;
use crate::protocol::id_token::{at_hash_function, validate_claims, Expectations, NonceRule};
use crate::protocol::jwt::Jwt;
use crate::protocol::codec::json::{self, ObjectWriter, Value};
use crate::protocol::jwk::{JwkSet, NoKey};
use crate::protocol::messages::TokenInfo;
use crate::protocol::jws::{accepted_algs, Alg, SignatureCheck, VerifiedSignature};
use crate::protocol::schedule::{self, Backoff};
use crate::protocol::session::Session;
use crate::protocol::types::TokenKey;
use crate::protocol::token::TokenResponse;
use crate::protocol::transaction::{pending_key, PendingLogin};
use crate::protocol::codec::base64url;
use crate::protocol::event::Event;
use crate::protocol::refresh::{Exchanged, Need, RefreshEnd, RefreshGrant, RefreshTicket, TokenStep};
use crate::protocol::secret::{constant_time_eq, Secret};
use crate::protocol::{api, device, logout, par, token};
use crate::protocol::device::DeviceLogin;
use crate::protocol::config::Dpop;
use crate::protocol::api_call::ApiCall;
use crate::protocol::persist::{record_id, PersistAction, PersistedSession, Stored};
use crate::protocol::dpop::{DpopCall, DpopKey, NonceStep, Nonces, ProofRequest, UnsignedProof, JTI_BYTES};

pub use crate::protocol::authorization::ENTROPY_LEN;

/// A login the shell must persist, then send the browser to `url`.
pub struct LoginStart {
    /// The authorization request URL; with `push`, the one [`Client::pushed_authorization_url`]
    /// makes of the provider's answer replaces it.
    pub url: String,
    /// A pushed authorization request to send first (RFC 9126), when the login uses one.
    pub push: Option<HttpRequest>,
    /// The key to store `pending_record` under.
    pub pending_key: String,
    /// The pending login (secrets included): persisted only until the callback.
    pub pending_record: Secret,
    /// When the record stops being accepted (Unix seconds).
    pub expires_at: u64,
}

/// Configuration, discovered metadata and, once signed in, the session.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    metadata: Option<ProviderMetadata>,
    session: Option<Session>,
    /// The provider's keys, fetched when first needed and cached for the client's life.
    keys: Option<JwkSet>,
    /// When the keys were last fetched again for an unknown `kid`.
    last_key_refetch: Option<u64>,
    /// The wait after refreshes that failed for a transient reason.
    backoff: Backoff,
    /// When the last proactive refresh started.
    last_auto_refresh: Option<u64>,
    /// Changes whenever a session begins or ends, so that an answer to a request made for an
    /// earlier session is dropped instead of applied to one it was not made for.
    generation: u32,
    /// Whether a refresh grant of the current session is in flight (one at a time).
    refreshing: bool,
    /// Revocations owed for tokens in answers that arrived after their session ended.
    orphaned: Vec<HttpRequest>,
    /// When a session restore was last attempted (one per window for all the holder's pages).
    restore_gate: RestoreGate,
    /// The public half of the worker's DPoP key, once the shell made one: from then on every
    /// token is DPoP-bound ([`Client::needs_dpop_key`]).
    dpop_key: Option<DpopKey>,
    /// The DPoP nonces the servers gave, by origin.
    nonces: Nonces,
    /// Changes whenever the session's refresh token does (a login, a rotation): what
    /// `persist: "dpop-bound"` must have stored.
    revision: u32,
    /// What the store holds for this client, as far as it knows.
    stored: Stored,
    /// Whether the store was already looked at for a session to resume (once per client).
    resume_looked: bool,
}

impl Client {
    /// A client for the validated options (see [`ClientConfig::from_json`]).
    pub fn new(config: &Value) -> Result<Client, Error> {
        Ok(Client {
            config: ClientConfig::from_json(config)?,
            metadata: None,
            session: None,
            keys: None,
            last_key_refetch: None,
            backoff: Backoff::default(),
            last_auto_refresh: None,
            generation: 0,
            refreshing: false,
            orphaned: Vec::new(),
            restore_gate: RestoreGate::default(),
            dpop_key: None,
            nonces: Nonces::default(),
            revision: 0,
            stored: Stored::Nothing,
            resume_looked: false,
        })
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
    pub fn process_discovery_response(&mut self, res: &HttpResponse) -> Result<(), Error> {
        self.metadata = Some(discovery::process_discovery_response(&self.config, res)?);
        Ok(())
    }

    fn metadata(&self) -> Result<&ProviderMetadata, Error> {
        // The shell always discovers first; reaching this is a shell bug, reported as config.
        self.metadata.as_ref().ok_or_else(|| Error::Config { reason: &"not_discovered" })
    }

    /// Starts a login attempt. `options`: `{ appState?, extraParams? }`; `entropy` must be fresh
    /// CSPRNG output, never reused.
    pub fn begin_login(&self, options: &Value, entropy: &[u8; ENTROPY_LEN], now: u64) -> Result<LoginStart, Error> {
        let metadata = self.metadata()?;
        let mut extra_params = match options.get("extraParams").filter(|v| !v.is_null()) {
            None => Vec::new(),
            Some(v) => auth_params(v).ok_or_else(|| Error::Config { reason: &"extra_params" })?,
        };
        // RFC 9449 §10: the code is bound to the key, so only this worker can redeem it.
        if let Some(key) = &self.dpop_key {
            extra_params.retain(|(name, _)| !name.eq_ignore_ascii_case("dpop_jkt"));
            extra_params.push(("dpop_jkt".into(), key.thumbprint().to_owned()));
        }
        let app_state = options.get("appState").map(Value::to_json);
        // (`silent` set by `restore::restore_login_options` for an iframe.)
        let silent = options.get("silent").and_then(Value::as_bool) == Some(true);
        let pushed = par::uses_par(&self.config, metadata)?;
        let mut start = authorization::authorization_request(&self.config, metadata, &extra_params, app_state, entropy, now, silent)?;
        // (Set by `restore::restore_login_options`, and by the page's `loginWithPopup`.)
        start.pending.restore = options.get("restore").and_then(Value::as_bool) == Some(true);
        start.pending.popup = options.get("popup").and_then(Value::as_bool) == Some(true);
        Ok(LoginStart {
            url: start.url,
            push: if pushed { par::push_request(metadata, start.form) } else { None },
            pending_key: pending_key(start.pending.state.expose()),
            pending_record: start.pending.to_record().into(),
            expires_at: start.pending.expires_at(),
        })
    }

    /// The authorization URL of a pushed request ([`LoginStart::push`]) from the provider's
    /// answer: `client_id` and `request_uri` only (RFC 9126 §4).
    pub fn pushed_authorization_url(&self, res: &HttpResponse) -> Result<String, Error> {
        par::authorization_url(&self.config, self.metadata()?, res)
    }

    /// Whether the pending login in `record` (read, not taken) runs in a popup: its callback
    /// then belongs to the worker that waits for it, which may be another than the popup page's
    /// (each tab has its own with `sharing: "tab"`).
    pub fn is_popup_record(record: &str) -> bool {
        PendingLogin::from_record(record).is_some_and(|p| p.popup)
    }

    /// Starts a device login (RFC 8628 §3.1) for `scope` (default: the configured one; `openid`
    /// is always included). `config` / `device` when the provider has no
    /// `device_authorization_endpoint`.
    pub fn device_authorization_request(&self, scope: Option<&str>) -> Result<HttpRequest, Error> {
        let scope = match scope {
            Some(scope) if crate::protocol::codec::split_byte(scope, b' ').any(|s| s == "openid") => scope.to_owned(),
            Some(scope) => crate::protocol::codec::join(&["openid", scope], " "),
            None => self.config.scope.clone(),
        };
        device::device_authorization_request(&self.config, self.metadata()?, scope.trim_ascii()).ok_or_else(|| Error::Config { reason: &"device" })
    }

    /// Reads the device authorization response ([`device::process_device_authorization`]).
    pub fn process_device_authorization(&self, res: &HttpResponse, now: u64) -> Result<DeviceLogin, Error> {
        device::process_device_authorization(&self.config, res, now)
    }

    /// The token request a device login repeats (§3.4).
    pub fn device_token_request(&self, login: &DeviceLogin) -> Result<HttpRequest, Error> {
        Ok(login.token_request(&self.config, self.metadata()?))
    }

    /// The token response that ended a device login's polling, as a login's token exchange:
    /// the ID token is required and checked like a redirect login's (no nonce: none was sent).
    pub fn process_device_tokens(&self, res: &HttpResponse, now: u64) -> Result<Box<TokenExchange>, Error> {
        let tokens = self.process_token_response(res)?;
        Jwt::parse(tokens.id_token.as_ref().ok_or_else(|| Error::InvalidResponse { reason: &"field" })?.expose())?;
        let login = PendingLogin {
            state: Secret::from(String::new()),
            nonce: Secret::from(String::new()),
            code_verifier: Secret::from(String::new()),
            issuer: self.config.issuer.clone(),
            client_id: self.config.client_id.clone(),
            redirect_uri: String::new(),
            app_state: None,
            max_age: None,
            created_at: now,
            restore: false,
            popup: false,
        };
        Ok(Box::new(TokenExchange { tokens, login: Some(login), key: TokenKey::default(), generation: self.generation }))
    }

    /// Reads the callback URL; the shell then takes the pending record stored under
    /// [`Callback::pending_key`] out of its store. (Boxed, as is the checked callback: they wait
    /// in the worker across the store and the token request; ~60 B gzip less wasm, measured.)
    pub fn parse_callback(&self, url: &str) -> Result<Box<Callback>, Error> {
        authorization::parse_callback(&self.config, url).map(Box::new)
    }

    /// Checks the callback against the pending record the shell took out of its store.
    #[allow(clippy::boxed_local)] // (it arrives boxed from `parse_callback`: see there)
    pub fn complete_callback(&self, callback: Box<Callback>, pending_record: Option<&str>, now: u64) -> Result<Box<ValidatedCallback>, Error> {
        authorization::validate_callback(&self.config, self.metadata()?, *callback, pending_record, now).map(Box::new)
    }

    /// Whether `error`, from the callback of the pending login in `pending_record`, only means
    /// that a session restore found the user signed out: the provider needs them to interact
    /// (OIDC Core §3.1.2.6) and the attempt asked it not to. Then the callback resolves with
    /// the attempt's `{ appState }` and no session: this reply value.
    pub fn declined_restore(&self, pending_record: Option<&str>, error: &Error) -> Option<String> {
        const SIGNED_OUT: [&str; 4] = ["login_required", "interaction_required", "consent_required", "account_selection_required"];
        let Error::AuthorizationError(e) = error else { return None };
        let error = &e.error;
        let pending = PendingLogin::from_record(pending_record?).filter(|p| p.restore)?;
        SIGNED_OUT.contains(&error.as_str()).then(|| {
            let mut reply = ObjectWriter::new();
            match &pending.app_state {
                Some(app_state) => reply.raw("appState", app_state),
                None => reply.null("appState"),
            };
            reply.finish()
        })
    }

    /// The code exchange request for a validated callback.
    pub fn code_exchange_request(&self, callback: &ValidatedCallback) -> Result<HttpRequest, Error> {
        Ok(token::code_exchange_request(&self.config, self.metadata()?, callback))
    }

    /// Parses the code exchange response. OIDC Core §3.1.3.3: the response to an `openid`
    /// request carries an ID token. Its signature is checked next
    /// ([`Client::signature_step`]), then [`Client::complete_token_exchange`].
    #[allow(clippy::boxed_local)] // (it arrives boxed from `complete_callback`)
    pub fn process_code_exchange_response(&self, callback: Box<ValidatedCallback>, res: &HttpResponse) -> Result<Box<TokenExchange>, Error> {
        let tokens = self.process_token_response(res)?;
        let id_token = tokens.id_token.as_ref().ok_or_else(|| Error::InvalidResponse { reason: &"field" })?.expose();
        Jwt::parse(id_token)?;
        Ok(Box::new(TokenExchange { tokens, login: Some(callback.pending), key: TokenKey::default(), generation: self.generation }))
    }

    /// Parses the answer to the grant of `ticket`: `None` when the session it was made for
    /// ended meanwhile (the answer is dropped, nothing is applied, and the tokens it carries,
    /// alive at the provider, are revoked: see [`Client::finish_refresh`]). A refresh token in a
    /// successful answer replaces the old one at once (RFC 6749 §6: the client must discard the
    /// old one), before the rest of the answer is checked, so that the old one is never
    /// presented again whatever happens next. Failures are passed to
    /// [`Client::finish_refresh`], which decides what they mean for the session.
    pub fn process_refresh_response(&mut self, ticket: &RefreshTicket, res: &HttpResponse) -> Result<Option<Box<TokenExchange>>, Error> {
        if ticket.generation != self.generation {
            if let (Ok(tokens), Some(metadata)) = (token::process_token_response(res), &self.metadata) {
                let refresh = tokens.refresh_token.as_ref().map(|t| (t.expose(), "refresh_token"));
                for (token, hint) in refresh.into_iter().chain([(tokens.access_token.expose(), "access_token")]) {
                    self.orphaned.extend(logout::revocation_request(&self.config, metadata, token, hint));
                }
            }
            return Ok(None);
        }
        let mut tokens = self.process_token_response(res)?;
        if let (Some(rotated), Some(session)) = (tokens.refresh_token.take(), self.session.as_mut()) {
            session.rotate_refresh_token(rotated);
            self.revision = self.revision.wrapping_add(1);
        }
        if let Some(id_token) = &tokens.id_token {
            Jwt::parse(id_token.expose())?;
        }
        Ok(Some(Box::new(TokenExchange { tokens, login: None, key: ticket.key.clone(), generation: ticket.generation })))
    }

    /// What it takes to verify a JWS signed by the provider (an ID token, or a signed UserInfo
    /// response): fetch its keys first, or verify with the key chosen (OIDC Core §3.1.3.7
    /// steps 6–8, §10.1). An unknown `kid` makes the keys be fetched again, at most once per
    /// [`KEY_REFETCH_INTERVAL_SECONDS`], so a flood of unknown kids cannot hammer the provider.
    pub fn signature_step(&mut self, jws: &str, purpose: Purpose, now: u64) -> Result<SignatureStep, Error> {
        let metadata = self.metadata()?;
        let token = Jwt::parse(jws)?;
        let advertised = match purpose {
            Purpose::UserInfo => metadata
                .userinfo_signing_alg_values_supported
                .as_deref()
                .or(metadata.id_token_signing_alg_values_supported.as_deref()),
            Purpose::IdToken => metadata.id_token_signing_alg_values_supported.as_deref(),
        };
        let alg = Alg::from_name(token.alg())
            .filter(|alg| accepted_algs(advertised).contains(alg))
            .ok_or_else(|| Error::InvalidIdToken { reason: &"alg" })?;
        let jwks_uri = metadata.jwks_uri.as_deref().ok_or_else(|| Error::InvalidResponse { reason: &"metadata" })?;
        let fetch_keys = SignatureStep::FetchKeys(HttpRequest {
            method: Method::Get,
            url: jwks_uri.to_owned(),
            headers: vec![("Accept".into(), "application/jwk-set+json, application/json".into())],
            body: None,
        });
        let Some(keys) = &self.keys else {
            return Ok(fetch_keys);
        };
        let key = match keys.select(alg, token.kid()) {
            Ok(key) => key,
            Err(NoKey::NotFound) if self.last_key_refetch.is_none_or(|t| now >= t + KEY_REFETCH_INTERVAL_SECONDS) => {
                self.last_key_refetch = Some(now);
                return Ok(fetch_keys);
            }
            Err(_) => return Err(Error::InvalidIdToken { reason: &"kid" }),
        };
        if token.signature().len() != key.signature_len() {
            return Err(Error::InvalidIdToken { reason: &"signature" });
        }
        let (import_algorithm, verify_algorithm) = alg.webcrypto();
        Ok(SignatureStep::Verify(SignatureCheck {
            jwk: key.public_jwk().to_owned(),
            import_algorithm,
            verify_algorithm,
            signing_input: token.signing_input().as_bytes().to_vec(),
            signature: token.signature().to_vec(),
        }))
    }

    /// Keeps the provider's keys; they replace the previous set, so a key the provider
    /// dropped is no longer accepted.
    pub fn process_jwks_response(&mut self, res: &HttpResponse) -> Result<(), Error> {
        self.keys = Some(JwkSet::from_response(res)?);
        Ok(())
    }

    /// Validates the ID token whose signature `signature` proves (OIDC Core §3.1.3.7; after a
    /// refresh also §12.2) and starts or updates the session, unless the session the exchange
    /// was made for ended meanwhile ([`Exchanged::Stale`]). A failure after a refresh is for
    /// [`Client::finish_refresh`].
    /// `access_token_digest`: the hash [`TokenExchange::at_hash_function`] asked for, of the
    /// response's access token.
    pub fn complete_token_exchange(
        &mut self,
        exchange: Box<TokenExchange>,
        signature: Option<VerifiedSignature>,
        access_token_digest: Option<&[u8]>,
        now: u64,
    ) -> Result<Exchanged, Error> {
        let TokenExchange { mut tokens, login, key, generation } = *exchange;
        if generation != self.generation {
            return Ok(Exchanged::Stale);
        }
        let id_token = tokens.id_token.take();
        // A session resumed from the store: its first ID token must name the stored user.
        let resuming = match &login {
            Some(_) => None,
            None => self.session.as_ref().and_then(Session::is_resuming).map(|(sub, nonce)| (sub.to_owned(), nonce.map(str::to_owned))),
        };
        let claims = match &id_token {
            None => None,
            Some(raw) => {
                let token = Jwt::parse(raw.expose())?;
                if !signature.is_some_and(|s| s.covers(token.signing_input())) {
                    return Err(Error::InvalidIdToken { reason: &"signature" });
                }
                let previous = match (&login, &resuming) {
                    (Some(_), _) | (None, Some(_)) => None,
                    (None, None) => Some(Jwt::parse(self.session.as_ref().ok_or_else(|| Error::LoginRequired)?.id_token())?),
                };
                let nonce = match (&login, &previous) {
                    // A device login sends no nonce (RFC 8628 has none): the token must carry none.
                    (Some(pending), _) if pending.nonce.expose().is_empty() => NonceRule::IfPresent(None),
                    (Some(pending), _) => NonceRule::Required(pending.nonce.expose()),
                    (None, Some(previous)) => NonceRule::IfPresent(previous.claim("nonce").and_then(Value::as_str)),
                    (None, None) => NonceRule::IfPresent(resuming.as_ref().and_then(|(_, nonce)| nonce.as_deref())),
                };
                validate_claims(
                    &token,
                    &Expectations {
                        issuer: &self.config.issuer,
                        client_id: &self.config.client_id,
                        nonce,
                        now,
                        clock_skew: self.config.clock_skew,
                        trusted_audiences: &self.config.trusted_audiences,
                        access_token_digest,
                        max_age: login.as_ref().and_then(|p| p.max_age),
                    },
                )?;
                // OIDC Core §12.2: a refreshed ID token keeps the identity of the original.
                if let Some((sub, _)) = &resuming {
                    if token.claim("sub").and_then(Value::as_str) != Some(sub.as_str()) {
                        return Err(Error::InvalidIdToken { reason: &"sub" });
                    }
                }
                if let Some(previous) = &previous {
                    for claim in ["iss", "sub", "aud", "azp", "auth_time"] {
                        if previous.claim(claim) != token.claim(claim) {
                            return Err(Error::InvalidIdToken { reason: claim_reason(claim) });
                        }
                    }
                }
                Some(token.claims_json().to_owned())
            }
        };
        let validated = id_token.zip(claims);
        match login {
            Some(pending) => {
                let (raw, claims) = validated.ok_or_else(|| Error::InvalidResponse { reason: &"field" })?;
                let mut reply = ObjectWriter::new();
                match &pending.app_state {
                    Some(app_state) => reply.raw("appState", app_state),
                    None => reply.null("appState"),
                };
                let mut session = Session::new(tokens, raw, claims, now, self.config.clock_skew);
                // A DPoP client accepts only `token_type` DPoP ([`Client::process_token_response`]).
                session.dpop_bound = self.dpop_key.is_some();
                self.session = Some(session);
                self.new_generation();
                self.revision = self.revision.wrapping_add(1);
                Ok(Exchanged::LoggedIn { reply: reply.finish(), event: Event::Login })
            }
            None => {
                if resuming.is_some() && validated.is_none() {
                    // (OIDC Core §12.2 lets a refresh omit it; a resumed session has none yet.)
                    return Err(Error::InvalidResponse { reason: &"field" });
                }
                let session = self.session.as_mut().ok_or_else(|| Error::LoginRequired)?;
                session.apply_refresh(&key, tokens, validated, now, self.config.clock_skew);
                Ok(Exchanged::Refreshed)
            }
        }
    }

    /// Whether a page without a session should attempt a restore now, and how
    /// ([`restore`](crate::protocol::restore)); an attempt it allows keeps others from starting
    /// for a while.
    pub fn decide_restore(&mut self, request: &RestoreRequest, now_ms: u64) -> Option<Restore> {
        let authenticated = self.is_authenticated();
        self.restore_gate.decide(&self.config, authenticated, request, now_ms)
    }

    /// Whether the session is one resumed from the store that its first refresh grant has not
    /// yet signed in ([`Client::resume`]).
    pub fn is_resuming(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.is_resuming().is_some())
    }

    /// Whether there is a session (a resumed one only once its first grant succeeded).
    pub fn is_authenticated(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.is_resuming().is_none())
    }

    /// What the `login` / `tokenRefreshed` event tells about `key`'s token (never the token).
    pub fn token_info<'a>(&'a self, key: &'a TokenKey) -> Option<TokenInfo<'a>> {
        let token = self.session.as_ref()?.token(key)?;
        Some(TokenInfo {
            // (ms; capped where JS numbers stop being exact, 2^53 - 1)
            expires_at: token.expires_at().map(|at| at.saturating_mul(1000).min((1 << 53) - 1)),
            scope: token.scope(),
            resource: key.resource.as_deref(),
        })
    }

    /// The validated ID token claims as JSON object text.
    pub fn user_json(&self) -> Option<&str> {
        self.session.as_ref().filter(|s| s.is_resuming().is_none()).map(Session::claims_json)
    }

    /// `Ok(Some(token))` while the access token for `key` is valid, `Ok(None)` when it must be
    /// obtained with the refresh token first, `Err(LoginRequired)` without a session or without
    /// a way to refresh.
    pub fn access_token(&self, key: &TokenKey, now: u64) -> Result<Option<&str>, Error> {
        let session = self.session.as_ref().ok_or_else(|| Error::LoginRequired)?;
        match session.token(key).and_then(|t| t.valid(now)) {
            Some(token) => Ok(Some(token)),
            None if session.refresh_token().is_some() => Ok(None),
            None => Err(Error::LoginRequired),
        }
    }

    /// What a caller that needs `key`'s access token does next: take the token, start a
    /// refresh grant, or wait for the one in flight. Fails at once while a backoff lasts
    /// (with the failure that caused it), and with `login_required` when there is no session
    /// or no way to refresh.
    pub fn token_step(&self, key: &TokenKey, need: Need<'_>, now: u64) -> Result<TokenStep, Error> {
        match (need, self.access_token(key, now)?) {
            (Need::Valid, Some(token)) => return Ok(TokenStep::Use(token.to_owned())),
            // A concurrent caller already replaced the refused token: use the new one.
            (Need::Replacing(refused), Some(token)) if !constant_time_eq(token.as_bytes(), refused.as_bytes()) => {
                return Ok(TokenStep::Use(token.to_owned()));
            }
            _ => {}
        }
        if self.session.as_ref().and_then(Session::refresh_token).is_none() {
            return Err(Error::LoginRequired);
        }
        self.backoff.check(now)?;
        Ok(if self.refreshing { TokenStep::Wait } else { TokenStep::Refresh })
    }

    /// The token a caller takes after the grant it started or shared settled with `Ok`: the
    /// current one (after a dropped answer, that of the session as it is now).
    pub fn token_after_refresh(&self, key: &TokenKey, now: u64) -> Result<String, Error> {
        // The refresh just succeeded, so `None` means the new token is already expired.
        self.access_token(key, now)?.map(str::to_owned).ok_or_else(|| Error::InvalidResponse { reason: &"expires_in" })
    }

    /// Starts a refresh grant for `key`'s token (RFC 6749 §6, with RFC 8707 §2.2 `resource` and
    /// a narrower `scope` when the key has them): one at a time, until
    /// [`Client::finish_refresh`]. `login_required` without a refresh token.
    pub fn begin_refresh(&mut self, key: &TokenKey) -> Result<RefreshGrant, Error> {
        if self.refreshing {
            // The shell waits for the grant in flight ([`TokenStep::Wait`]); this is a shell bug.
            return Err(Error::Config { reason: &"refresh_in_flight" });
        }
        let request = self.refresh_request(key)?;
        self.refreshing = true;
        let resume = self.session.as_ref().is_some_and(|s| s.is_resuming().is_some());
        Ok(RefreshGrant { request, ticket: RefreshTicket { key: key.clone(), generation: self.generation, resume } })
    }

    /// Ends the grant of `ticket` with what the shell saw (`result`: a failed request, a
    /// failed step, or `Ok` once [`Client::complete_token_exchange`] applied or dropped the
    /// answer) and decides what it means:
    /// - an answer for a session that ended meanwhile changes nothing and tells no one; the
    ///   tokens it carried are revoked (RFC 7009), since no one will ever use them;
    /// - success: `tokenRefreshed`;
    /// - `invalid_grant` (RFC 6749 §5.2: the grant was revoked, expired or reused): the session
    ///   ends, `sessionExpired`, callers get `login_required`;
    /// - a refreshed ID token that fails a check (OIDC Core §3.1.3.7, §12.2): the session ends
    ///   and its refresh token (the one the provider just rotated in) is revoked, since the
    ///   provider is not to be trusted with this session any more; `sessionExpired`, callers
    ///   get the check that failed;
    /// - anything else keeps the session: an `error` event, and the backoff grows when the
    ///   failure was transient.
    pub fn finish_refresh(&mut self, ticket: RefreshTicket, result: Result<(), Error>, now: u64) -> RefreshEnd {
        if ticket.generation != self.generation {
            return RefreshEnd { result: Ok(()), event: None, revocations: core::mem::take(&mut self.orphaned) };
        }
        self.refreshing = false;
        self.backoff.record(result.as_ref().map(drop), now);
        match result {
            // A resumed session is signed in by its first grant.
            Ok(()) if ticket.resume => RefreshEnd { result: Ok(()), event: Some(Event::Login), revocations: Vec::new() },
            Ok(()) => RefreshEnd {
                result: Ok(()),
                event: Some(Event::TokenRefreshed { key: ticket.key }),
                revocations: Vec::new(),
            },
            Err(Error::TokenError(e)) if e.error == "invalid_grant" => {
                self.end_session();
                RefreshEnd {
                    result: Err(Error::LoginRequired),
                    event: Some(Event::SessionExpired { reason: "invalid_grant" }),
                    revocations: Vec::new(),
                }
            }
            Err(error @ Error::InvalidIdToken { .. }) => {
                let revocations = match (self.end_session(), self.metadata.as_ref()) {
                    (Some(session), Some(metadata)) => self.revocations(metadata, &session),
                    _ => Vec::new(),
                };
                RefreshEnd {
                    result: Err(error),
                    event: Some(Event::SessionExpired { reason: "invalid_id_token" }),
                    revocations,
                }
            }
            // No session, or no refresh token: the caller's `login_required` says it all.
            Err(Error::LoginRequired) => RefreshEnd { result: Err(Error::LoginRequired), event: None, revocations: Vec::new() },
            // A stored session the provider did not take back as it was: it is not kept (nor
            // stored) for another try; only a failure on the way to the provider keeps it.
            Err(error) if ticket.resume && !schedule::is_transient(&error) => {
                let revocations = match (self.end_session(), self.metadata.as_ref()) {
                    (Some(session), Some(metadata)) => self.revocations(metadata, &session),
                    _ => Vec::new(),
                };
                RefreshEnd { event: Some(Event::Error(error.clone())), result: Err(error), revocations }
            }
            Err(error) => RefreshEnd { event: Some(Event::Error(error.clone())), result: Err(error), revocations: Vec::new() },
        }
    }

    /// Ends the session, if any, and starts a new generation, so that answers still in flight
    /// for it are dropped. Its secrets are overwritten when the returned value is dropped.
    /// The session's DPoP key goes with it: the next login makes a new one.
    fn end_session(&mut self) -> Option<Session> {
        self.new_generation();
        self.dpop_key = None;
        self.session.take()
    }

    fn new_generation(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.refreshing = false;
    }

    /// Revocation requests for `session`'s tokens (RFC 7009 §2): the refresh token first,
    /// since revoking it ends the grant (§2.1), then every access token.
    fn revocations(&self, metadata: &ProviderMetadata, session: &Session) -> Vec<HttpRequest> {
        let refresh = session.refresh_token().map(|t| (t, "refresh_token"));
        let mut requests = Vec::new();
        for (token, hint) in refresh.into_iter().chain(session.access_tokens().map(|t| (t, "access_token"))) {
            requests.extend(logout::revocation_request(&self.config, metadata, token, hint));
        }
        requests
    }

    /// Refuses `getAccessToken` from the page when the app opted out of seeing tokens
    /// (`exposeAccessToken: false`, for apps that call their APIs only through `auth.fetch`).
    pub fn check_token_exposure(&self) -> Result<(), Error> {
        match self.config.expose_access_token {
            true => Ok(()),
            false => Err(Error::Config { reason: &"access_token_not_exposed" }),
        }
    }

    /// The refresh token grant request for `key`'s token (RFC 6749 §6, with RFC 8707 §2.2
    /// `resource` and a narrower `scope` when the key has them). `LoginRequired` without a
    /// refresh token.
    pub fn refresh_request(&self, key: &TokenKey) -> Result<HttpRequest, Error> {
        let refresh_token = self.session.as_ref().and_then(Session::refresh_token).ok_or_else(|| Error::LoginRequired)?;
        Ok(token::refresh_request(&self.config, self.metadata()?, refresh_token, key))
    }

    /// While a backoff after transient refresh failures lasts, the failure that caused it:
    /// the shell then fails the call at once, without a request.
    pub fn check_backoff(&self, now: u64) -> Result<(), Error> {
        self.backoff.check(now)
    }

    /// When the shell should wake the client for a proactive refresh of the login's token
    /// (Unix seconds): `None` when it is off, without a session or refresh token, or when the
    /// token does not expire. Never before a backoff ends.
    pub fn auto_refresh_at(&self) -> Option<u64> {
        let session = self.session.as_ref().filter(|s| self.config.auto_refresh && s.refresh_token().is_some())?;
        let token = session.token(&TokenKey::default())?;
        let at = schedule::auto_refresh_at(token, self.config.refresh_lead, self.last_auto_refresh)?;
        Some(at.max(self.backoff.retry_at().unwrap_or(0)))
    }

    /// Whether a proactive refresh is due at `now`; if so it counts as started.
    pub fn start_auto_refresh(&mut self, now: u64) -> bool {
        let due = self.auto_refresh_at().is_some_and(|at| now >= at);
        if due {
            self.last_auto_refresh = Some(now);
        }
        due
    }

    /// Which token a page's `auth.fetch` request carries, if it may carry one at all
    /// ([`api::api_token_key`]).
    pub fn api_token_key(&self, url: &str, method: &str, header_names: &str) -> Result<TokenKey, Error> {
        api::api_token_key(&self.config, url, method, header_names)
    }

    /// The UserInfo request with the current access token (OIDC Core §5.3.1); the shell
    /// makes sure the token is valid first. `login_required` without a session.
    pub fn userinfo_request(&self, now: u64) -> Result<HttpRequest, Error> {
        let endpoint = self.metadata()?.userinfo_endpoint.as_deref().ok_or_else(|| Error::InvalidResponse { reason: &"metadata" })?;
        let token = self.access_token(&TokenKey::default(), now)?.ok_or_else(|| Error::LoginRequired)?;
        Ok(HttpRequest {
            method: Method::Get,
            url: endpoint.to_owned(),
            headers: vec![
                ("Authorization".into(), self.authorization(token)),
                ("Accept".into(), "application/json, application/jwt".into()),
            ],
            body: None,
        })
    }

    /// Processes the UserInfo response (OIDC Core §5.3.2–5.3.4): JSON whose `sub` must be the
    /// ID token's, or a signed JWT whose signature is checked next
    /// ([`Client::signature_step`] with [`Purpose::UserInfo`], then [`Client::complete_userinfo`]).
    pub fn process_userinfo_response(&self, res: &HttpResponse) -> Result<UserInfo, Error> {
        if res.is_redirect() {
            return Err(Error::InvalidResponse { reason: &"redirect" });
        }
        if res.status != 200 {
            return Err(Error::InvalidResponse { reason: &"status" });
        }
        if res.has_media_type("application/jwt") {
            let jws = core::str::from_utf8(&res.body).map_err(|_| Error::InvalidResponse { reason: &"format" })?;
            return Ok(UserInfo::Signed(jws.trim_ascii().to_owned()));
        }
        let claims = res.json_object()?;
        self.check_userinfo_sub(&claims)?;
        Ok(UserInfo::Claims(claims.to_json()))
    }

    /// Finishes a signed UserInfo response with the outcome of its signature check
    /// ([`Client::signature_step`] with [`Purpose::UserInfo`], then WebCrypto): signature
    /// proven, `iss` and `aud` (when present) ours, `sub` the ID token's. Returns the claims as
    /// JSON object text. A JWS that fails (its form, `alg`, `kid` or signature) is
    /// `invalid_response` / `signature`: the response is refused, the ID token and the session
    /// are not in question.
    pub fn complete_userinfo(&self, jws: &str, signature: Result<VerifiedSignature, Error>) -> Result<String, Error> {
        let jws_failed = |error| match error {
            Error::InvalidIdToken { .. } => Error::InvalidResponse { reason: &"signature" },
            other => other,
        };
        let token = Jwt::parse(jws).map_err(jws_failed)?;
        if !signature.map_err(jws_failed)?.covers(token.signing_input()) {
            return Err(Error::InvalidResponse { reason: &"signature" });
        }
        // §5.3.2: a signed response SHOULD carry `iss` and `aud`; when it does they must be ours.
        if token.claim("iss").is_some_and(|iss| iss.as_str() != Some(&self.config.issuer)) {
            return Err(Error::InvalidResponse { reason: &"iss" });
        }
        let aud_ok = match token.claim("aud") {
            None => true,
            Some(Value::String(a)) => *a == self.config.client_id,
            Some(Value::Array(items)) => items.iter().any(|a| a.as_str() == Some(&self.config.client_id)),
            Some(_) => false,
        };
        if !aud_ok {
            return Err(Error::InvalidResponse { reason: &"aud" });
        }
        let claims = json::parse(token.claims_json().as_bytes()).map_err(|_| Error::InvalidResponse { reason: &"json" })?;
        self.check_userinfo_sub(&claims)?;
        Ok(token.claims_json().to_owned())
    }

    /// OIDC Core §5.3.4: the UserInfo `sub` must equal the ID token's, or the response must
    /// not be used (it may be for another user: a token substitution).
    fn check_userinfo_sub(&self, claims: &Value) -> Result<(), Error> {
        let session_claims = self.user_json().ok_or_else(|| Error::LoginRequired)?;
        let id_token_claims = json::parse(session_claims.as_bytes()).map_err(|_| Error::LoginRequired)?;
        match (claims.get("sub").and_then(Value::as_str), id_token_claims.get("sub").and_then(Value::as_str)) {
            (Some(got), Some(want)) if got == want => Ok(()),
            _ => Err(Error::InvalidResponse { reason: &"sub" }),
        }
    }

    /// A token response, parsed as the session requires: with a DPoP key, `token_type` must be
    /// `DPoP` (RFC 9449 §5; a `Bearer` answer has dropped the binding and is refused,
    /// `invalid_response` / `token_type`); without, `Bearer`.
    fn process_token_response(&self, res: &HttpResponse) -> Result<token::TokenResponse, Error> {
        match self.dpop_key {
            Some(_) => token::process_dpop_token_response(res, false).map(|(tokens, _)| tokens),
            None => token::process_token_response(res),
        }
    }

    /// Whether the shell must make the worker's DPoP key (a non-extractable WebCrypto ES256 key
    /// pair) and hand its public half to [`Client::set_dpop_key`] before the next login: the
    /// `dpop` option is on, or `"auto"` and discovery lists `ES256` in
    /// `dpop_signing_alg_values_supported` (RFC 9449 §5.1). Once per client.
    pub fn needs_dpop_key(&self) -> bool {
        let advertised = || {
            self.metadata
                .as_ref()
                .and_then(|m| m.dpop_signing_alg_values_supported.as_ref())
                .is_some_and(|algs| algs.iter().any(|a| a == "ES256"))
        };
        self.dpop_key.is_none()
            && match self.config.dpop {
                Dpop::Off => false,
                Dpop::On => true,
                Dpop::Auto => advertised(),
            }
    }

    /// Keeps the public half of the worker's DPoP key: WebCrypto's `exportKey("raw")` of the
    /// P-256 public key. `config` / `dpop_key` for anything else.
    pub fn set_dpop_key(&mut self, raw_public_key: &[u8]) -> Result<(), Error> {
        self.dpop_key = Some(DpopKey::from_raw_p256(raw_public_key).ok_or_else(|| Error::Config { reason: &"dpop_key" })?);
        Ok(())
    }

    /// The key a callback's code is bound to: the one stored with its pending login (the raw
    /// public half), since the login may have started in a worker that ended with its page
    /// (RFC 9449 §10: `dpop_jkt`). `true` when the shell must sign with that stored key from
    /// now on; `false` when it already is this client's key. `config` / `dpop_key` for a key
    /// that is not a P-256 public key.
    pub fn use_login_key(&mut self, raw_public_key: &[u8]) -> Result<bool, Error> {
        let key = DpopKey::from_raw_p256(raw_public_key).ok_or_else(|| Error::Config { reason: &"dpop_key" })?;
        if self.config.dpop == Dpop::Off || self.dpop_key.as_ref().is_some_and(|current| current.thumbprint() == key.thumbprint()) {
            return Ok(false);
        }
        self.dpop_key = Some(key);
        Ok(true)
    }

    /// The thumbprint of the worker's DPoP key (RFC 7638), if it has one.
    pub fn dpop_thumbprint(&self) -> Option<&str> {
        self.dpop_key.as_ref().map(DpopKey::thumbprint)
    }

    /// The `Authorization` header value that presents `token`: `DPoP <token>` in a DPoP session
    /// (RFC 9449 §7.1), else `Bearer <token>` (RFC 6750 §2.1).
    pub fn authorization(&self, token: &str) -> String {
        let scheme = if self.dpop_key.is_some() { "DPoP " } else { "Bearer " };
        String::from(scheme) + token
    }

    /// The state of one `auth.fetch` call presenting `key`'s token, with the session's scheme.
    pub fn api_call(&self, key: TokenKey) -> ApiCall {
        match self.dpop_key {
            Some(_) => ApiCall::dpop(key),
            None => ApiCall::new(key),
        }
    }

    /// The nonce bookkeeping of one request to `url` when it must carry a DPoP proof (every
    /// request once the client has a DPoP key), else `None`.
    pub fn dpop_call(&self, url: &str) -> Result<Option<DpopCall>, Error> {
        self.dpop_key.as_ref().map(|_| DpopCall::new(url)).transpose()
    }

    /// The proof to sign for `request` (built by the core, to the provider): `htm`, `htu`, the
    /// nonce `call`'s server gave last, and `ath` of the access token it presents in
    /// `Authorization: DPoP` (UserInfo). The shell signs it and passes it to
    /// [`Client::attach_proof`].
    pub fn dpop_proof(&self, request: &HttpRequest, call: &DpopCall, jti: &[u8; JTI_BYTES], now: u64) -> Result<UnsignedProof, Error> {
        let access_token = request
            .headers
            .iter()
            .find(|(name, _)| name == "Authorization")
            .and_then(|(_, value)| value.strip_prefix("DPoP "));
        self.api_proof(&request.url, request.method.as_str(), access_token, call, jti, now)
    }

    /// The proof to sign for a request to `url` with `method` presenting `access_token`
    /// (`auth.fetch`: then its `ath`).
    pub fn api_proof(&self, url: &str, method: &str, access_token: Option<&str>, call: &DpopCall, jti: &[u8; JTI_BYTES], now: u64) -> Result<UnsignedProof, Error> {
        let key = self.dpop_key.as_ref().ok_or_else(|| Error::Config { reason: &"dpop_key" })?;
        let proof = ProofRequest { htm: method, htu: url, access_token, nonce: call.nonce(&self.nonces) };
        proof.signing_input(key, jti, now)
    }

    /// The `DPoP` header value: `proof` with WebCrypto's ECDSA signature (`config` / `dpop_key`
    /// when it is not the 64-byte P1363 form).
    pub fn finish_proof(proof: UnsignedProof, signature: &[u8]) -> Result<String, Error> {
        proof.finish(signature).ok_or_else(|| Error::Config { reason: &"dpop_key" })
    }

    /// What the provider's answer to `request`, sent with a DPoP proof, means: one retry with
    /// the nonce it just demanded, and any `DPoP-Nonce` kept for the next proof to its origin.
    /// A request that presents an access token (UserInfo) is answered as by a resource server
    /// (RFC 9449 §9: a `401` DPoP challenge `use_dpop_nonce`); the token and revocation
    /// endpoints as by the authorization server (§8: a `400` `use_dpop_nonce`).
    pub fn on_provider_dpop_response(
        &mut self,
        call: &mut DpopCall,
        request: &HttpRequest,
        res: &HttpResponse,
        challenge: Option<&str>,
        dpop_nonce: Option<&str>,
    ) -> NonceStep {
        match request.headers.iter().any(|(name, _)| name == "Authorization") {
            true => call.on_resource_response(&mut self.nonces, res.status, challenge, dpop_nonce),
            false => call.on_token_response(&mut self.nonces, res, dpop_nonce),
        }
    }

    /// What an API's answer to `auth.fetch` sent with a DPoP proof means (RFC 9449 §9): one
    /// retry on a `401` DPoP challenge `use_dpop_nonce` with the nonce it carries; any
    /// `DPoP-Nonce` is kept for that origin.
    pub fn on_api_dpop_response(&mut self, call: &mut DpopCall, status: u16, challenge: Option<&str>, dpop_nonce: Option<&str>) -> NonceStep {
        call.on_resource_response(&mut self.nonces, status, challenge, dpop_nonce)
    }

    /// Where to look for a stored session to resume (`persist: "dpop-bound"`), the first time
    /// a page without a session asks to be restored: the store key, `None` when there is
    /// nothing to look for (persistence off, a session here, already looked, or the page is a
    /// login callback about to make a session of its own).
    pub fn resume_id(&mut self, page_url: &str) -> Option<String> {
        let look = self.config.persist && self.session.is_none() && !self.resume_looked && self.parse_callback(page_url).is_err();
        self.resume_looked |= look;
        look.then(|| record_id(&self.config))
    }

    /// Takes up a stored session (its record and the raw public half of the key stored beside
    /// it) as a session that still needs its first refresh grant ([`Session::resumed`]); the
    /// shell then asks for the login's token, which makes that grant with a proof of the key.
    /// `false` when the record cannot be used (unreadable, or for another key): it is deleted.
    pub fn resume(&mut self, record: &str, raw_public_key: &[u8]) -> bool {
        self.stored = Stored::Stale;
        if self.session.is_some() {
            return false; // a login got there first; its session replaces the record
        }
        let Some(persisted) = PersistedSession::from_record(record) else { return false };
        match DpopKey::from_raw_p256(raw_public_key) {
            Some(key) if key.thumbprint() == persisted.jkt => self.dpop_key = Some(key),
            _ => return false,
        }
        self.session = Some(Session::resumed(persisted.refresh_token, persisted.sub, persisted.nonce));
        self.new_generation();
        self.revision = self.revision.wrapping_add(1);
        self.stored = Stored::Revision(self.revision);
        true
    }

    /// What the store must do now to hold exactly this client's persistable session
    /// (`persist: "dpop-bound"`): write its DPoP-bound refresh token (after a login, after a
    /// rotation), delete the record (the session ended, or is not persistable: a bearer one,
    /// one without a refresh token), or nothing. Counted as done; [`Client::persist_failed`]
    /// when it was not.
    pub fn persist_action(&mut self) -> Option<PersistAction> {
        if !self.config.persist {
            return None;
        }
        let session = self.session.as_ref();
        if session.is_some_and(|s| s.is_resuming().is_some()) {
            return None; // its record is what is stored
        }
        let persistable = session.filter(|s| s.dpop_bound).and_then(|s| Some((s.refresh_token()?, s)));
        let id = record_id(&self.config);
        match (persistable, self.dpop_key.as_ref()) {
            (Some(_), _) if self.stored == Stored::Revision(self.revision) => None,
            (Some((refresh_token, session)), Some(key)) => {
                let id_token = Jwt::parse(session.id_token()).ok()?;
                let sub = id_token.claim("sub")?.as_str()?;
                let nonce = id_token.claim("nonce").and_then(Value::as_str);
                let record = PersistedSession::to_record(refresh_token, sub, nonce, key.thumbprint());
                self.stored = Stored::Revision(self.revision);
                Some(PersistAction::Store { id, record })
            }
            _ if self.stored == Stored::Nothing => None,
            _ => {
                self.stored = Stored::Nothing;
                Some(PersistAction::Delete { id })
            }
        }
    }

    /// The store did not carry out the last [`PersistAction`]: the next call tries again.
    pub fn persist_failed(&mut self) {
        self.stored = Stored::Stale;
    }

    /// Ends the local session (its secrets are overwritten as it is dropped) and returns what
    /// is left to do: the revocation requests for its refresh and access tokens (RFC 7009 §2;
    /// refresh token first, since revoking it ends the grant), and, when the app is to be sent
    /// there (`redirect`), the provider's end-session URL with a fresh `state` from `entropy`
    /// and no ID token (see [`logout::end_session_url`]). The shell performs the revocations
    /// without letting their failure undo the local logout.
    pub fn logout(&mut self, entropy: &[u8; 16], redirect: bool) -> Logout {
        let session = self.end_session();
        // Whatever this worker knows, nothing of this client stays stored after a logout.
        if self.config.persist {
            self.stored = Stored::Stale;
        }
        let Some(metadata) = self.metadata.as_ref() else {
            return Logout { revocations: Vec::new(), end_session_url: None };
        };
        let revocations = session.as_ref().map(|s| self.revocations(metadata, s)).unwrap_or_default();
        let state = base64url::encode(entropy);
        let end_session_url = redirect.then(|| logout::end_session_url(&self.config, metadata, &state)).flatten();
        Logout { revocations, end_session_url }
    }
}

/// What remains to be done after the local session ended.
#[derive(Debug)]
pub struct Logout {
    /// Revocation requests to send (they carry tokens; failures are ignored).
    pub revocations: Vec<HttpRequest>,
    /// Where to send the browser, when asked for and the provider has an `end_session_endpoint`.
    pub end_session_url: Option<String>,
}

/// The §12.2 claims map to their own reasons.
fn claim_reason(claim: &str) -> &'static &'static str {
    match claim {
        "iss" => &"iss",
        "sub" => &"sub",
        "aud" => &"aud",
        "azp" => &"azp",
        _ => &"auth_time",
    }
}

/// Unknown `kid`s make the keys be fetched again at most this often.
pub const KEY_REFETCH_INTERVAL_SECONDS: u64 = 60;

/// What a JWS is, which decides the algorithms accepted for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An ID token (`id_token_signing_alg_values_supported`).
    IdToken,
    /// A signed UserInfo response (`userinfo_signing_alg_values_supported`).
    UserInfo,
}

/// The next step of a signature check.
#[derive(Debug)]
pub enum SignatureStep {
    /// Fetch the provider's JWK Set, pass it to [`Client::process_jwks_response`], and ask again.
    FetchKeys(HttpRequest),
    /// Verify with WebCrypto, then [`SignatureCheck::verdict`].
    Verify(SignatureCheck),
}

/// A parsed token response whose ID token is not yet trusted. `Debug` shows no token.
pub struct TokenExchange {
    tokens: TokenResponse,
    /// The pending login for a code exchange; `None` for a refresh.
    login: Option<PendingLogin>,
    /// Which access token the response is for.
    key: TokenKey,
    /// The session generation the request was made in.
    generation: u32,
}

impl core::fmt::Debug for TokenExchange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TokenExchange { .. }")
    }
}

impl TokenExchange {
    /// The ID token whose signature must be checked, if the response has one.
    pub fn id_token(&self) -> Option<&str> {
        self.tokens.id_token.as_ref().map(Secret::expose)
    }

    /// Which access token the response is for.
    pub fn key(&self) -> &TokenKey {
        &self.key
    }

    /// When the ID token has `at_hash`: the WebCrypto hash function to apply to the access
    /// token (the second value) for [`Client::complete_token_exchange`].
    pub fn at_hash_function(&self) -> Option<(&'static str, &str)> {
        let token = Jwt::parse(self.id_token()?).ok()?;
        Some((at_hash_function(&token)?, self.tokens.access_token.expose()))
    }
}

/// A UserInfo response.
#[derive(Debug)]
pub enum UserInfo {
    /// Plain JSON claims, already checked.
    Claims(String),
    /// A signed JWT, to verify first.
    Signed(String),
}

#[cfg(test)]
mod tests;
