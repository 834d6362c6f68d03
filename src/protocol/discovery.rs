//! Provider metadata from OpenID Connect Discovery 1.0 and RFC 8414.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::config::ClientConfig;
use crate::protocol::error::Error;
use crate::protocol::http::{HttpRequest, HttpResponse, Method};
use crate::protocol::codec::json::Value;
use crate::protocol::codec::url::Url;

/// The validated parts of the provider's metadata the client uses. Every endpoint the client
/// ever calls comes from here (or the configuration), never from the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// `issuer`, equal to the configured issuer.
    pub issuer: String,
    /// `authorization_endpoint`.
    pub authorization_endpoint: String,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `jwks_uri` (signature verification uses it).
    pub jwks_uri: Option<String>,
    /// `userinfo_endpoint`.
    pub userinfo_endpoint: Option<String>,
    /// `end_session_endpoint` (OIDC RP-Initiated Logout 1.0 §2.1).
    pub end_session_endpoint: Option<String>,
    /// `revocation_endpoint` (RFC 7009 via RFC 8414 §2).
    pub revocation_endpoint: Option<String>,
    /// RFC 9207 §3: the provider promises `iss` in every authorization response.
    pub authorization_response_iss_parameter_supported: bool,
    /// The JWS algorithms the provider signs ID tokens with (OIDC Discovery §3).
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// The JWS algorithms the provider signs UserInfo responses with.
    pub userinfo_signing_alg_values_supported: Option<Vec<String>>,
    /// The JWS algorithms the provider accepts for DPoP proofs (RFC 9449 §5.1).
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// `pushed_authorization_request_endpoint` (RFC 9126 §5).
    pub pushed_authorization_request_endpoint: Option<String>,
    /// `require_pushed_authorization_requests` (RFC 9126 §5): only pushed requests are accepted.
    pub require_pushed_authorization_requests: bool,
    /// `device_authorization_endpoint` (RFC 8628 §4).
    pub device_authorization_endpoint: Option<String>,
}

/// A discovery document larger than this is refused: real ones are a few KiB.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;

/// Builds the discovery request. OIDC Discovery §4: a trailing `/` of the issuer is removed
/// before `/.well-known/openid-configuration` is appended.
pub fn discovery_request(config: &ClientConfig) -> HttpRequest {
    let base = config.issuer.strip_suffix("/").unwrap_or(&config.issuer);
    HttpRequest {
        method: Method::Get,
        url: String::from(base) + "/.well-known/openid-configuration",
        headers: vec![("Accept".into(), "application/json".into())],
        body: None,
    }
}

/// Validates the discovery response.
///
/// OIDC Discovery §4.3 and RFC 8414 §3.3: the `issuer` must be identical to the configured one,
/// or the document must not be used (it could be an attacker's mix-up).
pub fn process_discovery_response(
    config: &ClientConfig,
    res: &HttpResponse,
) -> Result<ProviderMetadata, Error> {
    if res.is_redirect() {
        return Err(Error::InvalidResponse { reason: &"redirect" });
    }
    if res.status != 200 {
        return Err(Error::InvalidResponse { reason: &"status" });
    }
    if res.body.len() > MAX_METADATA_BYTES {
        return Err(metadata());
    }
    let doc = res.json_object()?;
    // Every endpoint must be https, unless the issuer itself is on a loopback host (tests, local
    // development), where http on loopback hosts is allowed too.
    let issuer_is_loopback = Url::parse(&config.issuer).is_some_and(|u| u.is_loopback());

    match doc.get("issuer") {
        Some(Value::String(issuer)) if *issuer == config.issuer => {}
        Some(Value::String(_)) => return Err(Error::IssuerMismatch { reason: &"discovery" }),
        _ => return Err(metadata()),
    }

    // RFC 6749 §3.1.1: the server MUST support `code`; we use nothing else.
    if let Some(types) = doc.get("response_types_supported") {
        if !strings(Some(types))?.iter().any(|t| t == "code") {
            return Err(metadata());
        }
    }
    // RFC 8414 §2: when advertised, S256 must be among the PKCE methods.
    if let Some(methods) = doc.get("code_challenge_methods_supported") {
        if !strings(Some(methods))?.iter().any(|m| m == "S256") {
            return Err(metadata());
        }
    }

    let flag = |name: &str| match doc.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(v) => v.as_bool().ok_or_else(metadata),
    };
    let iss_supported = flag("authorization_response_iss_parameter_supported")?;
    let endpoint = |name: &str| -> Result<Option<String>, Error> {
        match doc.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                let text = v.as_str().ok_or_else(metadata)?;
                let url = Url::parse(text).ok_or_else(metadata)?;
                let secure = url.scheme == "https" || (issuer_is_loopback && url.is_loopback());
                if url.fragment.is_some() || !secure {
                    return Err(metadata());
                }
                Ok(Some(text.to_owned()))
            }
        }
    };
    let optional_strings = |name: &str| match doc.get(name) {
        None | Some(Value::Null) => Ok(None),
        v => strings(v).map(Some),
    };

    Ok(ProviderMetadata {
        issuer: config.issuer.clone(),
        authorization_endpoint: endpoint("authorization_endpoint")?.ok_or_else(metadata)?,
        token_endpoint: endpoint("token_endpoint")?.ok_or_else(metadata)?,
        jwks_uri: endpoint("jwks_uri")?,
        userinfo_endpoint: endpoint("userinfo_endpoint")?,
        end_session_endpoint: endpoint("end_session_endpoint")?,
        revocation_endpoint: endpoint("revocation_endpoint")?,
        authorization_response_iss_parameter_supported: iss_supported,
        id_token_signing_alg_values_supported: optional_strings("id_token_signing_alg_values_supported")?,
        userinfo_signing_alg_values_supported: optional_strings("userinfo_signing_alg_values_supported")?,
        dpop_signing_alg_values_supported: optional_strings("dpop_signing_alg_values_supported")?,
        pushed_authorization_request_endpoint: endpoint("pushed_authorization_request_endpoint")?,
        require_pushed_authorization_requests: flag("require_pushed_authorization_requests")?,
        device_authorization_endpoint: endpoint("device_authorization_endpoint")?,
    })
}

fn metadata() -> Error {
    Error::InvalidResponse { reason: &"metadata" }
}

/// A JSON array of strings.
fn strings(value: Option<&Value>) -> Result<Vec<String>, Error> {
    value
        .and_then(Value::as_array)
        .and_then(|items| items.iter().map(|v| v.as_str().map(str::to_owned)).collect())
        .ok_or_else(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::codec::json::parse;

    fn config(issuer: &str) -> ClientConfig {
        ClientConfig::from_json(
            &parse(
                format!(r#"{{"issuer":"{issuer}","clientId":"spa","redirectUri":"https://app.example/cb"}}"#)
                    .as_bytes(),
            )
            .unwrap(),
        )
        .unwrap()
    }

    fn response(body: &str) -> HttpResponse {
        HttpResponse {
            status: 200,
            content_type: Some("application/json; charset=utf-8".into()),
            body: body.as_bytes().to_vec(),
        }
    }

    const DOC: &str = r#"{"issuer":"https://op.example/","authorization_endpoint":"https://op.example/auth","token_endpoint":"https://op.example/token","jwks_uri":"https://op.example/jwks","end_session_endpoint":"https://op.example/session/end","response_types_supported":["code"],"code_challenge_methods_supported":["S256"],"authorization_response_iss_parameter_supported":true}"#;

    #[test]
    fn well_known_url_drops_the_trailing_slash() {
        assert_eq!(
            discovery_request(&config("https://op.example/")).url,
            "https://op.example/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_request(&config("https://op.example/tenant")).url,
            "https://op.example/tenant/.well-known/openid-configuration"
        );
    }

    #[test]
    fn accepts_a_valid_document() {
        let m = process_discovery_response(&config("https://op.example/"), &response(DOC)).unwrap();
        assert_eq!(m.token_endpoint, "https://op.example/token");
        assert_eq!(m.end_session_endpoint.as_deref(), Some("https://op.example/session/end"));
        assert!(m.authorization_response_iss_parameter_supported);
        assert_eq!(m.revocation_endpoint, None);
        assert_eq!(m.id_token_signing_alg_values_supported, None);
        let with_algs = DOC.replace("true}", r#"true,"id_token_signing_alg_values_supported":["RS256","ES256"]}"#);
        let m = process_discovery_response(&config("https://op.example/"), &response(&with_algs)).unwrap();
        assert_eq!(m.id_token_signing_alg_values_supported, Some(vec!["RS256".into(), "ES256".into()]));
    }

    #[test]
    fn pushed_authorization_requests_are_read_when_advertised() {
        let m = process_discovery_response(&config("https://op.example/"), &response(DOC)).unwrap();
        assert_eq!((m.pushed_authorization_request_endpoint, m.require_pushed_authorization_requests), (None, false));
        let with = DOC.replacen('{', r#"{"pushed_authorization_request_endpoint":"https://op.example/par","require_pushed_authorization_requests":true,"#, 1);
        let m = process_discovery_response(&config("https://op.example/"), &response(&with)).unwrap();
        assert_eq!(m.pushed_authorization_request_endpoint.as_deref(), Some("https://op.example/par"));
        assert!(m.require_pushed_authorization_requests);
        for bad in [r#""pushed_authorization_request_endpoint":"http://op.example/par","#, r#""require_pushed_authorization_requests":"yes","#] {
            let doc = DOC.replacen('{', &format!("{{{bad}"), 1);
            assert!(process_discovery_response(&config("https://op.example/"), &response(&doc)).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_issuers_may_use_loopback_http_endpoints() {
        let doc = r#"{"issuer":"http://127.0.0.1:3000","authorization_endpoint":"http://127.0.0.1:3000/auth","token_endpoint":"http://localhost:3000/token"}"#;
        assert!(process_discovery_response(&config("http://127.0.0.1:3000"), &response(doc)).is_ok());
        let remote = doc.replace("http://localhost:3000/token", "http://op.example/token");
        assert_eq!(
            process_discovery_response(&config("http://127.0.0.1:3000"), &response(&remote)),
            Err(Error::InvalidResponse { reason: &"metadata" })
        );
    }

    #[test]
    fn issuer_must_match_exactly() {
        // Without the trailing slash it is a different issuer (RFC 8414 §3.3).
        let e = process_discovery_response(&config("https://op.example"), &response(DOC));
        assert_eq!(e, Err(Error::IssuerMismatch { reason: &"discovery" }));
    }

    #[test]
    fn rejects_malformed_documents() {
        let c = config("https://op.example/");
        let bad = [
            (DOC.replace(r#""token_endpoint":"https://op.example/token","#, ""), &"metadata"),
            (DOC.replace("https://op.example/token", "http://op.example/token"), &"metadata"),
            (DOC.replace("https://op.example/token", "http://127.0.0.1/token"), &"metadata"),
            (DOC.replace("https://op.example/jwks", "https://op.example/jwks#k"), &"metadata"),
            (DOC.replace(r#"["S256"]"#, r#"["plain"]"#), &"metadata"),
            (DOC.replace(r#"["S256"]"#, r#""S256""#), &"metadata"),
            (DOC.replace(r#"["code"]"#, r#"["token"]"#), &"metadata"),
            (DOC.replace(r#"["code"]"#, r#"["code",1]"#), &"metadata"),
            (DOC.replace("true}", r#""yes"}"#), &"metadata"),
            (DOC.replace(r#""issuer":"https://op.example/","#, ""), &"metadata"),
            (DOC.replace("true}", r#"true,"id_token_signing_alg_values_supported":"RS256"}"#), &"metadata"),
            (DOC.replace("true}", &format!(r#"true,"pad":"{}"}}"#, "x".repeat(MAX_METADATA_BYTES))), &"metadata"),
            ("[]".to_owned(), &"json"),
            ("{".to_owned(), &"json"),
        ];
        for (body, reason) in bad {
            assert_eq!(
                process_discovery_response(&c, &response(&body)),
                Err(Error::InvalidResponse { reason }),
                "{body}"
            );
        }
        let mut html = response(DOC);
        html.content_type = Some("text/html".into());
        assert_eq!(process_discovery_response(&c, &html), Err(Error::InvalidResponse { reason: &"content_type" }));
        let mut moved = response(DOC);
        moved.status = 302;
        assert_eq!(process_discovery_response(&c, &moved), Err(Error::InvalidResponse { reason: &"redirect" }));
        let mut failed = response(DOC);
        failed.status = 500;
        assert_eq!(process_discovery_response(&c, &failed), Err(Error::InvalidResponse { reason: &"status" }));
    }
}
