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

use crate::protocol::api_call::{ApiCall, ApiStep};
use crate::protocol::client::{Client, Purpose, SignatureStep, TokenExchange, UserInfo, ENTROPY_LEN};
use crate::protocol::event::Event;
use crate::protocol::refresh::{Exchanged, Need, RefreshTicket, TokenStep};
use crate::protocol::config::token_key;
use crate::protocol::jws::VerifiedSignature;
use crate::protocol::codec::json::{self, ObjectWriter, Value};
use crate::protocol::types::TokenKey;
use crate::protocol::http::HttpRequest;
use crate::protocol::Error;

pub mod io;
pub mod single_flight;
pub mod store;

use single_flight::{SingleFlight, Turn};

const INVALID_CALL: Error = Error::Config {
    reason: "invalid_call",
};
const NOT_CONFIGURED: Error = Error::Config {
    reason: "not_configured",
};

/// The worker's state and its one entry point, [`WorkerHost::handle`].
///
/// Tokens live here, in the worker's memory, and leave it only as the access token returned
/// by `getAccessToken` (unless `exposeAccessToken: false`) and in the requests made for the
/// core. The refresh token never leaves.
#[wasm_bindgen]
pub struct WorkerHost {
    host: Rc<Host>,
}

#[derive(Default)]
struct Host {
    client: RefCell<Option<Client>>,
    /// The refresh grant in flight, which concurrent callers for the same token share; grants
    /// for different tokens take turns (they all present the one refresh token).
    refresh: SingleFlight<TokenKey, Result<(), Error>>,
    /// Where events go (`worker.js` posts them to the page): `{"name":…,"detail":…}` texts.
    events: RefCell<Option<js_sys::Function>>,
    /// The wake-up time last handed to `worker.js`'s timer (Unix seconds).
    scheduled: Cell<Option<u64>>,
}

/// A reply's `value`: JSON text, a string still to be quoted, or an API's response.
enum Reply {
    Json(String),
    Str(String),
    Response(JsValue),
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
    /// `{"name": "login" | "tokenRefreshed" | "sessionExpired" | "logout" | "error", "detail": …}`,
    /// and `wake` (`{"at": <Unix seconds> | null}`: when to call `handle('{"type":"tick"}')`,
    /// for `worker.js` itself). No event carries a token.
    #[wasm_bindgen(js_name = setEventListener)]
    pub fn set_event_listener(&self, listener: js_sys::Function) {
        *self.host.events.borrow_mut() = Some(listener);
    }

    /// Handles one call, a JSON object whose `type` is `configure`, `login`,
    /// `handleCallback`, `isAuthenticated`, `getUser`, `getAccessToken`, `fetch`, `logout` or
    /// `tick`. `request` is for `fetch` only: what `fetch.js` needs besides the call
    /// (`{ headers, body, init, signal }`, never read here: the body never enters wasm memory).
    ///
    /// The promise always resolves: with the reply's JSON text, `{"ok":true,"value":...}` or
    /// `{"ok":false,"error":{"code":...,"message":...}}`, except after a successful `fetch`,
    /// with `fetch.js`'s response object.
    pub fn handle(&self, call_json: String, request: JsValue) -> Promise {
        let host = self.host.clone();
        future_to_promise(async move {
            let mut reply = ObjectWriter::new();
            let result = host.dispatch(&call_json, &request).await;
            host.reschedule();
            match result {
                Ok(Reply::Json(value)) => reply.bool("ok", true).raw("value", &value),
                Ok(Reply::Str(value)) => reply.bool("ok", true).string("value", &value),
                Ok(Reply::Response(response)) => return Ok(response),
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

    /// Sends an event the core decided on, in its wire form.
    fn emit_event(&self, event: &Event) {
        match event {
            Event::Login => self.emit_token_event("login", &TokenKey::default()),
            Event::TokenRefreshed { key } => self.emit_token_event("tokenRefreshed", key),
            Event::SessionExpired { reason } => {
                let mut detail = ObjectWriter::new();
                detail.string("reason", reason);
                self.emit("sessionExpired", &detail.finish());
            }
            Event::Error(error) => self.emit("error", &error.to_json()),
        }
    }

    /// The `login` / `tokenRefreshed` event for `key`'s token.
    fn emit_token_event(&self, name: &str, key: &TokenKey) {
        let detail = self.with(|c| Ok(c.token_event_json(key))).ok().flatten();
        if let Some(detail) = detail {
            self.emit(name, &detail);
        }
    }

    /// Hands the next proactive refresh time to `worker.js`'s timer, when it changed: the
    /// internal `wake` event, `{"at": <Unix seconds>}` or `{"at": null}` for none, which
    /// `worker.js` keeps for itself (it schedules the `tick` call) instead of posting it.
    fn reschedule(&self) {
        let at = self.with(|c| Ok(c.auto_refresh_at())).ok().flatten();
        if at == self.scheduled.replace(at) {
            return;
        }
        let mut detail = ObjectWriter::new();
        match at {
            Some(at) => detail.number("at", at as i64),
            None => detail.null("at"),
        };
        self.emit("wake", &detail.finish());
    }

    async fn dispatch(self: &Rc<Self>, call_json: &str, request: &JsValue) -> Result<Reply, Error> {
        let call = json::parse(call_json.as_bytes()).map_err(|_| INVALID_CALL)?;
        let text = |name| call.get(name).and_then(Value::as_str).ok_or(INVALID_CALL);
        let options = call.get("options").filter(|v| !v.is_null());
        match call
            .get("type")
            .and_then(Value::as_str)
            .ok_or(INVALID_CALL)?
        {
            "configure" => self.configure(call.get("config").ok_or(INVALID_CALL)?),
            "login" => self.login(options).await,
            "handleCallback" => self.handle_callback(text("url")?).await,
            "fetch" => {
                let (url, method, names) = (text("url")?, text("method")?, text("headerNames")?);
                self.api_fetch(url, method, names, request).await.map(Reply::Response)
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
                self.with(Client::check_token_exposure)?;
                let none = Value::Null;
                let options = options.unwrap_or(&none);
                let need = match options.get("forceRefresh").and_then(Value::as_bool) {
                    Some(true) => Need::Fresh,
                    _ => Need::Valid,
                };
                self.access_token(&token_key(options)?, need).await.map(Reply::Str)
            }
            "logout" => self.logout().await,
            // The timer fired: refresh the login's token if the core says it is time.
            // Failures reach the app as events; the session stays for the next call.
            "tick" => {
                self.scheduled.set(None); // that timer is spent
                if self.with_mut(|c| Ok(c.start_auto_refresh(io::now())))? {
                    let _ = self.access_token(&TokenKey::default(), Need::Fresh).await;
                }
                Ok(Reply::Json("null".into()))
            }
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
            start.pending_record.expose(),
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
        match self.complete_exchange(exchange).await? {
            Exchanged::LoggedIn { reply, event } => {
                self.emit_event(&event);
                Ok(Reply::Json(reply))
            }
            // A logout ended things while the code was redeemed.
            _ => Err(Error::LoginRequired),
        }
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

    /// Finishes a token exchange: the ID token's signature (when there is one), the access
    /// token's digest for `at_hash` (when asked), then the core's checks and decision.
    async fn complete_exchange(&self, exchange: TokenExchange) -> Result<Exchanged, Error> {
        let signature = match exchange.id_token() {
            Some(jws) => Some(self.verify_jws(jws, Purpose::IdToken).await?),
            None => None,
        };
        let digest = match exchange.at_hash_function() {
            Some((function, access_token)) => Some(io::digest(function, access_token.as_bytes()).await?),
            None => None,
        };
        self.with_mut(|c| c.complete_token_exchange(exchange, signature, digest.as_deref(), io::now()))
    }

    /// `getUser {options:{fresh:true}}`: the UserInfo claims, fetched from the provider with
    /// the access token (refreshed first if needed); signed responses are verified.
    async fn fresh_user(self: &Rc<Self>) -> Result<Reply, Error> {
        self.access_token(&TokenKey::default(), Need::Valid).await?;
        let request = self.with(|c| c.userinfo_request(io::now()))?;
        let response = io::fetch(&request).await?;
        match self.with(|c| c.process_userinfo_response(response))? {
            UserInfo::Claims(claims) => Ok(Reply::Json(claims)),
            UserInfo::Signed(jws) => {
                let signature = self.verify_jws(&jws, Purpose::UserInfo).await;
                self.with(|c| c.complete_userinfo(&jws, signature)).map(Reply::Json)
            }
        }
    }

    /// The access token for `key` (`getAccessToken {options:{forceRefresh?, resource?,
    /// scope?}}`), obtained with the refresh token first when the core says so. Concurrent
    /// callers for one key share one grant; grants for different keys take turns.
    async fn access_token(self: &Rc<Self>, key: &TokenKey, need: Need<'_>) -> Result<String, Error> {
        loop {
            match self.with(|c| c.token_step(key, need, io::now()))? {
                TokenStep::Use(token) => return Ok(token),
                // Both go through the single flight: it joins or waits out the grant in flight.
                TokenStep::Refresh | TokenStep::Wait => {}
            }
            let host = self.clone();
            let run_key = key.clone();
            match self.refresh.run(key, || async move { host.refresh_once(&run_key).await }).await {
                Turn::Waited => continue, // another token's grant settled: look again
                Turn::Done(outcome) => outcome?,
            }
            return self.with(|c| c.token_after_refresh(key, io::now()));
        }
    }

    /// One refresh grant for `key`, ended as the core decides: the event, the revocations of
    /// a session it ended, the callers' result.
    async fn refresh_once(&self, key: &TokenKey) -> Result<(), Error> {
        let grant = self.with_mut(|c| c.begin_refresh(key))?;
        let result = self.refresh_grant(&grant.ticket, &grant.request).await;
        let end = self.with_mut(|c| Ok(c.finish_refresh(grant.ticket, result, io::now())))?;
        if let Some(event) = &end.event {
            self.emit_event(event);
        }
        // RFC 7009: the session is already gone; a failed revocation cannot undo that.
        for request in &end.revocations {
            let _ = io::fetch(request).await;
        }
        end.result
    }

    async fn refresh_grant(&self, ticket: &RefreshTicket, request: &HttpRequest) -> Result<(), Error> {
        let response = io::fetch(request).await?;
        // (`None`: the session the grant was made for ended meanwhile; the answer is dropped.)
        if let Some(exchange) = self.with_mut(|c| c.process_refresh_response(ticket, response))? {
            self.complete_exchange(exchange).await?;
        }
        Ok(())
    }

    /// `fetch {url, method, headerNames}` (`auth.fetch`): sends the page's request to one of the
    /// configured `apiOrigins` with the access token attached, and once more with a new token
    /// when the core says so (RFC 6750 §3.1). `headerNames`: the request's header names joined
    /// by `,` (a character no header name has).
    async fn api_fetch(self: &Rc<Self>, url: &str, method: &str, header_names: &str, request: &JsValue) -> Result<JsValue, Error> {
        let key = self.with(|c| c.api_token_key(url, method, header_names))?;
        let mut call = ApiCall::new(key);
        let mut token = self.access_token(call.key(), Need::Valid).await?;
        loop {
            let response = io::api_fetch(url, method, &token, request).await?;
            match call.on_response(response.status, response.challenge.as_deref()) {
                ApiStep::Return => return Ok(response.value),
                ApiStep::RetryWithNewToken => token = self.access_token(call.key(), Need::Replacing(&token)).await?,
            }
        }
    }

    /// `logout`: ends the local session, whatever else fails, and returns the provider's
    /// end-session URL when it has one. Value: `{"url": string|null}`.
    async fn logout(&self) -> Result<Reply, Error> {
        let discovered = self.ensure_discovery().await;
        let mut entropy = [0u8; 16];
        let random = io::fill_random(&mut entropy);
        let logout = self.with_mut(|c| Ok(c.logout(&entropy)))?;
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
