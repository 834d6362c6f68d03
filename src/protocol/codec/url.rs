//! The little URL handling an OAuth client needs: strict parsing of absolute `http`/`https`
//! URLs ([RFC 3986](https://www.rfc-editor.org/rfc/rfc3986)), percent-encoding, and
//! `application/x-www-form-urlencoded` query strings.
//!
//! [`Url::parse`] rejects URLs a browser would rewrite or read differently (backslashes, dot
//! segments, shorthand IPv4 hosts, stray characters) rather than normalizing them.

#[allow(unused_imports)]
use crate::prelude::*;
/// An absolute `http` or `https` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `http` or `https`, lowercased.
    pub scheme: String,
    /// The host, lowercased; an IPv6 literal keeps its brackets (`[::1]`).
    pub host: String,
    /// The port as written, if any (an explicit default port is kept here; [`Url::origin`] omits it).
    pub port: Option<u16>,
    /// The path, `/` when empty.
    pub path: String,
    /// The raw query, without `?`.
    pub query: Option<String>,
    /// The raw fragment, without `#`.
    pub fragment: Option<String>,
}

impl Url {
    /// Parses an absolute `http`/`https` URL; `None` for anything else or anything doubtful.
    pub fn parse(text: &str) -> Option<Url> {
        // Printable ASCII only (no whitespace, controls or non-ASCII), and no backslash, which
        // browsers read as '/' in http(s) URLs.
        if !text.bytes().all(|c| c.is_ascii_graphic() && c != b'\\') {
            return None;
        }
        // `scheme "://"`, found by a byte search: a `&str` pattern would drag in the
        // substring searcher and its panic paths, kilobytes of wasm.
        let colon = super::find_byte(text, b':')?;
        let (scheme, rest) = (text.get(..colon)?, text.get(colon + 1..)?.strip_prefix("//")?);
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let (rest, fragment) = split(rest, b'#');
        let (rest, query) = split(rest, b'?');
        let at = super::find_byte(rest, b'/').unwrap_or(rest.len());
        let (authority, path) = (rest.get(..at)?, rest.get(at..)?);
        // RFC 3986 §3.2.1: no userinfo (it enables `https://trusted@evil` look-alikes).
        if super::find_byte(&authority, b'@').is_some() {
            return None;
        }
        let authority = authority.to_ascii_lowercase();
        // RFC 3986 §3.2.2: IP-literal / IPv4address / reg-name.
        let end = if authority.starts_with("[") {
            super::find_byte(&authority, b']')? + 1
        } else {
            super::find_byte(&authority, b':').unwrap_or(authority.len())
        };
        let (host, port) = (authority.get(..end)?, authority.get(end..)?);
        if let Some(inner) = host.strip_prefix("[") {
            // No zone identifier ('%'), no IPvFuture; and only the form a browser serializes.
            if !is_canonical_ipv6(inner.strip_suffix("]")?) {
                return None;
            }
        } else if host.is_empty()
            || !host.bytes().all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-'))
            // A host whose last label is numeric is an IPv4 address to a browser (WHATWG
            // URL "ends in a number"), which may read `127.1` or `0x7f.0.0.1` as 127.0.0.1:
            // accept only the canonical dotted quad.
            || (ends_in_number(host) && !is_ipv4(host))
        {
            return None;
        }
        // RFC 3986 §3.2.3: port = *DIGIT; we also require at least one digit.
        let port = match port.strip_prefix(":") {
            Some(digits) => Some(parse_port(digits)?),
            None if port.is_empty() => None,
            None => return None,
        };
        // RFC 3986 §3.3-3.5: only pchar, '/' and '?' in path, query and fragment; and no dot
        // segments, which a browser would remove (RFC 3986 §5.2.4).
        if !valid_part(path)
            || super::split_byte(path, b'/').any(is_dot_segment)
            || !query.is_none_or(valid_part)
            // WHATWG URL's special-query percent-encode set: a browser sends `'` as `%27`.
            || query.is_some_and(|q| super::find_byte(q, b'\'').is_some())
            || !fragment.is_none_or(valid_part)
        {
            return None;
        }
        Some(Url {
            scheme,
            host: host.to_owned(),
            port,
            path: if path.is_empty() { "/" } else { path }.to_owned(),
            query: query.map(str::to_owned),
            fragment: fragment.map(str::to_owned),
        })
    }

    /// Whether the host is `localhost`, a `127.x.y.z` address or `[::1]`.
    pub fn is_loopback(&self) -> bool {
        let h = self.host.as_str();
        h == "localhost" || h == "[::1]" || (h.starts_with("127.") && is_ipv4(h))
    }

    /// `scheme://host[:port]`, without the scheme's default port (RFC 6454 §6.2).
    pub fn origin(&self) -> String {
        let mut out = String::with_capacity(self.scheme.len() + self.host.len() + 9);
        out.push_str(&self.scheme);
        out.push_str("://");
        out.push_str(&self.host);
        let default = if self.scheme == "https" { 443 } else { 80 };
        if let Some(port) = self.port.filter(|&p| p != default) {
            out.push(':');
            super::json::write_u64(&mut out, u64::from(port));
        }
        out
    }

    /// The origin followed by the path: the URL without query and fragment.
    pub fn without_query_and_fragment(&self) -> String {
        let mut out = self.origin();
        out.push_str(&self.path);
        out
    }
}

/// Whether `url` is `https`, or `http` on a loopback host (RFC 8252 §7.3; RFC 6749 §3.1.2.1).
pub fn is_secure_or_loopback(url: &Url) -> bool {
    url.scheme == "https" || (url.scheme == "http" && url.is_loopback())
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `value` percent-encoded: RFC 3986 §2.3 unreserved characters are kept, every other
/// UTF-8 byte becomes `%XX` (uppercase, RFC 3986 §2.1).
pub fn percent_encode(out: &mut String, value: &str) {
    for c in value.bytes() {
        if is_unreserved(c) {
            out.push(char::from(c));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(c >> 4)]));
            out.push(char::from(HEX[usize::from(c & 15)]));
        }
    }
}

/// `k=v&k2=v2`, names and values percent-encoded: valid both as a query string and as an
/// `application/x-www-form-urlencoded` body.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        percent_encode(&mut out, name);
        out.push('=');
        percent_encode(&mut out, value);
    }
    out
}

/// `base` with `pairs` appended to its query (after `?`, or `&` when it already has one),
/// keeping any existing query (RFC 6749 §3.1). `base` must have no fragment.
pub fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = base.to_owned();
    if !pairs.is_empty() {
        if super::find_byte(base, b'?').is_none() {
            out.push('?');
        } else if !base.ends_with("?") && !base.ends_with("&") {
            out.push('&');
        }
        out.push_str(&form_encode(pairs));
    }
    out
}

/// Parses `application/x-www-form-urlencoded` (WHATWG URL §5.1) in order, duplicates kept;
/// `None` on an invalid `%` sequence or a result that is not UTF-8.
pub fn parse_query(query: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for piece in super::split_byte(query, b'&').filter(|p| !p.is_empty()) {
        let (name, value) = super::split_once_byte(piece, b'=').unwrap_or((piece, ""));
        out.push((form_decode(name)?, form_decode(value)?));
    }
    Some(out)
}

/// `+` is a space and `%XX` a byte; a `%` without two hex digits is rejected, not kept.
fn form_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        i += 1;
        out.push(match c {
            b'+' => b' ',
            b'%' => {
                let v = hex(b.get(i))? << 4 | hex(b.get(i + 1))?;
                i += 2;
                v
            }
            c => c,
        });
    }
    String::from_utf8(out).ok()
}

fn hex(c: Option<&u8>) -> Option<u8> {
    char::from(*c?).to_digit(16).map(|d| d as u8)
}

// RFC 3986 §2.3: unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 §3.3-3.5: `*( pchar / "/" / "?" )`, with `%` only as `%XX`.
fn valid_part(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            if hex(b.get(i + 1)).is_none() || hex(b.get(i + 2)).is_none() {
                return false;
            }
            i += 3;
            continue;
        }
        // pchar = unreserved / pct-encoded / sub-delims / ":" / "@"
        if !(is_unreserved(c) || super::has_byte(b"!$&'()*+,;=:@/?", c)) {
            return false;
        }
        i += 1;
    }
    true
}

/// `.` or `..`, also percent-encoded (WHATWG URL single- and double-dot segments).
fn is_dot_segment(seg: &str) -> bool {
    [".", "..", "%2e", ".%2e", "%2e.", "%2e%2e"]
        .iter()
        .any(|d| seg.eq_ignore_ascii_case(d))
}

/// WHATWG URL "ends in a number": the last label (ignoring one trailing dot) is all digits
/// or `0x` followed by hex digits.
fn ends_in_number(host: &str) -> bool {
    let host = host.strip_suffix(".").unwrap_or(host);
    // The last label. (A byte search: `rsplit` pulls in a reverse char searcher, ~0.5 KB.)
    let last = host.bytes().rposition(|c| c == b'.').and_then(|dot| host.get(dot + 1..)).unwrap_or(host);
    let digits = !last.is_empty() && last.bytes().all(|c| c.is_ascii_digit());
    digits
        || last
            .strip_prefix("0x")
            .is_some_and(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// A canonical dotted quad: four decimal parts 0-255 without leading zeros.
fn is_ipv4(host: &str) -> bool {
    let mut parts = 0;
    for part in super::split_byte(host, b'.') {
        parts += 1;
        let ok = (1..=3).contains(&part.len())
            && part.bytes().all(|c| c.is_ascii_digit())
            && !(part.len() > 1 && part.starts_with("0"))
            && part.bytes().fold(0u32, |v, c| v * 10 + u32::from(c - b'0')) <= 255;
        if !ok {
            return false;
        }
    }
    parts == 4
}

/// An IPv6 address (between the brackets) exactly as the WHATWG URL Standard serializes it
/// (§3.5, the same form as RFC 5952 §4 but never with an embedded IPv4 part): eight groups of
/// lowercase hex without leading zeros, the first longest run of two or more zero groups
/// written `::`. A browser rewrites any other spelling, so the origin we would compare is not
/// the one it uses (found by the differential fuzz test against the `url` crate).
fn is_canonical_ipv6(address: &str) -> bool {
    /// One side of `::` (or the whole address): its groups, its longest run of zero groups,
    /// and whether its first and last groups are zero; `None` if a group is malformed.
    struct Side {
        groups: usize,
        longest_zero_run: usize,
        first_zero: bool,
        last_zero: bool,
    }
    fn side(text: &str) -> Option<Side> {
        let mut side = Side { groups: 0, longest_zero_run: 0, first_zero: false, last_zero: false };
        if text.is_empty() {
            return Some(side);
        }
        let mut run = 0;
        for group in super::split_byte(text, b':') {
            let b = group.as_bytes();
            if !(1..=4).contains(&b.len())
                || !b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
                || (b.len() > 1 && b.first() == Some(&b'0'))
            {
                return None;
            }
            let zero = b == b"0";
            side.first_zero |= side.groups == 0 && zero;
            side.last_zero = zero;
            side.groups += 1;
            run = if zero { run + 1 } else { 0 };
            side.longest_zero_run = side.longest_zero_run.max(run);
        }
        Some(side)
    }
    // `::` found by a byte search: a `&str` pattern would drag in the substring searcher.
    match address.as_bytes().windows(2).position(|pair| pair == b"::") {
        None => side(address).is_some_and(|all| all.groups == 8 && all.longest_zero_run < 2),
        Some(at) => {
            let (Some(left), Some(right)) = (side(address.get(..at).unwrap_or("")), side(address.get(at + 2..).unwrap_or(""))) else {
                return false;
            };
            let compressed = 8usize.saturating_sub(left.groups + right.groups);
            // At least two groups compressed, no zero group beside `::`, no earlier run as
            // long, no later run longer.
            compressed >= 2
                && !left.last_zero
                && !right.first_zero
                && left.longest_zero_run < compressed
                && right.longest_zero_run <= compressed
        }
    }
}

fn parse_port(digits: &str) -> Option<u16> {
    if digits.is_empty() {
        return None;
    }
    let mut v: u32 = 0;
    for c in digits.bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
        if v > 65535 {
            return None;
        }
    }
    u16::try_from(v).ok()
}

fn split(s: &str, at: u8) -> (&str, Option<&str>) {
    match super::split_once_byte(s, at) {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|| panic!("should parse: {s:?}"))
    }

    fn bad(s: &str) {
        assert_eq!(Url::parse(s), None, "should be rejected: {s:?}");
    }

    #[test]
    fn parses_and_lowercases() {
        let u = url("HTTP://LOCALHOST:8080/cb?x=1#f");
        assert_eq!(
            u,
            Url {
                scheme: "http".into(),
                host: "localhost".into(),
                port: Some(8080),
                path: "/cb".into(),
                query: Some("x=1".into()),
                fragment: Some("f".into()),
            }
        );
        let u = url("https://Op.Example.COM");
        assert_eq!(
            (u.scheme.as_str(), u.host.as_str(), u.port),
            ("https", "op.example.com", None)
        );
        assert_eq!((u.path.as_str(), u.query, u.fragment), ("/", None, None));
        // Path case is kept.
        assert_eq!(url("https://a.example/Auth/CB").path, "/Auth/CB");
        let u = url("https://a.example?q");
        assert_eq!((u.path.as_str(), u.query.as_deref()), ("/", Some("q")));
        let u = url("https://a.example#frag?not-query");
        assert_eq!(
            (u.query, u.fragment.as_deref()),
            (None, Some("frag?not-query"))
        );
        let u = url("https://a.example/p?");
        assert_eq!((u.path.as_str(), u.query.as_deref()), ("/p", Some("")));
        let u = url("https://a.example/a/b%20c/?x=%2F&y=a:b@c/d?e#s/t?u");
        assert_eq!(u.path, "/a/b%20c/");
        assert_eq!(u.query.as_deref(), Some("x=%2F&y=a:b@c/d?e"));
        assert_eq!(u.fragment.as_deref(), Some("s/t?u"));
        assert_eq!(url("https://a.example/b/..c/.d").path, "/b/..c/.d");
        assert_eq!(url("https://a-b.c-d.example:0/").port, Some(0));
        assert_eq!(url("https://a.example:65535/").port, Some(65535));
        assert_eq!(url("https://a.example:00443/").port, Some(443));
        assert_eq!(url("https://a.example.:443/").host, "a.example.");
    }

    #[test]
    fn hosts() {
        assert_eq!(url("http://127.0.0.1:3000/").host, "127.0.0.1");
        assert_eq!(url("http://10.0.255.1/").host, "10.0.255.1");
        assert_eq!(url("http://[::1]:8080/cb").host, "[::1]");
        assert_eq!(url("https://[2001:DB8::A]/").host, "[2001:db8::a]");
        // Only the form a browser serializes: it would rewrite the others.
        bad("https://[::ffff:192.0.2.1]/");
        assert_eq!(url("https://[::ffff:c000:201]/").host, "[::ffff:c000:201]");
        for other in ["[0::1]", "[::0:1]", "[0:0:0:0:0:0:0:1]", "[::01]", "[1:0::1]", "[:1::]", "[1:2:3:4:5:6:7::]"] {
            bad(&format!("https://{other}/"));
        }
        assert_eq!(url("https://[1::1:0:0:0]/").host, "[1::1:0:0:0]");
        assert_eq!(url("https://[1::1:0:0:1]/").host, "[1::1:0:0:1]");
        assert_eq!(url("https://[1:2:3:4:5:6::]/").host, "[1:2:3:4:5:6::]");
        assert_eq!(url("https://[::1]:443").port, Some(443));
        assert_eq!(url("https://123.example/").host, "123.example");
        assert_eq!(url("https://0x.example/").host, "0x.example");
        // Rejected hosts.
        bad("https:///path");
        bad("https://:443/");
        bad("https://?x");
        bad("https://exa_mple.com/");
        bad("https://ex%41mple.com/");
        bad("https://a.example%2F/");
        bad("https://[fe80::1%25eth0]/");
        bad("https://[::1/");
        bad("https://[::1]x/");
        bad("https://[::1]:/");
        bad("https://[]/");
        bad("https://[1234]/");
        bad("https://[::g]/");
        bad("https://[v1.x]/");
        bad("https://::1/");
        bad("https://a]/");
        bad("https://a[::1]/");
        bad("https://a!b.example/");
        // Numeric hosts that are not canonical dotted quads.
        bad("http://127.0.0.256/");
        bad("http://127.1/");
        bad("http://2130706433/");
        bad("http://0x7f.0.0.1/");
        bad("http://127.0.0.01/");
        bad("http://127.0.0.1./");
        bad("http://1.2.3.4.5/");
        bad("http://a.0x/");
        bad("http://a.b.1/");
        bad("http://.1.2.3/");
    }

    #[test]
    fn rejections() {
        bad("http://user@host/");
        bad("http://user:pass@host/");
        bad("http://@host/");
        bad("https://exa mple.com");
        bad(" https://example.com");
        bad("https://example.com/ ");
        bad("https://example.com/\t");
        bad("https://example.com/\n");
        bad("https://example.com/\u{7f}");
        bad("https://exämple.com/");
        bad("https://example.com/é");
        bad("https://example.com\\@evil.example/");
        bad("https://example.com/a\\b");
        bad("javascript:alert(1)");
        bad("javascript://example.com/%0aalert(1)");
        bad("ftp://example.com/");
        bad("data:text/html,x");
        bad("https:example.com");
        bad("https:/example.com");
        bad("//example.com/");
        bad("/relative");
        bad("");
        bad("https://");
        bad("http://127.0.0.1:99999/");
        bad("http://127.0.0.1:65536/");
        bad("http://example.com:80x/");
        bad("http://example.com:-1/");
        bad("http://example.com:+80/");
        bad("http://example.com:/");
        bad("http://example.com:8:8/");
        bad("http://example.com:99999999999999999999/");
    }

    #[test]
    fn rejects_what_a_browser_would_rewrite() {
        // WHATWG URL special-query percent-encode set (found by the differential fuzz test).
        bad("https://example.com/?a='b");
        assert_eq!(url("https://example.com/a'b#c'd").path, "/a'b");
        bad("https://example.com/a/../b");
        bad("https://example.com/./b");
        bad("https://example.com/a/..");
        bad("https://example.com/a/%2e%2E/b");
        bad("https://example.com/a/.%2e");
        bad("https://example.com/%2E");
        bad("https://example.com/a\"b");
        bad("https://example.com/a<b>");
        bad("https://example.com/a{b}");
        bad("https://example.com/a|b");
        bad("https://example.com/a^b");
        bad("https://example.com/a`b");
        bad("https://example.com/a[b]");
        bad("https://example.com/a%zz");
        bad("https://example.com/a%2");
        bad("https://example.com/?q=%");
        bad("https://example.com/?q=[1]");
        bad("https://example.com/#a#b");
        bad("https://example.com/#%g0");
    }

    #[test]
    fn loopback_and_security() {
        for s in [
            "http://localhost/",
            "http://127.0.0.1:8080/",
            "http://127.5.6.7/",
            "http://[::1]/",
        ] {
            let u = url(s);
            assert!(u.is_loopback(), "{s}");
            assert!(is_secure_or_loopback(&u), "{s}");
        }
        for s in [
            "http://localhost.example/",
            "http://localhost./",
            "http://foo.localhost/",
            "http://128.0.0.1/",
            "http://127.0.0.1.example/",
            "http://[::2]/",
            "http://example.com/",
            "http://10.0.0.1/",
        ] {
            let u = url(s);
            assert!(!u.is_loopback(), "{s}");
            assert!(!is_secure_or_loopback(&u), "{s}");
        }
        assert!(is_secure_or_loopback(&url("https://example.com/")));
        assert!(is_secure_or_loopback(&url("https://localhost/")));
    }

    #[test]
    fn origin_and_without_query() {
        assert_eq!(
            url("https://example.com:443/x").origin(),
            "https://example.com"
        );
        assert_eq!(
            url("http://example.com:80/x").origin(),
            "http://example.com"
        );
        assert_eq!(
            url("http://example.com:443/").origin(),
            "http://example.com:443"
        );
        assert_eq!(
            url("https://example.com:80/").origin(),
            "https://example.com:80"
        );
        assert_eq!(
            url("http://localhost:8080/cb").origin(),
            "http://localhost:8080"
        );
        assert_eq!(url("https://[::1]:8443/").origin(), "https://[::1]:8443");
        assert_eq!(url("https://e.example:1/").origin(), "https://e.example:1");
        assert_eq!(url("https://e.example:0/").origin(), "https://e.example:0");
        assert_eq!(
            url("https://e.example:65535/").origin(),
            "https://e.example:65535"
        );
        assert_eq!(url("HTTPS://Example.com").origin(), "https://example.com");
        let u = url("https://Example.com:8443/a/B?c=d#e");
        assert_eq!(u.origin(), "https://example.com:8443");
        assert_eq!(
            u.without_query_and_fragment(),
            "https://example.com:8443/a/B"
        );
        assert_eq!(
            url("https://example.com?x").without_query_and_fragment(),
            "https://example.com/"
        );
    }

    #[test]
    fn percent_encoding() {
        let enc = |s: &str| {
            let mut out = String::from(">");
            percent_encode(&mut out, s);
            out
        };
        assert_eq!(enc("é"), ">%C3%A9");
        assert_eq!(enc("a b"), ">a%20b");
        assert_eq!(enc("AZaz09-._~"), ">AZaz09-._~");
        assert_eq!(
            enc("+&=/?#%:@!*'()[]"),
            ">%2B%26%3D%2F%3F%23%25%3A%40%21%2A%27%28%29%5B%5D"
        );
        assert_eq!(enc("\0\n\u{7f}😀"), ">%00%0A%7F%F0%9F%98%80");
        assert_eq!(enc(""), ">");
    }

    #[test]
    fn form_encoding_and_with_query() {
        assert_eq!(form_encode(&[]), "");
        assert_eq!(
            form_encode(&[("a", "1"), ("b c", "d&e=f")]),
            "a=1&b%20c=d%26e%3Df"
        );
        assert_eq!(
            form_encode(&[("scope", "openid profile"), ("x", "")]),
            "scope=openid%20profile&x="
        );
        let pairs = [
            ("response_type", "code"),
            ("redirect_uri", "https://app.example/cb?a=1"),
        ];
        let tail = "response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fa%3D1";
        assert_eq!(
            with_query("https://op.example/auth", &pairs),
            format!("https://op.example/auth?{tail}")
        );
        assert_eq!(
            with_query("https://op.example/auth?tenant=x", &pairs),
            format!("https://op.example/auth?tenant=x&{tail}")
        );
        assert_eq!(
            with_query("https://op.example/auth?", &pairs),
            format!("https://op.example/auth?{tail}")
        );
        assert_eq!(
            with_query("https://op.example/auth?a=1&", &pairs),
            format!("https://op.example/auth?a=1&{tail}")
        );
        assert_eq!(
            with_query("https://op.example/auth?a=1", &[]),
            "https://op.example/auth?a=1"
        );
        // The result parses back to the same pairs, the existing query first.
        let full = url(&with_query("https://op.example/auth?tenant=x", &pairs));
        let parsed = parse_query(full.query.as_deref().unwrap_or_default()).unwrap_or_default();
        assert_eq!(parsed[0], ("tenant".to_owned(), "x".to_owned()));
        assert_eq!(
            parsed[2],
            (
                "redirect_uri".to_owned(),
                "https://app.example/cb?a=1".to_owned()
            )
        );
    }

    #[test]
    fn query_parsing() {
        let q = |s: &str| parse_query(s);
        let p = |v: &[(&str, &str)]| {
            Some(
                v.iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(q(""), p(&[]));
        assert_eq!(q("&&"), p(&[]));
        assert_eq!(
            q("code=abc&state=x+y"),
            p(&[("code", "abc"), ("state", "x y")])
        );
        assert_eq!(q("a=%2B&b=+%2b+"), p(&[("a", "+"), ("b", " + ")]));
        assert_eq!(q("a=1&&a=2&"), p(&[("a", "1"), ("a", "2")]));
        assert_eq!(q("flag&=v&k="), p(&[("flag", ""), ("", "v"), ("k", "")]));
        assert_eq!(q("a==b=c"), p(&[("a", "=b=c")]));
        assert_eq!(q("n%61me=%C3%A9%e2%82%ac"), p(&[("name", "é€")]));
        assert_eq!(q("a=%26%3D%23"), p(&[("a", "&=#")]));
        assert_eq!(q("é=ü"), p(&[("é", "ü")]));
        assert_eq!(q("a=%zz"), None);
        assert_eq!(q("a=%2"), None);
        assert_eq!(q("a=%"), None);
        assert_eq!(q("a=%%41"), None);
        assert_eq!(q("%g1=x"), None);
        assert_eq!(q("a=%FF"), None);
        assert_eq!(q("a=%C3"), None);
        assert_eq!(q("a=%ED%A0%80"), None);
        assert_eq!(q("ok=1&bad=%x"), None);
    }

    #[test]
    fn fuzz_never_panics() {
        const BYTES: &[u8] = b"hts:/p[]:@%?#.-_~+=&\\ 0129afAFxX\x7f\xc3\xa9";
        let mut state = 0x2545_F491_4F6C_DD1Du64; // xorshift64
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as usize
        };
        for round in 0..5_000 {
            let mut text: Vec<u8> = match round % 3 {
                0 => b"https://".to_vec(),
                1 => b"http://[::1]:80/a?b=%41#c".to_vec(),
                _ => Vec::new(),
            };
            for _ in 0..next() % 24 {
                let at = next() % (text.len() + 1);
                text.insert(at, BYTES[next() % BYTES.len()]);
            }
            let text = String::from_utf8_lossy(&text);
            if let Some(u) = Url::parse(&text) {
                // What we accept, we can print and parse again to the same value.
                assert_eq!(
                    Url::parse(&u.without_query_and_fragment()).map(|v| v.host),
                    Some(u.host)
                );
            }
            let _ = parse_query(&text);
        }
    }

    #[test]
    fn form_encode_round_trips_through_parse_query() {
        let names = ["a", "b c", "&=", "é😀", "+%", ""];
        let pairs: Vec<(&str, &str)> = names.iter().map(|n| (*n, *n)).collect();
        let back = parse_query(&form_encode(&pairs)).unwrap_or_default();
        let back: Vec<(&str, &str)> = back.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        // The empty name with an empty value encodes as "=", which is kept.
        assert_eq!(back, pairs);
    }
}
