//! Strict JSON ([RFC 8259](https://www.rfc-editor.org/rfc/rfc8259)): a parser that rejects
//! anything doubtful, and a compact writer.
//!
//! The parser never panics, never recurses deeper than [`MAX_DEPTH`] containers and allocates
//! in proportion to its input. Numbers are kept as their literal text: there is no float parsing.

#[allow(unused_imports)]
use crate::prelude::*;
/// The deepest nesting of arrays and objects [`parse`] accepts.
pub const MAX_DEPTH: usize = 32;

/// Most members one object may have.
pub const MAX_MEMBERS: usize = 1024;

/// A parsed JSON value. Object members keep their document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, as its validated literal text (e.g. `-12.5e3`).
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object's members in document order; names are unique.
    Object(Vec<(String, Value)>),
}

/// The input is not a JSON document this parser accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonError;

/// Parses one JSON document: one value, optionally surrounded by whitespace.
pub fn parse(input: &[u8]) -> Result<Value, JsonError> {
    // RFC 8259 §8.1: UTF-8 without a byte order mark (U+FEFF is not whitespace, so it fails below).
    let s = core::str::from_utf8(input).map_err(|_| JsonError)?;
    let mut p = Parser { s, i: 0 };
    let v = p.value(0)?;
    p.ws();
    if p.i == s.len() {
        Ok(v)
    } else {
        Err(JsonError)
    }
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn next(&mut self) -> Result<u8, JsonError> {
        let c = self.peek().ok_or_else(|| JsonError)?;
        self.i += 1;
        Ok(c)
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    // RFC 8259 §2: ws = space, horizontal tab, line feed, carriage return.
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    /// `depth` is the number of containers around this value.
    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.ws();
        let rest = self.s.as_bytes().get(self.i..).unwrap_or_default();
        let (word, v) = match self.peek().ok_or_else(|| JsonError)? {
            b'[' => return self.container(depth + 1, b']'),
            b'{' => return self.container(depth + 1, b'}'),
            b'"' => return self.string().map(Value::String),
            b't' => ("true", Value::Bool(true)),
            b'f' => ("false", Value::Bool(false)),
            b'n' => ("null", Value::Null),
            _ => return self.number(),
        };
        if !rest.starts_with(word.as_bytes()) {
            return Err(JsonError);
        }
        self.i += word.len();
        Ok(v)
    }

    /// An array (`close` is `]`) or an object (`close` is `}`); the opener is at `self.i`.
    fn container(&mut self, depth: usize, close: u8) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError);
        }
        self.i += 1;
        let object = close == b'}';
        let mut items = Vec::new();
        let mut members = Vec::new();
        self.ws();
        if !self.eat(close) {
            loop {
                if object {
                    // RFC 8259 §4: member = string name-separator value
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(JsonError);
                    }
                    let name = self.string()?;
                    // RFC 8259 §4 says names SHOULD be unique; RFC 7519 §4 lets a JWT parser
                    // reject duplicates, and we do so everywhere. The member cap bounds this
                    // quadratic check (and no protocol document comes near it).
                    if members.len() >= MAX_MEMBERS || members.iter().any(|(k, _)| *k == name) {
                        return Err(JsonError);
                    }
                    self.ws();
                    if !self.eat(b':') {
                        return Err(JsonError);
                    }
                    members.push((name, self.value(depth)?));
                } else {
                    items.push(self.value(depth)?);
                }
                self.ws();
                if self.eat(close) {
                    break;
                }
                if !self.eat(b',') {
                    return Err(JsonError);
                }
            }
        }
        if !object {
            return Ok(Value::Array(items));
        }
        Ok(Value::Object(members))
    }

    /// A string literal; the opening quote is at `self.i`.
    fn string(&mut self) -> Result<String, JsonError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // Both ends sit next to ASCII bytes, so they are char boundaries.
            out.push_str(self.s.get(start..self.i).ok_or_else(|| JsonError)?);
            match self.next()? {
                b'"' => return Ok(out),
                b'\\' => {}
                _ => return Err(JsonError), // RFC 8259 §7: control characters must be escaped
            }
            // RFC 8259 §7: the only escapes.
            let c = match self.next()? {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let mut cp = self.hex4()?;
                    if (0xD800..0xDC00).contains(&cp) {
                        // A high surrogate must be followed by an escaped low one.
                        if !(self.eat(b'\\') && self.eat(b'u')) {
                            return Err(JsonError);
                        }
                        let lo = self.hex4()?;
                        if !(0xDC00..0xE000).contains(&lo) {
                            return Err(JsonError);
                        }
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    // A lone low surrogate is not a char.
                    char::from_u32(cp).ok_or_else(|| JsonError)?
                }
                _ => return Err(JsonError),
            };
            out.push(c);
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0;
        for _ in 0..4 {
            v = v << 4 | char::from(self.next()?).to_digit(16).ok_or_else(|| JsonError)?;
        }
        Ok(v)
    }

    // RFC 8259 §6: number = [ minus ] int [ frac ] [ exp ]; int = zero / ( digit1-9 *DIGIT )
    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        self.eat(b'-');
        if !self.eat(b'0') && self.digits() == 0 {
            return Err(JsonError);
        }
        if self.eat(b'.') && self.digits() == 0 {
            return Err(JsonError);
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return Err(JsonError);
            }
        }
        Ok(Value::Number(
            self.s.get(start..self.i).ok_or_else(|| JsonError)?.to_owned(),
        ))
    }
}

impl Value {
    /// The member named `key`, if this is an object that has one.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A number without exponent that fits `i64`, its fraction truncated toward zero
    /// (a JWT NumericDate may be non-integer, RFC 7519 §2).
    pub fn as_i64(&self) -> Option<i64> {
        let Value::Number(text) = self else {
            return None;
        };
        let (neg, rest) = match text.strip_prefix("-") {
            Some(r) => (true, r),
            None => (false, text.as_str()),
        };
        let int = super::split_once_byte(rest, b'.').map_or(rest, |(i, _)| i);
        if int.is_empty() || text.bytes().any(|c| c == b'e' || c == b'E') {
            return None;
        }
        let mut v: i64 = 0;
        for c in int.bytes() {
            if !c.is_ascii_digit() {
                return None;
            }
            let d = i64::from(c - b'0');
            // Accumulating with the sign reaches i64::MIN too.
            v = v.checked_mul(10)?;
            v = if neg {
                v.checked_sub(d)?
            } else {
                v.checked_add(d)?
            };
        }
        Some(v)
    }

    /// Compact serialization; numbers are written as their literal text.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(n),
            Value::String(s) => write_string(out, s),
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Value::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// Appends `s` as a JSON string literal, escaping quotes, backslashes and control characters.
pub fn write_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    // Byte by byte: every byte to escape is ASCII, so the runs copied between them are whole
    // UTF-8 sequences, and no character needs decoding.
    let mut run = 0;
    for (at, byte) in s.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            // RFC 8259 §7: the other control characters as \u00XX.
            0..=0x1f => "\\u00",
            _ => continue,
        };
        out.push_str(s.get(run..at).unwrap_or_default());
        out.push_str(escape);
        if escape.len() > 2 {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
        run = at + 1;
    }
    out.push_str(s.get(run..).unwrap_or_default());
    out.push('"');
}

/// Appends `n` in decimal, without `core::fmt`.
pub fn write_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20]; // u64::MAX has 20 digits
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// Builds a compact JSON object, members in insertion order.
pub struct ObjectWriter {
    buf: String,
}

impl Default for ObjectWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ObjectWriter {
    /// An empty object.
    pub fn new() -> Self {
        ObjectWriter {
            buf: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        write_string(&mut self.buf, key);
        self.buf.push(':');
        &mut self.buf
    }

    /// Adds a string member.
    pub fn string(&mut self, key: &str, value: &str) -> &mut Self {
        write_string(self.key(key), value);
        self
    }

    /// Adds an integer member.
    pub fn number(&mut self, key: &str, value: i64) -> &mut Self {
        let out = self.key(key);
        if value < 0 {
            out.push('-');
        }
        write_u64(out, value.unsigned_abs());
        self
    }

    /// Adds a boolean member.
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key).push_str(if value { "true" } else { "false" });
        self
    }

    /// Adds a `null` member.
    pub fn null(&mut self, key: &str) -> &mut Self {
        self.key(key).push_str("null");
        self
    }

    /// Adds a member whose value is `json`, which the caller guarantees is valid JSON.
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key).push_str(json);
        self
    }

    /// The finished object text.
    pub fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Value {
        parse(s.as_bytes()).unwrap_or_else(|_| panic!("should parse: {s:?}"))
    }

    fn bad(s: &[u8]) {
        assert_eq!(
            parse(s),
            Err(JsonError),
            "should be rejected: {:?}",
            String::from_utf8_lossy(s)
        );
    }

    fn num(s: &str) -> Value {
        Value::Number(s.into())
    }

    fn string(s: &str) -> Value {
        Value::String(s.into())
    }

    #[test]
    fn scalars() {
        assert_eq!(ok("null"), Value::Null);
        assert_eq!(ok("true"), Value::Bool(true));
        assert_eq!(ok("false"), Value::Bool(false));
        assert_eq!(ok("0"), num("0"));
        assert_eq!(ok("-0"), num("-0"));
        assert_eq!(ok("-12.5e3"), num("-12.5e3"));
        assert_eq!(ok("1E+2"), num("1E+2"));
        assert_eq!(ok("1e-2"), num("1e-2"));
        assert_eq!(ok("0.001"), num("0.001"));
        assert_eq!(ok("1700000000"), num("1700000000"));
        assert_eq!(ok("\"\""), string(""));
        assert_eq!(ok("\"héllo 😀\""), string("héllo 😀"));
    }

    #[test]
    fn containers_and_whitespace() {
        assert_eq!(ok("[]"), Value::Array(vec![]));
        assert_eq!(ok("{}"), Value::Object(vec![]));
        assert_eq!(
            ok(" \t\r\n[ 1 , \"a\" ,null,[ ],{ } ] \n"),
            Value::Array(vec![
                num("1"),
                string("a"),
                Value::Null,
                Value::Array(vec![]),
                Value::Object(vec![]),
            ])
        );
        let v =
            ok(r#"{"iss":"https://op.example","aud":["a","b"],"exp":1700000000,"x":{"y":false}}"#);
        assert_eq!(
            v.get("iss").and_then(Value::as_str),
            Some("https://op.example")
        );
        assert_eq!(
            v.get("aud").and_then(Value::as_array).map(<[Value]>::len),
            Some(2)
        );
        assert_eq!(v.get("exp").and_then(Value::as_i64), Some(1_700_000_000));
        assert_eq!(
            v.get("x").and_then(|x| x.get("y")).and_then(Value::as_bool),
            Some(false)
        );
        assert_eq!(v.get("missing"), None);
        assert_eq!(v.as_object().map(|m| m[0].0.as_str()), Some("iss"));
        assert_eq!(num("1").get("iss"), None);
        assert!(ok("null").is_null());
        assert!(!ok("0").is_null());
        assert_eq!(ok("1").as_str(), None);
        assert_eq!(ok("\"1\"").as_i64(), None);
        assert_eq!(ok("1").as_bool(), None);
        assert_eq!(ok("{}").as_array(), None);
        assert_eq!(ok("[]").as_object(), None);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            ok(r#""\" \\ \/ \b \f \n \r \t""#),
            string("\" \\ / \u{8} \u{c} \n \r \t")
        );
        assert_eq!(ok(r#""\u0041\u00e9\u20AC""#), string("Aé€"));
        assert_eq!(ok(r#""\u0000""#), string("\0"));
        assert_eq!(ok(r#""\ud83d\ude00""#), string("😀"));
        assert_eq!(ok(r#""\uD834\uDD1E x""#), string("𝄞 x"));
        assert_eq!(ok(r#""\uFFFF""#), string("\u{FFFF}"));
    }

    #[test]
    fn rejects_bad_strings() {
        bad(b"\"abc");
        bad(b"\"a\nb\"");
        bad(b"\"a\tb\"");
        bad(b"\"\x1f\"");
        bad(b"\"\\x41\"");
        bad(b"\"\\a\"");
        bad(b"\"\\'\"");
        bad(b"\"\\u12\"");
        bad(b"\"\\u12G4\"");
        bad(b"\"\\U0041\"");
        bad(b"\"\\ud83d\""); // lone high surrogate
        bad(b"\"\\ud83dx\"");
        bad(b"\"\\ud83d\\n\"");
        bad(b"\"\\ud83d\\u0041\""); // high surrogate + non-surrogate
        bad(b"\"\\ud83d\\ud83d\""); // high + high
        bad(b"\"\\ude00\""); // lone low surrogate
        bad(b"\"\\ude00\\ud83d\""); // reversed pair
        bad(b"'a'");
        bad(b"\"\\");
        bad(b"\"\\u");
    }

    #[test]
    fn rejects_bad_utf8_bom_and_trailing_data() {
        bad(b"\"\xff\"");
        bad(b"\"\xc3\"");
        bad(b"\"\xed\xa0\x80\""); // UTF-8-encoded surrogate
        bad(b"\"\xc0\xaf\""); // overlong
        bad(b"\xef\xbb\xbf{}"); // BOM
        bad(b"");
        bad(b"   ");
        bad(b"{} {}");
        bad(b"1 2");
        bad(b"nullx");
        bad(b"[]]");
        bad(b"\x0c1"); // form feed is not JSON whitespace
        bad(b"\xc2\xa01"); // nor is NBSP
    }

    #[test]
    fn rejects_bad_numbers() {
        for s in [
            "01",
            "-01",
            "00",
            "+1",
            ".5",
            "1.",
            "-",
            "-.5",
            "1.e3",
            "1e",
            "1e+",
            "1E-",
            "--1",
            "0x10",
            "1_000",
            "NaN",
            "Infinity",
            "-Infinity",
            "1.5.2",
            "1ee2",
            "[01]",
            "[1.]",
        ] {
            bad(s.as_bytes());
        }
    }

    #[test]
    fn rejects_bad_literals_comments_and_commas() {
        for s in [
            "tru",
            "True",
            "nul",
            "NULL",
            "falsey",
            "undefined",
            "[1,]",
            "[,1]",
            "[1,,2]",
            "[,]",
            "{\"a\":1,}",
            "{,}",
            "{\"a\" 1}",
            "{\"a\":}",
            "{\"a\"}",
            "{a:1}",
            "{'a':1}",
            "{1:1}",
            "[1 2]",
            "{\"a\":1 \"b\":2}",
            "[1",
            "{",
            "{\"a\":1",
            "[1]//c",
            "/*c*/1",
            "# c\n1",
            "[1]/**/",
            "{\"a\":1;\"b\":2}",
            "[1:2]",
            "{\"a\",1}",
        ] {
            bad(s.as_bytes());
        }
    }

    #[test]
    fn rejects_duplicate_member_names() {
        bad(br#"{"a":1,"a":2}"#);
        bad(br#"{"a":1,"b":2,"a":1}"#);
        bad(br#"{"a":1,"\u0061":2}"#); // same name after unescaping
        bad(br#"[{"x":{"y":1,"y":1}}]"#);
        assert!(parse(br#"{"a":1,"A":2,"b":{"a":3}}"#).is_ok());
        // Up to the member cap: a late duplicate is found; one member more is refused.
        let mut doc = String::from("{");
        for i in 0..MAX_MEMBERS - 1 {
            doc.push_str(&format!("\"k{i}\":{i},"));
        }
        let good = format!("{}\"end\":0}}", doc);
        assert_eq!(ok(&good).as_object().map(<[_]>::len), Some(MAX_MEMBERS));
        bad(format!("{}\"k1000\":0}}", doc).as_bytes());
        bad(format!("{}\"end\":0,\"more\":1}}", doc).as_bytes());
    }

    #[test]
    fn depth_limit() {
        let nest = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(nest(MAX_DEPTH).as_bytes()).is_ok());
        bad(nest(MAX_DEPTH + 1).as_bytes());
        let objects = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        assert!(parse(objects(MAX_DEPTH).as_bytes()).is_ok());
        bad(objects(MAX_DEPTH + 1).as_bytes());
        // Far deeper than any stack: an error, not an overflow.
        bad("[".repeat(1_000_000).as_bytes());
        bad("{\"a\":".repeat(200_000).as_bytes());
        bad(nest(100_000).as_bytes());
    }

    #[test]
    fn as_i64_cases() {
        let i = |s: &str| ok(s).as_i64();
        assert_eq!(i("1700000000"), Some(1_700_000_000));
        assert_eq!(i("0"), Some(0));
        assert_eq!(i("-0"), Some(0));
        assert_eq!(i("-5"), Some(-5));
        assert_eq!(i("12.9"), Some(12));
        assert_eq!(i("-12.9"), Some(-12));
        assert_eq!(i("-0.5"), Some(0));
        assert_eq!(i("1700000000.123456"), Some(1_700_000_000));
        assert_eq!(i("9223372036854775807"), Some(i64::MAX));
        assert_eq!(i("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(i("9223372036854775808"), None);
        assert_eq!(i("-9223372036854775809"), None);
        assert_eq!(i("99999999999999999999"), None);
        assert_eq!(i("1e3"), None);
        assert_eq!(i("1E3"), None);
        assert_eq!(i("1.5e0"), None);
        assert_eq!(i("true"), None);
        assert_eq!(num("").as_i64(), None);
        assert_eq!(num("-").as_i64(), None);
        assert_eq!(num("1x").as_i64(), None);
    }

    #[test]
    fn to_json_round_trips() {
        for doc in [
            r#"{"a":[1,-2.5e-3,true,false,null,"x"],"b":{},"c":[],"d":{"e":"\"\\\n"}}"#,
            r#"["\u0000\u001f\b\f\n\r\t","é😀","/"]"#,
            r#"{"":""}"#,
            "0",
        ] {
            let v = ok(doc);
            let text = v.to_json();
            assert_eq!(ok(&text), v, "{doc}");
            assert_eq!(ok(&text).to_json(), text);
        }
        assert_eq!(ok(" { \"a\" : [ 1 , 2 ] } ").to_json(), r#"{"a":[1,2]}"#);
        assert_eq!(ok(r#""\u00e9\/\u001F""#).to_json(), "\"é/\\u001f\"");
        assert_eq!(ok(r#"["\ud83d\ude00"]"#).to_json(), "[\"😀\"]");
    }

    #[test]
    fn write_string_escapes() {
        let mut out = String::new();
        write_string(&mut out, "a\"b\\c\nd\re\tf\u{8}\u{c}\u{1}\u{1f}\u{7f}é");
        assert_eq!(
            out,
            "\"a\\\"b\\\\c\\nd\\re\\tf\\b\\f\\u0001\\u001f\u{7f}é\""
        );
    }

    #[test]
    fn object_writer() {
        assert_eq!(ObjectWriter::new().finish(), "{}");
        assert_eq!(ObjectWriter::default().finish(), "{}");
        let mut o = ObjectWriter::new();
        o.string("s", "a\"b")
            .number("n", 0)
            .number("neg", -42)
            .number("min", i64::MIN)
            .number("max", i64::MAX)
            .bool("t", true)
            .bool("f", false)
            .null("z")
            .raw("r", "[1,{\"x\":2}]");
        let text = o.finish();
        assert_eq!(
            text,
            r#"{"s":"a\"b","n":0,"neg":-42,"min":-9223372036854775808,"max":9223372036854775807,"t":true,"f":false,"z":null,"r":[1,{"x":2}]}"#
        );
        let v = ok(&text);
        assert_eq!(v.get("min").and_then(Value::as_i64), Some(i64::MIN));
        assert_eq!(v.get("max").and_then(Value::as_i64), Some(i64::MAX));
        assert_eq!(v.get("neg").and_then(Value::as_i64), Some(-42));
    }

    /// xorshift64: cheap, deterministic.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn fuzz_never_panics() {
        const SEEDS: [&str; 5] = [
            r#"{"iss":"https://op.example","aud":["a","b"],"exp":1700000000.5,"n":null,"t":true}"#,
            r#"[[[{"a":[-1.5e+3,0,"\ud83d\ude00\n\u0041"]}]],false]"#,
            r#"{"keys":[{"kty":"RSA","e":"AQAB","n":"x\/y"}],"":{}}"#,
            r#""é\"\\\/\b\f\n\r\t""#,
            "-0.0e-0",
        ];
        const BYTES: &[u8] = b"{}[]\",:\\/ubfnrtlsae0123456789-+.eE \t\r\n\x00\x1f\x7f\xc3\xa9\xed\xa0\xf0\x9f\x98\x80\xef\xbb\xbfdDx";
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut accepted = 0;
        for round in 0..20_000 {
            let mut doc: Vec<u8> = if round % 5 == 0 {
                // Random bytes, biased towards JSON syntax.
                (0..rng.below(48))
                    .map(|_| {
                        if rng.below(4) == 0 {
                            rng.next() as u8
                        } else {
                            BYTES[rng.below(BYTES.len())]
                        }
                    })
                    .collect()
            } else {
                SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec()
            };
            for _ in 0..rng.below(4) + 1 {
                let at = rng.below(doc.len() + 1);
                let byte = if rng.below(3) == 0 {
                    rng.next() as u8
                } else {
                    BYTES[rng.below(BYTES.len())]
                };
                match rng.below(5) {
                    0 if at < doc.len() => doc[at] = byte,
                    1 => doc.insert(at, byte),
                    2 if at < doc.len() => {
                        doc.remove(at);
                    }
                    3 => doc.truncate(at),
                    _ => {
                        // Duplicate a slice: grows nesting and repeats members.
                        let end = (at + rng.below(16)).min(doc.len());
                        let piece = doc[at..end].to_vec();
                        doc.splice(at..at, piece);
                    }
                }
            }
            if let Ok(v) = parse(&doc) {
                accepted += 1;
                let text = v.to_json();
                assert_eq!(
                    parse(text.as_bytes()),
                    Ok(v),
                    "round trip of {:?}",
                    String::from_utf8_lossy(&doc)
                );
            }
        }
        // The mutations leave some documents valid, so the success path is exercised too.
        assert!(accepted > 100, "only {accepted} accepted");
    }
}
