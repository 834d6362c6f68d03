//! The whole flow through [`Client`], with a fake provider answering each exact request.

use super::*;
use crate::protocol::http::Method;
use crate::protocol::json::parse;
use crate::protocol::testing::{claims, entropy, id_token, NOW};
use crate::protocol::url::{parse_query, Url};

const ISSUER: &str = "https://op.example";

fn client() -> Client {
    Client::new(
        &parse(
            br#"{"issuer":"https://op.example","clientId":"spa","redirectUri":"https://app.example/cb",
                "scope":"openid profile offline_access","postLogoutRedirectUri":"https://app.example/",
                "extraAuthParams":{"prompt":"consent"}}"#,
        )
        .unwrap(),
    )
    .unwrap()
}

fn json(status: u16, body: &str) -> HttpResponse {
    HttpResponse { status, content_type: Some("application/json".into()), body: body.as_bytes().to_vec() }
}

fn discovered() -> Client {
    let mut c = client();
    assert!(c.needs_discovery());
    let req = c.discovery_request();
    assert_eq!(req.method, Method::Get);
    assert_eq!(req.url, "https://op.example/.well-known/openid-configuration");
    c.process_discovery_response(json(
        200,
        r#"{"issuer":"https://op.example","authorization_endpoint":"https://op.example/auth","token_endpoint":"https://op.example/token",
            "end_session_endpoint":"https://op.example/session/end","authorization_response_iss_parameter_supported":true}"#,
    ))
    .unwrap();
    assert!(!c.needs_discovery());
    c
}

fn form(body: &str) -> Vec<(String, String)> {
    parse_query(body).unwrap()
}

fn token_response(refresh_token: &str, id_token: Option<&str>) -> HttpResponse {
    let mut o = ObjectWriter::new();
    o.string("access_token", &format!("at-{refresh_token}"))
        .string("token_type", "Bearer")
        .number("expires_in", 600)
        .string("refresh_token", refresh_token)
        .string("scope", "openid profile offline_access");
    if let Some(t) = id_token {
        o.string("id_token", t);
    }
    json(200, &o.finish())
}

/// Logs in through the client; returns it with the session established.
fn signed_in() -> Client {
    let mut c = discovered();
    let start = c.begin_login(&parse(br#"{"appState":{"returnTo":"/x"}}"#).unwrap(), &entropy(), NOW).unwrap();
    let q = parse_query(Url::parse(&start.url).unwrap().query.as_deref().unwrap()).unwrap();
    let state = &q.iter().find(|(k, _)| k == "state").unwrap().1;
    assert_eq!(q.last().unwrap(), &("prompt".to_owned(), "consent".to_owned()));
    assert_eq!(start.expires_at, NOW + 600);

    let cb = c.parse_callback(&format!("https://app.example/cb?code=the-code&state={state}&iss=https%3A%2F%2Fop.example")).unwrap();
    assert_eq!(cb.pending_key(), start.pending_key);
    let validated = c.complete_callback(cb, Some(&start.pending_record), NOW + 5).unwrap();

    let req = c.code_exchange_request(&validated).unwrap();
    assert_eq!(req.url, "https://op.example/token");
    let body = form(req.body.as_deref().unwrap());
    let verifier = crate::protocol::base64url::encode(&entropy()[..32]);
    assert_eq!(
        body,
        [
            ("grant_type", "authorization_code"),
            ("code", "the-code"),
            ("redirect_uri", "https://app.example/cb"),
            ("client_id", "spa"),
            ("code_verifier", verifier.as_str()),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let reply = c.process_code_exchange_response(validated, token_response("rt-1", Some(&id_token(&claims()))), NOW + 5).unwrap();
    assert_eq!(reply, r#"{"appState":{"returnTo":"/x"}}"#);
    c
}

#[test]
fn login_callback_and_session() {
    let c = signed_in();
    assert!(c.is_authenticated());
    assert_eq!(c.access_token(NOW + 5), Ok(Some("at-rt-1")));
    let user = parse(c.user_json().unwrap().as_bytes()).unwrap();
    assert_eq!(user.get("sub").and_then(Value::as_str), Some("alice"));
    assert_eq!(user.get("iss").and_then(Value::as_str), Some(ISSUER));
}

#[test]
fn without_a_session_everything_needs_login() {
    let c = discovered();
    assert!(!c.is_authenticated());
    assert_eq!(c.user_json(), None);
    assert_eq!(c.access_token(NOW), Err(Error::LoginRequired));
    assert_eq!(c.refresh_request(), Err(Error::LoginRequired));
}

#[test]
fn code_exchange_without_id_token_or_with_a_bad_one_starts_no_session() {
    for (response, expected) in [
        (token_response("rt-1", None), Error::InvalidResponse { reason: "field" }),
        (
            token_response("rt-1", Some(&id_token(&claims().replace("alice", "")))),
            Error::InvalidIdToken { reason: "sub" },
        ),
        (json(400, r#"{"error":"invalid_grant"}"#), Error::TokenError { error: "invalid_grant".into(), error_description: None, status: 400 }),
    ] {
        let mut c = discovered();
        let start = c.begin_login(&Value::Null, &entropy(), NOW).unwrap();
        let record = crate::protocol::transaction::PendingLogin::from_record(&start.pending_record).unwrap();
        let cb = c.parse_callback(&format!("https://app.example/cb?code=c&state={}&iss=https%3A%2F%2Fop.example", record.state)).unwrap();
        let validated = c.complete_callback(cb, Some(&start.pending_record), NOW).unwrap();
        assert_eq!(c.process_code_exchange_response(validated, response, NOW), Err(expected));
        assert!(!c.is_authenticated());
    }
}

#[test]
fn login_options_are_validated() {
    let c = discovered();
    let bad = parse(br#"{"extraParams":{"code_challenge_method":"plain"}}"#).unwrap();
    assert_eq!(c.begin_login(&bad, &entropy(), NOW).err(), Some(Error::Config { reason: "extra_params" }));
    assert_eq!(client().begin_login(&Value::Null, &entropy(), NOW).err(), Some(Error::Config { reason: "not_discovered" }));
}

#[test]
fn expired_access_token_is_refreshed_and_the_refresh_token_rotates() {
    let mut c = signed_in();
    let later = NOW + 600;
    assert_eq!(c.access_token(later), Ok(None));
    let req = c.refresh_request().unwrap();
    assert_eq!(form(req.body.as_deref().unwrap())[1], ("refresh_token".to_owned(), "rt-1".to_owned()));
    c.process_refresh_response(token_response("rt-2", None), later).unwrap();
    assert_eq!(c.access_token(later), Ok(Some("at-rt-2")));
    // The rotated refresh token replaced the old one.
    let req = c.refresh_request().unwrap();
    assert_eq!(form(req.body.as_deref().unwrap())[1], ("refresh_token".to_owned(), "rt-2".to_owned()));
}

#[test]
fn refreshed_id_token_must_keep_the_identity() {
    let mut c = signed_in();
    let later = NOW + 300;
    let same = claims().replace(&format!(r#""iat":{NOW}"#), &format!(r#""iat":{later}"#)).replace("Alice", "Alice B.");
    c.process_refresh_response(token_response("rt-2", Some(&id_token(&same))), later).unwrap();
    assert!(c.user_json().unwrap().contains("Alice B."));
    let other_user = claims().replace("alice", "mallory");
    assert_eq!(
        c.process_refresh_response(token_response("rt-3", Some(&id_token(&other_user))), later),
        Err(Error::InvalidIdToken { reason: "sub" })
    );
    // Nothing was replaced by the rejected response.
    assert_eq!(form(c.refresh_request().unwrap().body.as_deref().unwrap())[1].1, "rt-2");
}

#[test]
fn invalid_grant_ends_the_session_other_errors_keep_it() {
    let mut c = signed_in();
    let e = c.process_refresh_response(json(503, "busy"), NOW + 600);
    assert_eq!(e, Err(Error::InvalidResponse { reason: "status" }));
    assert!(c.is_authenticated());
    let e = c.process_refresh_response(json(400, r#"{"error":"invalid_grant"}"#), NOW + 600);
    assert!(matches!(e, Err(Error::TokenError { .. })));
    assert!(!c.is_authenticated());
    assert_eq!(c.access_token(NOW + 600), Err(Error::LoginRequired));
}

#[test]
fn logout_clears_the_session_and_builds_the_end_session_url() {
    let mut c = signed_in();
    let url = c.logout(&[7; 16]).unwrap();
    let q = parse_query(Url::parse(&url).unwrap().query.as_deref().unwrap()).unwrap();
    let names: Vec<&str> = q.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["id_token_hint", "client_id", "post_logout_redirect_uri", "state"]);
    assert_eq!(q[0].1, id_token(&claims()));
    assert!(!c.is_authenticated());
    assert_eq!(c.access_token(NOW), Err(Error::LoginRequired));
}
