//! Requests to the app's own APIs (`auth.fetch`), sent from the worker with the access token.
//!
//! The token goes only to the configured `apiOrigins`, compared exactly by origin (RFC 6454),
//! and only as a Bearer `Authorization` header (RFC 6750 §2.1). The page chooses the URL,
//! method, headers and body; the core decides whether the token may go there and which token.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::config::ClientConfig;
use crate::protocol::error::Error;
use crate::protocol::types::TokenKey;
use crate::protocol::url::Url;

/// The origin of an absolute http(s) URL as the browser serialises it (`Request.url`), or
/// `None`. Only the authority is parsed here: the rest of the URL is the page's business.
pub fn origin_of(href: &str) -> Option<String> {
    let colon = crate::protocol::codec::find_byte(href, b':')?;
    let after = href.get(colon + 1..)?.strip_prefix("//")?;
    let end = after.bytes().position(|b| matches!(b, b'/' | b'?' | b'#')).unwrap_or(after.len());
    Url::parse(href.get(..colon + 3 + end)?).map(|u| u.origin())
}

/// Decides whether a page's request may be sent with a token, and with which one: its origin
/// must be one of `apiOrigins` (else `config` / `api_origin`, and no token is attached to
/// anything); the method must be a method token that `fetch` allows; the page may not set
/// `Authorization` or `DPoP` itself (`config` / `authorization_header`): those are the worker's.
/// `header_names` are joined by `,`, which no header name contains (RFC 9110 §5.1).
pub fn api_token_key(config: &ClientConfig, url: &str, method: &str, header_names: &str) -> Result<TokenKey, Error> {
    let origin = origin_of(url).ok_or_else(|| Error::Config { reason: &"api_origin" })?;
    let api = config
        .api_origins
        .iter()
        .find(|o| o.origin == origin)
        .ok_or_else(|| Error::Config { reason: &"api_origin" })?;
    // RFC 9110 §9.1 method = token; Fetch forbids CONNECT, TRACE and TRACK.
    let forbidden = ["CONNECT", "TRACE", "TRACK"].iter().any(|m| m.eq_ignore_ascii_case(method));
    if method.is_empty() || !method.bytes().all(is_tchar) || forbidden {
        return Err(Error::Config { reason: &"method" });
    }
    // (`DPoP` too: the proof is the worker's, RFC 9449 §7.1.)
    if crate::protocol::codec::split_byte(header_names, b',').any(|n| ["authorization", "dpop"].iter().any(|h| n.trim_ascii().eq_ignore_ascii_case(h))) {
        return Err(Error::Config { reason: &"authorization_header" });
    }
    Ok(api.token.clone())
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || crate::protocol::codec::has_byte(b"!#$%&'*+-.^_`|~", b)
}

/// Whether a `WWW-Authenticate` value holds a `Bearer` challenge with
/// `error="invalid_token"` (RFC 6750 §3, §3.1): the token was refused as expired or revoked,
/// so one refresh and one retry may help. Other errors (`insufficient_scope`, ...) do not.
pub fn is_invalid_token_challenge(header: &str) -> bool {
    has_challenge_error(header, "Bearer", "invalid_token")
}

/// Whether a `WWW-Authenticate` value holds a challenge of `scheme` (case-insensitive) whose
/// `error` parameter is `error`: RFC 6750 §3 for `Bearer`, RFC 9449 §7.1 for `DPoP`.
/// Parsed per RFC 9110 §11.6.1: challenges are `scheme [ token68 / #auth-param ]`, and
/// several may share one header value.
pub fn has_challenge_error(header: &str, scheme: &str, error: &str) -> bool {
    let b = header.as_bytes();
    let mut i = 0;
    let mut in_scheme = false;
    let skip = |i: &mut usize, set: &[u8]| {
        while *i < b.len() && crate::protocol::codec::has_byte(set, b[*i]) {
            *i += 1;
        }
    };
    loop {
        skip(&mut i, b" \t,");
        let start = i;
        while i < b.len() && is_tchar(b[i]) {
            i += 1;
        }
        if i == start {
            return false; // the end, or something that is not a challenge
        }
        // (`get`, not indexing: a str slice that could panic drags kilobytes of formatting
        // code into the wasm.)
        let name = b.get(start..i).unwrap_or_default();
        skip(&mut i, b" \t");
        if b.get(i) != Some(&b'=') {
            in_scheme = name.eq_ignore_ascii_case(scheme.as_bytes()); // the next challenge's scheme
            continue;
        }
        i += 1;
        skip(&mut i, b" \t");
        let mut value = Vec::new();
        if b.get(i) == Some(&b'"') {
            // quoted-string, with quoted-pairs
            i += 1;
            loop {
                match b.get(i) {
                    None => return false,
                    Some(b'"') => break,
                    Some(b'\\') => {
                        value.extend(b.get(i + 1));
                        i += 2;
                    }
                    Some(&c) => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
            i += 1;
        } else {
            while i < b.len() && (is_tchar(b[i]) || b[i] == b'/' || b[i] == b'=') {
                value.push(b[i]);
                i += 1;
            }
        }
        if in_scheme && name.eq_ignore_ascii_case(b"error") && value == error.as_bytes() {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::json::parse;

    #[test]
    fn origins_are_read_from_the_authority_only() {
        assert_eq!(origin_of("https://API.example:443/v1/items?q=|x#f").as_deref(), Some("https://api.example"));
        assert_eq!(origin_of("http://127.0.0.1:8080").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(origin_of("https://api.example?x").as_deref(), Some("https://api.example"));
        for bad in ["ftp://api.example/", "https://user@api.example/", "//api.example/", "/v1", "https://", "data:text/plain,x"] {
            assert_eq!(origin_of(bad), None, "{bad}");
        }
    }

    fn config() -> ClientConfig {
        let json = r#"{"issuer":"https://op.example","clientId":"spa","redirectUri":"https://app.example/",
            "apiOrigins":["https://api.example",{"origin":"https://other.example:8443","resource":"https://other.example/"}]}"#;
        ClientConfig::from_json(&parse(json.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn only_listed_origins_get_a_token_and_each_gets_its_own() {
        let c = config();
        let none = "";
        assert_eq!(api_token_key(&c, "https://api.example/me", "GET", none), Ok(TokenKey::default()));
        assert_eq!(
            api_token_key(&c, "https://other.example:8443/x", "POST", "content-type,x-test"),
            Ok(TokenKey { resource: Some("https://other.example/".into()), scope: None })
        );
        let refused = Err(Error::Config { reason: &"api_origin" });
        for url in [
            "http://api.example/me",              // another scheme
            "https://api.example:8443/me",        // another port
            "https://api.example.evil.test/me",   // a look-alike host
            "https://other.example/x",            // the listed one has a port
            "https://evil.test/?https://api.example",
        ] {
            assert_eq!(api_token_key(&c, url, "GET", none), refused, "{url}");
        }
    }

    #[test]
    fn methods_and_headers_are_checked() {
        let c = config();
        let url = "https://api.example/";
        assert!(api_token_key(&c, url, "PATCH", "").is_ok());
        for method in ["", "GET /", "TRACE", "connect"] {
            assert_eq!(api_token_key(&c, url, method, ""), Err(Error::Config { reason: &"method" }), "{method}");
        }
        for names in ["Authorization", "accept,authorization", "x-test, AUTHORIZATION"] {
            assert_eq!(api_token_key(&c, url, "GET", names), Err(Error::Config { reason: &"authorization_header" }), "{names}");
        }
    }

    #[test]
    fn recognises_the_invalid_token_challenge() {
        for yes in [
            r#"Bearer error="invalid_token""#,
            r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#,
            r#"bearer error=invalid_token"#,
            r#"Basic realm="x", Bearer realm="y",error="invalid_token""#,
            r#"Bearer realm="a \"quoted\" realm", error = "invalid_token""#,
        ] {
            assert!(is_invalid_token_challenge(yes), "{yes}");
        }
        for no in [
            "",
            r#"Bearer realm="example""#,
            r#"Bearer error="insufficient_scope""#,
            r#"Basic error="invalid_token""#,
            r#"DPoP error="invalid_token""#,
            r#"Bearer error_description="error=\"invalid_token\"""#,
            r#"Bearer error="invalid_token"#,
        ] {
            assert!(!is_invalid_token_challenge(no), "{no}");
        }
    }

    #[test]
    fn reads_the_error_of_a_challenge_of_any_scheme() {
        // RFC 9449 §7.1, §9: DPoP challenges carry `error` like Bearer ones.
        let dpop = r#"DPoP algs="ES256 PS256", error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#;
        assert!(has_challenge_error(dpop, "DPoP", "use_dpop_nonce"));
        assert!(has_challenge_error(dpop, "dpop", "use_dpop_nonce"));
        assert!(!has_challenge_error(dpop, "Bearer", "use_dpop_nonce"));
        assert!(!has_challenge_error(dpop, "DPoP", "invalid_token"));
        assert!(has_challenge_error(r#"Bearer realm="a", DPoP error="invalid_token""#, "DPoP", "invalid_token"));
        assert!(!has_challenge_error(r#"DPoP realm="a", Bearer error="invalid_token""#, "DPoP", "invalid_token"));
        assert!(!has_challenge_error(r#"DPoPx error="use_dpop_nonce""#, "DPoP", "use_dpop_nonce"));
    }
}
