//! serde over the core's own JSON ([`super::json`]), for the messages of the worker boundary
//! ([`super::messages`]): [`from_value`] reads a type from a parsed [`Value`], [`to_string`]
//! writes one as compact JSON text.
//!
//! Both support what the messages use and nothing more: structs, options, booleans, unsigned
//! integers, strings, enums externally tagged (read) or adjacently tagged and untagged (written),
//! and [`RawJson`], JSON text written verbatim. Anything else is an [`Error`]. Numbers are never
//! read (no message field is one), so no float is ever parsed or printed.
//!
//! `serde_json` would do the same work with more code: it reads numbers as floats and its errors
//! are formatted text, which links float printing into the wasm (serde-wasm-bindgen's too, and it
//! links `std`, which the `no_std` release build cannot). So these are written here, and checked:
//! against `serde_json` on every message type and on generated calls (tests/fuzz/differential.rs),
//! and against serde-wasm-bindgen on call objects in the browser (tests/web.rs).

#[allow(unused_imports)]
use crate::prelude::*;
use core::fmt;

use super::json::Value;

mod de;
mod ser;

pub use ser::RawJson;

/// The value does not have the shape of the type, or the type is not one this supports.
///
/// It carries no detail on purpose: a formatted message (serde's `Unexpected`, which prints
/// floats) would link `core::fmt`'s float printing into the wasm for text nobody reads: the
/// page only learns `config` / `invalid_call`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a valid message")
    }
}

impl serde::de::StdError for Error {}

/// Reads a `T` from `value`, as `serde_json::from_value` would.
pub fn from_value<'de, T: serde::Deserialize<'de>>(value: &'de Value) -> Result<T, Error> {
    T::deserialize(value)
}

/// Writes `value` as compact JSON text, as `serde_json::to_string` would.
pub fn to_string<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let mut writer = ser::Writer::default();
    value.serialize(&mut writer)?;
    Ok(writer.into_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::json;

    #[test]
    fn raw_json_is_written_verbatim_and_only_it() {
        #[derive(serde::Serialize)]
        struct Reply<'a> {
            raw: RawJson<'a>,
            text: &'a str,
        }
        let reply = Reply { raw: RawJson(r#"{"a":[1,"\u00e9"]}"#), text: r#"{"a":1}"# };
        assert_eq!(to_string(&reply).unwrap(), r#"{"raw":{"a":[1,"\u00e9"]},"text":"{\"a\":1}"}"#);
    }

    #[test]
    fn what_no_message_holds_is_an_error() {
        // Written: floats, signed integers, sequences, maps, externally tagged variants.
        assert_eq!(to_string(&1.5f64), Err(Error));
        assert_eq!(to_string(&-1i64), Err(Error));
        assert_eq!(to_string(&[1u8]), Err(Error));
        #[derive(serde::Serialize)]
        enum External {
            Variant(bool),
        }
        assert_eq!(to_string(&External::Variant(true)), Err(Error));
        // Read: numbers (no call has one).
        let number = json::parse(b"1").unwrap();
        assert_eq!(from_value::<u64>(&number), Err(Error));
        assert_eq!(from_value::<Option<u64>>(&number), Err(Error));
    }
}
