//! The wire formats the core reads and writes, written by hand to stay small in wasm: JSON
//! (RFC 8259), URLs and form encoding (WHATWG URL), and base64url (RFC 4648 §5). Each is
//! cross-checked against a well-kept crate by the fuzz targets in `tests/fuzz.rs` (serde_json,
//! url, base64), as are the worker boundary's messages read and written over that JSON
//! (src/protocol/messages.rs; also against serde-wasm-bindgen in `tests/web.rs`).
//!
//! Beside them, a few text helpers that do what `str` and slice methods do, in less wasm
//! (each checked against the method it stands for, in this module's tests).

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

// Searches for one ASCII byte. `str::find`, `split`, `split_once` and `contains` with a `char`
// pattern go through core's char searcher, which encodes the char as UTF-8 and searches for
// the sequence; for an ASCII separator a byte loop finds the same places (an ASCII byte never
// occurs inside a multi-byte character), with less code in the wasm. For the same reason the
// core writes a one-character pattern of `strip_prefix`, `starts_with` & co. as a string
// (`starts_with("[")`): a string pattern compares bytes, a char is first encoded as UTF-8.

/// Whether `set` holds `byte`: `set.contains(&byte)` without core's word-at-a-time `memchr`,
/// which pays only on long slices.
pub fn has_byte(set: &[u8], byte: u8) -> bool {
    set.iter().any(|&b| b == byte)
}

/// Where `byte` (ASCII) first occurs in `text`: `text.find(byte as char)`.
pub fn find_byte(text: &str, byte: u8) -> Option<usize> {
    text.bytes().position(|b| b == byte)
}

/// `text` around the first `byte` (ASCII): `text.split_once(byte as char)`.
pub fn split_once_byte(text: &str, byte: u8) -> Option<(&str, &str)> {
    let at = find_byte(text, byte)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// The pieces of `text` between the occurrences of `byte` (ASCII): `text.split(byte as char)`,
/// empty pieces included.
pub fn split_byte(text: &str, byte: u8) -> SplitByte<'_> {
    SplitByte { rest: Some(text), byte }
}

/// The iterator of [`split_byte`].
pub struct SplitByte<'a> {
    rest: Option<&'a str>,
    byte: u8,
}

impl<'a> Iterator for SplitByte<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        Some(match split_once_byte(rest, self.byte) {
            Some((piece, after)) => {
                self.rest = Some(after);
                piece
            }
            None => {
                self.rest = None;
                rest
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every text of up to five pieces: ASCII separators, runs of them, and two- and four-byte
    /// characters beside them.
    fn texts() -> Vec<String> {
        const PIECES: [&str; 7] = ["", "a", ".", ":", "..", "\u{e9}", "\u{1f600}"];
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = texts.iter().flat_map(|t| PIECES.iter().map(move |p| format!("{t}{p}"))).collect();
            texts.extend(longer);
            texts.sort();
            texts.dedup();
        }
        texts
    }

    #[test]
    fn the_byte_helpers_agree_with_the_str_methods() {
        let texts = texts();
        assert!(texts.len() > 1000);
        for text in &texts {
            for separator in [b'.', b':', b'a', b'/'] {
                let char = char::from(separator);
                assert_eq!(find_byte(text, separator), text.find(char), "{text:?} {char}");
                assert_eq!(split_once_byte(text, separator), text.split_once(char), "{text:?} {char}");
                assert_eq!(split_byte(text, separator).collect::<Vec<_>>(), text.split(char).collect::<Vec<_>>(), "{text:?} {char}");
                assert_eq!(has_byte(text.as_bytes(), separator), text.as_bytes().contains(&separator));
            }
            let parts: Vec<&str> = text.split('.').collect();
            assert_eq!(join(&parts, "."), *text);
            assert_eq!(join(&parts, ", "), parts.join(", "));
        }
    }
}
