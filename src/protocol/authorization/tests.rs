use super::*;
use crate::protocol::testing::{config, entropy, metadata, NOW};
use crate::protocol::url::parse_query;

fn start() -> LoginStart {
    authorization_request(&config(), &metadata(), &[], None, &entropy(), NOW, false).unwrap()
}

fn query_of(url: &str) -> Vec<(String, String)> {
    parse_query(Url::parse(url).unwrap().query.as_deref().unwrap()).unwrap()
}

fn callback_url(params: &str) -> String {
    format!("https://app.example/cb?{params}")
}

fn state() -> String {
    start().pending.state.expose().to_owned()
}

fn validate(params: &str) -> Result<ValidatedCallback, Error> {
    let record = start().pending.to_record();
    let cb = parse_callback(&config(), &callback_url(params))?;
    validate_callback(&config(), &metadata(), cb, Some(&record), NOW + 1)
}

fn ok_params() -> String {
    format!("code=abc&state={}&iss=https%3A%2F%2Fop.example", state())
}

#[test]
fn authorization_request_has_every_parameter_once() {
    let s = start();
    assert!(s.url.starts_with("https://op.example/auth?"));
    let q = query_of(&s.url);
    let names: Vec<&str> = q.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method"]
    );
    let get = |n: &str| q.iter().find(|(k, _)| k == n).unwrap().1.clone();
    assert_eq!(get("response_type"), "code");
    assert_eq!(get("redirect_uri"), "https://app.example/cb");
    assert_eq!(get("scope"), "openid profile");
    assert_eq!(get("code_challenge_method"), "S256");
    assert_eq!(get("state"), s.pending.state.expose());
    assert_eq!(get("nonce"), s.pending.nonce.expose());
    assert_eq!(get("code_challenge"), pkce::s256_challenge(s.pending.code_verifier.expose()));
    // Each secret is 32 bytes of its own slice of the entropy.
    assert_eq!(s.pending.code_verifier.expose(), base64url::encode(&entropy()[..32]));
    assert_eq!(s.pending.state.expose(), base64url::encode(&entropy()[32..64]));
    assert_eq!(s.pending.nonce.expose(), base64url::encode(&entropy()[64..]));
    assert_eq!(s.pending.created_at, NOW);
}

#[test]
fn extra_params_follow_and_call_params_win() {
    let mut c = config();
    c.extra_auth_params = vec![("prompt".into(), "consent".into()), ("ui_locales".into(), "de".into())];
    let s = authorization_request(&c, &metadata(), &[("prompt".into(), "login".into())], None, &entropy(), NOW, false).unwrap();
    let q = query_of(&s.url);
    let tail: Vec<(&str, &str)> = q[8..].iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(tail, [("ui_locales", "de"), ("prompt", "login")]);
    // In any letter case: one `prompt` reaches the provider.
    let s = authorization_request(&c, &metadata(), &[("PROMPT".into(), "login".into())], None, &entropy(), NOW, false).unwrap();
    let q = query_of(&s.url);
    let tail: Vec<(&str, &str)> = q[8..].iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(tail, [("ui_locales", "de"), ("PROMPT", "login")]);
}

#[test]
fn fresh_entropy_gives_fresh_secrets() {
    let mut other = entropy();
    other.iter_mut().for_each(|b| *b ^= 0xff);
    let a = start();
    let b = authorization_request(&config(), &metadata(), &[], None, &other, NOW, false).unwrap();
    assert_ne!(a.pending.state, b.pending.state);
    assert_ne!(a.pending.nonce, b.pending.nonce);
    assert_ne!(a.pending.code_verifier, b.pending.code_verifier);
}

#[test]
fn a_good_callback_validates() {
    let v = validate(&ok_params()).unwrap();
    assert_eq!(v.code.expose(), "abc");
    assert_eq!(v.app_state(), None);
}

#[test]
fn callback_must_be_the_redirect_uri() {
    let cb = parse_callback(&config(), &format!("https://app.example/other?{}", ok_params()));
    assert_eq!(cb.unwrap_err(), Error::InvalidCallback { reason: &"redirect_uri" });
    let cb = parse_callback(&config(), &format!("https://evil.example/cb?{}", ok_params()));
    assert_eq!(cb.unwrap_err(), Error::InvalidCallback { reason: &"redirect_uri" });
    assert_eq!(parse_callback(&config(), "not a url").unwrap_err(), Error::InvalidCallback { reason: &"url" });
}

#[test]
fn duplicate_and_badly_encoded_parameters_are_refused() {
    let dup = format!("{}&code=other", ok_params());
    assert_eq!(validate(&dup).unwrap_err(), Error::InvalidCallback { reason: &"duplicate_parameter" });
    let dup_state = format!("{}&state=x", ok_params());
    assert_eq!(validate(&dup_state).unwrap_err(), Error::InvalidCallback { reason: &"duplicate_parameter" });
    // session_state (OIDC Session Management §3) is a response parameter like the others.
    let dup_session = format!("{}&session_state=a&session_state=b", ok_params());
    assert_eq!(validate(&dup_session).unwrap_err(), Error::InvalidCallback { reason: &"duplicate_parameter" });
    assert!(validate(&format!("{}&session_state=a", ok_params())).is_ok());
    assert_eq!(validate(&format!("{}&x=%zz", ok_params())).unwrap_err(), Error::InvalidCallback { reason: &"url" });
    assert_eq!(validate(&format!("{}&x=%FF", ok_params())).unwrap_err(), Error::InvalidCallback { reason: &"encoding" });
}

#[test]
fn state_absent_unknown_wrong_or_expired_is_a_mismatch() {
    assert_eq!(validate("code=abc").unwrap_err(), Error::StateMismatch);
    assert_eq!(validate("code=abc&state=").unwrap_err(), Error::StateMismatch);
    assert_eq!(validate("code=abc&state=wrong&iss=https%3A%2F%2Fop.example").unwrap_err(), Error::StateMismatch);
    let cb = || parse_callback(&config(), &callback_url(&ok_params())).unwrap();
    assert_eq!(validate_callback(&config(), &metadata(), cb(), None, NOW).unwrap_err(), Error::StateMismatch);
    assert_eq!(validate_callback(&config(), &metadata(), cb(), Some("garbage"), NOW).unwrap_err(), Error::StateMismatch);
    let record = start().pending.to_record();
    // Expired: 10 minutes after the attempt started.
    let at_expiry = NOW + crate::protocol::transaction::PENDING_LOGIN_TTL_SECONDS;
    assert_eq!(validate_callback(&config(), &metadata(), cb(), Some(&record), at_expiry).unwrap_err(), Error::StateMismatch);
    assert!(validate_callback(&config(), &metadata(), cb(), Some(&record), at_expiry - 1).is_ok());
    // Started for another client.
    let mut other = config();
    other.client_id = "other".into();
    assert_eq!(validate_callback(&other, &metadata(), cb(), Some(&record), NOW).unwrap_err(), Error::StateMismatch);
}

#[test]
fn rfc9207_iss_is_compared_and_required_when_advertised() {
    let s = state();
    let wrong = format!("code=abc&state={s}&iss=https%3A%2F%2Fevil.example");
    assert_eq!(validate(&wrong).unwrap_err(), Error::IssuerMismatch { reason: &"callback" });
    let missing = format!("code=abc&state={s}");
    assert_eq!(validate(&missing).unwrap_err(), Error::IssuerMismatch { reason: &"callback" });
    // Also before an error response is trusted.
    let wrong_error = format!("error=access_denied&state={s}&iss=https%3A%2F%2Fevil.example");
    assert_eq!(validate(&wrong_error).unwrap_err(), Error::IssuerMismatch { reason: &"callback" });
    // A provider that does not advertise it may omit it, but not send a wrong one.
    let mut m = metadata();
    m.authorization_response_iss_parameter_supported = false;
    let record = start().pending.to_record();
    let cb = parse_callback(&config(), &callback_url(&missing)).unwrap();
    assert!(validate_callback(&config(), &m, cb, Some(&record), NOW).is_ok());
    let cb = parse_callback(&config(), &callback_url(&wrong)).unwrap();
    assert_eq!(validate_callback(&config(), &m, cb, Some(&record), NOW).unwrap_err(), Error::IssuerMismatch { reason: &"callback" });
}

#[test]
fn error_responses_become_authorization_errors_after_state_and_iss() {
    let s = state();
    let e = validate(&format!("error=access_denied&error_description=User+said+no&state={s}&iss=https%3A%2F%2Fop.example")).unwrap_err();
    assert_eq!(
        e,
        Error::authorization_error("access_denied", Some("User said no".into()))
    );
    // A forged error without the right state is a state mismatch, not an authorization error.
    assert_eq!(validate("error=access_denied&state=forged").unwrap_err(), Error::StateMismatch);
    // An error code outside RFC 6749's character set is malformed; a bad description is dropped.
    let bad = validate(&format!("error=%22x%22&state={s}&iss=https%3A%2F%2Fop.example")).unwrap_err();
    assert_eq!(bad, Error::InvalidCallback { reason: &"error" });
    let e = validate(&format!("error=login_required&error_description=%0A&state={s}&iss=https%3A%2F%2Fop.example")).unwrap_err();
    assert_eq!(e, Error::authorization_error("login_required", None));
}

#[test]
fn code_is_required() {
    let s = state();
    assert_eq!(validate(&format!("state={s}&iss=https%3A%2F%2Fop.example")).unwrap_err(), Error::InvalidCallback { reason: &"missing_code" });
    assert_eq!(validate(&format!("code=&state={s}&iss=https%3A%2F%2Fop.example")).unwrap_err(), Error::InvalidCallback { reason: &"missing_code" });
}

#[test]
fn concurrent_attempts_have_their_own_keys() {
    let a = start();
    let mut other = entropy();
    other[40] ^= 1;
    let b = authorization_request(&config(), &metadata(), &[], None, &other, NOW, false).unwrap();
    assert_ne!(pending_key(a.pending.state.expose()), pending_key(b.pending.state.expose()));
    // Each callback matches only its own record.
    let cb_b = parse_callback(&config(), &callback_url(&format!("code=x&state={}&iss=https%3A%2F%2Fop.example", b.pending.state.expose()))).unwrap();
    assert_eq!(cb_b.pending_key(), pending_key(b.pending.state.expose()));
    let record_a = a.pending.to_record();
    assert_eq!(validate_callback(&config(), &metadata(), cb_b, Some(&record_a), NOW).unwrap_err(), Error::StateMismatch);
}

#[test]
fn debug_output_redacts_the_callback() {
    let cb = parse_callback(&config(), &callback_url(&ok_params())).unwrap();
    assert_eq!(format!("{cb:?}"), "Callback { .. }");
}

#[test]
fn max_age_is_remembered_and_must_be_a_number() {
    let s = authorization_request(&config(), &metadata(), &[("max_age".into(), "300".into())], None, &entropy(), NOW, false).unwrap();
    assert_eq!(s.pending.max_age, Some(300));
    assert_eq!(start().pending.max_age, None);
    // A provider may read `MAX_AGE` as `max_age`: then `auth_time` is required all the same.
    let s = authorization_request(&config(), &metadata(), &[("MAX_AGE".into(), "60".into())], None, &entropy(), NOW, false).unwrap();
    assert_eq!(s.pending.max_age, Some(60));
    for bad in ["-1", "1.5", "", "+3", "99999999999"] {
        let r = authorization_request(&config(), &metadata(), &[("max_age".into(), bad.into())], None, &entropy(), NOW, false);
        assert_eq!(r.err().map(|e| e.code()), Some("config"), "{bad}");
    }
}
