//! Differential targets: the hand-written codecs against the well-kept crates, on every
//! generated input (see the header of `tests/fuzz.rs`).

use std::collections::HashSet;
use std::fmt;

use base64::Engine as _;
use oidc_worker::protocol::url::Url;
use oidc_worker::protocol::{base64url, json};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{fuzz, CLAIMS};

/// How often each outcome occurred, printed with `--nocapture`: evidence that a run reached
/// every branch (agreement, each documented refusal), not only "both refuse".
#[derive(Default)]
struct Outcomes(std::collections::BTreeMap<&'static str, usize>);

impl Outcomes {
    fn count(&mut self, outcome: &'static str) {
        *self.0.entry(outcome).or_default() += 1;
    }
    fn print(&self, name: &str) {
        for (outcome, n) in &self.0 {
            println!("  {name}: {n:>7} {outcome}");
        }
    }
}

// ---- JSON: src/protocol/json.rs against serde_json ----

/// What serde_json accepts and json.rs refuses on purpose: the limits a JSON text may exceed
/// under RFC 8259 but a protocol document never does.
#[derive(Default)]
struct Shape {
    /// Containers nested, this value included.
    depth: usize,
    /// An object with a member name twice. RFC 8259 §4 only says names SHOULD be unique
    /// (serde_json keeps the last); RFC 7519 §4 lets a JWT parser reject duplicates, and
    /// json.rs does so everywhere, so that no two parsers can read one claim differently.
    duplicate: bool,
    /// The most members of one object.
    members: usize,
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut shape = Shape { depth: 1, ..Shape::default() };
        while let Some(item) = seq.next_element::<Shape>()? {
            shape.merge(item);
        }
        Ok(shape)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut shape = Shape { depth: 1, ..Shape::default() };
        let mut names = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            shape.duplicate |= !names.insert(name);
            shape.merge(map.next_value::<Shape>()?);
        }
        shape.members = shape.members.max(names.len() + usize::from(shape.duplicate));
        Ok(shape)
    }
}

impl Shape {
    fn merge(&mut self, child: Shape) {
        self.depth = self.depth.max(child.depth + 1);
        self.duplicate |= child.duplicate;
        self.members = self.members.max(child.members);
    }
}

/// Both parsers on one input: where RFC 8259 decides, they agree; json.rs's only extra
/// refusals are its documented limits; what both accept, they read alike.
pub fn compare_json(input: &[u8]) -> &'static str {
    let ours = json::parse(input);
    let theirs = serde_json::from_slice::<serde_json::Value>(input);
    match (&ours, &theirs) {
        (Ok(value), Ok(expected)) => {
            // Same value: json.rs's own serialization, read back by serde_json.
            let again: serde_json::Value = serde_json::from_str(&value.to_json())
                .unwrap_or_else(|e| panic!("json.rs wrote what serde_json refuses ({e}): {:?}", value.to_json()));
            assert_eq!(&again, expected, "json.rs and serde_json read {:?} differently", lossy(input));
            "both accept, same value"
        }
        (Err(_), Ok(_)) => {
            let shape = serde_json::from_slice::<Shape>(input).expect("serde_json accepted it once");
            assert!(
                shape.duplicate || shape.depth > json::MAX_DEPTH || shape.members > json::MAX_MEMBERS,
                "json.rs refuses what RFC 8259 and serde_json accept: {:?}",
                lossy(input)
            );
            "json.rs refuses on purpose (duplicate name, depth, members)"
        }
        (Ok(_), Err(error)) => {
            // json.rs keeps numbers as their literal text, so `1e999` is a valid number to it
            // (RFC 8259 §6 sets no range); serde_json reads f64 and refuses out-of-range ones.
            assert!(
                error.to_string().starts_with("number out of range"),
                "json.rs accepts what serde_json refuses ({error}): {:?}",
                lossy(input)
            );
            "json.rs accepts a number beyond f64"
        }
        (Err(_), Err(_)) => "both refuse",
    }
}

fn lossy(input: &[u8]) -> String {
    String::from_utf8_lossy(input).into_owned()
}

#[test]
fn json_agrees_with_serde_json() {
    let seeds = [
        br#"{"a":[1,-2.5e3,true,false,null,"\u00e9\ud83d\ude00\/\b\f\n\r\t"],"b":{"c":{}}," d ":0.5E+2}"#.to_vec(),
        br#" [ [ [ [ [ ] ] ] ] ] "#.to_vec(),
        CLAIMS.as_bytes().to_vec(),
        br#"{"a":1,"a":2}"#.to_vec(),
        format!("{}1{}", "[".repeat(33), "]".repeat(33)).into_bytes(),
        b"\xef\xbb\xbf{}".to_vec(),
        br#""\ud800\udc00\u0000\u001f""#.to_vec(),
        br#"[-0,0e0,1E-7,123456789012345678901234567890]"#.to_vec(),
    ];
    let mut outcomes = Outcomes::default();
    fuzz("json vs serde_json", &seeds, |input| outcomes.count(compare_json(input)));
    outcomes.print("json vs serde_json");
}

#[test]
fn json_refuses_more_members_than_its_limit() {
    let members: Vec<String> = (0..=json::MAX_MEMBERS).map(|i| format!("\"m{i}\":{i}")).collect();
    let input = format!("{{{}}}", members.join(","));
    assert!(json::parse(input.as_bytes()).is_err());
    assert_eq!(compare_json(input.as_bytes()), "json.rs refuses on purpose (duplicate name, depth, members)");
}

// ---- URL: src/protocol/url.rs against the url crate (WHATWG URL Standard) ----

/// Why url.rs refuses a URL the WHATWG parser accepts, or `None` if it has no documented reason
/// to. url.rs takes a URL only if every browser reads it exactly as written; it refuses rather
/// than normalizes.
fn deliberate_refusal(text: &str, whatwg: &url::Url) -> Option<&'static str> {
    let scheme_len = text.find(':').unwrap_or(0);
    // Where the authority ends: the first `/`, `?` or `#` after `scheme:` and its slashes.
    let after_slashes = text[scheme_len..].trim_start_matches(':').trim_start_matches('/');
    let authority_start = text.len() - after_slashes.len();
    let authority_end = after_slashes.find(['/', '?', '#']).map_or(text.len(), |i| authority_start + i);
    // What the browser would send: the serialization, against the input with its scheme and
    // authority lowercased (the only rewrite url.rs makes itself) and `/` for an empty path.
    let mut as_written = text[..authority_end].to_ascii_lowercase();
    as_written.push_str(&text[authority_end..]);
    let rewritten = whatwg.as_str() != as_written
        && whatwg.as_str() != format!("{}/{}", &as_written[..authority_end], &as_written[authority_end..]);
    if !matches!(whatwg.scheme(), "http" | "https") {
        Some("a scheme other than http and https")
    } else if !text.bytes().all(|c| c.is_ascii_graphic() && c != b'\\') {
        Some("whitespace, control, non-ASCII or backslash (which browsers strip or rewrite)")
    } else if !whatwg.username().is_empty() || whatwg.password().is_some() || text.contains('@') && text[..authority_end].contains('@') {
        Some("userinfo (RFC 3986 §3.2.1; `https://trusted@evil` look-alikes)")
    } else if !text[scheme_len..].starts_with("://") {
        Some("no `//` after the scheme (a browser supplies it)")
    } else if rewritten {
        Some("a URL the browser rewrites (dot segments, shorthand or non-canonical IPv4, empty port, percent-encoding, IPv6 forms)")
    } else if !whatwg.host_str().is_some_and(|h| h.starts_with('[') || h.bytes().all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-'))) {
        Some("a host other than letters, digits, `.` and `-` (RFC 1123 names, IP addresses)")
    } else if text[authority_end..].bytes().any(|c| !(c.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:@/?#".contains(&c)))
        || text[authority_end..].matches('#').count() > 1
    {
        Some("a character RFC 3986 §3.3-3.5 does not allow in path, query or fragment")
    } else if text[authority_end..].split('%').skip(1).any(|s| !s.get(..2).is_some_and(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))) {
        Some("`%` not followed by two hex digits (RFC 3986 §2.1)")
    } else {
        None
    }
}

/// Both parsers on one input: what url.rs accepts, the browser reads identically (scheme, host,
/// port, path, query, fragment and origin); what it refuses that a browser accepts has a
/// documented reason.
pub fn compare_url(text: &str) -> &'static str {
    let ours = Url::parse(text);
    let theirs = url::Url::parse(text);
    match (ours, theirs) {
        (Some(ours), Ok(whatwg)) => {
            let default = if ours.scheme == "https" { 443 } else { 80 };
            assert_eq!(whatwg.scheme(), ours.scheme, "{text:?}");
            assert_eq!(whatwg.host_str(), Some(ours.host.as_str()), "{text:?}");
            assert_eq!(whatwg.port_or_known_default(), Some(ours.port.unwrap_or(default)), "{text:?}");
            assert_eq!(whatwg.path(), ours.path, "{text:?}");
            assert_eq!(whatwg.query(), ours.query.as_deref(), "{text:?}");
            assert_eq!(whatwg.fragment(), ours.fragment.as_deref(), "{text:?}");
            assert_eq!(whatwg.origin().ascii_serialization(), ours.origin(), "{text:?}");
            "both accept, same reading"
        }
        (Some(ours), Err(error)) => panic!("url.rs accepts what a browser refuses ({error}): {text:?} -> {ours:?}"),
        (None, Ok(whatwg)) => deliberate_refusal(text, &whatwg).unwrap_or_else(|| {
            panic!("url.rs refuses, without a documented reason, what a browser reads as {whatwg}: {text:?}")
        }),
        (None, Err(_)) => "both refuse",
    }
}

#[test]
fn url_agrees_with_whatwg() {
    let seeds = [
        b"https://op.example/authorize?client_id=spa&x=%2F#frag".to_vec(),
        b"HTTP://LOCALHOST:8080/cb?x=1#f".to_vec(),
        b"http://127.0.0.1:3000/a/b;c=d/e@f:g?q=a+b&r=%20".to_vec(),
        b"https://[::1]:443/".to_vec(),
        b"https://[2001:db8::8a2e:370:7334]/p".to_vec(),
        b"https://a.b-c.example.:8443".to_vec(),
        b"https://user:pass@host/".to_vec(),
        b"https://host/a/../b/./c".to_vec(),
        b"http://0x7f.1/".to_vec(),
        b"https://h:/x".to_vec(),
    ];
    let mut outcomes = Outcomes::default();
    fuzz("url vs WHATWG", &seeds, |input| {
        if let Ok(text) = std::str::from_utf8(input) {
            outcomes.count(compare_url(text));
        }
    });
    outcomes.print("url vs WHATWG");
}

// ---- base64url: src/protocol/base64url.rs against the base64 crate ----

/// Both decoders on one input. `URL_SAFE_NO_PAD` is exactly base64url.rs's strictness (RFC 4648
/// §5 alphabet, no padding, no whitespace, zero spare bits: §3.5's canonical encoding), so they
/// must agree on every input, and the encoders on every byte string.
pub fn compare_base64url(input: &[u8]) {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let theirs = engine.decode(input).ok();
    let ours = std::str::from_utf8(input).ok().and_then(base64url::decode);
    assert_eq!(ours, theirs, "base64url.rs and the base64 crate disagree on {:?}", lossy(input));
    assert_eq!(base64url::encode(input), engine.encode(input), "encodings of {input:?} differ");
}

#[test]
fn base64url_agrees_with_the_base64_crate() {
    let seeds = [
        b"eyJhbGciOiJSUzI1NiJ9".to_vec(),
        b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_vec(),
        b"QQ".to_vec(),
        b"QR".to_vec(),
        b"QUI".to_vec(),
        b"QUJD".to_vec(),
        b"QQ==".to_vec(),
        b"a+b/".to_vec(),
        Vec::new(),
    ];
    fuzz("base64url vs base64", &seeds, compare_base64url);
}
