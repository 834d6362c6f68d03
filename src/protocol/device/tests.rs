use super::*;
use crate::protocol::http::Method;
use crate::protocol::testing::{config, metadata};

fn json(status: u16, body: &str) -> HttpResponse {
    HttpResponse { status, content_type: Some("application/json".into()), body: body.as_bytes().to_vec() }
}

const NOW: u64 = 1_000;
const OK: &str = r#"{"device_code":"dc-1","user_code":"WDJB-MJHT","verification_uri":"https://op.example/device","verification_uri_complete":"https://op.example/device?user_code=WDJB-MJHT","expires_in":600,"interval":5}"#;

fn started() -> DeviceLogin {
    process_device_authorization(&config(), &json(200, OK), NOW).unwrap()
}

#[test]
fn the_request_names_the_client_and_the_scope() {
    let mut m = metadata();
    assert!(device_authorization_request(&config(), &m, "openid").is_none(), "not advertised");
    m.device_authorization_endpoint = Some("https://op.example/device/auth".into());
    let r = device_authorization_request(&config(), &m, "openid profile").unwrap();
    assert_eq!((r.method, r.url.as_str(), r.body.as_deref()), (Method::Post, "https://op.example/device/auth", Some("client_id=spa&scope=openid%20profile")));
}

#[test]
fn the_response_gives_the_codes_the_page_and_the_interval() {
    let d = started();
    assert_eq!((d.user_code.as_str(), d.verification_uri.as_str()), ("WDJB-MJHT", "https://op.example/device"));
    assert_eq!(d.verification_uri_complete.as_deref(), Some("https://op.example/device?user_code=WDJB-MJHT"));
    assert_eq!((d.expires_at, d.interval), (NOW + 600, 5));
    assert_eq!(
        d.code_json(),
        r#"{"userCode":"WDJB-MJHT","verificationUri":"https://op.example/device","verificationUriComplete":"https://op.example/device?user_code=WDJB-MJHT","expiresAt":1600000}"#
    );
    assert!(!d.code_json().contains("dc-1"), "the device code never leaves the worker");
    assert!(!format!("{d:?}").contains("dc-1"));
    let minimal = r#"{"device_code":"d","user_code":"u","verification_uri":"https://op.example/device","expires_in":60}"#;
    let d = process_device_authorization(&config(), &json(200, minimal), NOW).unwrap();
    assert_eq!((d.interval, d.verification_uri_complete), (DEFAULT_INTERVAL_SECONDS, None), "§3.2: 5 s by default");
}

#[test]
fn malformed_responses_and_errors_are_refused() {
    let field = Some(Error::InvalidResponse { reason: &"field" });
    for bad in [
        r#"{"user_code":"u","verification_uri":"https://op.example/d","expires_in":60}"#,
        r#"{"device_code":"d","verification_uri":"https://op.example/d","expires_in":60}"#,
        r#"{"device_code":"d","user_code":"u","expires_in":60}"#,
        r#"{"device_code":"d","user_code":"u","verification_uri":"http://op.example/d","expires_in":60}"#,
        r#"{"device_code":"d","user_code":"u","verification_uri":"javascript:alert(1)","expires_in":60}"#,
        r#"{"device_code":"d","user_code":"u","verification_uri":"https://op.example/d"}"#,
        r#"{"device_code":"d","user_code":"u","verification_uri":"https://op.example/d","expires_in":0}"#,
        r#"{"device_code":"d","user_code":"u","verification_uri":"https://op.example/d","expires_in":60,"interval":0}"#,
        r#"{"device_code":"d","user_code":"u","verification_uri":"https://op.example/d","expires_in":60,"verification_uri_complete":"x"}"#,
    ] {
        assert_eq!(process_device_authorization(&config(), &json(200, bad), NOW).err(), field, "{bad}");
    }
    let refused = json(400, r#"{"error":"invalid_scope"}"#);
    assert_eq!(
        process_device_authorization(&config(), &refused, NOW).err(),
        Some(Error::token_error("invalid_scope", None, 400))
    );
}

#[test]
fn polling_waits_slows_down_and_stops_as_the_provider_says() {
    let mut d = started();
    let r = d.token_request(&config(), &metadata());
    assert_eq!(r.url, "https://op.example/token");
    assert_eq!(r.body.as_deref(), Some("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=dc-1&client_id=spa"));
    let pending = json(400, r#"{"error":"authorization_pending"}"#);
    assert_eq!(d.on_token_response(&pending, NOW + 5), Ok(DevicePoll::Wait(5)));
    // §3.5: slow_down adds 5 s, for this and every later request.
    assert_eq!(d.on_token_response(&json(400, r#"{"error":"slow_down"}"#), NOW + 10), Ok(DevicePoll::Wait(10)));
    assert_eq!(d.on_token_response(&pending, NOW + 20), Ok(DevicePoll::Wait(10)));
    assert_eq!(d.on_token_response(&json(200, "{}"), NOW + 30), Ok(DevicePoll::Tokens));
    for error in ["access_denied", "expired_token", "invalid_grant"] {
        let mut d = started();
        let answer = json(400, &format!(r#"{{"error":"{error}"}}"#));
        assert_eq!(d.on_token_response(&answer, NOW + 5), Err(Error::token_error(error, None, 400)));
    }
    // A provider that never says expired_token: polling stops after the expiry and a grace.
    let mut d = started();
    assert_eq!(d.on_token_response(&pending, NOW + 600 + EXPIRY_GRACE_SECONDS - 5), Ok(DevicePoll::Wait(5)));
    assert_eq!(d.on_token_response(&pending, NOW + 600 + EXPIRY_GRACE_SECONDS), Err(Error::Network { reason: &"timeout" }));
}
