//! The wire formats the core reads and writes, written by hand to stay small in wasm: JSON
//! (RFC 8259), URLs and form encoding (WHATWG URL), and base64url (RFC 4648 §5). Each is
//! cross-checked against a well-kept crate by the fuzz targets in `tests/fuzz.rs`.

pub mod base64url;
pub mod json;
pub mod url;
