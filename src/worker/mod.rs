//! The wasm shell: the worker's entry object, [`WorkerHost`].
//!
//! It performs the I/O the core asks for and nothing else: it parses a call, lends the core
//! the clock and fresh random bytes, performs the core's [`HttpRequest`]s with `fetch`
//! ([`io`]), keeps the pending login in IndexedDB ([`store`]) and writes the reply.
//! Protocol decisions all live in [`crate::protocol`].
//!
//! Every step borrows the client, computes, releases the borrow and only then awaits, so no
//! `RefCell` borrow is ever held across an `await`.
//!
//! [`HttpRequest`]: crate::protocol::http::HttpRequest

#[allow(unused_imports)]
use crate::prelude::*;
use core::cell::{Cell, RefCell};
use alloc::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::protocol::client::{Client, Purpose, SignatureStep, UserInfo, ENTROPY_LEN};
use crate::protocol::jws::VerifiedSignature;
use crate::protocol::json::{self, ObjectWriter, Value};
use crate::protocol::Error;

pub mod io;
pub mod single_flight;
pub mod store;

use single_flight::SingleFlight;

const INVALID_CALL: Error = Error::Config {
    reason: "invalid_call",
};
const NOT_CONFIGURED: Error = Error::Config {
    reason: "not_configured",
};

/// The worker's state and its one entry point, [`WorkerHost::handle`].
///
/// Tokens live here, in the worker's memory, and leave it only as the access token returned
/// by `getAccessToken`. The refresh token never leaves.
#[wasm_bindgen]
pub struct WorkerHost {
    host: Rc<Host>,
}

#[derive(Default)]
struct Host {
    client: RefCell<Option<Client>>,
    /// The refresh grant in flight, which concurrent `getAccessToken` calls share.
    refresh: SingleFlight<Result<(), Error>>,
    /// Changes whenever a session ends or begins, so that a refresh answered afterwards is
    /// dropped instead of applied to a session it was not made for.
    epoch: Cell<u32>,
    /// Where events go (`worker.js` posts them to the page): `{"name":…,"detail":…}` texts.
    events: RefCell<Option<js_sys::Function>>,
}

/// A reply's `value`: JSON text, or a string still to be quoted.
enum Reply {
    Json(String),
    Str(String),
}

impl Default for WorkerHost {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl WorkerHost {
    /// A host with no configuration yet: every call but `configure` fails with
    /// `config` / `not_configured` until `configure` succeeds.
    #[wasm_bindgen(constructor)]
    pub fn new() -> WorkerHost {
        WorkerHost {
            host: Rc::default(),
        }
    }

    /// Sets the function that receives every event as JSON text
    /// `{"name": "login" | "tokenRefreshed" | "sessionExpired" | "logout" | "error", "detail": …}`.
    /// No event carries a token.
    #[wasm_bindgen(js_name = setEventListener)]
    pub fn set_event_listener(&self, listener: js_sys::Function) {
        *self.host.events.borrow_mut() = Some(listener);
    }

    /// Handles one call, a JSON object whose `type` is `configure`, `login`,
    /// `handleCallback`, `isAuthenticated`, `getUser`, `getAccessToken` or `logout`.
    ///
    /// The promise always resolves, with the reply's JSON text: `{"ok":true,"value":...}` or
    /// `{"ok":false,"error":{"code":...,"message":...}}`.
    pub fn handle(&self, call_json: String) -> Promise {
        let host = self.host.clone();
        future_to_promise(async move {
            let mut reply = ObjectWriter::new();
            match host.dispatch(&call_json).await {
                Ok(Reply::Json(value)) => reply.bool("ok", true).raw("value", &value),
                Ok(Reply::Str(value)) => reply.bool("ok", true).string("value", &value),
                Err(error) => reply.bool("ok", false).raw("error", &error.to_json()),
            };
            Ok(JsValue::from(reply.finish()))
        })
    }
}

impl Host {
    /// Sends an event to the listener, if any. `detail` is JSON text.
    fn emit(&self, name: &str, detail: &str) {
        if let Some(listener) = self.events.borrow().as_ref() {
            let mut event = ObjectWriter::new();
            event.string("name", name).raw("detail", detail);
            let _ = listener.call1(&JsValue::NULL, &JsValue::from(event.finish()));
        }
    }

    /// The `login` / `tokenRefreshed` event for the current session.
    fn emit_token_event(&self, name: &str) {
        let detail = self.with(|c| Ok(c.token_event_json())).ok().flatten();
        if let Some(detail) = detail {
            self.emit(name, &detail);
        }
    }

    async fn dispatch(self: &Rc<Self>, call_json: &str) -> Result<Reply, Error> {
        let call = json::parse(call_json.as_bytes()).map_err(|_| INVALID_CALL)?;
        let options = call.get("options").filter(|v| !v.is_null());
        match call
            .get("type")
            .and_then(Value::as_str)
            .ok_or(INVALID_CALL)?
        {
            "configure" => self.configure(call.get("config").ok_or(INVALID_CALL)?),
            "login" => self.login(options).await,
            "handleCallback" => {
                self.handle_callback(
                    call.get("url")
                        .and_then(Value::as_str)
                        .ok_or(INVALID_CALL)?,
                )
                .await
            }
            "isAuthenticated" => {
                let yes = self.with(|c| Ok(c.is_authenticated()))?;
                Ok(Reply::Json(if yes { "true" } else { "false" }.into()))
            }
            "getUser" => match options.and_then(|o| o.get("fresh")).and_then(Value::as_bool) {
                Some(true) => self.fresh_user().await,
                _ => self.with(|c| Ok(Reply::Json(c.user_json().unwrap_or("null").into()))),
            },
            "getAccessToken" => {
                let force = options
                    .and_then(|o| o.get("forceRefresh"))
                    .and_then(Value::as_bool);
                self.access_token(force.unwrap_or(false))
                    .await
                    .map(Reply::Str)
            }
            "logout" => self.logout().await,
            _ => Err(Error::Config {
                reason: "unknown_call",
            }),
        }
    }

    /// Runs `f` on the client, borrowed only for the duration of `f`.
    fn with<R>(&self, f: impl FnOnce(&Client) -> Result<R, Error>) -> Result<R, Error> {
        f(self.client.borrow().as_ref().ok_or(NOT_CONFIGURED)?)
    }

    /// Runs `f` on the client, borrowed mutably only for the duration of `f`.
    fn with_mut<R>(&self, f: impl FnOnce(&mut Client) -> Result<R, Error>) -> Result<R, Error> {
        f(self.client.borrow_mut().as_mut().ok_or(NOT_CONFIGURED)?)
    }

    /// `configure {config}`: creates the client, once. A worker serves one provider.
    fn configure(&self, config: &Value) -> Result<Reply, Error> {
        let mut slot = self.client.borrow_mut();
        if slot.is_some() {
            return Err(Error::Config {
                reason: "already_configured",
            });
        }
        *slot = Some(Client::new(config)?);
        Ok(Reply::Json("null".into()))
    }

    /// Fetches and validates the provider metadata unless the client already has it.
    async fn ensure_discovery(&self) -> Result<(), Error> {
        let Some(request) =
            self.with(|c| Ok(c.needs_discovery().then(|| c.discovery_request())))?
        else {
            return Ok(());
        };
        let response = io::fetch(&request).await?;
        self.with_mut(|c| match c.needs_discovery() {
            true => c.process_discovery_response(response),
            false => Ok(()), // a concurrent call got there first
        })
    }

    /// `login {options}`: builds the authorization request and persists the pending login
    /// before the page navigates away. Value: `{"url": ...}`.
    async fn login(&self, options: Option<&Value>) -> Result<Reply, Error> {
        self.ensure_discovery().await?;
        let none = Value::Object(Vec::new());
        let mut entropy = [0u8; ENTROPY_LEN];
        io::fill_random(&mut entropy)?;
        let now = io::now();
        let start = self.with(|c| c.begin_login(options.unwrap_or(&none), &entropy, now));
        entropy.fill(0);
        let start = start?;
        store::put(
            &start.pending_key,
            &start.pending_record,
            start.expires_at,
            now,
        )
        .await?;
        let mut value = ObjectWriter::new();
        value.string("url", &start.url);
        Ok(Reply::Json(value.finish()))
    }

    /// `handleCallback {url}`: validates the callback against its pending login (taken from
    /// the store, single-use) and redeems the code. Value: `{"appState": ...}`.
    async fn handle_callback(&self, url: &str) -> Result<Reply, Error> {
        self.ensure_discovery().await?;
        let callback = self.with(|c| c.parse_callback(url))?;
        let now = io::now();
        let record = store::take(&callback.pending_key(), now).await?;
        let callback = self.with(|c| c.complete_callback(callback, record.as_deref(), now))?;
        let request = self.with(|c| c.code_exchange_request(&callback))?;
        let response = io::fetch(&request).await?;
        let exchange = self.with(|c| c.process_code_exchange_response(callback, response))?;
        let signature = self.verify_id_token(exchange.id_token()).await?;
        let value =
            self.with_mut(|c| c.complete_token_exchange(exchange, signature, io::now()))?;
        self.epoch.set(self.epoch.get().wrapping_add(1));
        self.emit_token_event("login");
        Ok(Reply::Json(value))
    }

    /// Verifies the signature of a JWS from the provider: fetches its keys when the core asks
    /// (first use, or once again for an unknown `kid`), then WebCrypto with the key it chose.
    async fn verify_jws(&self, jws: &str, purpose: Purpose) -> Result<VerifiedSignature, Error> {
        loop {
            match self.with_mut(|c| c.signature_step(jws, purpose, io::now()))? {
                SignatureStep::FetchKeys(request) => {
                    let response = io::fetch(&request).await?;
                    self.with_mut(|c| c.process_jwks_response(response))?;
                }
                SignatureStep::Verify(check) => {
                    let valid = io::verify_signature(&check).await?;
                    return check.verdict(valid);
                }
            }
        }
    }

    async fn verify_id_token(&self, id_token: Option<&str>) -> Result<Option<VerifiedSignature>, Error> {
        match id_token {
            Some(jws) => self.verify_jws(jws, Purpose::IdToken).await.map(Some),
            None => Ok(None),
        }
    }

    /// `getUser {options:{fresh:true}}`: the UserInfo claims, fetched from the provider with
    /// the access token (refreshed first if needed); signed responses are verified.
    async fn fresh_user(self: &Rc<Self>) -> Result<Reply, Error> {
        self.access_token(false).await?;
        let request = self.with(|c| c.userinfo_request(io::now()))?;
        let response = io::fetch(&request).await?;
        match self.with(|c| c.process_userinfo_response(response))? {
            UserInfo::Claims(claims) => Ok(Reply::Json(claims)),
            UserInfo::Signed(jws) => {
                let signature = self.verify_jws(&jws, Purpose::UserInfo).await?;
                self.with(|c| c.complete_userinfo(&jws, signature)).map(Reply::Json)
            }
        }
    }

    /// `getAccessToken {options:{forceRefresh?}}`: the access token, refreshed first when
    /// it expired or when forced. Concurrent callers (forced or not) share one refresh
    /// grant. Value: the token.
    async fn access_token(self: &Rc<Self>, force: bool) -> Result<String, Error> {
        let current = || self.with(|c| Ok(c.access_token(io::now())?.map(str::to_owned)));
        if !force {
            if let Some(token) = current()? {
                return Ok(token);
            }
        }
        let host = self.clone();
        self.refresh
            .run(|| async move { host.refresh_once().await })
            .await?;
        // The refresh just succeeded, so `None` means the new token is already expired.
        current()?.ok_or(Error::InvalidResponse {
            reason: "expires_in",
        })
    }

    /// One refresh grant, and the event that tells the app how it went: `tokenRefreshed`,
    /// `sessionExpired` when the grant is gone, `error` otherwise.
    async fn refresh_once(&self) -> Result<(), Error> {
        let authenticated = || self.with(|c| Ok(c.is_authenticated())).unwrap_or(false);
        let had_session = authenticated();
        let result = self.refresh_grant().await;
        match &result {
            Ok(()) => self.emit_token_event("tokenRefreshed"),
            // The provider no longer knows the grant (invalid_grant): the session ended.
            Err(Error::LoginRequired) if had_session && !authenticated() => {
                self.emit("sessionExpired", r#"{"reason":"invalid_grant"}"#)
            }
            // No session, or no refresh token: the caller's `login_required` says it all.
            Err(Error::LoginRequired) => {}
            Err(error) => self.emit("error", &error.to_json()),
        }
        result
    }

    async fn refresh_grant(&self) -> Result<(), Error> {
        let epoch = self.epoch.get();
        let request = self.with(|c| c.refresh_request())?;
        let response = io::fetch(&request).await?;
        if self.epoch.get() != epoch {
            return Ok(()); // logged out (or in again) meanwhile: this answer is for no one
        }
        let exchange = self.with_mut(|c| c.process_refresh_response(response))?;
        let signature = self.verify_id_token(exchange.id_token()).await?;
        if self.epoch.get() != epoch {
            return Ok(());
        }
        self.with_mut(|c| c.complete_token_exchange(exchange, signature, io::now()))
            .map(drop)
    }

    /// `logout`: ends the local session, whatever else fails, and returns the provider's
    /// end-session URL when it has one. Value: `{"url": string|null}`.
    async fn logout(&self) -> Result<Reply, Error> {
        let discovered = self.ensure_discovery().await;
        let mut entropy = [0u8; 16];
        let random = io::fill_random(&mut entropy);
        let logout = self.with_mut(|c| Ok(c.logout(&entropy)))?;
        self.epoch.set(self.epoch.get().wrapping_add(1));
        // RFC 7009: the session is already gone locally; a failed revocation must not undo
        // that, so each outcome is ignored (the provider's tokens then simply expire).
        for request in &logout.revocations {
            let _ = io::fetch(request).await;
        }
        self.emit("logout", "{}");
        random?;
        discovered?;
        let url = logout.end_session_url;
        let mut value = ObjectWriter::new();
        match &url {
            Some(url) => value.string("url", url),
            None => value.null("url"),
        };
        Ok(Reply::Json(value.finish()))
    }
}

#[cfg(feature = "bench")] pub mod bench;
