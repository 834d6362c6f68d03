//! The wasm shell: the worker's entry object, [`WorkerHost`].
//!
//! It performs the I/O the core asks for and nothing else: it reads a call, lends the core
//! the clock and fresh random bytes, performs the core's [`HttpRequest`]s with `fetch`
//! ([`io`]), keeps the pending login in IndexedDB ([`store`]) and writes the reply.
//! Protocol decisions all live in [`crate::protocol`]. Calls, replies and events are the
//! typed messages of [`crate::protocol::messages`], crossing as JSON text ([`boundary`]).
//!
//! Every step borrows the client, computes, releases the borrow and only then awaits, so no
//! `RefCell` borrow is ever held across an `await`.
//!
//! [`HttpRequest`]: crate::protocol::http::HttpRequest

#[allow(unused_imports)]
use crate::prelude::*;
use core::cell::{Cell, Ref, RefCell, RefMut};
use alloc::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::protocol::api_call::ApiStep;
use crate::protocol::authorization::Callback;
use crate::protocol::client::{Client, Purpose, SignatureStep, TokenExchange, UserInfo, ENTROPY_LEN};
use crate::protocol::event::Event as SessionEvent;
use crate::protocol::device::DevicePoll;
use crate::protocol::dpop::{DpopCall, NonceStep, UnsignedProof, JTI_BYTES};
use crate::protocol::http::{HttpRequest, HttpResponse};
use crate::protocol::refresh::{Exchanged, Need, RefreshTicket, TokenStep};
use crate::protocol::config::{session_key, token_key, Restore};
use crate::protocol::persist::PersistAction;
use crate::protocol::restore::{restore_login_options, RestoreRequest};
use crate::protocol::jws::VerifiedSignature;
use crate::protocol::schedule::timer_delay_ms;
use crate::protocol::codec::json::{self, Value};
use crate::protocol::messages::{Call, Event, FetchCall, ReplyValue, TokenOptions};
use crate::protocol::types::TokenKey;
use crate::protocol::Error;

pub mod boundary;
pub mod io;
pub mod single_flight;
pub mod store;
pub mod task;

use boundary::Held;
use single_flight::{SingleFlight, Turn};

const INVALID_CALL: Error = Error::Config {
    reason: &"invalid_call",
};
const NOT_CONFIGURED: Error = Error::Config {
    reason: &"not_configured",
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
    /// Where events go (`worker.js` posts them to the page): [`Event`]s as JS objects.
    events: RefCell<Option<js_sys::Function>>,
    /// The wake-up time last handed to `worker.js`'s timer (Unix seconds).
    scheduled: Cell<Option<u64>>,
    /// What a session holder files this configuration's session under ([`session_key`]).
    session_key: RefCell<Option<String>>,
    /// The DPoP key pair, `[privateKey, rawPublicKey]`, when the core asked for one: the
    /// private half is non-extractable and never leaves the worker (or its store); it only signs.
    dpop_key: RefCell<Option<JsValue>>,
    /// Settles once the look into the store for a persisted session is over, while one is
    /// under way: what concurrent restores wait for. (Not a [`SingleFlight`]: a second copy of
    /// its machinery cost ~400 B gzip of wasm; this ~200 B less, measured.)
    resume_looking: RefCell<Option<Promise>>,
    /// Popup logins whose page waits (`awaitLogin`), by pending key: where the outcome goes.
    popups: RefCell<Vec<(String, PopupWaiter)>>,
}

/// Where a popup login's outcome goes, and the function that wakes its `awaitLogin`.
type PopupWaiter = (Rc<RefCell<Option<Result<Reply, Error>>>>, js_sys::Function);

/// A successful call's value, boxed: it travels up through the futures of every call, and one
/// word moves for less code than the value (~50 B gzip of wasm, measured).
type Reply = Box<ReplyValue<Held>>;

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

    /// Sets the function that receives every [`Event`] as the JSON text of `{ name, detail }`:
    /// `login`, `tokenRefreshed`, `sessionExpired`, `logout`, `error` for the page, and `wake`
    /// (`{ delayMs: <ms> | null }`: when to call `handle("tick")`) for `worker.js` itself.
    /// No event carries a token.
    #[wasm_bindgen(js_name = setEventListener)]
    pub fn set_event_listener(&self, listener: js_sys::Function) {
        *self.host.events.borrow_mut() = Some(listener);
    }

    /// The key a session holder (`worker.js` in a SharedWorker) files this host under once
    /// `configure` succeeded ([`session_key`]): pages that pass the same options share it.
    /// Its first two lines are the issuer and the client ID. `undefined` before.
    #[wasm_bindgen(js_name = sessionKey)]
    pub fn session_key(&self) -> Option<String> {
        self.host.session_key.borrow().clone()
    }

    /// Handles one [`Call`], as JSON text (`{"login":"<options JSON>"}`, `"isAuthenticated"`, ...).
    /// `request` is for `fetch` only: what `fetch.js` needs besides the call
    /// (`{ headers, body, init, signal }`, never read here: the body never enters wasm memory).
    ///
    /// The promise resolves with the [`Reply`](crate::protocol::messages::Reply)'s JSON text,
    /// `{"ok":true,"value":...}` or `{"ok":false,"error":{...}}`, except after a successful
    /// `fetch`, with `fetch.js`'s response object (the value itself). It rejects only if the
    /// worker itself failed (`worker.js` then fails every call).
    pub fn handle(&self, call: String, request: JsValue) -> Promise {
        let host = self.host.clone();
        task::to_promise(async move {
            let result = match boundary::read_call(&call) {
                Ok(call) => host.dispatch(call, &request).await,
                Err(error) => Err(error),
            };
            host.sync_store().await;
            host.reschedule();
            boundary::write_reply(result)
        })
    }
}

impl Host {
    /// Sends an event to the listener, if any.
    fn emit(&self, event: &Event) {
        self.post(boundary::to_text(event));
    }

    fn post(&self, event: Option<JsValue>) {
        if let (Some(listener), Some(event)) = (self.events.borrow().as_ref(), event) {
            let _ = listener.call1(&JsValue::NULL, &event);
        }
    }

    /// Sends an event the core decided on, in its wire form.
    fn emit_event(&self, event: &SessionEvent) {
        match event {
            SessionEvent::Login => self.emit_token_event(false, &TokenKey::default()),
            SessionEvent::TokenRefreshed { key } => self.emit_token_event(true, key),
            SessionEvent::SessionExpired { reason } => self.emit(&Event::SessionExpired { reason }),
            SessionEvent::Error(error) => self.emit(&Event::Error(error.into())),
        }
    }

    /// The `login` (`refreshed: false`) or `tokenRefreshed` event for `key`'s token.
    fn emit_token_event(&self, refreshed: bool, key: &TokenKey) {
        let event = {
            let client = self.client.borrow();
            let Some(info) = client.as_ref().and_then(|c| c.token_info(key)) else {
                return;
            };
            boundary::to_text(&if refreshed { Event::TokenRefreshed(info) } else { Event::Login(info) })
        };
        self.post(event);
    }

    /// Hands the next proactive refresh to `worker.js`'s timer, when it changed: the internal
    /// `wake` event, `{"delayMs": <ms>}` or `{"delayMs": null}` for none, which `worker.js`
    /// keeps for itself (it arms the `tick` call) instead of posting it. The delay never
    /// exceeds what `setTimeout` holds ([`timer_delay_ms`]): a wake-up before the time finds
    /// nothing due, and the `tick` re-arms the timer for the rest.
    fn reschedule(&self) {
        let at = self.with(|c| Ok(c.auto_refresh_at())).ok().flatten();
        if at == self.scheduled.replace(at) {
            return;
        }
        let delay_ms = at.map(|at| timer_delay_ms(at, io::now_ms()));
        self.emit(&Event::Wake { delay_ms });
    }

    async fn dispatch(&self, call: Call, request: &JsValue) -> Result<Reply, Error> {
        match call {
            Call::Configure(config) => self.configure(&config),
            // One path for both (one copy of the login's future in the module).
            call @ (Call::Login(_) | Call::Restore(_)) => {
                let (options, mode) = match call {
                    Call::Login(options) => (login_options(&options)?, None),
                    Call::Restore(request) => {
                        let request = json::parse(request.as_bytes()).ok().as_ref().and_then(RestoreRequest::from_json).ok_or_else(|| INVALID_CALL)?;
                        // A persisted session first: no provider page at all.
                        if self.resume_persisted(&request.url).await? {
                            return Ok(Box::new(ReplyValue::Null));
                        }
                        match self.restore_plan(&request)? {
                            Some((options, mode)) => (options, Some(mode)),
                            None => return Ok(Box::new(ReplyValue::Null)),
                        }
                    }
                    _ => unreachable!(),
                };
                let popup = options.get("popup").and_then(Value::as_bool) == Some(true);
                let (url, pending_key) = self.begin_login(&options).await?;
                Ok(Box::new(match mode {
                    None if popup => ReplyValue::Popup { url, popup: pending_key },
                    None => ReplyValue::Url { url: Some(url) },
                    Some(Restore::Silent) => ReplyValue::Restore { restore: "silent", url },
                    Some(_) => ReplyValue::Restore { restore: "redirect", url },
                }))
            }
            Call::HandleCallback(url) => self.handle_callback(&url).await,
            Call::AwaitLogin(key) => self.await_popup(key).await,
            Call::DeviceLogin(options) => {
                let scope = device_scope(&options)?;
                self.device_login(scope.as_deref(), request).await
            }
            // Only for a popup login this worker waits for: anything else is ignored, unread.
            Call::PopupCallback(url) => {
                let key = self.with(|c| c.parse_callback(&url)).map(|cb| cb.pending_key());
                if key.is_ok_and(|key| self.popups.borrow().iter().any(|(k, _)| *k == key)) {
                    let _ = self.handle_callback(&url).await;
                }
                Ok(Box::new(ReplyValue::Null))
            }
            Call::Fetch(FetchCall { url, method }) => {
                self.api_fetch(&url, &method, request).await.map(|r| Box::new(ReplyValue::Json(Held::Response(r))))
            }
            Call::IsAuthenticated => Ok(Box::new(ReplyValue::Bool(self.with(|c| Ok(c.is_authenticated()))?))),
            Call::GetUser(true) => self.fresh_user().await,
            Call::GetUser(false) => match self.with(|c| Ok(c.user_json().map(str::to_owned)))? {
                Some(claims) => Ok(Box::new(ReplyValue::Json(Held::Json(claims)))),
                None => Ok(Box::new(ReplyValue::Null)),
            },
            Call::GetAccessToken(TokenOptions { force_refresh, resource, scope }) => {
                self.with(Client::check_token_exposure)?;
                let need = if force_refresh { Need::Fresh } else { Need::Valid };
                let key = token_key(&boundary::token_options(resource, scope))?;
                self.access_token(&key, need).await.map(|t| Box::new(ReplyValue::Text(t)))
            }
            Call::Logout(redirect) => self.logout(redirect).await,
            // The timer fired: refresh the login's token if the core says it is time.
            // Failures reach the app as events; the session stays for the next call.
            Call::Tick => {
                self.scheduled.set(None); // that timer is spent
                if self.with_mut(|c| Ok(c.start_auto_refresh(io::now())))? {
                    let _ = self.access_token(&TokenKey::default(), Need::Fresh).await;
                }
                Ok(Box::new(ReplyValue::Null))
            }
        }
    }

    /// Runs `f` on the client, borrowed only for the duration of `f`. (`#[inline]`: a function
    /// per closure, each passing its result on, cost ~1.4 KB gzip when results were large; with
    /// two-word errors the hint measures 36 B less than `inline(always)`, 66 B less than none.)
    #[inline]
    fn with<R>(&self, f: impl FnOnce(&Client) -> Result<R, Error>) -> Result<R, Error> {
        f(&*self.client()?)
    }

    /// Runs `f` on the client, borrowed mutably only for the duration of `f`.
    #[inline]
    fn with_mut<R>(&self, f: impl FnOnce(&mut Client) -> Result<R, Error>) -> Result<R, Error> {
        f(&mut *self.client_mut()?)
    }

    /// The client, borrowed (`with`'s part that is not generic: one copy in the module).
    #[inline(never)]
    fn client(&self) -> Result<Ref<'_, Client>, Error> {
        Ref::filter_map(self.client.borrow(), Option::as_ref).map_err(|_| NOT_CONFIGURED)
    }

    /// The client, borrowed mutably (`with_mut`'s part that is not generic).
    #[inline(never)]
    fn client_mut(&self) -> Result<RefMut<'_, Client>, Error> {
        RefMut::filter_map(self.client.borrow_mut(), Option::as_mut).map_err(|_| NOT_CONFIGURED)
    }

    /// `configure {config}`: creates the client, once. A worker serves one provider.
    fn configure(&self, config: &str) -> Result<Reply, Error> {
        let mut slot = self.client.borrow_mut();
        if slot.is_some() {
            return Err(Error::Config {
                reason: &"already_configured",
            });
        }
        let text = config;
        let config = json::parse(text.as_bytes()).map_err(|_| Error::Config { reason: &"options" })?;
        let client = Client::new(&config)?;
        *self.session_key.borrow_mut() = Some(session_key(client.config(), text));
        *slot = Some(client);
        Ok(Box::new(ReplyValue::Null))
    }

    /// Fetches and validates the provider metadata unless the client already has it.
    async fn ensure_discovery(&self) -> Result<(), Error> {
        let Some(request) =
            self.with(|c| Ok(c.needs_discovery().then(|| c.discovery_request())))?
        else {
            return Ok(());
        };
        let response = io::fetch(&request).await?.response;
        self.with_mut(|c| match c.needs_discovery() {
            true => c.process_discovery_response(&response),
            false => Ok(()), // a concurrent call got there first
        })
    }

    /// `restore {url, hint}`: whether the core says to start a `prompt=none` login whose
    /// answer the page brings back (by a redirect, or from a hidden iframe), and its login
    /// options. The reply is `{"restore": "redirect" | "silent", "url": ...}`, or `null`: then
    /// nothing was requested from the provider.
    fn restore_plan(&self, request: &RestoreRequest) -> Result<Option<(Value, Restore)>, Error> {
        let now_ms = io::now_ms();
        self.with_mut(|c| {
            let mode = c.decide_restore(request, now_ms);
            Ok(mode.map(|mode| (restore_login_options(c.config(), &request.url, mode == Restore::Silent), mode)))
        })
    }

    /// `login {options}` (and a restore): builds the authorization request and persists the
    /// pending login before the page navigates away; returns the request's URL.
    async fn begin_login(&self, options: &Value) -> Result<(String, String), Error> {
        self.ensure_discovery().await?;
        self.ensure_dpop_key().await?;
        let mut entropy = [0u8; ENTROPY_LEN];
        io::fill_random(&mut entropy)?;
        let now = io::now();
        let start = self.with(|c| c.begin_login(options, &entropy, now));
        entropy.fill(0);
        let mut start = start?;
        // RFC 9126: the parameters go to the provider first, the browser gets a `request_uri`
        // (with a DPoP proof in a DPoP session, RFC 9449 §10.1).
        if let Some(push) = start.push.take() {
            let answer = self.send(&push).await?;
            start.url = self.with(|c| c.pushed_authorization_url(&answer))?;
        }
        // The key the code is bound to (`dpop_jkt`) goes with the pending login: the callback
        // may reach a worker that did not start it.
        let dpop_key = self.dpop_key.borrow().clone().unwrap_or_else(|| JsValue::UNDEFINED);
        store::put(&start.pending_key, start.pending_record.expose(), start.expires_at, now, &dpop_key).await?;
        Ok((start.url, start.pending_key))
    }

    /// `handleCallback {url}`: validates the callback against its pending login (taken from
    /// the store, single-use) and redeems the code. Value: `{"appState": ...}`. A popup login's
    /// callback settles the `awaitLogin` that waits for it instead, and the popup page gets
    /// `{"popup": "done"}`; in a worker that does not wait for it (`sharing: "tab"`), it is
    /// left in the store and the page gets `{"popup": "forward"}`: hand it to the opener.
    async fn handle_callback(&self, url: &str) -> Result<Reply, Error> {
        self.ensure_discovery().await?;
        let callback = self.with(|c| c.parse_callback(url))?;
        let now = io::now();
        let key = callback.pending_key();
        let waiter = {
            let mut popups = self.popups.borrow_mut();
            popups.iter().position(|(k, _)| *k == key).map(|i| popups.swap_remove(i).1)
        };
        let Some((outcome, wake)) = waiter else {
            if store::peek(&key, now).await?.is_some_and(|record| Client::is_popup_record(&record)) {
                return Ok(Box::new(ReplyValue::Json(Held::Json(r#"{"appState":null,"popup":"forward"}"#.into()))));
            }
            return self.redeem(callback, &key, now).await;
        };
        *outcome.borrow_mut() = Some(self.redeem(callback, &key, now).await);
        let _ = wake.call0(&JsValue::UNDEFINED);
        Ok(Box::new(ReplyValue::Json(Held::Json(r#"{"appState":null,"popup":"done"}"#.into()))))
    }

    /// `deviceLogin {scope?}` (RFC 8628): the device authorization request, the user code to the
    /// page (`request.onCode`), then token requests at the provider's interval until the core
    /// says the user decided; the tokens end in a session like a redirect login's. The page's
    /// signal stops the polling (`network` / `aborted`).
    async fn device_login(&self, scope: Option<&str>, request: &JsValue) -> Result<Reply, Error> {
        self.ensure_discovery().await?;
        self.ensure_dpop_key().await?;
        // (In blocks, here and below: what is done with is dropped before the next await, so
        // the future neither holds it nor has to drop it in each later state.)
        let mut login = {
            let start = self.with(|c| c.device_authorization_request(scope))?;
            let answer = io::fetch(&start).await?.response;
            self.with(|c| c.process_device_authorization(&answer, io::now()))?
        };
        io::device_code(request, &login.code_json());
        let mut wait = login.interval;
        loop {
            io::device_wait(wait, request).await?;
            let poll = self.with(|c| c.device_token_request(&login))?;
            let answer = self.send(&poll).await?;
            match login.on_token_response(&answer, io::now())? {
                DevicePoll::Wait(seconds) => wait = seconds,
                DevicePoll::Tokens => break self.finish_login(self.with(|c| c.process_device_tokens(&answer, io::now()))?).await,
            }
        }
    }

    /// Ends a login's token exchange: the checks, the session, the `login` event.
    async fn finish_login(&self, exchange: Box<TokenExchange>) -> Result<Reply, Error> {
        match self.complete_exchange(exchange).await? {
            Exchanged::LoggedIn { reply, event } => {
                self.emit_event(&event);
                Ok(Box::new(ReplyValue::Json(Held::Json(reply))))
            }
            // A logout ended things while the code was redeemed.
            _ => Err(Error::LoginRequired),
        }
    }

    /// `awaitLogin {key}`: waits until the callback of the popup login under `key` was handled
    /// ([`Host::handle_callback`]), and answers with its outcome.
    async fn await_popup(&self, key: String) -> Result<Reply, Error> {
        let outcome = Rc::new(RefCell::new(None));
        let (done, wake, _) = task::pending_promise();
        self.popups.borrow_mut().push((key, (outcome.clone(), wake)));
        let _ = wasm_bindgen_futures::JsFuture::from(done).await;
        let result = outcome.borrow_mut().take();
        result.unwrap_or_else(|| Err(INVALID_CALL))
    }

    /// Takes the pending login of `callback` out of the store (single-use), checks the callback
    /// against it and redeems the code.
    async fn redeem(&self, callback: Box<Callback>, key: &str, now: u64) -> Result<Reply, Error> {
        let (record, login_key) = store::take(key, now).await?.unzip();
        // The code is bound to the key stored with its login (RFC 9449 §10).
        if let Some(public) = login_key.as_ref().and_then(io::dpop_public_key) {
            if self.with_mut(|c| c.use_login_key(&public))? {
                *self.dpop_key.borrow_mut() = login_key;
            }
        }
        // (Without one, a DPoP client makes its key now; a code bound to another is refused.)
        self.ensure_dpop_key().await?;
        let callback = match self.with(|c| c.complete_callback(callback, record.as_deref(), now)) {
            Ok(callback) => callback,
            // A restore that found the user signed out: no session, no error.
            Err(error) => match self.with(|c| Ok(c.declined_restore(record.as_deref(), &error)))? {
                Some(reply) => return Ok(Box::new(ReplyValue::Json(Held::Json(reply)))),
                None => return Err(error),
            },
        };
        let exchange = {
            let request = self.with(|c| c.code_exchange_request(&callback))?;
            let response = self.send(&request).await?;
            self.with(|c| c.process_code_exchange_response(callback, &response))?
        };
        self.finish_login(exchange).await
    }

    /// Verifies the signature of a JWS from the provider: fetches its keys when the core asks
    /// (first use, or once again for an unknown `kid`), then WebCrypto with the key it chose.
    async fn verify_jws(&self, jws: &str, purpose: Purpose) -> Result<VerifiedSignature, Error> {
        loop {
            match self.with_mut(|c| c.signature_step(jws, purpose, io::now()))? {
                SignatureStep::FetchKeys(request) => {
                    let response = io::fetch(&request).await?.response;
                    self.with_mut(|c| c.process_jwks_response(&response))?;
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
    async fn complete_exchange(&self, exchange: Box<TokenExchange>) -> Result<Exchanged, Error> {
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
    async fn fresh_user(&self) -> Result<Reply, Error> {
        self.access_token(&TokenKey::default(), Need::Valid).await?;
        let info = {
            let request = self.with(|c| c.userinfo_request(io::now()))?;
            let response = self.send(&request).await?;
            self.with(|c| c.process_userinfo_response(&response))?
        };
        match info {
            UserInfo::Claims(claims) => Ok(Box::new(ReplyValue::Json(Held::Json(claims)))),
            UserInfo::Signed(jws) => {
                let signature = self.verify_jws(&jws, Purpose::UserInfo).await;
                let claims = self.with(|c| c.complete_userinfo(&jws, signature))?;
                Ok(Box::new(ReplyValue::Json(Held::Json(claims))))
            }
        }
    }

    /// The access token for `key` (`getAccessToken {options:{forceRefresh?, resource?,
    /// scope?}}`), obtained with the refresh token first when the core says so. Concurrent
    /// callers for one key share one grant; grants for different keys take turns.
    async fn access_token(&self, key: &TokenKey, need: Need<'_>) -> Result<String, Error> {
        loop {
            match self.with(|c| c.token_step(key, need, io::now()))? {
                TokenStep::Use(token) => return Ok(token),
                // Both go through the single flight: it joins or waits out the grant in flight.
                TokenStep::Refresh | TokenStep::Wait => {}
            }
            // (The grant's future borrows `self` and `key`, which outlive it: no clones to hold.)
            match self.refresh.run(key, || self.refresh_once(key)).await {
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
            let _ = self.send(request).await;
        }
        end.result
    }

    async fn refresh_grant(&self, ticket: &RefreshTicket, request: &HttpRequest) -> Result<(), Error> {
        let response = self.send(request).await?;
        // (`None`: the session the grant was made for ended meanwhile; the answer is dropped.)
        if let Some(exchange) = self.with_mut(|c| c.process_refresh_response(ticket, &response))? {
            self.complete_exchange(exchange).await?;
        }
        Ok(())
    }

    /// `fetch {url, method}` (`auth.fetch`): sends the page's request to one of the configured
    /// `apiOrigins` with the access token attached, refreshing once and retrying once on a
    /// Bearer `invalid_token` challenge, within the configured time and response size.
    async fn api_fetch(&self, url: &str, method: &str, request: &JsValue) -> Result<JsValue, Error> {
        // The names of the headers that will be sent, joined by `,` (a character no header name
        // has), read from those very headers: a list the page declared beside them could hide an
        // `Authorization` among them. (Read here, not held by the future past this line.)
        let (key, limits) = {
            let header_names = io::api_header_names(request).ok_or_else(|| INVALID_CALL)?;
            self.with(|c| Ok((c.api_token_key(url, method, &header_names)?, io::ApiLimits::of(c.config()))))?
        };
        let (mut call, mut dpop) = self.with(|c| Ok((c.api_call(key), c.dpop_call(url)?)))?;
        let mut token = self.access_token(call.key(), Need::Valid).await?;
        loop {
            let (authorization, proof) = match &dpop {
                Some(dpop) => {
                    let (jti, now) = (jti()?, io::now());
                    let proof = self.with(|c| Ok((c.authorization(&token), c.api_proof(url, method, Some(&token), dpop, &jti, now)?)))?;
                    (proof.0, Some(self.sign(proof.1).await?))
                }
                None => (self.with(|c| Ok(c.authorization(&token)))?, None),
            };
            let response = io::api_fetch(url, method, &authorization, proof, request, &limits).await?;
            // RFC 9449 §9: one retry with the nonce an API demanded.
            if let Some(dpop) = dpop.as_mut() {
                let (status, challenge, nonce) = (response.status, response.challenge.as_deref(), response.dpop_nonce.as_deref());
                if self.with_mut(|c| Ok(c.on_api_dpop_response(dpop, status, challenge, nonce)))? == NonceStep::RetryWithNonce {
                    continue;
                }
            }
            // The core decides (RFC 6750 §3.1: one refresh and one retry on `invalid_token`).
            match call.on_response(response.status, response.challenge.as_deref()) {
                ApiStep::Return => return Ok(response.value),
                ApiStep::RetryWithNewToken => token = self.access_token(call.key(), Need::Replacing(&token)).await?,
            }
        }
    }

    /// Makes the worker's DPoP key when the core asks for one (once per client): the private
    /// half stays here, the public half goes to the core.
    async fn ensure_dpop_key(&self) -> Result<(), Error> {
        if !self.with(|c| Ok(c.needs_dpop_key()))? {
            return Ok(());
        }
        let pair = io::generate_dpop_key().await?;
        let public = io::dpop_public_key(&pair).ok_or_else(|| Error::Config { reason: &"dpop_key" })?;
        self.with_mut(|c| match c.needs_dpop_key() {
            true => c.set_dpop_key(&public),
            false => Ok(()), // a concurrent call got there first
        })?;
        *self.dpop_key.borrow_mut() = Some(pair);
        Ok(())
    }

    /// `persist: "dpop-bound"`: takes up the session stored in this browser, if the core says
    /// to look (once per worker; concurrent restores share the look), and signs it in with one
    /// refresh grant and no provider page. `true` once signed in.
    async fn resume_persisted(&self, page_url: &str) -> Result<bool, Error> {
        // (The core names the store's record to the first caller only.)
        let id = self.with_mut(|c| Ok(c.resume_id(page_url)))?;
        let (looking, done) = match id {
            Some(_) => {
                let (looking, done, _) = task::pending_promise();
                *self.resume_looking.borrow_mut() = Some(looking);
                (None, Some(done))
            }
            None => (self.resume_looking.borrow().clone(), None),
        };
        if let Some(looking) = looking {
            let _ = wasm_bindgen_futures::JsFuture::from(looking).await;
        }
        if let Some(id) = id {
            // (An unreadable store is an empty one: the page simply starts without a session.)
            if let Ok(Some((record, pair))) = store::session_get(&id).await {
                let public = io::dpop_public_key(&pair).unwrap_or_default();
                if self.with_mut(|c| Ok(c.resume(&record, &public))).unwrap_or(false) {
                    *self.dpop_key.borrow_mut() = Some(pair);
                }
            }
            *self.resume_looking.borrow_mut() = None;
            if let Some(done) = done {
                let _ = done.call0(&JsValue::UNDEFINED);
            }
        }
        if self.with(|c| Ok(c.is_authenticated()))? {
            return Ok(true);
        }
        // A resumed session is signed in by its first grant (shared with any caller).
        if !self.with(|c| Ok(c.is_resuming()))? {
            return Ok(false);
        }
        self.ensure_discovery().await?;
        Ok(self.access_token(&TokenKey::default(), Need::Valid).await.is_ok())
    }

    /// Brings the store in line with the session, as the core decides after every call: the
    /// persisted session written or deleted, and the DPoP key let go of when the core did
    /// (a session that ended takes its key with it).
    async fn sync_store(&self) {
        if self.with(|c| Ok(c.dpop_thumbprint().is_none())).unwrap_or(true) {
            *self.dpop_key.borrow_mut() = None;
        }
        // (One action per call: a change made meanwhile is carried out after the next call.)
        let Some(action) = self.with_mut(|c| Ok(c.persist_action())).ok().flatten() else { return };
        let (id, record) = match &action {
            PersistAction::Store { id, record } => (id, Some(record.expose())),
            PersistAction::Delete { id } => (id, None),
        };
        let pair = self.dpop_key.borrow().clone().unwrap_or_else(|| JsValue::UNDEFINED);
        if store::session_write(id, record, &pair).await.is_err() {
            let _ = self.with_mut(|c| {
                c.persist_failed();
                Ok(())
            });
        }
    }

    /// Signs a DPoP proof the core built with the worker's private key: the `DPoP` header.
    async fn sign(&self, proof: UnsignedProof) -> Result<String, Error> {
        let key = self.dpop_key.borrow().clone().ok_or_else(|| Error::Config { reason: &"dpop_key" })?;
        let signature = io::sign_es256(&key, proof.signing_input()).await?;
        Client::finish_proof(proof, &signature)
    }

    /// Performs a request the core built for the provider (token, revocation, UserInfo): in a
    /// DPoP session with a proof the core built and the worker signed, sent once more with the
    /// nonce the provider demanded, when the core says so (RFC 9449 §8, §9).
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, Error> {
        let mut call = self.with(|c| c.dpop_call(&request.url))?;
        loop {
            // (One place fetches, with or without a proof: each place that awaits costs wasm.)
            let proven = match &call {
                Some(call) => {
                    let mut proven = request.clone();
                    let proof = self.prove(&proven, call).await?;
                    proven.headers.push(("DPoP".into(), proof));
                    Some(proven)
                }
                None => None,
            };
            let fetched = io::fetch(proven.as_ref().unwrap_or(request)).await?;
            let Some(call) = call.as_mut() else { return Ok(fetched.response) };
            let (challenge, nonce) = (fetched.challenge.as_deref(), fetched.dpop_nonce.as_deref());
            let step = self.with_mut(|c| Ok(c.on_provider_dpop_response(call, request, &fetched.response, challenge, nonce)))?;
            if step == NonceStep::Done {
                return Ok(fetched.response);
            }
        }
    }

    async fn prove(&self, request: &HttpRequest, call: &DpopCall) -> Result<String, Error> {
        let (jti, now) = (jti()?, io::now());
        let proof = self.with(|c| c.dpop_proof(request, call, &jti, now))?;
        self.sign(proof).await
    }

    /// `logout {options:{redirect?}}`: ends the local session, whatever else fails, and returns
    /// the provider's end-session URL (which holds no token) when the page is to go there and
    /// the provider has one. Value: `{"url": string|null}`; `null` with `redirect: false`.
    async fn logout(&self, redirect: bool) -> Result<Reply, Error> {
        let discovered = self.ensure_discovery().await;
        let mut entropy = [0u8; 16];
        let random = io::fill_random(&mut entropy);
        let logout = self.with_mut(|c| Ok(c.logout(&entropy, redirect)))?;
        // RFC 7009: the session is already gone locally; a failed revocation must not undo
        // that, so each outcome is ignored (the provider's tokens then simply expire).
        for request in &logout.revocations {
            let _ = self.send(request).await;
        }
        self.emit(&Event::Logout {});
        random?;
        discovered?;
        Ok(Box::new(ReplyValue::Url { url: logout.end_session_url }))
    }
}

/// Fresh random bytes for a DPoP proof's `jti`.
fn jti() -> Result<[u8; JTI_BYTES], Error> {
    let mut jti = [0u8; JTI_BYTES];
    io::fill_random(&mut jti)?;
    Ok(jti)
}

/// `deviceLogin`'s scope, from `{ scope? }` as JSON text. (Read here, not in `dispatch`: the
/// parsed options are never part of its future.)
#[inline(never)]
fn device_scope(text: &str) -> Result<Option<String>, Error> {
    let options = json::parse(text.as_bytes()).map_err(|_| INVALID_CALL)?;
    Ok(match options.get("scope") {
        None | Some(Value::Null) => None,
        Some(scope) => Some(scope.as_str().ok_or_else(|| Error::Config { reason: &"scope" })?.to_owned()),
    })
}

/// `login`'s options, `{ appState?, extraParams? }` as JSON text (`null`: none).
fn login_options(text: &str) -> Result<Value, Error> {
    match json::parse(text.as_bytes()) {
        Ok(Value::Null) => Ok(Value::Object(Vec::new())),
        Ok(options) => Ok(options),
        Err(_) => Err(INVALID_CALL),
    }
}

#[cfg(feature = "bench")] pub mod bench;
