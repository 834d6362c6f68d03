//! The wire formats the core reads and writes, written by hand to stay small in wasm: JSON
//! (RFC 8259), URLs and form encoding (WHATWG URL), and base64url (RFC 4648 §5). Each is
//! cross-checked against a well-kept crate by the fuzz targets in `tests/fuzz.rs` (serde_json,
//! url, base64), as are the worker boundary's messages read and written over that JSON
//! (src/protocol/messages.rs; also against serde-wasm-bindgen in `tests/web.rs`).

pub mod base64url;
pub mod json;
pub mod url;

#[allow(unused_imports)]
use crate::prelude::*;

/// `parts` joined by `separator`: what `[..].join(..)` does, in a loop the size of the call
/// sites instead of alloc's generic join (~360 B of wasm).
pub fn join(parts: &[&str], separator: &str) -> String {
    let mut joined = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            joined.push_str(separator);
        }
        joined.push_str(part);
    }
    joined
}
