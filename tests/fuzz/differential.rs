//! Differential targets: the hand-written codecs against the well-kept crates, on every
//! generated input (see the header of `tests/fuzz.rs`), and the boundary's reader and writer
//! (src/protocol/messages.rs) against serde_json on every message type.

use std::collections::HashSet;
use std::fmt;

use base64::Engine as _;
use oidc_worker::protocol::messages::{self, Call, ErrorData, Event, RawJson, Reply, ReplyValue, TokenInfo, WriteJson};
use oidc_worker::protocol::url::Url;
use oidc_worker::protocol::{base64url, json, Error};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{fuzz, Rng, CLAIMS};

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

// ---- the boundary's messages: src/protocol/messages.rs against serde_json ----

/// A string with what JSON must escape, what it may leave, and non-ASCII.
fn text(rng: &mut Rng) -> String {
    const PIECES: [&str; 14] = [
        "a", "Zz", "\"", "\\", "/", "\n", "\r\t", "\u{0}", "\u{1f}", "\u{7f}", "é", "\u{2028}", "😀", "</script>",
    ];
    (0..rng.below(6)).map(|_| PIECES[rng.below(PIECES.len())]).collect()
}

/// `value(rng)` two times in three, else `None`.
fn maybe<T>(rng: &mut Rng, value: impl FnOnce(&mut Rng) -> T) -> Option<T> {
    (rng.below(3) > 0).then(|| value(rng))
}

/// A number of any size a field of type `u64` may hold, small ones more often.
fn number(rng: &mut Rng) -> u64 {
    match rng.below(3) {
        0 => rng.below(10) as u64,
        1 => rng.next() >> rng.below(64),
        _ => u64::MAX - rng.below(3) as u64,
    }
}

fn error(rng: &mut Rng) -> Error {
    match rng.below(5) {
        0 => Error::token_error(text(rng), maybe(rng, text), number(rng) as u16),
        1 => Error::authorization_error(text(rng), maybe(rng, text)),
        2 => Error::ServerError { status: number(rng) as u16 },
        3 => Error::Config { reason: &"issuer" },
        _ => Error::LoginRequired,
    }
}

/// Our writer's text for `message`, which must be serde_json's for `expected` (the same value,
/// with serde_json's `RawValue` where ours has `RawJson`).
fn assert_written_alike<T: WriteJson, U: serde::Serialize>(message: &T, expected: &U) {
    let ours = messages::to_json(message).expect("every message can be written");
    let theirs = serde_json::to_string(expected).unwrap();
    assert_eq!(ours, theirs);
}

#[test]
fn messages_are_written_as_serde_json_writes_them() {
    let mut rng = Rng(0x5eed_f4e5_a6e5);
    for _ in 0..super::iterations() / 4 {
        // Replies: every value shape, and errors.
        let claims = format!(r#"{{"sub":{},"n":[1,-2.5e3,null],"o":{{}}}}"#, serde_json::to_string(&text(&mut rng)).unwrap());
        let raw = serde_json::value::RawValue::from_string(claims.clone()).unwrap();
        let token = text(&mut rng);
        let url = maybe(&mut rng, text);
        let flag = rng.below(2) == 0;
        assert_written_alike(&Reply::ok(ReplyValue::<RawJson>::Null), &Reply::ok(ReplyValue::<()>::Null));
        assert_written_alike(&Reply::ok(ReplyValue::<RawJson>::Bool(flag)), &Reply::ok(ReplyValue::<()>::Bool(flag)));
        assert_written_alike(&Reply::ok(ReplyValue::<RawJson>::Text(token.clone())), &Reply::ok(ReplyValue::<()>::Text(token)));
        assert_written_alike(&Reply::ok(ReplyValue::<RawJson>::Url { url: url.clone() }), &Reply::ok(ReplyValue::<()>::Url { url }));
        assert_written_alike(&Reply::ok(ReplyValue::Json(RawJson(&claims))), &Reply::ok(ReplyValue::Json(&raw)));
        let (page, key) = (text(&mut rng), text(&mut rng));
        assert_written_alike(&Reply::ok(ReplyValue::<RawJson>::Restore { restore: "silent", url: page.clone() }), &Reply::ok(ReplyValue::<()>::Restore { restore: "silent", url: page.clone() }));
        assert_written_alike(&Reply::ok(ReplyValue::<RawJson>::Popup { url: page.clone(), popup: key.clone() }), &Reply::ok(ReplyValue::<()>::Popup { url: page, popup: key }));
        let error = error(&mut rng);
        assert_written_alike(&Reply::<RawJson>::err(&error), &Reply::<()>::err(&error));

        // Events: every variant.
        let (scope, resource) = (text(&mut rng), text(&mut rng));
        let info = TokenInfo { expires_at: maybe(&mut rng, number), scope: maybe(&mut rng, |_| &*scope), resource: maybe(&mut rng, |_| &*resource) };
        for event in [
            Event::Login(info.clone()),
            Event::TokenRefreshed(info.clone()),
            Event::SessionExpired { reason: "invalid_grant" },
            Event::Logout {},
            Event::Error(ErrorData::from(&error)),
            Event::Wake { delay_ms: maybe(&mut rng, number) },
        ] {
            match event {
                // (A new event is a compile error here until it is added above.)
                Event::Login(_) | Event::TokenRefreshed(_) | Event::SessionExpired { .. } | Event::Logout {} | Event::Error(_) | Event::Wake { .. } => {}
            }
            assert_written_alike(&event, &event);
        }
    }
}

/// Valid calls, one or more per call shape (what index.js and worker.js send).
const CALLS: [&str; 13] = [
    r#"{"configure":"{\"issuer\":\"https://op.example\",\"clientId\":\"spa\"}"}"#,
    r#"{"login":"{\"appState\":{\"to\":\"/é\"}}"}"#,
    r#"{"handleCallback":"https://app.example/cb?code=c&state=s"}"#,
    r#""isAuthenticated""#,
    r#"{"isAuthenticated":null}"#,
    r#"{"getUser":true}"#,
    r#"{"getAccessToken":{}}"#,
    r#"{"getAccessToken":{"forceRefresh":true,"resource":"https://api.example/","scope":"read \u00e9"}}"#,
    r#"{"getAccessToken":{"resource":null,"scope":null,"other":[1e999,{"x":-0}]}}"#,
    r#"{"fetch":{"url":"https://api.example/x","method":"GET","headerNames":"x"}}"#,
    r#"{"logout":false}"#,
    r#""tick""#,
    r#" { "tick" : null } "#,
];

/// JSON fragments a field may be given: every JSON type, big and odd numbers, escapes, the
/// names of calls and fields, nested garbage.
const VALUES: [&str; 22] = [
    "null", "true", "false", "0", "-1", "1.5", "1e999", "18446744073709551616", r#""""#, r#""GET""#,
    r#""\ud83d\ude00\u0000""#, r#""tick""#, "[]", r#"["u","GET"]"#, "{}", r#"{"url":"u","method":"m"}"#,
    r#"{"tick":null}"#, r#"[[[[{"a":[{}]}]]]]"#, r#"{"forceRefresh":1}"#, r#"{"resource":true}"#,
    r#""isAuthenticated""#, r#"{"a":1,"a":2}"#,
];

const NAMES: [&str; 16] = [
    "configure", "login", "handleCallback", "isAuthenticated", "getUser", "getAccessToken", "fetch", "logout",
    "tick", "Tick", "url", "method", "forceRefresh", "resource", "scope", "type",
];

/// A call-like text: a call name with an argument that is a valid one, another type, an object
/// of known and unknown fields with any values, missing or extra members.
fn call_text(rng: &mut Rng) -> String {
    if rng.below(2) == 0 {
        return valid_call(rng);
    }
    let name = serde_json::to_string(NAMES[rng.below(NAMES.len())]).unwrap();
    let argument = match rng.below(3) {
        0 => VALUES[rng.below(VALUES.len())].to_owned(),
        1 => {
            let members: Vec<String> = (0..rng.below(4))
                .map(|_| format!("{}:{}", serde_json::to_string(NAMES[rng.below(NAMES.len())]).unwrap(), VALUES[rng.below(VALUES.len())]))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        _ => serde_json::to_string(&text(rng)).unwrap(),
    };
    match rng.below(4) {
        0 => name,
        1 => format!("{{{name}:{argument},{}:null}}", serde_json::to_string(NAMES[rng.below(NAMES.len())]).unwrap()),
        _ => format!("{{{name}:{argument}}}"),
    }
}

/// A call of one of the valid shapes, with any strings, the optional fields present or not,
/// and unknown members with any values.
fn valid_call(rng: &mut Rng) -> String {
    let string = |rng: &mut Rng| serde_json::to_string(&text(rng)).unwrap();
    let unknown = |rng: &mut Rng| match rng.below(2) {
        0 => String::new(),
        _ => format!(",{}:{}", serde_json::to_string(NAMES[rng.below(NAMES.len())]).unwrap(), VALUES[rng.below(VALUES.len())]),
    };
    let flag = |rng: &mut Rng| if rng.below(2) == 0 { "true" } else { "false" };
    match rng.below(8) {
        0 => format!(r#"{{"configure":{}}}"#, string(rng)),
        1 => format!(r#"{{"login":{}}}"#, string(rng)),
        2 => format!(r#"{{"handleCallback":{}}}"#, string(rng)),
        3 => format!(r#"{{"getUser":{}}}"#, flag(rng)),
        4 => format!(r#"{{"logout":{}}}"#, flag(rng)),
        5 => {
            let mut members = vec![];
            if rng.below(2) == 0 {
                members.push(format!(r#""forceRefresh":{}"#, flag(rng)));
            }
            for name in ["resource", "scope"] {
                match rng.below(3) {
                    0 => members.push(format!(r#""{name}":{}"#, string(rng))),
                    1 => members.push(format!(r#""{name}":null"#)),
                    _ => {}
                }
            }
            format!(r#"{{"getAccessToken":{{{}{}}}}}"#, members.join(","), if members.is_empty() { String::new() } else { unknown(rng) })
        }
        6 => format!(r#"{{"fetch":{{"url":{},"method":{}{}}}}}"#, string(rng), string(rng), unknown(rng)),
        _ => ["\"isAuthenticated\"", "\"tick\"", r#"{"tick":null}"#][rng.below(3)].to_owned(),
    }
}

/// `text` (JSON) with every number replaced by `0`: the same structure and names.
fn numbers_as_zero(text: &str) -> String {
    let (mut out, mut in_string, mut escaped, mut in_number) = (String::new(), false, false, false);
    for c in text.chars() {
        if in_string {
            (in_string, escaped) = (escaped || c != '"', !escaped && c == '\\');
        } else if in_number && matches!(c, '0'..='9' | '.' | 'e' | 'E' | '+' | '-') {
            continue;
        } else {
            in_number = matches!(c, '0'..='9' | '-');
            in_string = c == '"';
            if in_number {
                out.push('0');
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Both readers on one call text: where serde_json accepts, ours reads the same call or refuses
/// on one of json.rs's documented limits; where serde_json refuses, ours refuses too.
fn compare_call(input: &[u8]) -> &'static str {
    let theirs = serde_json::from_slice::<Call>(input);
    let Ok(text) = std::str::from_utf8(input) else {
        // RFC 8259 §8.1: JSON text is UTF-8; json.rs refuses any other byte. serde_json checks
        // only the strings it reads, not those of a member it skips (where `worker.js`'s
        // `JSON.stringify` never puts any).
        if let Ok(call) = theirs {
            let replaced = serde_json::from_str::<Call>(&lossy(input));
            assert_eq!(replaced.ok(), Some(call), "serde_json read a string that is not UTF-8: {:?}", lossy(input));
            return "ours refuses bytes that are not UTF-8 in a member serde_json skips";
        }
        return "both refuse (not UTF-8)";
    };
    match (Call::from_json(text), theirs) {
        (Some(ours), Ok(theirs)) => {
            assert_eq!(ours, theirs, "read differently: {text}");
            "both read the same call"
        }
        (None, Ok(_)) => {
            // serde_json also reads a struct from an array of its fields in order; ours
            // refuses it (no sender writes one).
            let value: serde_json::Value = serde_json::from_str(&numbers_as_zero(text)).unwrap_or_else(|e| panic!("{e}: {text}"));
            if value.as_object().is_some_and(|call| call.values().any(serde_json::Value::is_array)) {
                return "ours refuses a struct written as an array";
            }
            // (Shape reads numbers as f64, which a member serde_json skipped may exceed.)
            let shape = serde_json::from_str::<Shape>(&numbers_as_zero(text)).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert!(
                shape.duplicate || shape.depth > json::MAX_DEPTH || shape.members > json::MAX_MEMBERS,
                "ours refuses a call serde_json reads: {text}"
            );
            "ours refuses on json.rs's limits (duplicate name, depth, members)"
        }
        (Some(call), Err(error)) => panic!("ours reads {call:?} where serde_json refuses ({error}): {text}"),
        (None, Err(_)) => "both refuse",
    }
}

#[test]
fn calls_are_read_as_serde_json_reads_them() {
    let mut rng = Rng(0xca11_5eed);
    let mut seeds: Vec<Vec<u8>> = CALLS.iter().map(|c| c.as_bytes().to_vec()).collect();
    seeds.extend((0..64).map(|_| call_text(&mut rng).into_bytes()));
    let mut outcomes = Outcomes::default();
    for _ in 0..super::iterations() {
        outcomes.count(compare_call(call_text(&mut rng).as_bytes()));
    }
    fuzz("calls vs serde_json", &seeds, |input| outcomes.count(compare_call(input)));
    outcomes.print("calls vs serde_json");
    for call in CALLS {
        assert_eq!(compare_call(call.as_bytes()), "both read the same call", "{call}");
    }
    let array = r#"{"getAccessToken":[false,"https://api.example/","read"]}"#;
    assert_eq!(compare_call(array.as_bytes()), "ours refuses a struct written as an array");
    assert!(outcomes.0.contains_key("ours refuses on json.rs's limits (duplicate name, depth, members)"));
}
