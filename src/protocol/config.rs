//! The client's options, validated once when the worker is configured.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::error::{Error, Reason};
use crate::protocol::json::Value;
use crate::protocol::types::TokenKey;
use crate::protocol::url::{is_secure_or_loopback, Url};

/// Secure default: 60 seconds of tolerated clock difference with the provider.
pub const DEFAULT_CLOCK_SKEW_SECONDS: u64 = 60;
/// Larger tolerances would make `exp` and `iat` checks meaningless.
pub const MAX_CLOCK_SKEW_SECONDS: u64 = 600;
/// Default for how long before `getAccessToken` would have to refresh, the worker does it.
pub const DEFAULT_REFRESH_LEAD_SECONDS: u64 = 30;
/// Upper bound of `refreshLeadSeconds`.
pub const MAX_REFRESH_LEAD_SECONDS: u64 = 3600;
/// Secure default: an `auth.fetch` that has not finished (response body included) after 30 s
/// fails with `network` / `timeout`, so a stalled API cannot leave a caller waiting for ever.
pub const DEFAULT_FETCH_TIMEOUT_SECONDS: u64 = 30;
/// Upper bound of `fetchTimeoutSeconds`.
pub const MAX_FETCH_TIMEOUT_SECONDS: u64 = 600;
/// Secure default: an API response body larger than 10 MiB fails with `network` / `too_large`
/// (the worker buffers the body before handing it to the page).
pub const DEFAULT_FETCH_MAX_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;
/// Upper bound of `fetchMaxResponseBytes` (1 GiB).
pub const MAX_FETCH_MAX_RESPONSE_BYTES: u64 = 1 << 30;

/// Authorization request parameters the client sets itself; `extraAuthParams` and
/// `extraParams` may not override them (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1).
/// `request` and `request_uri` are refused too: a request object would replace them all; and
/// `response_mode`: the callback is read from the query only (RFC 6749 §4.1.2), and another
/// mode (`fragment`, `form_post`, ...) would lose it or send the code elsewhere
/// (OAuth 2.0 Multiple Response Type Encoding Practices §2.1). Compared without regard to
/// case: a provider that reads names case-insensitively must not see a second `STATE`.
const RESERVED_AUTH_PARAMS: [&str; 11] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "request",
    "request_uri",
    "response_mode",
];

/// Validated client options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The issuer identifier, exactly as the provider's metadata must state it.
    pub issuer: String,
    /// The OAuth `client_id` of this public client.
    pub client_id: String,
    /// The registered redirect URI, sent verbatim.
    pub redirect_uri: String,
    /// Space-separated scopes; always contains `openid`.
    pub scope: String,
    /// Where the provider returns the browser after logout.
    pub post_logout_redirect_uri: Option<String>,
    /// Tolerated clock difference in seconds.
    pub clock_skew: u64,
    /// Extra authorization request parameters sent with every login (e.g. `prompt`).
    pub extra_auth_params: Vec<(String, String)>,
    /// Audiences an ID token may name besides `client_id` (OIDC Core §3.1.3.7 step 3).
    pub trusted_audiences: Vec<String>,
    /// Whether the worker refreshes ahead of expiry while the session has a refresh token.
    pub auto_refresh: bool,
    /// How many seconds before `getAccessToken` would have to refresh, the worker does it.
    pub refresh_lead: u64,
    /// The only origins `auth.fetch` sends requests (and the access token) to.
    pub api_origins: Vec<ApiOrigin>,
    /// Whether `getAccessToken` hands the access token to the page. Secure default: `false`.
    pub expose_access_token: bool,
    /// How long an `auth.fetch` may take, response body included (seconds).
    pub fetch_timeout: u64,
    /// The largest API response body `auth.fetch` accepts (bytes).
    pub fetch_max_response_bytes: u64,
    /// How a page without a session may get the provider's session back.
    pub restore: Restore,
    /// Where a silent restore's answer lands instead of `redirect_uri` (a lighter page).
    pub silent_redirect_uri: Option<String>,
    /// Whether tokens are bound to the worker's key (DPoP, RFC 9449).
    pub dpop: Dpop,
    /// `persist: "dpop-bound"`: the DPoP-bound refresh token is stored next to its key, so the
    /// session outlives the browser ([`crate::protocol::persist`]). Default `false` (`"none"`).
    pub persist: bool,
    /// Whether logins push their request first (RFC 9126, [`crate::protocol::par`]).
    pub par: Par,
}

/// The `par` option: pushed authorization requests (RFC 9126).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Par {
    /// `"auto"` (default): when discovery has a `pushed_authorization_request_endpoint`.
    Auto,
    /// `true`: always; a provider without the endpoint is a `config` / `par` error.
    On,
    /// `false`: never; a provider that requires it is a `config` / `par` error.
    Off,
}

/// The `dpop` option: whether the session's tokens are sender-constrained (RFC 9449) to a
/// non-extractable key of the worker. Default `Off` (`false`): a provider without DPoP support
/// would answer with bearer tokens, which a DPoP session refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dpop {
    /// `false`: bearer tokens.
    Off,
    /// `true`: always; a bearer answer is refused (`invalid_response` / `token_type`).
    On,
    /// `"auto"`: when discovery's `dpop_signing_alg_values_supported` lists `ES256`.
    Auto,
}

/// The `restore` option: how a page that finds no session in its holder may get one from the
/// provider's own session (a `prompt=none` authorization request, OIDC Core §3.1.2.1), attempted
/// only while a session hint says a session existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restore {
    /// A top-level navigation to the provider and back (the default: it works wherever the
    /// provider's cookies are first-party).
    Redirect,
    /// A hidden iframe (works only where the provider's cookies reach a third-party frame).
    Silent,
    /// Never.
    None,
}

/// An origin `auth.fetch` may call, and which token it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiOrigin {
    /// `scheme://host[:port]`, normalised (RFC 6454 §6.2).
    pub origin: String,
    /// The token its requests carry: the login's, or one for a `resource` / `scope`.
    pub token: TokenKey,
}

impl ClientConfig {
    /// Validates the `config` object the main thread sent:
    /// `{ issuer, clientId, redirectUri, scope?, postLogoutRedirectUri?, clockSkewSeconds?,
    /// extraAuthParams?, trustedAudiences?, autoRefresh?, refreshLeadSeconds?, apiOrigins?,
    /// exposeAccessToken?, fetchTimeoutSeconds?, fetchMaxResponseBytes? }`.
    /// Unknown options are refused: a misspelt option silently ignored is a security bug.
    pub fn from_json(value: &Value) -> Result<ClientConfig, Error> {
        let members = value.as_object().ok_or_else(|| config(&"options"))?;
        const KNOWN: [&str; 20] = [
            "issuer",
            "clientId",
            "redirectUri",
            "scope",
            "postLogoutRedirectUri",
            "clockSkewSeconds",
            "extraAuthParams",
            "trustedAudiences",
            "autoRefresh",
            "refreshLeadSeconds",
            "apiOrigins",
            "exposeAccessToken",
            "fetchTimeoutSeconds",
            "fetchMaxResponseBytes",
            "sharing",
            "restore",
            "silentRedirectUri",
            "dpop",
            "persist",
            "par",
        ];
        if members.iter().any(|(k, _)| !KNOWN.contains(&k.as_str())) {
            return Err(config(&"unknown_option"));
        }
        let optional = |key: &str| value.get(key).filter(|v| !v.is_null());

        let issuer = optional("issuer").and_then(Value::as_str).ok_or_else(|| config(&"issuer"))?;
        let issuer_url = Url::parse(issuer).ok_or_else(|| config(&"issuer"))?;
        // RFC 8414 §2: an issuer is an https URL with no query or fragment.
        if !is_secure_or_loopback(&issuer_url)
            || issuer_url.query.is_some()
            || issuer_url.fragment.is_some()
        {
            return Err(config(&"issuer"));
        }

        let client_id = optional("clientId").and_then(Value::as_str).ok_or_else(|| config(&"client_id"))?;
        if client_id.is_empty() || client_id.len() > 255 || !is_vschar(client_id) {
            return Err(config(&"client_id"));
        }

        let redirect_uri = optional("redirectUri")
            .and_then(Value::as_str)
            .filter(|u| is_redirect_uri(u))
            .ok_or_else(|| config(&"redirect_uri"))?;

        let silent_redirect_uri = match optional("silentRedirectUri") {
            None => None,
            Some(v) => Some(v.as_str().filter(|u| is_redirect_uri(u)).ok_or_else(|| config(&"silent_redirect_uri"))?.to_owned()),
        };

        let post_logout_redirect_uri = match optional("postLogoutRedirectUri") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .filter(|u| is_redirect_uri(u))
                    .ok_or_else(|| config(&"post_logout_redirect_uri"))?
                    .to_owned(),
            ),
        };

        let scope = match optional("scope") {
            None => "openid".to_owned(),
            Some(v) => normalize_scope(v.as_str().ok_or_else(|| config(&"scope"))?, true).ok_or_else(|| config(&"scope"))?,
        };

        // A whole number in min..=max, or the default when absent.
        let number = |key: &str, default: u64, min: u64, max: u64, reason: Reason| match optional(key) {
            None => Ok(default),
            Some(v) => v
                .as_i64()
                .and_then(|n| u64::try_from(n).ok())
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| config(reason)),
        };
        let clock_skew = number("clockSkewSeconds", DEFAULT_CLOCK_SKEW_SECONDS, 0, MAX_CLOCK_SKEW_SECONDS, &"clock_skew_seconds")?;
        let refresh_lead = number("refreshLeadSeconds", DEFAULT_REFRESH_LEAD_SECONDS, 0, MAX_REFRESH_LEAD_SECONDS, &"refresh_lead_seconds")?;
        let fetch_timeout = number("fetchTimeoutSeconds", DEFAULT_FETCH_TIMEOUT_SECONDS, 1, MAX_FETCH_TIMEOUT_SECONDS, &"fetch_timeout_seconds")?;
        let fetch_max_response_bytes = number(
            "fetchMaxResponseBytes",
            DEFAULT_FETCH_MAX_RESPONSE_BYTES,
            1,
            MAX_FETCH_MAX_RESPONSE_BYTES,
            &"fetch_max_response_bytes",
        )?;

        let extra_auth_params = match optional("extraAuthParams") {
            None => Vec::new(),
            Some(v) => auth_params(v).ok_or_else(|| config(&"extra_auth_params"))?,
        };

        let trusted_audiences = match optional("trustedAudiences") {
            None => Vec::new(),
            Some(v) => v
                .as_array()
                .and_then(|items| {
                    items.iter().map(|a| a.as_str().filter(|a| !a.is_empty()).map(str::to_owned)).collect()
                })
                .ok_or_else(|| config(&"trusted_audiences"))?,
        };

        let flag = |key: &str, default: bool, reason: Reason| match optional(key) {
            None => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| config(reason)),
        };
        let auto_refresh = flag("autoRefresh", true, &"auto_refresh")?;
        // Secure default: the access token stays in the worker; apps call their APIs with
        // `auth.fetch`, and only an app that opts in hands the token to page scripts.
        let expose_access_token = flag("exposeAccessToken", false, &"expose_access_token")?;

        let mut api_origins: Vec<ApiOrigin> = Vec::new();
        for item in optional("apiOrigins").map_or(Some(&[][..]), Value::as_array).ok_or_else(|| config(&"api_origins"))? {
            let origin = api_origin(item).ok_or_else(|| config(&"api_origins"))?;
            if api_origins.iter().any(|o| o.origin == origin.origin) {
                return Err(config(&"api_origins"));
            }
            api_origins.push(origin);
        }

        // `sharing` is the page's to act on (which worker it starts); judged here like the rest.
        if !matches!(optional("sharing").map(Value::as_str), None | Some(Some("browser" | "tab"))) {
            return Err(config(&"sharing"));
        }
        let restore = match optional("restore").map(Value::as_str) {
            None | Some(Some("redirect")) => Restore::Redirect,
            Some(Some("silent")) => Restore::Silent,
            Some(Some("none")) => Restore::None,
            Some(_) => return Err(config(&"restore")),
        };
        let dpop = match optional("dpop") {
            None | Some(Value::Bool(false)) => Dpop::Off,
            Some(Value::Bool(true)) => Dpop::On,
            Some(Value::String(s)) if s == "auto" => Dpop::Auto,
            Some(_) => return Err(config(&"dpop")),
        };
        // Only a sender-constrained refresh token may be stored: persistence needs DPoP.
        let persist = match optional("persist").map(Value::as_str) {
            None | Some(Some("none")) => false,
            Some(Some("dpop-bound")) if dpop != Dpop::Off => true,
            Some(_) => return Err(config(&"persist")),
        };
        let par = match optional("par") {
            None => Par::Auto,
            Some(Value::String(s)) if s == "auto" => Par::Auto,
            Some(Value::Bool(true)) => Par::On,
            Some(Value::Bool(false)) => Par::Off,
            Some(_) => return Err(config(&"par")),
        };

        Ok(ClientConfig {
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scope,
            post_logout_redirect_uri,
            clock_skew,
            extra_auth_params,
            trusted_audiences,
            auto_refresh,
            refresh_lead,
            api_origins,
            expose_access_token,
            fetch_timeout,
            fetch_max_response_bytes,
            restore,
            silent_redirect_uri,
            dpop,
            persist,
            par,
        })
    }
}

/// The key a session holder files a configuration's session under: the issuer, the client ID
/// and the options' JSON text as the page sent them. Pages that pass the same options share one
/// session; any other configuration, even of the same client, never reaches it. The first two
/// lines name the client (`issuer\nclient_id`), for logouts announced to the holders of its
/// other configurations.
pub fn session_key(config: &ClientConfig, options: &str) -> String {
    crate::protocol::codec::join(&[&config.issuer, &config.client_id, options], "\n")
}

/// One `apiOrigins` entry: `"https://api.example"` or `{ origin, resource?, scope? }`. The
/// origin must be exactly an origin (no path, query or fragment) and https unless loopback.
fn api_origin(item: &Value) -> Option<ApiOrigin> {
    let (text, token) = match item {
        Value::String(text) => (text.as_str(), TokenKey::default()),
        Value::Object(members) => {
            if members.iter().any(|(k, _)| !matches!(k.as_str(), "origin" | "resource" | "scope")) {
                return None;
            }
            (item.get("origin")?.as_str()?, token_key(item).ok()?)
        }
        _ => return None,
    };
    let url = Url::parse(text)?;
    let bare = matches!(url.path.as_str(), "" | "/") && url.query.is_none() && url.fragment.is_none();
    (bare && is_secure_or_loopback(&url)).then(|| ApiOrigin { origin: url.origin(), token })
}

/// The token a call asks for: `{ resource?, scope? }` (absent or `null`: the login's).
/// RFC 8707 §2: a resource is an absolute URI without a fragment; here an `https` URL (`http`
/// only on a loopback host, as for the issuer and `apiOrigins`), since the token issued for it
/// is meant for that server; RFC 6749 §3.3 scope syntax.
pub fn token_key(options: &Value) -> Result<TokenKey, Error> {
    let optional = |key: &str| options.get(key).filter(|v| !v.is_null());
    let resource = match optional("resource") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .filter(|r| Url::parse(r).is_some_and(|u| u.fragment.is_none() && is_secure_or_loopback(&u)))
                .ok_or_else(|| config(&"resource"))?
                .to_owned(),
        ),
    };
    let scope = match optional("scope") {
        None => None,
        Some(v) => Some(v.as_str().and_then(|s| normalize_scope(s, false)).ok_or_else(|| config(&"scope"))?),
    };
    Ok(TokenKey { resource, scope })
}

fn config(reason: Reason) -> Error {
    Error::Config { reason }
}

/// RFC 6749 Appendix A: `VSCHAR = %x20-7E`.
fn is_vschar(s: &str) -> bool {
    s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// RFC 6749 §3.1.2: absolute, no fragment; https unless on a loopback host (RFC 8252 §7.3).
fn is_redirect_uri(text: &str) -> bool {
    Url::parse(text).is_some_and(|u| u.fragment.is_none() && is_secure_or_loopback(&u))
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, space-separated.
/// Duplicates are dropped; with `openid`, it is added first when missing (OIDC Core §3.1.2.1).
/// `None` when a token is malformed or there is none.
fn normalize_scope(text: &str, openid: bool) -> Option<String> {
    let mut tokens: Vec<&str> = Vec::new();
    if openid {
        tokens.push("openid");
    }
    for token in crate::protocol::codec::split_byte(text, b' ').filter(|t| !t.is_empty()) {
        if !token.bytes().all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)) {
            return None;
        }
        if !tokens.contains(&token) {
            tokens.push(token);
        }
    }
    let scope = crate::protocol::codec::join(&tokens, " ");
    (!scope.is_empty()).then_some(scope)
}

/// An object of string values whose names are not [`RESERVED_AUTH_PARAMS`], in any case.
pub(crate) fn auth_params(value: &Value) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    for (name, v) in value.as_object()? {
        if name.is_empty() || RESERVED_AUTH_PARAMS.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return None;
        }
        params.push((name.clone(), v.as_str()?.to_owned()));
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::json::parse;

    fn cfg(json: &str) -> Result<ClientConfig, Error> {
        ClientConfig::from_json(&parse(json.as_bytes()).unwrap())
    }

    const BASE: &str = r#""issuer":"https://op.example","clientId":"spa","redirectUri":"https://app.example/cb""#;

    #[test]
    fn minimal_options_get_secure_defaults() {
        let c = cfg(&format!("{{{BASE}}}")).unwrap();
        assert_eq!(c.scope, "openid");
        assert_eq!(c.clock_skew, 60);
        assert_eq!(c.post_logout_redirect_uri, None);
        assert!(c.extra_auth_params.is_empty());
    }

    #[test]
    fn scope_always_contains_openid_once() {
        let c = cfg(&format!(r#"{{{BASE},"scope":"profile  openid email profile"}}"#)).unwrap();
        assert_eq!(c.scope, "openid profile email");
        assert_eq!(cfg(&format!(r#"{{{BASE},"scope":"a\"b"}}"#)), Err(config(&"scope")));
    }

    #[test]
    fn loopback_http_is_allowed_elsewhere_https_is_required() {
        assert!(cfg(r#"{"issuer":"http://127.0.0.1:3000","clientId":"spa","redirectUri":"http://localhost:8080/cb"}"#).is_ok());
        assert!(cfg(r#"{"issuer":"http://[::1]:3000/","clientId":"spa","redirectUri":"http://127.0.0.1/cb"}"#).is_ok());
        assert_eq!(
            cfg(r#"{"issuer":"http://op.example","clientId":"spa","redirectUri":"https://app.example/cb"}"#),
            Err(config(&"issuer"))
        );
        assert_eq!(
            cfg(r#"{"issuer":"https://op.example","clientId":"spa","redirectUri":"http://app.example/cb"}"#),
            Err(config(&"redirect_uri"))
        );
    }

    #[test]
    fn rejects_each_bad_option() {
        let cases: [(&str, &'static &'static str); 33] = [
            (r#"{"clientId":"spa","redirectUri":"https://a/cb"}"#, &"issuer"),
            (r#"{"issuer":"https://op.example?x=1","clientId":"spa","redirectUri":"https://a/cb"}"#, &"issuer"),
            (r#"{"issuer":"https://op.example#f","clientId":"spa","redirectUri":"https://a/cb"}"#, &"issuer"),
            (r#"{"issuer":"https://op.example","redirectUri":"https://a/cb"}"#, &"client_id"),
            (r#"{"issuer":"https://op.example","clientId":"","redirectUri":"https://a/cb"}"#, &"client_id"),
            (r#"{"issuer":"https://op.example","clientId":"spa"}"#, &"redirect_uri"),
            (r#"{"issuer":"https://op.example","clientId":"spa","redirectUri":"https://a/cb#x"}"#, &"redirect_uri"),
            (&format!(r#"{{{BASE},"clockSkewSeconds":601}}"#), &"clock_skew_seconds"),
            (&format!(r#"{{{BASE},"extraAuthParams":{{"state":"x"}}}}"#), &"extra_auth_params"),
            (&format!(r#"{{{BASE},"extraAuthParams":{{"prompt":1}}}}"#), &"extra_auth_params"),
            (&format!(r#"{{{BASE},"clientSecret":"s"}}"#), &"unknown_option"),
            (&format!(r#"{{{BASE},"trustedAudiences":"api"}}"#), &"trusted_audiences"),
            (&format!(r#"{{{BASE},"trustedAudiences":["api",""]}}"#), &"trusted_audiences"),
            (&format!(r#"{{{BASE},"autoRefresh":"no"}}"#), &"auto_refresh"),
            (&format!(r#"{{{BASE},"exposeAccessToken":0}}"#), &"expose_access_token"),
            (&format!(r#"{{{BASE},"refreshLeadSeconds":3601}}"#), &"refresh_lead_seconds"),
            (&format!(r#"{{{BASE},"apiOrigins":"https://api.example"}}"#), &"api_origins"),
            (&format!(r#"{{{BASE},"apiOrigins":["https://api.example/v1"]}}"#), &"api_origins"),
            (&format!(r#"{{{BASE},"apiOrigins":["http://api.example"]}}"#), &"api_origins"),
            (&format!(r#"{{{BASE},"apiOrigins":["https://api.example?x"]}}"#), &"api_origins"),
            (&format!(r#"{{{BASE},"apiOrigins":["https://api.example","https://API.example:443/"]}}"#), &"api_origins"),
            (&format!(r#"{{{BASE},"apiOrigins":[{{"origin":"https://a.example","resource":"https://a.example/#f"}}]}}"#), &"api_origins"),
            (&format!(r#"{{{BASE},"apiOrigins":[{{"origin":"https://a.example","audience":"x"}}]}}"#), &"api_origins"),
            // RFC 8707 resource: https, http only on loopback.
            (&format!(r#"{{{BASE},"apiOrigins":[{{"origin":"https://a.example","resource":"http://a.example/"}}]}}"#), &"api_origins"),
            // Reserved parameters in any case, and response_mode.
            (&format!(r#"{{{BASE},"extraAuthParams":{{"STATE":"x"}}}}"#), &"extra_auth_params"),
            (&format!(r#"{{{BASE},"extraAuthParams":{{"Redirect_Uri":"https://evil.example/"}}}}"#), &"extra_auth_params"),
            (&format!(r#"{{{BASE},"extraAuthParams":{{"response_mode":"fragment"}}}}"#), &"extra_auth_params"),
            (&format!(r#"{{{BASE},"extraAuthParams":{{"RESPONSE_MODE":"form_post"}}}}"#), &"extra_auth_params"),
            (&format!(r#"{{{BASE},"fetchTimeoutSeconds":0}}"#), &"fetch_timeout_seconds"),
            (&format!(r#"{{{BASE},"fetchTimeoutSeconds":601}}"#), &"fetch_timeout_seconds"),
            (&format!(r#"{{{BASE},"fetchTimeoutSeconds":"30"}}"#), &"fetch_timeout_seconds"),
            (&format!(r#"{{{BASE},"fetchMaxResponseBytes":0}}"#), &"fetch_max_response_bytes"),
            (&format!(r#"{{{BASE},"fetchMaxResponseBytes":1073741825}}"#), &"fetch_max_response_bytes"),
        ];
        for (json, reason) in cases {
            assert_eq!(cfg(json), Err(config(reason)), "{json}");
        }
    }

    #[test]
    fn lifecycle_options_have_defaults_and_api_origins_are_normalised() {
        let c = cfg(&format!("{{{BASE}}}")).unwrap();
        // Secure default: the access token is not handed to the page unless the app opts in.
        assert!(c.auto_refresh && !c.expose_access_token);
        assert_eq!(c.refresh_lead, DEFAULT_REFRESH_LEAD_SECONDS);
        assert_eq!((c.fetch_timeout, c.fetch_max_response_bytes), (30, 10 * 1024 * 1024));
        assert!(c.api_origins.is_empty());
        let c = cfg(&format!(r#"{{{BASE},"exposeAccessToken":true,"fetchTimeoutSeconds":600,"fetchMaxResponseBytes":1}}"#)).unwrap();
        assert!(c.expose_access_token);
        assert_eq!((c.fetch_timeout, c.fetch_max_response_bytes), (600, 1));
        let c = cfg(&format!(
            r#"{{{BASE},"autoRefresh":false,"exposeAccessToken":false,"refreshLeadSeconds":0,
            "apiOrigins":["https://API.example:443/",{{"origin":"http://127.0.0.1:9000","resource":"https://api2.example/","scope":"b a b"}}]}}"#
        ))
        .unwrap();
        assert!(!c.auto_refresh && !c.expose_access_token);
        assert_eq!(c.refresh_lead, 0);
        assert_eq!(
            c.api_origins,
            vec![
                ApiOrigin { origin: "https://api.example".into(), token: TokenKey::default() },
                ApiOrigin {
                    origin: "http://127.0.0.1:9000".into(),
                    token: TokenKey { resource: Some("https://api2.example/".into()), scope: Some("b a".into()) },
                },
            ]
        );
    }

    #[test]
    fn token_keys_are_validated() {
        let key = |json: &str| token_key(&parse(json.as_bytes()).unwrap());
        assert_eq!(key("{}"), Ok(TokenKey::default()));
        assert_eq!(key(r#"{"resource":null,"scope":null}"#), Ok(TokenKey::default()));
        assert_eq!(
            key(r#"{"resource":"https://api.example/v1","scope":" read  write "}"#),
            Ok(TokenKey { resource: Some("https://api.example/v1".into()), scope: Some("read write".into()) })
        );
        assert_eq!(key(r#"{"resource":"urn:example:api"}"#), Err(config(&"resource")));
        // https, or http on a loopback host only.
        assert_eq!(key(r#"{"resource":"http://api.example/"}"#), Err(config(&"resource")));
        assert!(key(r#"{"resource":"http://127.0.0.1:9000/"}"#).is_ok());
        assert!(key(r#"{"resource":"http://localhost/api"}"#).is_ok());
        assert_eq!(key(r#"{"resource":"/relative"}"#), Err(config(&"resource")));
        assert_eq!(key(r#"{"resource":"https://api.example/#frag"}"#), Err(config(&"resource")));
        assert_eq!(key(r#"{"scope":"   "}"#), Err(config(&"scope")));
        assert_eq!(key(r#"{"scope":"a\\b"}"#), Err(config(&"scope")));
    }

    #[test]
    fn keeps_extra_auth_params_in_order() {
        let c = cfg(&format!(
            r#"{{{BASE},"extraAuthParams":{{"prompt":"consent","ui_locales":"de"}},"postLogoutRedirectUri":"https://app.example/"}}"#
        ))
        .unwrap();
        assert_eq!(
            c.extra_auth_params,
            vec![("prompt".into(), "consent".into()), ("ui_locales".into(), "de".into())]
        );
        assert_eq!(c.post_logout_redirect_uri.as_deref(), Some("https://app.example/"));
    }

    #[test]
    fn reserved_parameters_are_refused_in_any_case_and_others_kept() {
        let params = |json: &str| auth_params(&parse(json.as_bytes()).unwrap());
        for name in RESERVED_AUTH_PARAMS {
            assert_eq!(params(&format!(r#"{{"{name}":"x"}}"#)), None, "{name}");
            assert_eq!(params(&format!(r#"{{"{}":"x"}}"#, name.to_ascii_uppercase())), None, "{name}");
        }
        assert_eq!(params(r#"{"Prompt":"login"}"#), Some(vec![("Prompt".into(), "login".into())]));
    }

    #[test]
    fn sharing_and_restore_are_judged_here() {
        assert_eq!(cfg(&format!(r#"{{{BASE}}}"#)).unwrap().restore, Restore::Redirect);
        assert_eq!(cfg(&format!(r#"{{{BASE},"restore":"silent","sharing":"tab"}}"#)).unwrap().restore, Restore::Silent);
        assert_eq!(cfg(&format!(r#"{{{BASE},"restore":"none","sharing":"browser"}}"#)).unwrap().restore, Restore::None);
        assert_eq!(cfg(&format!(r#"{{{BASE},"restore":"iframe"}}"#)), Err(config(&"restore")));
        assert_eq!(cfg(&format!(r#"{{{BASE},"restore":true}}"#)), Err(config(&"restore")));
        assert_eq!(cfg(&format!(r#"{{{BASE},"sharing":"window"}}"#)), Err(config(&"sharing")));
        assert_eq!(cfg(&format!(r#"{{{BASE},"sharing":1}}"#)), Err(config(&"sharing")));
        let c = cfg(&format!(r#"{{{BASE},"silentRedirectUri":"https://app.example/silent.html"}}"#)).unwrap();
        assert_eq!(c.silent_redirect_uri.as_deref(), Some("https://app.example/silent.html"));
        assert_eq!(cfg(&format!(r#"{{{BASE},"silentRedirectUri":"http://app.example/s"}}"#)), Err(config(&"silent_redirect_uri")));
    }

    #[test]
    fn session_keys_name_the_client_first_then_the_options() {
        let options = format!(r#"{{{BASE},"scope":"profile"}}"#);
        let key = session_key(&cfg(&options).unwrap(), &options);
        assert_eq!(key, format!("https://op.example\nspa\n{options}"));
    }
}
