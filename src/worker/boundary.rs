//! The typed messages of [`crate::protocol::messages`] to and from JS values, with
//! serde-wasm-bindgen: no JSON text is built or parsed for the envelope.

#[allow(unused_imports)]
use crate::prelude::*;

use serde::Serialize;
use wasm_bindgen::JsValue;

use crate::protocol::json::Value;
use crate::protocol::messages::{Call, Reply, ReplyValue};
use crate::protocol::Error;

/// A value the shell already holds as a JS value (an API's response, or claims the core keeps
/// as JSON text, parsed by the engine's `JSON.parse`), passed through serde untouched.
#[derive(Debug, Clone, Serialize)]
pub struct Js(#[serde(with = "serde_wasm_bindgen::preserve")] pub JsValue);

/// Reads a call; anything that is not one of [`Call`]'s shapes is `config` / `invalid_call`.
pub fn read_call(call: JsValue) -> Result<Call, Error> {
    serde_wasm_bindgen::from_value(call).map_err(|_| super::INVALID_CALL)
}

/// The reply object for a call's result. `Err` (the promise rejects) only if it cannot be
/// built, which `worker.js` treats as the worker failing.
pub fn write_reply(result: Result<ReplyValue<Js>, Error>) -> Result<JsValue, JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true);
    match result {
        Ok(value) => Reply::ok(value).serialize(&serializer),
        Err(error) => Reply::<Js>::err(&error).serialize(&serializer),
    }
    .map_err(JsValue::from)
}

/// A message as a JS value (`None` → `null`), or `undefined` if it cannot be converted.
pub fn to_js<T: Serialize + ?Sized>(message: &T) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true);
    message.serialize(&serializer).unwrap_or(JsValue::UNDEFINED)
}

/// JSON text the core produced (claims, `{ appState }`) as a JS value.
pub fn parse_json(text: &str) -> Result<Js, Error> {
    js_sys::JSON::parse(text).map(Js).map_err(|_| Error::InvalidResponse { reason: "json" })
}

/// `getAccessToken`'s `resource` / `scope` as the object `config::token_key` validates.
pub fn token_options(resource: Option<String>, scope: Option<String>) -> Value {
    let members = [("resource", resource), ("scope", scope)]
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_owned(), Value::String(value?))))
        .collect();
    Value::Object(members)
}
