//! The messages that cross the worker boundary, as types: the page's calls, the replies and the
//! events. `src/contract.json` names them, and `tests/contract.rs` holds these types to it.
//!
//! They cross as JSON text: `worker.js` `JSON.stringify`s the page's call, [`Call::from_json`]
//! parses it with the core's own parser ([`json`]) and reads the call from it by hand; replies
//! and events are written as JSON text by [`to_json`] ([`WriteJson`], by hand too) and
//! `JSON.parse`d by `worker.js` (the engine's native parser). The one exception is a successful
//! `auth.fetch`, whose value is `fetch.js`'s response object (its body an `ArrayBuffer`
//! transferred to the page), handed back as it is.
//!
//! A call is serde's externally tagged form, `{ "<call>": argument }`, or the bare string
//! `"<call>"` for a call without one, with one argument per call (the fewer shapes, the less
//! code in the module). What the core validates as a whole document with its own rules (the
//! `createAuthClient` options, which refuse unknown names, and the login options, whose
//! `appState` is any JSON) travels as JSON text inside the typed call.
//!
//! The types derive serde's traits: their serde form (read and written by serde_json) is the
//! contract, which tests/contract.rs and tests/fuzz/differential.rs hold the hand-written reader
//! and writer to. The wasm never uses serde's code for them: a match over the parsed value and
//! a writer per type are several KB smaller there.
//!
//! [`json`]: crate::protocol::json

#[allow(unused_imports)]
use crate::prelude::*;
use serde::{Deserialize, Serialize};

use crate::protocol::json::{self, Value};
use crate::protocol::Error;

/// A call from the page (`index.js`), or `tick` from `worker.js`'s own timer.
#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Call {
    /// Creates the client, once: the JSON text of the `createAuthClient` options (validated by
    /// `ClientConfig::from_json`). Value: `null`.
    Configure(String),
    /// Starts a login: the JSON text of `{ appState?, extraParams? }`. Value: `{ url }`.
    Login(String),
    /// Completes a login from the callback URL. Value: `{ appState }`.
    HandleCallback(String),
    /// Value: whether there is a session.
    IsAuthenticated,
    /// `fresh`: ask the UserInfo endpoint. Value: the claims, or `null` without a session.
    GetUser(bool),
    /// Value: the access token.
    GetAccessToken(TokenOptions),
    /// `auth.fetch`: value is `fetch.js`'s response object. The headers and body travel beside
    /// the call (never through wasm memory).
    Fetch(FetchCall),
    /// Ends the session; `true`: the app is to be sent to the provider's end-session URL.
    /// Value: `{ url }` (`null` when not redirecting, or the provider has no such endpoint).
    Logout(bool),
    /// The proactive-refresh timer fired (from `worker.js`, not the page).
    Tick,
    /// A page without a session asks whether to restore the provider's session: the JSON text
    /// of `{ url, hint }` (its address; its session hint, ms or `null`: see
    /// [`restore`](crate::protocol::restore)). Value: `{ restore: "redirect" | "silent", url }`
    /// (the pending login is stored; the page navigates or frames `url`), or `null`.
    Restore(String),
    /// `loginWithPopup`, once the popup was sent to the `login` call's URL: waits until the
    /// callback of the popup login under this pending key was handled. Value: `{ appState }`;
    /// or the login's error.
    AwaitLogin(String),
    /// A popup's callback URL, handed over by the popup page (with `sharing: "tab"` its own
    /// worker is not the one that waits): acted on only by a worker waiting for its `state`.
    /// Value: `null`.
    PopupCallback(String),
    /// `loginWithDeviceCode`: the JSON text of `{ scope? }`. The page's `onCode` and signal
    /// travel beside the call. Value: `{ appState: null }` once signed in.
    DeviceLogin(String),
}

impl Call {
    /// Reads a call from its JSON text; `None` for anything that is not one of the shapes
    /// above (not JSON, an unknown call, a field of the wrong type or missing).
    ///
    /// By hand, as serde reads the derived form (serde's code for it was larger in the wasm):
    /// `"<call>"` or `{"<call>": null}` for a call without argument, `{"<call>": argument}`
    /// otherwise; unknown members of an argument object are ignored. tests/contract.rs and
    /// tests/fuzz/differential.rs hold it to serde_json, tests/web.rs to serde-wasm-bindgen.
    pub fn from_json(text: &str) -> Option<Call> {
        let value = json::parse(text.as_bytes()).ok()?;
        let (name, argument) = match &value {
            Value::String(name) => (name.as_str(), None),
            Value::Object(members) => match members.as_slice() {
                [(name, argument)] => (name.as_str(), Some(argument)),
                _ => return None,
            },
            _ => return None,
        };
        let text = || match argument {
            Some(Value::String(text)) => Some(text.clone()),
            _ => None,
        };
        let flag = || match argument {
            Some(Value::Bool(flag)) => Some(*flag),
            _ => None,
        };
        let none = matches!(argument, None | Some(Value::Null));
        Some(match name {
            "configure" => Call::Configure(text()?),
            "login" => Call::Login(text()?),
            "handleCallback" => Call::HandleCallback(text()?),
            "isAuthenticated" if none => Call::IsAuthenticated,
            "getUser" => Call::GetUser(flag()?),
            "getAccessToken" => Call::GetAccessToken(TokenOptions::from_value(argument?)?),
            "fetch" => Call::Fetch(FetchCall::from_value(argument?)?),
            "logout" => Call::Logout(flag()?),
            "tick" if none => Call::Tick,
            "restore" => Call::Restore(text()?),
            "awaitLogin" => Call::AwaitLogin(text()?),
            "popupCallback" => Call::PopupCallback(text()?),
            "deviceLogin" => Call::DeviceLogin(text()?),
            _ => return None,
        })
    }
}

/// An argument object's string member: `Some(None)` when absent or `null`, `None` when not a
/// string (as serde reads an `Option<String>` field).
fn optional_text(object: &Value, name: &str) -> Option<Option<String>> {
    match object.get(name) {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(text)) => Some(Some(text.clone())),
        Some(_) => None,
    }
}

/// A message's JSON text, written by hand exactly as serde_json writes its serde form
/// (tests/fuzz/differential.rs compares the two on every message type).
pub trait WriteJson {
    /// Appends the message's JSON text to `out`; `None` if it holds a value that is not
    /// written as text (`fetch.js`'s response object).
    fn write_json(&self, out: &mut String) -> Option<()>;
}

/// A reply value held as JSON text already ([`ReplyValue::Json`]).
pub trait HeldJson {
    /// The JSON text, written verbatim; `None`: not written as text.
    fn json_text(&self) -> Option<&str>;
}

/// JSON text written as it is: a value the core already holds as text (claims, `{ appState }`).
/// The text must be one JSON value; only text the core produced or validated is wrapped so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawJson<'a>(pub &'a str);

impl HeldJson for RawJson<'_> {
    fn json_text(&self) -> Option<&str> {
        Some(self.0)
    }
}

/// (For replies that never hold JSON text: `ReplyValue::<()>`.)
impl HeldJson for () {
    fn json_text(&self) -> Option<&str> {
        None
    }
}

/// A reply or an event as JSON text; `None` only for a reply value that is not written as text.
pub fn to_json<T: WriteJson + ?Sized>(message: &T) -> Option<String> {
    let mut out = String::new();
    message.write_json(&mut out)?;
    Some(out)
}

/// `{"url":...}` and the like: a compact object's members, names first.
struct Members<'a> {
    out: &'a mut String,
}

impl<'a> Members<'a> {
    fn new(out: &'a mut String) -> Self {
        out.push('{');
        Members { out }
    }

    /// `,"name":` (no comma before the first member).
    #[inline(never)]
    fn name(&mut self, name: &str) -> &mut String {
        if !self.out.ends_with("{") {
            self.out.push(',');
        }
        json::write_string(self.out, name);
        self.out.push(':');
        self.out
    }

    fn text(&mut self, name: &str, value: Option<&str>) {
        let out = self.name(name);
        match value {
            Some(value) => json::write_string(out, value),
            None => out.push_str("null"),
        }
    }

    fn number(&mut self, name: &str, value: Option<u64>) {
        let out = self.name(name);
        match value {
            Some(value) => json::write_u64(out, value),
            None => out.push_str("null"),
        }
    }

    fn end(self) {
        self.out.push('}');
    }
}

/// `getAccessToken`'s options: the token for `resource` / `scope` (the login's when both are
/// absent).
#[derive(Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenOptions {
    /// Refresh even if the current token is valid.
    #[serde(default)]
    pub force_refresh: bool,
    /// RFC 8707 resource.
    pub resource: Option<String>,
    /// A narrower scope.
    pub scope: Option<String>,
}

impl TokenOptions {
    fn from_value(value: &Value) -> Option<TokenOptions> {
        value.as_object()?;
        Some(TokenOptions {
            force_refresh: match value.get("forceRefresh") {
                None => false,
                Some(value) => value.as_bool()?,
            },
            resource: optional_text(value, "resource")?,
            scope: optional_text(value, "scope")?,
        })
    }
}

/// What the worker reads of an `auth.fetch` request.
#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchCall {
    /// The request URL.
    pub url: String,
    /// The request method. (The header names the core checks are read from the headers that
    /// are sent, beside the call, never from a list the page declares.)
    pub method: String,
}

impl FetchCall {
    fn from_value(value: &Value) -> Option<FetchCall> {
        let text = |name| value.get(name)?.as_str().map(str::to_owned);
        Some(FetchCall { url: text("url")?, method: text("method")? })
    }
}

/// The reply to a call: `{ ok: true, value }` or `{ ok: false, error }`.
#[derive(Debug, Serialize)]
pub struct Reply<'a, J> {
    /// Whether the call succeeded.
    pub ok: bool,
    /// The call's value, when it succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<ReplyValue<J>>,
    /// Why it failed, otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorData<'a>>,
}

impl<'a, J> Reply<'a, J> {
    /// `{ ok: true, value }`.
    pub fn ok(value: ReplyValue<J>) -> Self {
        Reply { ok: true, value: Some(value), error: None }
    }

    /// `{ ok: false, error }`.
    pub fn err(error: &'a Error) -> Self {
        Reply { ok: false, value: None, error: Some(ErrorData::from(error)) }
    }
}

/// A successful call's value. `J` is a value the core or the shell already holds: JSON text
/// the core keeps (claims, `{ appState }`: a [`RawJson`], written verbatim), or `fetch.js`'s
/// response object (never written as text: see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ReplyValue<J> {
    /// `null` (`configure`, `tick`; `getUser` without a session).
    Null,
    /// `isAuthenticated`.
    Bool(bool),
    /// `getAccessToken`: the access token.
    Text(String),
    /// `login`, `logout`: where to send the browser (`null`: nowhere).
    Url {
        /// The URL.
        url: Option<String>,
    },
    /// `restore`: how to attempt it, and the `prompt=none` authorization request.
    Restore {
        /// `redirect` or `silent`.
        restore: &'static str,
        /// The authorization request URL.
        url: String,
    },
    /// `login` of a popup: the URL, and the pending key `awaitLogin` waits on.
    Popup {
        /// The authorization request URL.
        url: String,
        /// The pending login's key.
        popup: String,
    },
    /// Claims, `{ appState }`, an API response.
    Json(J),
}

/// An error as the page's `AuthError` is built from: `{ code, message, reason?, error?,
/// errorDescription?, status? }`. Nothing secret: see [`Error`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorData<'a> {
    /// The stable code.
    pub code: &'static str,
    /// A human-readable message.
    pub message: String,
    /// Which check failed, where the code has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The provider's OAuth `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
    /// The provider's OAuth `error_description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<&'a str>,
    /// The HTTP status of a `token_error` or a 5xx.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl<'a> From<&'a Error> for ErrorData<'a> {
    fn from(error: &'a Error) -> Self {
        let (oauth_error, error_description, status) = match error {
            Error::AuthorizationError(e) => (Some(e.error.as_str()), e.error_description.as_deref(), None),
            Error::TokenError(e) => (Some(e.error.as_str()), e.error_description.as_deref(), Some(e.status)),
            Error::ServerError { status } => (None, None, Some(*status)),
            _ => (None, None, None),
        };
        ErrorData {
            code: error.code(),
            message: error.message(),
            reason: error.reason(),
            error: oauth_error,
            error_description,
            status,
        }
    }
}

/// An event: `{ name, detail }`. `wake` is `worker.js`'s own (when to send `tick`); the
/// others go to the page's `auth.on` listeners. No event carries a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "name", content = "detail", rename_all = "camelCase")]
pub enum Event<'a> {
    /// A callback completed a login.
    Login(TokenInfo<'a>),
    /// A refresh grant succeeded.
    TokenRefreshed(TokenInfo<'a>),
    /// The provider no longer knows the grant: the session is gone.
    SessionExpired {
        /// Why (`invalid_grant`).
        reason: &'static str,
    },
    /// `logout` ended the session: `{}`.
    Logout {},
    /// A refresh failed and the session stays.
    Error(ErrorData<'a>),
    /// In how many milliseconds to send `tick` next (never more than `setTimeout` holds), or
    /// `null` for never.
    Wake {
        /// Milliseconds from now.
        #[serde(rename = "delayMs")]
        delay_ms: Option<u64>,
    },
}

/// What the app may know about a token: `{ expiresAt, scope, resource }`, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo<'a> {
    /// When it expires, in milliseconds since the epoch (`null`: the provider did not say).
    pub expires_at: Option<u64>,
    /// The granted scope, if the provider said.
    pub scope: Option<&'a str>,
    /// The RFC 8707 resource it is for; `null` for the login's token.
    pub resource: Option<&'a str>,
}

impl<J: HeldJson> WriteJson for Reply<'_, J> {
    fn write_json(&self, out: &mut String) -> Option<()> {
        let mut o = Members::new(out);
        o.name("ok").push_str(if self.ok { "true" } else { "false" });
        if let Some(value) = &self.value {
            value.write_json(o.name("value"))?;
        }
        if let Some(error) = &self.error {
            error.write_json(o.name("error"))?;
        }
        o.end();
        Some(())
    }
}

impl<J: HeldJson> WriteJson for ReplyValue<J> {
    fn write_json(&self, out: &mut String) -> Option<()> {
        match self {
            ReplyValue::Null => out.push_str("null"),
            ReplyValue::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
            ReplyValue::Text(text) => json::write_string(out, text),
            ReplyValue::Url { url } => {
                let mut o = Members::new(out);
                o.text("url", url.as_deref());
                o.end();
            }
            ReplyValue::Restore { restore, url } => {
                let mut o = Members::new(out);
                o.text("restore", Some(restore));
                o.text("url", Some(url));
                o.end();
            }
            ReplyValue::Popup { url, popup } => {
                let mut o = Members::new(out);
                o.text("url", Some(url));
                o.text("popup", Some(popup));
                o.end();
            }
            ReplyValue::Json(held) => out.push_str(held.json_text()?),
        }
        Some(())
    }
}

impl WriteJson for ErrorData<'_> {
    fn write_json(&self, out: &mut String) -> Option<()> {
        let mut o = Members::new(out);
        o.text("code", Some(self.code));
        o.text("message", Some(&self.message));
        let members = [("reason", self.reason), ("error", self.error), ("errorDescription", self.error_description)];
        for (name, value) in members {
            if value.is_some() {
                o.text(name, value);
            }
        }
        if let Some(status) = self.status {
            o.number("status", Some(status.into()));
        }
        o.end();
        Some(())
    }
}

impl WriteJson for TokenInfo<'_> {
    fn write_json(&self, out: &mut String) -> Option<()> {
        let mut o = Members::new(out);
        o.number("expiresAt", self.expires_at);
        o.text("scope", self.scope);
        o.text("resource", self.resource);
        o.end();
        Some(())
    }
}

impl WriteJson for Event<'_> {
    fn write_json(&self, out: &mut String) -> Option<()> {
        let name = match self {
            Event::Login(_) => "login",
            Event::TokenRefreshed(_) => "tokenRefreshed",
            Event::SessionExpired { .. } => "sessionExpired",
            Event::Logout {} => "logout",
            Event::Error(_) => "error",
            Event::Wake { .. } => "wake",
        };
        let mut o = Members::new(out);
        o.text("name", Some(name));
        let detail = o.name("detail");
        match self {
            Event::Login(info) | Event::TokenRefreshed(info) => info.write_json(detail)?,
            Event::Error(error) => error.write_json(detail)?,
            _ => {
                let mut d = Members::new(detail);
                match self {
                    Event::SessionExpired { reason } => d.text("reason", Some(reason)),
                    Event::Wake { delay_ms } => d.number("delayMs", *delay_ms),
                    _ => {}
                }
                d.end();
            }
        }
        o.end();
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The boundary's own writer (tests/fuzz/differential.rs holds it to serde_json).
    fn json<T: WriteJson>(value: &T) -> String {
        to_json(value).unwrap()
    }

    #[test]
    fn replies_are_ok_with_a_value_or_not_ok_with_an_error() {
        assert_eq!(json(&Reply::ok(ReplyValue::<()>::Null)), r#"{"ok":true,"value":null}"#);
        assert_eq!(json(&Reply::ok(ReplyValue::<()>::Bool(false))), r#"{"ok":true,"value":false}"#);
        assert_eq!(json(&Reply::ok(ReplyValue::<()>::Text("t".into()))), r#"{"ok":true,"value":"t"}"#);
        assert_eq!(json(&Reply::ok(ReplyValue::<()>::Url { url: None })), r#"{"ok":true,"value":{"url":null}}"#);
        // JSON the core holds as text goes in as it is.
        let claims = RawJson(r#"{"sub":"a","n":[1.5e3]}"#);
        assert_eq!(json(&Reply::ok(ReplyValue::Json(claims))), r#"{"ok":true,"value":{"sub":"a","n":[1.5e3]}}"#);
        // The error object is the one `AuthError` is built from (the former hand-built JSON).
        let error = Error::token_error("invalid_grant", Some("gone".into()), 400);
        assert_eq!(json(&Reply::<()>::err(&error)), format!(r#"{{"ok":false,"error":{}}}"#, error.to_json()));
        for error in [Error::LoginRequired, Error::Config { reason: &"issuer" }, Error::ServerError { status: 503 }] {
            assert_eq!(json(&ErrorData::from(&error)), error.to_json());
        }
    }

    #[test]
    fn events_are_a_name_and_a_detail() {
        assert_eq!(
            json(&Event::SessionExpired { reason: "invalid_grant" }),
            r#"{"name":"sessionExpired","detail":{"reason":"invalid_grant"}}"#
        );
        assert_eq!(json(&Event::Wake { delay_ms: Some(5) }), r#"{"name":"wake","detail":{"delayMs":5}}"#);
        let info = TokenInfo { expires_at: None, scope: Some("openid"), resource: None };
        assert_eq!(
            json(&Event::TokenRefreshed(info)),
            r#"{"name":"tokenRefreshed","detail":{"expiresAt":null,"scope":"openid","resource":null}}"#
        );
    }

    #[test]
    fn calls_other_than_the_typed_ones_are_refused() {
        for text in [r#""configure""#, r#"{"getUser":{}}"#, r#"{"login":{}}"#, r#"{"fetch":{"url":"u"}}"#, r#"{"tick":null,"logout":null}"#, "[]"] {
            assert_eq!(Call::from_json(text), None, "{text}");
        }
    }
}
