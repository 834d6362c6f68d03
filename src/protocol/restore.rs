//! Getting the provider's session back when a page finds no session in its holder (the last
//! tab closed, the browser restarted): a `prompt=none` authorization request (OIDC Core
//! §3.1.2.1), by a top-level redirect or a hidden iframe, as the `restore` option says.
//!
//! It is attempted only when the page holds a *session hint*: a time, not a token or an
//! identifier, saying a session existed until about then (the page keeps it in
//! `localStorage`, writes it when a session starts or refreshes, and removes it when one ends
//! and when an attempt starts, so an attempt cannot repeat itself in a loop). A visitor
//! without a hint is never sent to the provider. The answer is an ordinary callback: state,
//! `iss`, nonce, signature and claims are all checked; `login_required` and the like simply
//! leave the page signed out.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::authorization::parse_callback;
use crate::protocol::config::{ClientConfig, Restore};
use crate::protocol::json::Value;
use crate::protocol::url::Url;

/// A hint older than this (30 days) is ignored: whatever session it saw has long ended.
pub const MAX_HINT_AGE_MS: u64 = 30 * 24 * 3600 * 1000;

/// What the page said when it asked: `{ url, hint }`, its address and its session hint (ms
/// since the epoch, or `null` without one).
pub struct RestoreRequest {
    /// The page's address.
    pub url: String,
    /// The session hint.
    pub hint: Option<u64>,
}

impl RestoreRequest {
    /// Reads `{ url, hint }`; `None` for anything else.
    pub fn from_json(value: &Value) -> Option<RestoreRequest> {
        let hint = match value.get("hint") {
            None | Some(Value::Null) => None,
            Some(hint) => Some(u64::try_from(hint.as_i64()?).ok()?),
        };
        Some(RestoreRequest { url: value.get("url")?.as_str()?.to_owned(), hint })
    }
}

/// How long one attempt keeps others from starting: the pages of a browser restoring its tabs
/// load at once, and may all still read the hint the first one spent (`localStorage` reaches
/// other processes late); they share the holder, so one attempt serves them all.
pub const ATTEMPT_WINDOW_MS: u64 = 60_000;

/// The restore decisions of one session holder: at most one attempt per [`ATTEMPT_WINDOW_MS`].
#[derive(Debug, Default)]
pub struct RestoreGate {
    last_attempt_ms: Option<u64>,
}

impl RestoreGate {
    /// [`restore_mode`], unless another attempt started within the window; an attempt it
    /// allows starts the window.
    pub fn decide(&mut self, config: &ClientConfig, authenticated: bool, request: &RestoreRequest, now_ms: u64) -> Option<Restore> {
        let recent = self.last_attempt_ms.is_some_and(|at| now_ms.saturating_sub(at) < ATTEMPT_WINDOW_MS);
        let mode = restore_mode(config, authenticated, request, now_ms).filter(|_| !recent)?;
        self.last_attempt_ms = Some(now_ms);
        Some(mode)
    }
}

/// Whether to attempt a restore, and how: only without a session, with a recent hint, and not
/// on a page that is itself a login callback (the app is about to complete one).
pub fn restore_mode(config: &ClientConfig, authenticated: bool, request: &RestoreRequest, now_ms: u64) -> Option<Restore> {
    let hint = request.hint?;
    let fresh = now_ms.saturating_sub(hint) <= MAX_HINT_AGE_MS;
    let on_callback = parse_callback(config, &request.url).is_ok();
    match config.restore {
        Restore::None => None,
        _ if authenticated || !fresh || on_callback => None,
        mode => Some(mode),
    }
}

/// The login options of an attempt: `prompt=none` (the provider must answer at once, never
/// show a page: OIDC Core §3.1.2.1), and as `appState` the page to come back to,
/// `{ returnTo: "/path?query#fragment" }`, when it is on the redirect URI's origin.
/// `silent`: the answer lands in the iframe, on `silentRedirectUri` when there is one.
pub fn restore_login_options(config: &ClientConfig, page_url: &str, silent: bool) -> Value {
    // The page's address as the browser wrote it (`location.href`: scheme and host in lower
    // case, no default port), on the redirect URI's origin: what follows that origin.
    let mut app_state = Vec::new();
    if let Some(origin) = Url::parse(&config.redirect_uri).map(|u| u.origin()) {
        if let Some(path) = page_url.strip_prefix(origin.as_str()).filter(|p| p.starts_with("/")) {
            app_state.push(("returnTo".into(), Value::String(path.into())));
        }
    }
    Value::Object(vec![
        ("restore".into(), Value::Bool(true)),
        ("silent".into(), Value::Bool(silent)),
        ("appState".into(), Value::Object(app_state)),
        ("extraParams".into(), Value::Object(vec![("prompt".into(), Value::String("none".into()))])),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::json::parse;

    const BASE: &str = r#""issuer":"https://op.example","clientId":"spa","redirectUri":"https://app.example/cb""#;
    const NOW: u64 = 1_800_000_000_000;

    fn config(extra: &str) -> ClientConfig {
        ClientConfig::from_json(&parse(format!("{{{BASE}{extra}}}").as_bytes()).unwrap()).unwrap()
    }

    fn request(url: &str, hint: Option<u64>) -> RestoreRequest {
        RestoreRequest { url: url.into(), hint }
    }

    #[test]
    fn attempts_only_with_a_recent_hint_and_no_session() {
        let c = config("");
        let page = "https://app.example/orders?id=1";
        assert_eq!(restore_mode(&c, false, &request(page, Some(NOW - 1000)), NOW), Some(Restore::Redirect));
        // No hint: a signed-out visitor is never sent to the provider.
        assert_eq!(restore_mode(&c, false, &request(page, None), NOW), None);
        // A session already: nothing to restore.
        assert_eq!(restore_mode(&c, true, &request(page, Some(NOW)), NOW), None);
        // An old hint.
        assert_eq!(restore_mode(&c, false, &request(page, Some(NOW - MAX_HINT_AGE_MS - 1)), NOW), None);
        assert_eq!(restore_mode(&c, false, &request(page, Some(NOW - MAX_HINT_AGE_MS)), NOW), Some(Restore::Redirect));
    }

    #[test]
    fn one_attempt_per_window_for_pages_loading_at_once() {
        let c = config("");
        let mut gate = RestoreGate::default();
        let page = request("https://app.example/", Some(NOW));
        assert_eq!(gate.decide(&c, false, &page, NOW), Some(Restore::Redirect));
        // A second page that still read the hint, a moment later: nothing.
        assert_eq!(gate.decide(&c, false, &page, NOW + 5), None);
        assert_eq!(gate.decide(&c, false, &page, NOW + ATTEMPT_WINDOW_MS - 1), None);
        // After the window (the attempt failed without spending every hint): again.
        assert_eq!(gate.decide(&c, false, &page, NOW + ATTEMPT_WINDOW_MS), Some(Restore::Redirect));
        // A decision against an attempt does not start a window.
        let mut gate = RestoreGate::default();
        assert_eq!(gate.decide(&c, false, &request("https://app.example/", None), NOW), None);
        assert_eq!(gate.decide(&c, false, &page, NOW + 1), Some(Restore::Redirect));
    }

    #[test]
    fn follows_the_option_and_never_runs_on_a_callback() {
        let hint = Some(NOW);
        let page = "https://app.example/";
        assert_eq!(restore_mode(&config(r#","restore":"silent""#), false, &request(page, hint), NOW), Some(Restore::Silent));
        assert_eq!(restore_mode(&config(r#","restore":"none""#), false, &request(page, hint), NOW), None);
        // The callback of this very attempt (or any login) lands on the redirect URI.
        let callback = "https://app.example/cb?code=c&state=s&iss=https%3A%2F%2Fop.example";
        assert_eq!(restore_mode(&config(""), false, &request(callback, hint), NOW), None);
        let error = "https://app.example/cb?error=login_required&state=s";
        assert_eq!(restore_mode(&config(""), false, &request(error, hint), NOW), None);
        // The redirect URI without callback parameters is an ordinary page.
        assert_eq!(restore_mode(&config(""), false, &request("https://app.example/cb", hint), NOW), Some(Restore::Redirect));
    }

    #[test]
    fn asks_for_no_prompt_and_remembers_the_page_of_the_same_origin() {
        let c = config(r#","extraAuthParams":{"prompt":"consent"}"#);
        let options = restore_login_options(&c, "https://app.example/orders?id=1#top", false);
        assert_eq!(options.to_json(), r#"{"restore":true,"silent":false,"appState":{"returnTo":"/orders?id=1#top"},"extraParams":{"prompt":"none"}}"#);
        // Another origin is no place to return to.
        for other in ["https://evil.example/x", "https://app.example.evil.example/x", "https://app.example:8443/x", "http://app.example/x"] {
            let options = restore_login_options(&c, other, false);
            assert_eq!(options.to_json(), r#"{"restore":true,"silent":false,"appState":{},"extraParams":{"prompt":"none"}}"#, "{other}");
        }
    }

    #[test]
    fn reads_the_request() {
        let r = RestoreRequest::from_json(&parse(br#"{"url":"https://app.example/","hint":1800000000000}"#).unwrap()).unwrap();
        assert_eq!((r.url.as_str(), r.hint), ("https://app.example/", Some(NOW)));
        let r = RestoreRequest::from_json(&parse(br#"{"url":"https://app.example/","hint":null}"#).unwrap()).unwrap();
        assert_eq!(r.hint, None);
        assert!(RestoreRequest::from_json(&parse(br#"{"url":"https://app.example/","hint":-1}"#).unwrap()).is_none());
        assert!(RestoreRequest::from_json(&parse(br#"{"hint":1}"#).unwrap()).is_none());
    }
}
