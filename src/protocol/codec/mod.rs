//! The wire formats the core reads and writes, written by hand to stay small in wasm: JSON
//! (RFC 8259), URLs and form encoding (WHATWG URL), and base64url (RFC 4648 §5). Each is
//! cross-checked against a well-kept crate by the fuzz targets in `tests/fuzz.rs` (serde_json,
//! url, base64), as are the worker boundary's messages read and written over that JSON
//! (src/protocol/messages.rs; also against serde-wasm-bindgen in `tests/web.rs`).

pub mod base64url;
pub mod json;
pub mod url;
