use super::*;
use crate::protocol::http::Method;
use crate::protocol::testing::{config, metadata};

fn json(status: u16, body: &str) -> HttpResponse {
    HttpResponse { status, content_type: Some("application/json".into()), body: body.as_bytes().to_vec() }
}

fn offering(required: bool) -> ProviderMetadata {
    let mut m = metadata();
    m.pushed_authorization_request_endpoint = Some("https://op.example/par".into());
    m.require_pushed_authorization_requests = required;
    m
}

fn with_par(par: Par) -> ClientConfig {
    let mut c = config();
    c.par = par;
    c
}

#[test]
fn auto_pushes_exactly_when_the_provider_offers_it_and_the_options_must_agree_with_it() {
    assert_eq!(uses_par(&with_par(Par::Auto), &metadata()), Ok(false));
    assert_eq!(uses_par(&with_par(Par::Auto), &offering(false)), Ok(true));
    assert_eq!(uses_par(&with_par(Par::Auto), &offering(true)), Ok(true));
    assert_eq!(uses_par(&with_par(Par::On), &offering(false)), Ok(true));
    assert_eq!(uses_par(&with_par(Par::Off), &offering(false)), Ok(false));
    let par = Err(Error::Config { reason: &"par" });
    assert_eq!(uses_par(&with_par(Par::On), &metadata()), par, "required by the app, not offered");
    assert_eq!(uses_par(&with_par(Par::Off), &offering(true)), par, "refused by the app, required by the provider");
    let mut required_without_endpoint = metadata();
    required_without_endpoint.require_pushed_authorization_requests = true;
    assert_eq!(uses_par(&with_par(Par::Auto), &required_without_endpoint), par);
}

#[test]
fn the_push_is_a_form_post_to_the_endpoint() {
    let push = push_request(&offering(false), "a=1&b=2".into()).unwrap();
    assert_eq!((push.method, push.url.as_str(), push.body.as_deref()), (Method::Post, "https://op.example/par", Some("a=1&b=2")));
    assert!(push.headers.contains(&("Content-Type".into(), "application/x-www-form-urlencoded".into())));
    assert!(push_request(&metadata(), String::new()).is_none());
}

#[test]
fn the_answer_becomes_a_url_with_only_client_id_and_request_uri() {
    let ok = json(201, r#"{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}"#);
    assert_eq!(
        authorization_url(&config(), &offering(false), &ok).unwrap(),
        "https://op.example/auth?client_id=spa&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc"
    );
}

#[test]
fn anything_but_a_complete_201_is_refused() {
    let field = Err(Error::InvalidResponse { reason: &"field" });
    for body in [r#"{"expires_in":60}"#, r#"{"request_uri":"","expires_in":60}"#, r#"{"request_uri":"u"}"#,
        r#"{"request_uri":"u","expires_in":0}"#, r#"{"request_uri":"u","expires_in":"60"}"#, r#"{"request_uri":1,"expires_in":60}"#] {
        assert_eq!(authorization_url(&config(), &offering(false), &json(201, body)), field, "{body}");
    }
    let ok = r#"{"request_uri":"u","expires_in":60}"#;
    assert_eq!(authorization_url(&config(), &offering(false), &json(200, ok)), Err(Error::InvalidResponse { reason: &"status" }), "§2.2: 201 Created");
    let mut html = json(201, ok);
    html.content_type = Some("text/html".into());
    assert_eq!(authorization_url(&config(), &offering(false), &html), Err(Error::InvalidResponse { reason: &"content_type" }));
    assert!(authorization_url(&config(), &offering(false), &json(201, "[]")).is_err());
}

#[test]
fn a_provider_error_is_an_authorization_error_with_its_code_and_description() {
    let refused = json(400, r#"{"error":"invalid_request","error_description":"redirect_uri not allowed"}"#);
    assert_eq!(
        authorization_url(&config(), &offering(false), &refused),
        Err(Error::authorization_error("invalid_request", Some("redirect_uri not allowed".into())))
    );
    assert_eq!(authorization_url(&config(), &offering(false), &json(503, "{}")), Err(Error::ServerError { status: 503 }));
    assert_eq!(authorization_url(&config(), &offering(false), &json(400, "{}")), Err(Error::InvalidResponse { reason: &"status" }));
}
