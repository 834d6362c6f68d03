//! The messages that cross the worker boundary, as types: the page's calls, the replies and the
//! events. `src/contract.json` names them, and `tests/contract.rs` holds these types to it.
//!
//! They cross as JSON text: `worker.js` `JSON.stringify`s the page's call, [`Call::from_json`]
//! parses it with the core's own parser ([`json`]) and reads it with serde
//! ([`json_serde`]); replies and events are written as JSON text by [`to_json`] and
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
//! [`json`]: crate::protocol::json

#[allow(unused_imports)]
use crate::prelude::*;
use serde::{Deserialize, Serialize};

use crate::protocol::codec::json_serde;
use crate::protocol::{json, Error};

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
    pub fn from_json(text: &str) -> Option<Call> {
        let value = json::parse(text.as_bytes()).ok()?;
        json_serde::from_value(&value).ok()
    }
}

/// A reply or an event as JSON text; `None` only if it holds a shape the writer does not
/// support, which the native tests rule out for every message.
pub fn to_json<T: Serialize + ?Sized>(message: &T) -> Option<String> {
    json_serde::to_string(message).ok()
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
/// the core keeps (claims, `{ appState }`: a [`RawJson`](json_serde::RawJson), written verbatim), or `fetch.js`'s
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
            Error::AuthorizationError { error, error_description } => (Some(error.as_str()), error_description.as_deref(), None),
            Error::TokenError { error, error_description, status } => (Some(error.as_str()), error_description.as_deref(), Some(*status)),
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

#[cfg(test)]
mod tests {
    use super::*;

    // The boundary's own writer (tests/fuzz/differential.rs holds it to serde_json).
    fn json<T: Serialize>(value: &T) -> String {
        to_json(value).unwrap()
    }

    #[test]
    fn replies_are_ok_with_a_value_or_not_ok_with_an_error() {
        assert_eq!(json(&Reply::ok(ReplyValue::<()>::Null)), r#"{"ok":true,"value":null}"#);
        assert_eq!(json(&Reply::ok(ReplyValue::<()>::Bool(false))), r#"{"ok":true,"value":false}"#);
        assert_eq!(json(&Reply::ok(ReplyValue::<()>::Text("t".into()))), r#"{"ok":true,"value":"t"}"#);
        assert_eq!(json(&Reply::ok(ReplyValue::<()>::Url { url: None })), r#"{"ok":true,"value":{"url":null}}"#);
        // JSON the core holds as text goes in as it is.
        let claims = json_serde::RawJson(r#"{"sub":"a","n":[1.5e3]}"#);
        assert_eq!(json(&Reply::ok(ReplyValue::Json(claims))), r#"{"ok":true,"value":{"sub":"a","n":[1.5e3]}}"#);
        // The error object is the one `AuthError` is built from (the former hand-built JSON).
        let error = Error::TokenError { error: "invalid_grant".into(), error_description: Some("gone".into()), status: 400 };
        assert_eq!(json(&Reply::<()>::err(&error)), format!(r#"{{"ok":false,"error":{}}}"#, error.to_json()));
        for error in [Error::LoginRequired, Error::Config { reason: "issuer" }, Error::ServerError { status: 503 }] {
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
