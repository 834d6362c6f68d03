//! The typed messages of [`crate::protocol::messages`] as the JS values that cross the
//! boundary: calls and replies are JSON text (`worker.js` stringifies the call and parses the
//! reply, natively), except the value of a successful `auth.fetch`, `fetch.js`'s response
//! object, which is handed back untouched (its body is transferred to the page).

#[allow(unused_imports)]
use crate::prelude::*;

use wasm_bindgen::JsValue;

use crate::protocol::codec::json::Value;
use crate::protocol::messages::{self, Call, HeldJson, Reply, ReplyValue, WriteJson};
use crate::protocol::Error;

/// A reply value the shell holds as it is.
#[derive(Debug, Clone)]
pub enum Held {
    /// JSON text the core produced (claims, `{ appState }`), written into the reply verbatim.
    Json(String),
    /// `fetch.js`'s response object: the reply itself, never written as text.
    Response(JsValue),
}

impl HeldJson for Held {
    fn json_text(&self) -> Option<&str> {
        match self {
            Held::Json(text) => Some(text),
            Held::Response(_) => None,
        }
    }
}

/// Reads a call from the JSON text `worker.js` made of it; anything that is not one of
/// [`Call`]'s shapes is `config` / `invalid_call`.
pub fn read_call(text: &str) -> Result<Call, Error> {
    Call::from_json(text).ok_or_else(|| super::INVALID_CALL)
}

/// The reply for a call's result: its JSON text, or `fetch.js`'s response object after a
/// successful `fetch`. `Err` (the promise rejects) only if it cannot be written, which
/// `worker.js` treats as the worker failing.
pub fn write_reply(result: Result<Box<ReplyValue<Held>>, Error>) -> Result<JsValue, JsValue> {
    let text = match result {
        Ok(value) => match *value {
            ReplyValue::Json(Held::Response(response)) => return Ok(response),
            value => messages::to_json(&Reply::ok(value)),
        },
        Err(error) => messages::to_json(&Reply::<Held>::err(&error)),
    };
    text.map(|text| JsValue::from_str(&text)).ok_or_else(|| JsValue::UNDEFINED)
}

/// An event as JSON text, for `worker.js`'s listener.
pub fn to_text<T: WriteJson + ?Sized>(message: &T) -> Option<JsValue> {
    messages::to_json(message).map(|text| JsValue::from_str(&text))
}

/// `getAccessToken`'s `resource` / `scope` as the object `config::token_key` validates.
pub fn token_options(resource: Option<String>, scope: Option<String>) -> Value {
    let members = [("resource", resource), ("scope", scope)]
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_owned(), Value::String(value?))))
        .collect();
    Value::Object(members)
}
