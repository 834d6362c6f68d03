//! base64url without padding ([RFC 4648 §5](https://www.rfc-editor.org/rfc/rfc4648#section-5)),
//! as JWTs (RFC 7515 §2) and PKCE (RFC 7636 §4.2) use it. Decoding is strict: one canonical
//! spelling per byte string.

#[allow(unused_imports)]
use crate::prelude::*;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes `bytes` as base64url without padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() / 3 * 4 + 3);
    for chunk in bytes.chunks(3) {
        let mut n = 0u32;
        for i in 0..3 {
            n = n << 8 | u32::from(chunk.get(i).copied().unwrap_or(0));
        }
        // n bytes need n + 1 characters.
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// Decodes unpadded base64url; `None` for any other alphabet, padding, whitespace, an
/// impossible length or a non-canonical final character.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    // A lone final character carries only 6 bits: no whole byte.
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        for &c in chunk {
            n = n << 6 | sextet(c)?;
        }
        let bytes = chunk.len() - 1;
        // 2 chars hold 12 bits for 1 byte, 3 hold 18 for 2: the spare low bits must be
        // zero (RFC 4648 §3.5), otherwise several texts would decode to the same bytes.
        let spare = 6 * chunk.len() - 8 * bytes;
        if n & ((1 << spare) - 1) != 0 {
            return None;
        }
        n >>= spare;
        for i in (0..bytes).rev() {
            out.push((n >> (8 * i)) as u8);
        }
    }
    Some(out)
}

fn sextet(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        // RFC 4648 §10, padding removed (the characters used are the same in both alphabets).
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded).as_deref(), Some(plain.as_bytes()));
        }
    }

    #[test]
    fn url_safe_alphabet() {
        // Standard base64 would be "+/8=" and "+/+/".
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(encode(&[0xfb, 0xef, 0xbe]), "----");
        assert_eq!(encode(&[0xff, 0xff, 0xff]), "____");
        assert_eq!(decode("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(decode("____").as_deref(), Some(&[0xff, 0xff, 0xff][..]));
    }

    #[test]
    fn rfc7636_appendix_b_verifier() {
        let bytes = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        // RFC 7636 Appendix B prints this verifier; its S256 challenge there is
        // "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".
        let text = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(encode(&bytes), text);
        assert_eq!(decode(text).as_deref(), Some(&bytes[..]));
    }

    #[test]
    fn round_trips_every_byte_and_length() {
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..all.len() {
            let text = encode(&all[..len]);
            assert_eq!(text.len(), (len * 4).div_ceil(3));
            assert_eq!(decode(&text).as_deref(), Some(&all[..len]));
        }
        let reversed: Vec<u8> = all.iter().rev().copied().collect();
        assert_eq!(decode(&encode(&reversed)), Some(reversed));
    }

    #[test]
    fn rejects_padding_whitespace_and_other_alphabets() {
        for text in [
            "Zg==",
            "Zg=",
            "Zm8=",
            "=",
            "Zm9v\n",
            " Zm9v",
            "Zm9 v",
            "Zm9v\r\nYg",
            "+/8",
            "-/8",
            "+_8",
            "Zm9v.Yg",
            "Zm9vYg%3D",
            "Zé",
            "\0\0",
        ] {
            assert_eq!(decode(text), None, "{text:?}");
        }
    }

    #[test]
    fn rejects_impossible_lengths() {
        for text in ["Z", "Zm9vY", "Zm9vYmFyZ"] {
            assert_eq!(decode(text), None, "{text:?}");
        }
    }

    #[test]
    fn rejects_non_canonical_trailing_bits() {
        // "Zg" is canonical for "f"; "Zh".."Zv" carry non-zero spare bits.
        assert_eq!(decode("Zh"), None);
        assert_eq!(decode("Zv"), None);
        assert_eq!(decode("Zw").as_deref(), Some(&[0x67][..])); // 'w' = 48: spare bits zero, "g"
                                                                // "Zm8" is canonical for "fo"; "Zm9" sets a spare bit.
        assert_eq!(decode("Zm9"), None);
        assert_eq!(decode("Zm-"), None);
        assert_eq!(decode("-_9"), None);
        assert_eq!(decode("AB"), None);
        assert_eq!(decode("AAB"), None);
        assert_eq!(decode("AA").as_deref(), Some(&[0][..]));
        assert_eq!(decode("AAA").as_deref(), Some(&[0, 0][..]));
    }
}
