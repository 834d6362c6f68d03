//! The whole flow through [`Client`], with a fake provider answering each exact request.

mod simulation;

use super::*;
use crate::protocol::http::Method;
use crate::protocol::codec::json::parse;
use crate::protocol::testing::{claims, entropy, id_token, jws, jwks_response, rsa_jwk, NOW};
use crate::protocol::codec::url::{parse_query, Url};

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

/// Runs a signature check as the shell does, with WebCrypto's verdict `valid`, serving
/// `jwks` (one response per fetch) to key fetches. Returns the proof and how many fetches it took.
fn verify(c: &mut Client, token: &str, purpose: Purpose, jwks: &[Vec<String>], valid: bool, now: u64) -> Result<(VerifiedSignature, usize), Error> {
    let mut fetches = 0;
    loop {
        match c.signature_step(token, purpose, now)? {
            SignatureStep::FetchKeys(req) => {
                assert_eq!(req.url, "https://op.example/jwks");
                let keys = jwks.get(fetches).expect("an unexpected JWKS fetch");
                fetches += 1;
                c.process_jwks_response(&jwks_response(keys))?;
            }
            SignatureStep::Verify(check) => return check.verdict(valid).map(|v| (v, fetches)),
        }
    }
}

/// Completes a token exchange the way the shell does: verify the ID token (if any), then finish.
fn finish(c: &mut Client, exchange: Box<TokenExchange>, now: u64) -> Result<Exchanged, Error> {
    let proof = match exchange.id_token().map(str::to_owned) {
        Some(t) => Some(verify(c, &t, Purpose::IdToken, &[vec![rsa_jwk("k1")]], true, now)?.0),
        None => None,
    };
    let digest = exchange.at_hash_function().map(|(name, access_token)| {
        use sha2::Digest;
        assert_eq!(name, "SHA-256", "the test tokens are RS256");
        sha2::Sha256::digest(access_token.as_bytes()).to_vec()
    });
    c.complete_token_exchange(exchange, proof, digest.as_deref(), now)
}

/// One refresh grant for `key` as the shell runs it: begin, `response` as the answer, verify,
/// finish. Returns how the core ended it.
fn refresh(c: &mut Client, key: &TokenKey, response: HttpResponse, now: u64) -> RefreshEnd {
    let grant = c.begin_refresh(key).unwrap();
    let result = match c.process_refresh_response(&grant.ticket, &response) {
        Ok(Some(exchange)) => finish(c, exchange, now).map(drop),
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    c.finish_refresh(grant.ticket, result, now)
}

/// A refresh grant whose request failed with `error` (no answer).
fn refresh_failing(c: &mut Client, error: Error, now: u64) -> RefreshEnd {
    let grant = c.begin_refresh(&TokenKey::default()).unwrap();
    c.finish_refresh(grant.ticket, Err(error), now)
}

/// The refresh token the next grant presents.
fn presented(c: &mut Client) -> String {
    let grant = c.begin_refresh(&TokenKey::default()).unwrap();
    let token = form(grant.request.body.as_deref().unwrap())[1].1.clone();
    c.finish_refresh(grant.ticket, Err(Error::Network { reason: &"failed" }), NOW);
    c.backoff = Backoff::default();
    token
}

fn discovered() -> Client {
    let mut c = client();
    assert!(c.needs_discovery());
    let req = c.discovery_request();
    assert_eq!(req.method, Method::Get);
    assert_eq!(req.url, "https://op.example/.well-known/openid-configuration");
    c.process_discovery_response(&json(
        200,
        r#"{"issuer":"https://op.example","authorization_endpoint":"https://op.example/auth","token_endpoint":"https://op.example/token",
            "end_session_endpoint":"https://op.example/session/end","authorization_response_iss_parameter_supported":true,
            "jwks_uri":"https://op.example/jwks","userinfo_endpoint":"https://op.example/me","id_token_signing_alg_values_supported":["RS256","ES256"]}"#,
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
    let validated = c.complete_callback(cb, Some(start.pending_record.expose()), NOW + 5).unwrap();

    let req = c.code_exchange_request(&validated).unwrap();
    assert_eq!(req.url, "https://op.example/token");
    let body = form(req.body.as_deref().unwrap());
    let verifier = crate::protocol::codec::base64url::encode(&entropy()[..32]);
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
    let exchange = c.process_code_exchange_response(validated, &token_response("rt-1", Some(&id_token(&claims())))).unwrap();
    assert!(!c.is_authenticated());
    let Exchanged::LoggedIn { reply, event } = finish(&mut c, exchange, NOW + 5).unwrap() else { panic!("no login") };
    assert_eq!(reply, r#"{"appState":{"returnTo":"/x"}}"#);
    assert_eq!(event, Event::Login);
    c
}

#[test]
fn login_callback_and_session() {
    let c = signed_in();
    assert!(c.is_authenticated());
    assert_eq!(c.access_token(&TokenKey::default(), NOW + 5), Ok(Some("at-rt-1")));
    let user = parse(c.user_json().unwrap().as_bytes()).unwrap();
    assert_eq!(user.get("sub").and_then(Value::as_str), Some("alice"));
    assert_eq!(user.get("iss").and_then(Value::as_str), Some(ISSUER));
}

#[test]
fn without_a_session_everything_needs_login() {
    let mut c = discovered();
    assert!(!c.is_authenticated());
    assert_eq!(c.user_json(), None);
    assert_eq!(c.access_token(&TokenKey::default(), NOW), Err(Error::LoginRequired));
    assert_eq!(c.refresh_request(&TokenKey::default()), Err(Error::LoginRequired));
    assert_eq!(c.token_step(&TokenKey::default(), Need::Fresh, NOW), Err(Error::LoginRequired));
    assert_eq!(c.begin_refresh(&TokenKey::default()).err(), Some(Error::LoginRequired));
}

#[test]
fn code_exchange_without_id_token_or_with_a_bad_one_starts_no_session() {
    for (response, expected) in [
        (token_response("rt-1", None), Error::InvalidResponse { reason: &"field" }),
        (
            token_response("rt-1", Some(&id_token(&claims().replace("alice", "")))),
            Error::InvalidIdToken { reason: &"sub" },
        ),
        (json(400, r#"{"error":"invalid_grant"}"#), Error::token_error("invalid_grant", None, 400)),
    ] {
        let mut c = discovered();
        let start = c.begin_login(&Value::Null, &entropy(), NOW).unwrap();
        let record = crate::protocol::transaction::PendingLogin::from_record(start.pending_record.expose()).unwrap();
        let cb = c.parse_callback(&format!("https://app.example/cb?code=c&state={}&iss=https%3A%2F%2Fop.example", record.state.expose())).unwrap();
        let validated = c.complete_callback(cb, Some(start.pending_record.expose()), NOW).unwrap();
        let result = c.process_code_exchange_response(validated, &response).and_then(|x| finish(&mut c, x, NOW));
        assert_eq!(result, Err(expected));
        assert!(!c.is_authenticated());
    }
}

#[test]
fn login_options_are_validated() {
    let c = discovered();
    let bad = parse(br#"{"extraParams":{"code_challenge_method":"plain"}}"#).unwrap();
    assert_eq!(c.begin_login(&bad, &entropy(), NOW).err(), Some(Error::Config { reason: &"extra_params" }));
    assert_eq!(client().begin_login(&Value::Null, &entropy(), NOW).err(), Some(Error::Config { reason: &"not_discovered" }));
}

#[test]
fn expired_access_token_is_refreshed_and_the_refresh_token_rotates() {
    let mut c = signed_in();
    let later = NOW + 600;
    assert_eq!(c.access_token(&TokenKey::default(), later), Ok(None));
    let req = c.refresh_request(&TokenKey::default()).unwrap();
    assert_eq!(form(req.body.as_deref().unwrap())[1], ("refresh_token".to_owned(), "rt-1".to_owned()));
    assert_eq!(c.token_step(&TokenKey::default(), Need::Valid, later), Ok(TokenStep::Refresh));
    let end = refresh(&mut c, &TokenKey::default(), token_response("rt-2", None), later);
    assert_eq!(end.result, Ok(()));
    assert_eq!(end.event, Some(Event::TokenRefreshed { key: TokenKey::default() }));
    assert_eq!(c.access_token(&TokenKey::default(), later), Ok(Some("at-rt-2")));
    assert_eq!(c.token_after_refresh(&TokenKey::default(), later).as_deref(), Ok("at-rt-2"));
    // The rotated refresh token replaced the old one.
    let req = c.refresh_request(&TokenKey::default()).unwrap();
    assert_eq!(form(req.body.as_deref().unwrap())[1], ("refresh_token".to_owned(), "rt-2".to_owned()));
}

#[test]
fn refreshed_id_token_must_keep_the_identity() {
    let mut c = signed_in();
    let later = NOW + 300;
    let same = claims().replace(&format!(r#""iat":{NOW}"#), &format!(r#""iat":{later}"#)).replace("Alice", "Alice B.");
    assert_eq!(refresh(&mut c, &TokenKey::default(), token_response("rt-2", Some(&id_token(&same))), later).result, Ok(()));
    assert!(c.user_json().unwrap().contains("Alice B."));
}

#[test]
fn a_refreshed_id_token_that_fails_a_check_ends_the_session_and_revokes_the_rotated_refresh_token() {
    let other_user = claims().replace("alice", "mallory");
    for (id_token, reason) in [(id_token(&other_user), &"sub"), ("not.a.jwt".to_owned(), &"format"), (id_token(&claims()), &"signature")] {
        let mut c = signed_in();
        c.metadata.as_mut().unwrap().revocation_endpoint = Some("https://op.example/revoke".into());
        let later = NOW + 300;
        let grant = c.begin_refresh(&TokenKey::default()).unwrap();
        let result = match c.process_refresh_response(&grant.ticket, &token_response("rt-2", Some(&id_token))) {
            Ok(Some(x)) if *reason == "signature" => {
                // WebCrypto's verdict on a signature that does not verify.
                let raw = x.id_token().unwrap().to_owned();
                verify(&mut c, &raw, Purpose::IdToken, &[vec![rsa_jwk("k1")]], false, later).map(drop)
            }
            Ok(Some(x)) => finish(&mut c, x, later).map(drop),
            Ok(None) => panic!("not stale"),
            Err(e) => Err(e),
        };
        let end = c.finish_refresh(grant.ticket, result, later);
        // The call rejects with the check that failed; the app is told the session is gone.
        assert_eq!(end.result, Err(Error::InvalidIdToken { reason }), "{reason}");
        assert_eq!(end.event, Some(Event::SessionExpired { reason: "invalid_id_token" }));
        // The refresh token the provider just rotated in is revoked (RFC 7009), first.
        let revoked: Vec<Vec<(String, String)>> = end.revocations.iter().map(|r| form(r.body.as_deref().unwrap())).collect();
        assert_eq!(revoked[0][..2], [("token".to_owned(), "rt-2".to_owned()), ("token_type_hint".to_owned(), "refresh_token".to_owned())]);
        assert!(revoked.iter().all(|r| r[0].1 != "rt-1"), "the rotated-out token is never presented again");
        // Later calls: login_required, and no refresh token is presented again.
        assert!(!c.is_authenticated());
        assert_eq!(c.token_step(&TokenKey::default(), Need::Fresh, later), Err(Error::LoginRequired));
        assert_eq!(c.begin_refresh(&TokenKey::default()).err(), Some(Error::LoginRequired));
    }
}

#[test]
fn invalid_grant_ends_the_session_other_errors_keep_it() {
    let mut c = signed_in();
    let end = refresh(&mut c, &TokenKey::default(), json(503, "busy"), NOW);
    assert_eq!(end.result, Err(Error::ServerError { status: 503 }));
    assert_eq!(end.event, Some(Event::Error(Error::ServerError { status: 503 })));
    assert!(c.is_authenticated());
    c.backoff = Backoff::default();
    let end = refresh(&mut c, &TokenKey::default(), json(400, r#"{"error":"invalid_scope"}"#), NOW);
    assert!(matches!(end.result, Err(Error::TokenError(_))));
    assert!(matches!(end.event, Some(Event::Error(Error::TokenError(_)))));
    assert!(c.is_authenticated());
    let end = refresh(&mut c, &TokenKey::default(), json(400, r#"{"error":"invalid_grant"}"#), NOW);
    assert_eq!(end.result, Err(Error::LoginRequired));
    assert_eq!(end.event, Some(Event::SessionExpired { reason: "invalid_grant" }));
    assert!(end.revocations.is_empty(), "the grant is already gone");
    assert!(!c.is_authenticated());
    assert_eq!(c.access_token(&TokenKey::default(), NOW + 600), Err(Error::LoginRequired));
}

#[test]
fn issue_8_a_logout_without_redirect_has_no_url() {
    let mut c = signed_in();
    let logout = c.logout(&[7; 16], false);
    assert_eq!(logout.end_session_url, None);
    assert!(!c.is_authenticated());
}

#[test]
fn answers_for_an_ended_session_are_dropped() {
    // A logout while the grant is in flight: its answer, even `invalid_grant`, changes nothing.
    // The tokens a successful one carries are alive at the provider, and no one will use them:
    // they are revoked.
    for (answer, revoked) in [(token_response("rt-2", None), vec!["rt-2", "at-rt-2"]), (json(400, r#"{"error":"invalid_grant"}"#), vec![])] {
        let mut c = signed_in();
        c.metadata.as_mut().unwrap().revocation_endpoint = Some("https://op.example/revoke".into());
        let grant = c.begin_refresh(&TokenKey::default()).unwrap();
        c.logout(&[0; 16], false);
        assert_eq!(c.process_refresh_response(&grant.ticket, &answer).map(|x| x.is_none()), Ok(true));
        let end = c.finish_refresh(grant.ticket, Ok(()), NOW);
        assert_eq!((end.result, end.event), (Ok(()), None));
        let tokens: Vec<String> = end.revocations.iter().map(|r| form(r.body.as_deref().unwrap())[0].1.clone()).collect();
        assert_eq!(tokens, revoked);
        assert!(!c.is_authenticated());
        assert_eq!(c.token_after_refresh(&TokenKey::default(), NOW), Err(Error::LoginRequired));
    }
    // A new login while the old session's grant was being verified: dropped too, and the new
    // session's own grant is not blocked by it.
    let mut c = signed_in();
    let grant = c.begin_refresh(&TokenKey::default()).unwrap();
    let exchange = c.process_refresh_response(&grant.ticket, &token_response("rt-2", None)).unwrap().unwrap();
    let old_generation = c.generation;
    c.new_generation(); // what a logout and a login do
    assert_ne!(old_generation, c.generation);
    assert_eq!(finish(&mut c, exchange, NOW), Ok(Exchanged::Stale));
    assert_eq!(c.token_step(&TokenKey::default(), Need::Fresh, NOW), Ok(TokenStep::Refresh));
    let end = c.finish_refresh(grant.ticket, Err(Error::Network { reason: &"failed" }), NOW);
    assert_eq!((end.result, end.event), (Ok(()), None), "a stale failure is no one's either");
}

#[test]
fn one_grant_at_a_time_and_replacing_a_refused_token() {
    let mut c = signed_in();
    let key = TokenKey::default();
    assert_eq!(c.token_step(&key, Need::Valid, NOW + 5), Ok(TokenStep::Use("at-rt-1".into())));
    assert_eq!(c.token_step(&key, Need::Fresh, NOW + 5), Ok(TokenStep::Refresh));
    // An API refused "at-rt-1": it must be replaced.
    assert_eq!(c.token_step(&key, Need::Replacing("at-rt-1"), NOW + 5), Ok(TokenStep::Refresh));
    let grant = c.begin_refresh(&key).unwrap();
    // While it is in flight, every other caller (any key) waits; none starts a second grant.
    assert_eq!(c.token_step(&key, Need::Fresh, NOW + 5), Ok(TokenStep::Wait));
    assert_eq!(c.token_step(&api_key(), Need::Valid, NOW + 5), Ok(TokenStep::Wait));
    assert_eq!(c.begin_refresh(&api_key()).err(), Some(Error::Config { reason: &"refresh_in_flight" }));
    let x = c.process_refresh_response(&grant.ticket, &token_response("rt-2", None)).unwrap().unwrap();
    finish(&mut c, x, NOW + 5).unwrap();
    assert_eq!(c.finish_refresh(grant.ticket, Ok(()), NOW + 5).result, Ok(()));
    // A caller whose token was refused sees it was replaced meanwhile: no second grant.
    assert_eq!(c.token_step(&key, Need::Replacing("at-rt-1"), NOW + 5), Ok(TokenStep::Use("at-rt-2".into())));
    assert_eq!(c.token_step(&key, Need::Replacing("at-rt-2"), NOW + 5), Ok(TokenStep::Refresh));
}

#[test]
fn the_rotated_refresh_token_is_kept_even_when_the_rest_of_the_answer_cannot_be_checked_yet() {
    // The JWKS cannot be fetched (a network failure after the token response): the session
    // stays with the refresh token the provider rotated in, never the spent one.
    let mut c = signed_in();
    let grant = c.begin_refresh(&TokenKey::default()).unwrap();
    let x = c.process_refresh_response(&grant.ticket, &token_response("rt-2", Some(&id_token(&claims())))).unwrap();
    drop(x);
    let end = c.finish_refresh(grant.ticket, Err(Error::Network { reason: &"failed" }), NOW + 10);
    assert_eq!(end.event, Some(Event::Error(Error::Network { reason: &"failed" })));
    assert!(c.is_authenticated());
    c.backoff = Backoff::default();
    assert_eq!(presented(&mut c), "rt-2");
}

#[test]
fn logout_clears_the_session_and_builds_the_end_session_url() {
    let mut c = signed_in();
    let logout = c.logout(&[7; 16], true);
    assert!(logout.revocations.is_empty(), "this provider has no revocation_endpoint");
    let url = logout.end_session_url.unwrap();
    let q = parse_query(Url::parse(&url).unwrap().query.as_deref().unwrap()).unwrap();
    let names: Vec<&str> = q.iter().map(|(k, _)| k.as_str()).collect();
    // RP-Initiated Logout §2 with client_id: the page sees this URL, so no ID token in it.
    assert_eq!(names, ["client_id", "post_logout_redirect_uri", "state"]);
    assert!(!url.contains(&id_token(&claims())));
    assert!(!c.is_authenticated());
    assert_eq!(c.access_token(&TokenKey::default(), NOW), Err(Error::LoginRequired));
}

/// A token exchange after login up to the signature step, for the signature tests.
fn exchange_with(id_token: &str) -> (Client, Box<TokenExchange>) {
    let c = discovered();
    let start = c.begin_login(&Value::Null, &entropy(), NOW).unwrap();
    let record = crate::protocol::transaction::PendingLogin::from_record(start.pending_record.expose()).unwrap();
    let cb = c.parse_callback(&format!("https://app.example/cb?code=c&state={}&iss=https%3A%2F%2Fop.example", record.state.expose())).unwrap();
    let validated = c.complete_callback(cb, Some(start.pending_record.expose()), NOW).unwrap();
    let x = c.process_code_exchange_response(validated, &token_response("rt", Some(id_token))).unwrap();
    (c, x)
}

fn with_kid(kid: &str) -> String {
    jws(&format!(r#"{{"alg":"RS256","kid":"{kid}"}}"#), &claims())
}

#[test]
fn signature_step_asks_for_keys_then_the_chosen_key() {
    let token = with_kid("k1");
    let (mut c, _) = exchange_with(&token);
    let SignatureStep::FetchKeys(req) = c.signature_step(&token, Purpose::IdToken, NOW).unwrap() else { panic!() };
    assert_eq!((req.method, req.url.as_str()), (Method::Get, "https://op.example/jwks"));
    c.process_jwks_response(&jwks_response(&[rsa_jwk("k0"), rsa_jwk("k1")])).unwrap();
    let SignatureStep::Verify(check) = c.signature_step(&token, Purpose::IdToken, NOW).unwrap() else { panic!() };
    assert!(check.jwk.starts_with(r#"{"kty":"RSA","n":""#) && !check.jwk.contains("kid"));
    assert_eq!(check.import_algorithm, r#"{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-256"}"#);
    assert_eq!(check.signing_input, &token.as_bytes()[..token.rfind('.').unwrap()]);
    assert_eq!(check.signature, vec![0x5a; 256]);
}

#[test]
fn algorithms_outside_the_advertised_set_are_refused() {
    for header in [r#"{"alg":"none"}"#, r#"{"alg":"HS256"}"#, r#"{"alg":"RS384"}"#, r#"{"alg":"PS256"}"#, r#"{"alg":"rs256"}"#] {
        let token = jws(header, &claims());
        let (mut c, _) = exchange_with(&jws(r#"{"alg":"RS256"}"#, &claims()));
        assert_eq!(c.signature_step(&token, Purpose::IdToken, NOW).map(|_| ()), Err(Error::InvalidIdToken { reason: &"alg" }), "{header}");
    }
}

#[test]
fn unknown_kid_refetches_once_per_interval() {
    let token = with_kid("new");
    let (mut c, _) = exchange_with(&token);
    // Rotation: the second fetch has the key.
    assert_eq!(verify(&mut c, &token, Purpose::IdToken, &[vec![rsa_jwk("old")], vec![rsa_jwk("new")]], true, NOW).unwrap().1, 2);
    // Without rotation: one refetch, then `kid`; within the interval no further fetch.
    let other = with_kid("other");
    let e = verify(&mut c, &other, Purpose::IdToken, &[vec![rsa_jwk("new")]], true, NOW + KEY_REFETCH_INTERVAL_SECONDS - 1);
    assert_eq!(e.map(|_| ()), Err(Error::InvalidIdToken { reason: &"kid" }));
    let e = verify(&mut c, &other, Purpose::IdToken, &[vec![rsa_jwk("new")]], true, NOW + KEY_REFETCH_INTERVAL_SECONDS);
    assert_eq!(e.map(|_| ()), Err(Error::InvalidIdToken { reason: &"kid" }));
    let fetched_again = verify(&mut c, &other, Purpose::IdToken, &[vec![rsa_jwk("other")]], true, NOW + 2 * KEY_REFETCH_INTERVAL_SECONDS);
    assert_eq!(fetched_again.unwrap().1, 1);
    // A key dropped from the refetched set is no longer accepted.
    let e = verify(&mut c, &with_kid("new"), Purpose::IdToken, &[], true, NOW + 2 * KEY_REFETCH_INTERVAL_SECONDS + 1);
    assert_eq!(e.map(|_| ()), Err(Error::InvalidIdToken { reason: &"kid" }));
}

#[test]
fn without_kid_several_compatible_keys_are_refused() {
    let token = jws(r#"{"alg":"RS256"}"#, &claims());
    let (mut c, _) = exchange_with(&token);
    assert!(verify(&mut c, &token, Purpose::IdToken, &[vec![rsa_jwk("a")]], true, NOW).is_ok());
    let (mut c, _) = exchange_with(&token);
    let e = verify(&mut c, &token, Purpose::IdToken, &[vec![rsa_jwk("a"), rsa_jwk("b")]], true, NOW);
    assert_eq!(e.map(|_| ()), Err(Error::InvalidIdToken { reason: &"kid" }));
}

#[test]
fn a_bad_or_missing_signature_starts_no_session() {
    let token = id_token(&claims());
    let (mut c, x) = exchange_with(&token);
    assert_eq!(verify(&mut c, &token, Purpose::IdToken, &[vec![rsa_jwk("k")]], false, NOW).map(|_| ()), Err(Error::InvalidIdToken { reason: &"signature" }));
    assert_eq!(c.complete_token_exchange(x, None, None, NOW), Err(Error::InvalidIdToken { reason: &"signature" }));
    assert!(!c.is_authenticated());
    // A proof for another token does not cover this one.
    let (mut c, x) = exchange_with(&token);
    let other = id_token(&claims().replace("Alice", "Eve"));
    let (proof, _) = verify(&mut c, &other, Purpose::IdToken, &[vec![rsa_jwk("k")]], true, NOW).unwrap();
    assert_eq!(c.complete_token_exchange(x, Some(proof), None, NOW), Err(Error::InvalidIdToken { reason: &"signature" }));
    // A signature of the wrong length for the key never reaches WebCrypto.
    let short = format!("{}.{}", &token[..token.rfind('.').unwrap()], crate::protocol::codec::base64url::encode(&[1; 255]));
    let (mut c, _) = exchange_with(&token);
    assert_eq!(verify(&mut c, &short, Purpose::IdToken, &[vec![rsa_jwk("k")]], true, NOW).map(|_| ()), Err(Error::InvalidIdToken { reason: &"signature" }));
}

#[test]
fn malformed_jwks_is_an_invalid_response() {
    let token = id_token(&claims());
    let (mut c, _) = exchange_with(&token);
    let _ = c.signature_step(&token, Purpose::IdToken, NOW).unwrap();
    assert_eq!(c.process_jwks_response(&json(200, r#"{"keys":7}"#)), Err(Error::InvalidResponse { reason: &"jwks" }));
}

fn userinfo_json(body: &str) -> HttpResponse {
    json(200, body)
}

#[test]
fn userinfo_sub_must_match_the_id_token() {
    let c = signed_in();
    let req = c.userinfo_request(NOW + 5).unwrap();
    assert_eq!(req.url, "https://op.example/me");
    assert_eq!(req.headers[0], ("Authorization".into(), "Bearer at-rt-1".into()));
    let Ok(UserInfo::Claims(claims)) = c.process_userinfo_response(&userinfo_json(r#"{"sub":"alice","email":"a@example.test"}"#)) else { panic!() };
    assert!(claims.contains("a@example.test"));
    assert_eq!(c.process_userinfo_response(&userinfo_json(r#"{"sub":"mallory"}"#)).map(|_| ()), Err(Error::InvalidResponse { reason: &"sub" }));
    assert_eq!(c.process_userinfo_response(&userinfo_json(r#"{"email":"x"}"#)).map(|_| ()), Err(Error::InvalidResponse { reason: &"sub" }));
    assert_eq!(c.process_userinfo_response(&json(401, "")).map(|_| ()), Err(Error::InvalidResponse { reason: &"status" }));
    assert_eq!(discovered().userinfo_request(NOW), Err(Error::LoginRequired));
}

#[test]
fn signed_userinfo_is_verified_then_checked() {
    let mut c = signed_in();
    let signed = jws(r#"{"alg":"RS256"}"#, r#"{"sub":"alice","iss":"https://op.example","aud":"spa","email":"a@example.test"}"#);
    let res = HttpResponse { status: 200, content_type: Some("application/jwt".into()), body: signed.clone().into_bytes() };
    let Ok(UserInfo::Signed(jws_text)) = c.process_userinfo_response(&res) else { panic!() };
    let proof = verify(&mut c, &jws_text, Purpose::UserInfo, &[vec![rsa_jwk("k")]], true, NOW).map(|(p, _)| p);
    assert!(c.complete_userinfo(&jws_text, proof).unwrap().contains("a@example.test"));
    let wrong_sub = jws(r#"{"alg":"RS256"}"#, r#"{"sub":"mallory"}"#);
    let proof = verify(&mut c, &wrong_sub, Purpose::UserInfo, &[], true, NOW).map(|(p, _)| p);
    assert_eq!(c.complete_userinfo(&wrong_sub, proof), Err(Error::InvalidResponse { reason: &"sub" }));
    let wrong_aud = jws(r#"{"alg":"RS256"}"#, r#"{"sub":"alice","aud":"other"}"#);
    let proof = verify(&mut c, &wrong_aud, Purpose::UserInfo, &[], true, NOW).map(|(p, _)| p);
    assert_eq!(c.complete_userinfo(&wrong_aud, proof), Err(Error::InvalidResponse { reason: &"aud" }));
}

#[test]
fn a_signed_userinfo_response_that_fails_its_signature_check_is_an_invalid_response() {
    // Not `invalid_id_token`: the ID token and the session are fine; this response is not.
    let signature = Error::InvalidResponse { reason: &"signature" };
    let mut c = signed_in();
    let signed = jws(r#"{"alg":"RS256"}"#, r#"{"sub":"alice"}"#);
    let other = jws(r#"{"alg":"RS256"}"#, r#"{"sub":"alice","x":1}"#);
    // WebCrypto says no.
    let refused = verify(&mut c, &signed, Purpose::UserInfo, &[vec![rsa_jwk("k")]], false, NOW).map(|(p, _)| p);
    assert_eq!(c.complete_userinfo(&signed, refused), Err(signature.clone()));
    // A proof for another JWS.
    let proof = verify(&mut c, &signed, Purpose::UserInfo, &[], true, NOW).map(|(p, _)| p);
    assert_eq!(c.complete_userinfo(&other, proof), Err(signature.clone()));
    // An algorithm the provider did not advertise, an unknown key, a malformed JWS.
    for jws_text in [jws(r#"{"alg":"HS256"}"#, r#"{"sub":"alice"}"#), jws(r#"{"alg":"RS256","kid":"nope"}"#, r#"{"sub":"alice"}"#), "a.b".to_owned()] {
        let step = verify(&mut c, &jws_text, Purpose::UserInfo, &[vec![rsa_jwk("k")]], true, NOW + 1).map(|(p, _)| p);
        assert_eq!(c.complete_userinfo(&jws_text, step), Err(signature.clone()), "{jws_text}");
    }
    // A failure to reach the provider's keys stays what it is.
    let offline = Err(Error::Network { reason: &"failed" });
    assert_eq!(c.complete_userinfo(&signed, offline.clone()), offline.map(|_: VerifiedSignature| String::new()));
    assert!(c.is_authenticated());
}

#[test]
fn logout_revokes_the_refresh_token_then_the_access_token() {
    let mut c = signed_in();
    c.metadata.as_mut().unwrap().revocation_endpoint = Some("https://op.example/revoke".into());
    let logout = c.logout(&[7; 16], true);
    let bodies: Vec<&str> = logout.revocations.iter().map(|r| r.body.as_deref().unwrap()).collect();
    assert_eq!(
        bodies,
        [
            "token=rt-1&token_type_hint=refresh_token&client_id=spa",
            "token=at-rt-1&token_type_hint=access_token&client_id=spa"
        ]
    );
    assert!(logout.revocations.iter().all(|r| r.url == "https://op.example/revoke" && r.method == Method::Post));
    assert!(!c.is_authenticated());
    // A second logout has nothing left to revoke.
    assert!(c.logout(&[8; 16], true).revocations.is_empty());
}

#[test]
fn token_events_carry_expiry_and_scope_but_no_token() {
    let c = signed_in();
    let event = crate::protocol::messages::to_json(&c.token_info(&TokenKey::default()).unwrap()).unwrap();
    assert_eq!(event, format!(r#"{{"expiresAt":{},"scope":"openid profile offline_access","resource":null}}"#, (NOW + 5 + 600) * 1000));
    assert!(!event.contains("at-rt-1") && !event.contains("rt-1\""));
    assert_eq!(discovered().token_info(&TokenKey::default()), None);
}

// ---- sessions that stay alive: per-API tokens, backoff, proactive refresh ----

fn api_key() -> TokenKey {
    TokenKey { resource: Some("https://api.example/".into()), scope: Some("api:read".into()) }
}

/// A refresh response for another API: no ID token (the scope has no `openid`).
fn api_token_response(refresh_token: &str) -> HttpResponse {
    json(
        200,
        &format!(
            r#"{{"access_token":"api-{refresh_token}","token_type":"Bearer","expires_in":300,"refresh_token":"{refresh_token}","scope":"api:read"}}"#
        ),
    )
}

#[test]
fn tokens_for_other_apis_are_obtained_with_the_refresh_token_and_cached_per_key() {
    let mut c = signed_in();
    let key = api_key();
    // No token for the API yet: it must be obtained, with resource and scope (RFC 8707 §2.2).
    assert_eq!(c.access_token(&key, NOW + 10), Ok(None));
    let req = c.refresh_request(&key).unwrap();
    assert_eq!(
        form(req.body.as_deref().unwrap()),
        [("grant_type", "refresh_token"), ("refresh_token", "rt-1"), ("client_id", "spa"), ("resource", "https://api.example/"), ("scope", "api:read")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(refresh(&mut c, &key, api_token_response("rt-2"), NOW + 10).result, Ok(()));
    // Cached under its key; the login's token is untouched; the refresh token rotated.
    assert_eq!(c.access_token(&key, NOW + 10), Ok(Some("api-rt-2")));
    assert_eq!(c.access_token(&TokenKey::default(), NOW + 10), Ok(Some("at-rt-1")));
    assert_eq!(form(c.refresh_request(&TokenKey::default()).unwrap().body.as_deref().unwrap())[1].1, "rt-2");
    // The login's token refresh carries neither resource nor scope.
    assert_eq!(form(c.refresh_request(&TokenKey::default()).unwrap().body.as_deref().unwrap()).len(), 3);
    // Its event names the resource and the granted scope, never the token.
    let event = crate::protocol::messages::to_json(&c.token_info(&key).unwrap()).unwrap();
    assert_eq!(event, format!(r#"{{"expiresAt":{},"scope":"api:read","resource":"https://api.example/"}}"#, (NOW + 310) * 1000));
    // It expires on its own schedule (300 s, minus the 60 s skew).
    assert_eq!(c.access_token(&key, NOW + 10 + 240), Ok(None));
    assert_eq!(c.access_token(&TokenKey::default(), NOW + 10 + 240), Ok(Some("at-rt-1")));
    // Logout revokes the refresh token and every access token.
    c.metadata.as_mut().unwrap().revocation_endpoint = Some("https://op.example/revoke".into());
    let hints: Vec<String> = c.logout(&[1; 16], true).revocations.iter().map(|r| form(r.body.as_deref().unwrap())[0].1.clone()).collect();
    assert_eq!(hints, ["rt-2", "at-rt-1", "api-rt-2"]);
}

#[test]
fn transient_refresh_failures_back_off_and_keep_the_session() {
    let mut c = signed_in();
    let key = TokenKey::default();
    let outage = Error::Network { reason: &"failed" };
    refresh_failing(&mut c, outage.clone(), NOW + 600);
    assert!(c.is_authenticated());
    // During the wait (at least 1 s: the clock has whole seconds), the failure is repeated at
    // once (the shell sends nothing).
    assert_eq!(c.check_backoff(NOW + 601), Err(outage.clone()));
    assert_eq!(c.token_step(&key, Need::Fresh, NOW + 601), Err(outage.clone()));
    assert_eq!(c.check_backoff(NOW + 602), Ok(()));
    // A 503 counts too; two failures in a row wait two seconds.
    refresh(&mut c, &key, json(503, "busy"), NOW + 600);
    assert_eq!(c.check_backoff(NOW + 602), Err(Error::ServerError { status: 503 }));
    assert_eq!(c.check_backoff(NOW + 603), Ok(()));
    // A success ends it, and the refresh token was never spent by the failures.
    assert_eq!(form(c.refresh_request(&key).unwrap().body.as_deref().unwrap())[1].1, "rt-1");
    assert_eq!(refresh(&mut c, &key, token_response("rt-2", None), NOW + 603).result, Ok(()));
    assert_eq!(c.check_backoff(NOW + 603), Ok(()));
}

#[test]
fn proactive_refresh_timing() {
    // signed_in(): a 600 s token received at NOW + 5, skew 60 → handed out until NOW + 545;
    // the proactive refresh is due the lead (30 s) before that.
    let mut c = signed_in();
    assert_eq!(c.auto_refresh_at(), Some(NOW + 515));
    assert!(!c.start_auto_refresh(NOW + 514));
    assert!(c.start_auto_refresh(NOW + 515));
    // While a backoff lasts it waits for it.
    refresh_failing(&mut c, Error::Network { reason: &"timeout" }, NOW + 600);
    assert_eq!(c.auto_refresh_at(), Some(NOW + 602));
    // After a new token: due again relative to it.
    assert_eq!(refresh(&mut c, &TokenKey::default(), token_response("rt-2", None), NOW + 602).result, Ok(()));
    assert_eq!(c.auto_refresh_at(), Some(NOW + 602 + 600 - 60 - 30));
    // Short-lived tokens: never sooner than 30 s after the token arrived, nor 30 s after the
    // last proactive attempt: no refresh loop.
    let short = json(200, r#"{"access_token":"short","token_type":"Bearer","expires_in":10,"refresh_token":"rt-3"}"#);
    assert_eq!(refresh(&mut c, &TokenKey::default(), short, NOW + 1000).result, Ok(()));
    assert_eq!(c.auto_refresh_at(), Some(NOW + 1030));
    assert!(c.start_auto_refresh(NOW + 1030));
    assert_eq!(c.auto_refresh_at(), Some(NOW + 1060), "a failed attempt does not make it due again at once");
    // Off without a refresh token, without a session, and with autoRefresh: false.
    let mut off = client();
    off.config.auto_refresh = false;
    assert_eq!(off.auto_refresh_at(), None);
    c.logout(&[0; 16], true);
    assert_eq!(c.auto_refresh_at(), None);
    assert!(!c.start_auto_refresh(u64::MAX));
}

#[test]
fn issue_8_a_token_living_30_days_wakes_the_timer_twice_not_in_a_loop() {
    use crate::protocol::schedule::{timer_delay_ms, MAX_TIMER_DELAY_MS};
    let mut c = signed_in();
    let month = json(200, r#"{"access_token":"long","token_type":"Bearer","expires_in":2592000,"refresh_token":"rt-2"}"#);
    assert_eq!(refresh(&mut c, &TokenKey::default(), month, NOW).result, Ok(()));
    let due = NOW + 2_592_000 - 60 - 30;
    assert_eq!(c.auto_refresh_at(), Some(due));
    // What the shell does: arm the timer for the delay the core gives, and on each wake-up ask
    // whether the refresh is due; if not, arm it again.
    let mut now_ms = NOW * 1000 + 250;
    let mut delays = Vec::new();
    loop {
        let delay = timer_delay_ms(c.auto_refresh_at().unwrap(), now_ms);
        assert!(delays.len() < 3, "the timer keeps waking: {delays:?}");
        delays.push(delay);
        now_ms += delay;
        if c.start_auto_refresh(now_ms / 1000) {
            break;
        }
    }
    assert_eq!(delays, [MAX_TIMER_DELAY_MS, due * 1000 - NOW * 1000 - 250 - MAX_TIMER_DELAY_MS]);
    assert_eq!(now_ms, due * 1000, "due on time, not earlier");
}

#[test]
fn proactive_refresh_can_be_switched_off_and_needs_a_refresh_token() {
    let mut c = signed_in();
    c.config.auto_refresh = false;
    assert_eq!(c.auto_refresh_at(), None);
    let mut c = signed_in();
    let no_rt = json(200, r#"{"access_token":"x","token_type":"Bearer","expires_in":600}"#);
    assert_eq!(refresh(&mut c, &TokenKey::default(), no_rt, NOW).result, Ok(()));
    assert!(c.auto_refresh_at().is_some(), "the rotated-out refresh token is kept when none is sent");
    c.session.as_mut().unwrap().drop_refresh_token_for_tests();
    assert_eq!(c.auto_refresh_at(), None);
}

#[test]
fn exposure_and_api_origins_follow_the_configuration() {
    let mut c = signed_in();
    // Secure default: not exposed.
    assert_eq!(c.check_token_exposure(), Err(Error::Config { reason: &"access_token_not_exposed" }));
    c.config.expose_access_token = true;
    assert_eq!(c.check_token_exposure(), Ok(()));
    assert_eq!(c.api_token_key("https://api.example/x", "GET", ""), Err(Error::Config { reason: &"api_origin" }));
}

/// The callback of a login started with `options`, answered with `query` (after `state` and
/// `iss`): what `complete_callback` says, and what `declined_restore` makes of it.
fn answered(options: &str, query: &str) -> (Result<Box<ValidatedCallback>, Error>, Option<String>, String) {
    let c = discovered();
    let start = c.begin_login(&parse(options.as_bytes()).unwrap(), &entropy(), NOW).unwrap();
    let q = parse_query(Url::parse(&start.url).unwrap().query.as_deref().unwrap()).unwrap();
    let state = q.iter().find(|(k, _)| k == "state").unwrap().1.clone();
    let prompt = q.iter().filter(|(k, _)| k == "prompt").map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(",");
    let cb = c.parse_callback(&format!("https://app.example/cb?state={state}&iss=https%3A%2F%2Fop.example&{query}")).unwrap();
    let record = start.pending_record.expose().to_owned();
    let result = c.complete_callback(cb, Some(&record), NOW + 1);
    let declined = result.as_ref().err().and_then(|e| c.declined_restore(Some(&record), e));
    (result, declined, prompt)
}

#[test]
fn a_restore_asks_for_no_prompt_and_a_signed_out_answer_is_no_error() {
    let options = crate::protocol::restore::restore_login_options(client().config(), "https://app.example/orders", false).to_json();
    for error in ["login_required", "interaction_required", "consent_required", "account_selection_required"] {
        let (result, declined, prompt) = answered(&options, &format!("error={error}"));
        // The configured `prompt=consent` is replaced, not repeated.
        assert_eq!(prompt, "none");
        assert!(matches!(result, Err(Error::AuthorizationError(_))), "{error}");
        assert_eq!(declined.as_deref(), Some(r#"{"appState":{"returnTo":"/orders"}}"#), "{error}");
    }
    // Any other error is one.
    let (_, declined, _) = answered(&options, "error=access_denied");
    assert_eq!(declined, None);
    // An ordinary login's `login_required` is an error too.
    let (result, declined, prompt) = answered(r#"{"extraParams":{"prompt":"none"}}"#, "error=login_required");
    assert_eq!(prompt, "none");
    assert!(result.is_err());
    assert_eq!(declined, None);
    // A restore that succeeds is an ordinary callback.
    let (result, declined, _) = answered(&options, "code=c");
    assert!(result.is_ok());
    assert_eq!(declined, None);
}

#[test]
fn a_silent_restore_answers_on_the_silent_redirect_uri_and_redeems_with_it() {
    let mut c = Client::new(
        &parse(
            br#"{"issuer":"https://op.example","clientId":"spa","redirectUri":"https://app.example/cb",
                "silentRedirectUri":"https://app.example/silent.html","restore":"silent"}"#,
        )
        .unwrap(),
    )
    .unwrap();
    let discovered = discovered();
    c.metadata = discovered.metadata.clone();
    for (silent, landing) in [(true, "https://app.example/silent.html"), (false, "https://app.example/cb")] {
        let options = crate::protocol::restore::restore_login_options(c.config(), "https://app.example/x", silent);
        let start = c.begin_login(&options, &entropy(), NOW).unwrap();
        let q = parse_query(Url::parse(&start.url).unwrap().query.as_deref().unwrap()).unwrap();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(get("redirect_uri"), landing);
        let cb = c.parse_callback(&format!("{landing}?code=c&state={}&iss=https%3A%2F%2Fop.example", get("state"))).unwrap();
        let validated = c.complete_callback(cb, Some(start.pending_record.expose()), NOW + 1).unwrap();
        let body = form(c.code_exchange_request(&validated).unwrap().body.as_deref().unwrap());
        assert!(body.contains(&("redirect_uri".to_owned(), landing.to_owned())), "the token request repeats it");
    }
    // Any other page is no callback.
    assert!(matches!(c.parse_callback("https://app.example/other?code=c&state=s"), Err(Error::InvalidCallback { reason: &"redirect_uri" })));
}

// DPoP (RFC 9449) as the client wires it: the key the shell hands over, `dpop_jkt`, the
// `token_type` rule, the `Authorization` scheme, the proofs of provider requests and the nonces.

/// RFC 9449 §4.1's example key, as WebCrypto's raw export.
fn rfc9449_raw_key() -> Vec<u8> {
    let mut raw = vec![4];
    raw.extend(base64url::decode("l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs").unwrap());
    raw.extend(base64url::decode("9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA").unwrap());
    raw
}
const RFC9449_JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

fn with_dpop(json: &str) -> Result<Client, Error> {
    let base = r#""issuer":"https://op.example","clientId":"spa","redirectUri":"https://app.example/cb""#;
    Client::new(&parse(format!("{{{base}{json}}}").as_bytes()).unwrap())
}

#[test]
fn the_dpop_option_is_false_true_or_auto() {
    assert_eq!(with_dpop("").unwrap().config().dpop, Dpop::Off);
    assert_eq!(with_dpop(r#","dpop":false"#).unwrap().config().dpop, Dpop::Off);
    assert_eq!(with_dpop(r#","dpop":true"#).unwrap().config().dpop, Dpop::On);
    assert_eq!(with_dpop(r#","dpop":"auto""#).unwrap().config().dpop, Dpop::Auto);
    for bad in [r#","dpop":"true""#, r#","dpop":1"#, r#","dpop":"AUTO""#, r#","dpop":{}"#] {
        assert_eq!(with_dpop(bad).err(), Some(Error::Config { reason: &"dpop" }), "{bad}");
    }
}

#[test]
fn a_key_is_asked_for_when_dpop_is_on_or_auto_and_advertised() {
    let mut c = discovered();
    assert!(!c.needs_dpop_key(), "off by default");
    c.config.dpop = Dpop::Auto;
    assert!(!c.needs_dpop_key(), "auto, not advertised");
    c.metadata.as_mut().unwrap().dpop_signing_alg_values_supported = Some(vec!["RS256".into()]);
    assert!(!c.needs_dpop_key(), "auto, ES256 not advertised");
    c.metadata.as_mut().unwrap().dpop_signing_alg_values_supported = Some(vec!["PS256".into(), "ES256".into()]);
    assert!(c.needs_dpop_key());
    c.config.dpop = Dpop::On;
    c.metadata.as_mut().unwrap().dpop_signing_alg_values_supported = None;
    assert!(c.needs_dpop_key(), "on, whatever discovery says");
    assert_eq!(c.set_dpop_key(&[4; 64]), Err(Error::Config { reason: &"dpop_key" }));
    c.set_dpop_key(&rfc9449_raw_key()).unwrap();
    assert!(!c.needs_dpop_key(), "once per client");
    assert_eq!(c.dpop_thumbprint(), Some(RFC9449_JKT));
}

/// A client with the RFC key, logged in with DPoP-bound tokens.
fn dpop_signed_in() -> Client {
    let mut c = discovered();
    c.config.dpop = Dpop::On;
    c.set_dpop_key(&rfc9449_raw_key()).unwrap();
    let options = parse(br#"{"extraParams":{"dpop_jkt":"another"}}"#).unwrap();
    let start = c.begin_login(&options, &entropy(), NOW).unwrap();
    let q = parse_query(Url::parse(&start.url).unwrap().query.as_deref().unwrap()).unwrap();
    let jkt: Vec<_> = q.iter().filter(|(k, _)| k == "dpop_jkt").map(|(_, v)| v.as_str()).collect();
    assert_eq!(jkt, [RFC9449_JKT], "the worker's thumbprint, once, whatever the page passed");
    let state = &q.iter().find(|(k, _)| k == "state").unwrap().1;
    let callback = |c: &Client| {
        let cb = c.parse_callback(&format!("https://app.example/cb?code=the-code&state={state}&iss=https%3A%2F%2Fop.example")).unwrap();
        c.complete_callback(cb, Some(start.pending_record.expose()), NOW + 5).unwrap()
    };
    // RFC 9449 §5: a Bearer answer to a DPoP session is refused.
    let bearer = token_response("rt-1", Some(&id_token(&claims())));
    assert_eq!(c.process_code_exchange_response(callback(&c), &bearer).err(), Some(Error::InvalidResponse { reason: &"token_type" }));
    let dpop = |rt: &str| {
        let HttpResponse { body, .. } = token_response(rt, Some(&id_token(&claims())));
        json(200, &String::from_utf8(body).unwrap().replace(r#""Bearer""#, r#""dpop""#))
    };
    let exchange = c.process_code_exchange_response(callback(&c), &dpop("rt-1")).unwrap();
    assert!(matches!(finish(&mut c, exchange, NOW + 5), Ok(Exchanged::LoggedIn { .. })));
    c
}

#[test]
fn a_dpop_session_accepts_only_dpop_tokens_and_presents_them_with_proofs() {
    let mut c = dpop_signed_in();
    assert_eq!(c.authorization("at-rt-1"), "DPoP at-rt-1");
    assert_eq!(c.api_call(TokenKey::default()).key(), &TokenKey::default());
    // UserInfo: `Authorization: DPoP`, and the proof carries `ath` of that token.
    let userinfo = c.userinfo_request(NOW + 5).unwrap();
    assert_eq!(userinfo.headers[0], ("Authorization".to_owned(), "DPoP at-rt-1".to_owned()));
    let call = c.dpop_call(&userinfo.url).unwrap().unwrap();
    let jti = [7u8; JTI_BYTES];
    let claims_of = |proof: &UnsignedProof| {
        let claims = proof.signing_input().split('.').nth(1).unwrap();
        parse(&base64url::decode(claims).unwrap()).unwrap()
    };
    let proof = c.dpop_proof(&userinfo, &call, &jti, NOW + 5).unwrap();
    let claims = claims_of(&proof);
    assert_eq!(claims.get("htm").and_then(Value::as_str), Some("GET"));
    assert_eq!(claims.get("htu").and_then(Value::as_str), Some("https://op.example/me"));
    assert_eq!(claims.get("ath").and_then(Value::as_str), Some(crate::protocol::dpop::ath("at-rt-1").as_str()));
    assert!(claims.get("nonce").is_none());
    // The refresh grant: no `ath`, and a Bearer answer is refused too.
    let grant = c.begin_refresh(&TokenKey::default()).unwrap();
    let mut call = c.dpop_call(&grant.request.url).unwrap().unwrap();
    let claims = claims_of(&c.dpop_proof(&grant.request, &call, &jti, NOW + 5).unwrap());
    assert_eq!(claims.get("htm").and_then(Value::as_str), Some("POST"));
    assert!(claims.get("ath").is_none());
    // §8: `use_dpop_nonce` → one retry whose proof carries the nonce.
    let demand = json(400, r#"{"error":"use_dpop_nonce"}"#);
    assert_eq!(c.on_provider_dpop_response(&mut call, &grant.request, &demand, None, Some("n-1")), NonceStep::RetryWithNonce);
    let claims = claims_of(&c.dpop_proof(&grant.request, &call, &jti, NOW + 5).unwrap());
    assert_eq!(claims.get("nonce").and_then(Value::as_str), Some("n-1"));
    assert_eq!(c.on_provider_dpop_response(&mut call, &grant.request, &demand, None, Some("n-2")), NonceStep::Done);
    let bearer = token_response("rt-2", None);
    assert_eq!(c.process_refresh_response(&grant.ticket, &bearer).err(), Some(Error::InvalidResponse { reason: &"token_type" }));
    c.finish_refresh(grant.ticket, Err(Error::InvalidResponse { reason: &"token_type" }), NOW + 5);
    // The nonce is the origin's: UserInfo's next proof carries the latest one.
    let call = c.dpop_call(&userinfo.url).unwrap().unwrap();
    let claims = claims_of(&c.dpop_proof(&userinfo, &call, &jti, NOW + 5).unwrap());
    assert_eq!(claims.get("nonce").and_then(Value::as_str), Some("n-2"));
    // §9: UserInfo is a resource server: its `401` DPoP challenge asks for a nonce.
    let mut call = c.dpop_call(&userinfo.url).unwrap().unwrap();
    let challenge = Some(r#"DPoP error="use_dpop_nonce""#);
    assert_eq!(c.on_provider_dpop_response(&mut call, &userinfo, &json(401, "{}"), challenge, Some("n-3")), NonceStep::RetryWithNonce);
    // An API's nonces are its own.
    let mut api = c.dpop_call("https://api.example/x").unwrap().unwrap();
    assert_eq!(c.on_api_dpop_response(&mut api, 401, challenge, Some("a-1")), NonceStep::RetryWithNonce);
    assert_eq!(c.on_api_dpop_response(&mut api, 401, challenge, Some("a-2")), NonceStep::Done);
    let proof = c.api_proof("https://api.example/x?q=1", "get", Some("at-rt-1"), &api, &jti, NOW).unwrap();
    assert_eq!(claims_of(&proof).get("nonce").and_then(Value::as_str), Some("a-2"));
    assert_eq!(claims_of(&proof).get("htu").and_then(Value::as_str), Some("https://api.example/x"));
    assert!(Client::finish_proof(proof.clone(), &[0; 63]).is_err());
    assert_eq!(Client::finish_proof(proof, &[0; 64]).unwrap().split('.').count(), 3);
}

#[test]
fn without_a_key_nothing_carries_a_proof() {
    let c = signed_in();
    assert_eq!(c.dpop_call("https://op.example/token").unwrap().map(|_| ()), None);
    assert_eq!(c.authorization("t"), "Bearer t");
    assert_eq!(c.userinfo_request(NOW + 5).unwrap().headers[0].1, "Bearer at-rt-1");
}

// `persist: "dpop-bound"`: what is stored when, what ends it, and a resumed session.

fn dpop_token_response(refresh_token: &str, id_token: Option<&str>) -> HttpResponse {
    let HttpResponse { body, .. } = token_response(refresh_token, id_token);
    json(200, &String::from_utf8(body).unwrap().replace(r#""Bearer""#, r#""DPoP""#))
}

fn persisting() -> Client {
    let mut c = dpop_signed_in();
    c.config.persist = true;
    c
}

fn stored_record(action: Option<PersistAction>) -> PersistedSession {
    match action {
        Some(PersistAction::Store { id, record }) => {
            assert_eq!(id, "session\nhttps://op.example\nspa");
            PersistedSession::from_record(record.expose()).unwrap()
        }
        other => panic!("expected a write, got {other:?}"),
    }
}

fn deleted(action: Option<PersistAction>) -> bool {
    matches!(action, Some(PersistAction::Delete { id }) if id == "session\nhttps://op.example\nspa")
}

#[test]
fn persist_is_none_or_dpop_bound_and_needs_dpop() {
    assert!(!with_dpop(r#","dpop":true"#).unwrap().config().persist);
    assert!(!with_dpop(r#","dpop":true,"persist":"none""#).unwrap().config().persist);
    assert!(with_dpop(r#","dpop":true,"persist":"dpop-bound""#).unwrap().config().persist);
    assert!(with_dpop(r#","dpop":"auto","persist":"dpop-bound""#).unwrap().config().persist);
    for bad in [r#","persist":"dpop-bound""#, r#","dpop":false,"persist":"dpop-bound""#, r#","dpop":true,"persist":true"#, r#","dpop":true,"persist":"bearer""#] {
        assert_eq!(with_dpop(bad).err(), Some(Error::Config { reason: &"persist" }), "{bad}");
    }
}

#[test]
fn the_dpop_bound_refresh_token_is_stored_after_login_and_each_rotation() {
    let mut c = persisting();
    let first = stored_record(c.persist_action());
    assert_eq!((first.refresh_token.expose(), first.sub.as_str(), first.jkt.as_str()), ("rt-1", "alice", RFC9449_JKT));
    assert_eq!(c.persist_action(), None, "written once");
    // A rotation: the new token replaces the stored one.
    let end = refresh(&mut c, &TokenKey::default(), dpop_token_response("rt-2", None), NOW + 700);
    assert_eq!(end.result, Ok(()));
    assert_eq!(stored_record(c.persist_action()).refresh_token.expose(), "rt-2");
    // No rotation: nothing to write.
    let HttpResponse { body, .. } = dpop_token_response("x", None);
    let unrotated = String::from_utf8(body).unwrap().replace(r#","refresh_token":"x""#, "");
    assert_eq!(refresh(&mut c, &TokenKey::default(), json(200, &unrotated), NOW + 1400).result, Ok(()));
    assert_eq!(c.persist_action(), None);
    // A failed write is tried again on the next call.
    c.persist_failed();
    assert_eq!(stored_record(c.persist_action()).refresh_token.expose(), "rt-2");
}

#[test]
fn nothing_is_stored_without_the_option_or_for_a_bearer_session() {
    let mut c = dpop_signed_in();
    assert_eq!(c.persist_action(), None, "persist off");
    let mut bearer = signed_in();
    bearer.config.persist = true; // (a `dpop: "auto"` client whose provider has no DPoP)
    assert_eq!(bearer.persist_action(), None, "never a bearer refresh token");
}

#[test]
fn logout_invalid_grant_and_a_failed_id_token_check_delete_the_record_and_the_key() {
    let mut c = persisting();
    stored_record(c.persist_action());
    c.logout(&[0; 16], false);
    assert!(deleted(c.persist_action()));
    assert_eq!(c.persist_action(), None);
    assert_eq!(c.dpop_thumbprint(), None, "the key goes with the session");
    assert!(c.needs_dpop_key(), "the next login makes a new key");

    // A logout in a worker that never wrote anything still deletes what may be stored.
    let mut c = persisting();
    c.stored = Stored::Nothing;
    c.revision = 0;
    c.logout(&[0; 16], false);
    assert!(deleted(c.persist_action()));

    let mut c = persisting();
    stored_record(c.persist_action());
    let end = refresh(&mut c, &TokenKey::default(), json(400, r#"{"error":"invalid_grant"}"#), NOW + 700);
    assert_eq!(end.result, Err(Error::LoginRequired));
    assert!(deleted(c.persist_action()));
    assert_eq!(c.dpop_thumbprint(), None);

    let mut c = persisting();
    stored_record(c.persist_action());
    let other = claims().replace("alice", "someone-else");
    let end = refresh(&mut c, &TokenKey::default(), dpop_token_response("rt-2", Some(&id_token(&other))), NOW + 100);
    assert_eq!(end.result, Err(Error::InvalidIdToken { reason: &"sub" }));
    assert!(deleted(c.persist_action()));
    assert_eq!(c.dpop_thumbprint(), None);
}

/// A fresh client (a cold start) with `persist: "dpop-bound"`, discovered.
fn cold_start() -> Client {
    let mut c = discovered();
    c.config.dpop = Dpop::On;
    c.config.persist = true;
    c
}

#[test]
fn a_stored_session_is_resumed_by_one_refresh_grant_for_the_same_user() {
    let mut stored = persisting();
    let record = stored.persist_action().map(|a| match a {
        PersistAction::Store { record, .. } => record,
        _ => unreachable!(),
    });
    let record = record.unwrap();

    let mut c = cold_start();
    // Not on a login callback, once per client.
    assert_eq!(c.resume_id("https://app.example/cb?code=c&state=s&iss=https%3A%2F%2Fop.example"), None);
    assert_eq!(c.resume_id("https://app.example/home").as_deref(), Some("session\nhttps://op.example\nspa"));
    assert_eq!(c.resume_id("https://app.example/home"), None);
    assert!(c.resume(record.expose(), &rfc9449_raw_key()));
    assert!(c.is_resuming() && !c.is_authenticated() && c.user_json().is_none());
    assert_eq!(c.dpop_thumbprint(), Some(RFC9449_JKT));
    assert_eq!(c.persist_action(), None, "what is stored is this session");
    // The login's token needs the grant; it presents the stored token, with a proof.
    assert_eq!(c.token_step(&TokenKey::default(), Need::Valid, NOW + 10).unwrap(), TokenStep::Refresh);
    let grant = c.begin_refresh(&TokenKey::default()).unwrap();
    assert_eq!(form(grant.request.body.as_deref().unwrap())[1].1, "rt-1");
    assert!(c.dpop_call(&grant.request.url).unwrap().is_some());
    let exchange = c.process_refresh_response(&grant.ticket, &dpop_token_response("rt-2", Some(&id_token(&claims())))).unwrap().unwrap();
    let result = finish(&mut c, exchange, NOW + 10).map(drop);
    let end = c.finish_refresh(grant.ticket, result, NOW + 10);
    assert_eq!((end.result, end.event), (Ok(()), Some(Event::Login)));
    assert!(c.is_authenticated() && !c.is_resuming());
    assert_eq!(c.user_json(), Some(claims().as_str()));
    assert_eq!(stored_record(c.persist_action()).refresh_token.expose(), "rt-2", "the rotated token is stored");
}

fn resumed() -> Client {
    let mut c = cold_start();
    let record = PersistedSession::to_record("rt-1", "alice", Some(&crate::protocol::testing::nonce()), RFC9449_JKT);
    assert!(c.resume(record.expose(), &rfc9449_raw_key()));
    c
}

#[test]
fn a_resumed_session_that_the_provider_does_not_take_back_ends_and_is_deleted() {
    // Another user's ID token (OIDC Core §12.2).
    let mut c = resumed();
    let other = claims().replace("alice", "someone-else");
    let end = refresh(&mut c, &TokenKey::default(), dpop_token_response("rt-2", Some(&id_token(&other))), NOW + 10);
    assert_eq!(end.result, Err(Error::InvalidIdToken { reason: &"sub" }));
    assert!(!c.is_authenticated() && !c.is_resuming());
    assert!(deleted(c.persist_action()));
    assert_eq!(end.revocations.len(), 0, "no revocation endpoint here; see the next case for the rule");

    // No ID token: nothing says who the session is for.
    let mut c = resumed();
    let end = refresh(&mut c, &TokenKey::default(), dpop_token_response("rt-2", None), NOW + 10);
    assert_eq!(end.result, Err(Error::InvalidResponse { reason: &"field" }));
    assert!(matches!(end.event, Some(Event::Error(_))));
    assert!(!c.is_resuming());
    assert!(deleted(c.persist_action()));

    // A spent or revoked token.
    let mut c = resumed();
    let end = refresh(&mut c, &TokenKey::default(), json(400, r#"{"error":"invalid_grant"}"#), NOW + 10);
    assert_eq!(end.event, Some(Event::SessionExpired { reason: "invalid_grant" }));
    assert!(deleted(c.persist_action()));
    assert_eq!(c.dpop_thumbprint(), None);

    // The provider unreachable: the session and the record stay for the next try.
    let mut c = resumed();
    let end = refresh_failing(&mut c, Error::Network { reason: &"failed" }, NOW + 10);
    assert!(end.result.is_err());
    assert!(c.is_resuming());
    assert_eq!(c.persist_action(), None);
}

#[test]
fn a_record_that_cannot_be_used_is_deleted_not_guessed_at() {
    let mut c = cold_start();
    assert!(!c.resume("not a record", &rfc9449_raw_key()));
    assert!(!c.is_resuming());
    assert!(deleted(c.persist_action()));
    // Bound to another key than the one stored beside it.
    let mut c = cold_start();
    let record = PersistedSession::to_record("rt-1", "alice", None, "another-thumbprint");
    assert!(!c.resume(record.expose(), &rfc9449_raw_key()));
    assert_eq!(c.dpop_thumbprint(), None);
    assert!(deleted(c.persist_action()));
    // A key that is no P-256 public key.
    let mut c = cold_start();
    let record = PersistedSession::to_record("rt-1", "alice", None, RFC9449_JKT);
    assert!(!c.resume(record.expose(), &[]));
    assert!(deleted(c.persist_action()));
}

#[test]
fn a_callback_uses_the_key_stored_with_its_login() {
    let mut c = cold_start();
    assert!(c.needs_dpop_key());
    assert_eq!(c.use_login_key(&rfc9449_raw_key()), Ok(true), "adopted");
    assert_eq!(c.dpop_thumbprint(), Some(RFC9449_JKT));
    assert_eq!(c.use_login_key(&rfc9449_raw_key()), Ok(false), "already this client's key");
    assert_eq!(c.use_login_key(&[4; 64]), Err(Error::Config { reason: &"dpop_key" }));
    let mut bearer = discovered();
    assert_eq!(bearer.use_login_key(&rfc9449_raw_key()), Ok(false), "a client without DPoP never takes one up");
    assert_eq!(bearer.dpop_thumbprint(), None);
}

// Pushed authorization requests (RFC 9126) as the client runs them.

#[test]
fn a_pushed_login_sends_every_parameter_to_the_endpoint_and_the_browser_only_client_id_and_request_uri() {
    let mut c = discovered();
    c.metadata.as_mut().unwrap().pushed_authorization_request_endpoint = Some("https://op.example/par".into());
    c.config.dpop = Dpop::On;
    c.set_dpop_key(&rfc9449_raw_key()).unwrap();
    let start = c.begin_login(&parse(br#"{"extraParams":{"ui_locales":"de"}}"#).unwrap(), &entropy(), NOW).unwrap();
    let push = start.push.expect("pushed: the provider offers PAR");
    assert_eq!(push.url, "https://op.example/par");
    let pushed = form(push.body.as_deref().unwrap());
    let plain = parse_query(Url::parse(&start.url).unwrap().query.as_deref().unwrap()).unwrap();
    assert_eq!(pushed, plain, "the same parameters as a plain request would carry");
    for name in ["state", "nonce", "code_challenge", "dpop_jkt", "ui_locales", "redirect_uri"] {
        assert!(pushed.iter().any(|(n, _)| n == name), "{name}");
    }
    // The proof goes with the push too (RFC 9449 §10.1): the shell sends it like any provider request.
    assert!(c.dpop_call(&push.url).unwrap().is_some());
    let answer = json(201, r#"{"request_uri":"urn:x","expires_in":60}"#);
    let url = c.pushed_authorization_url(&answer).unwrap();
    assert_eq!(url, "https://op.example/auth?client_id=spa&request_uri=urn%3Ax");
    // The callback is checked against the pending login as ever.
    let state = &plain.iter().find(|(k, _)| k == "state").unwrap().1;
    let cb = c.parse_callback(&format!("https://app.example/cb?code=c&state={state}&iss=https%3A%2F%2Fop.example")).unwrap();
    assert!(c.complete_callback(cb, Some(start.pending_record.expose()), NOW + 5).is_ok());
}

#[test]
fn without_the_endpoint_or_with_par_false_the_login_is_not_pushed() {
    let c = discovered();
    assert!(c.begin_login(&Value::Object(vec![]), &entropy(), NOW).unwrap().push.is_none());
    let mut c = discovered();
    c.metadata.as_mut().unwrap().pushed_authorization_request_endpoint = Some("https://op.example/par".into());
    c.config.par = crate::protocol::config::Par::Off;
    assert!(c.begin_login(&Value::Object(vec![]), &entropy(), NOW).unwrap().push.is_none());
    c.metadata.as_mut().unwrap().require_pushed_authorization_requests = true;
    assert_eq!(c.begin_login(&Value::Object(vec![]), &entropy(), NOW).err(), Some(Error::Config { reason: &"par" }));
}

#[test]
fn a_popup_login_is_marked_in_its_pending_record_and_completes_like_any_login() {
    let c = discovered();
    let popup = c.begin_login(&parse(br#"{"popup":true,"appState":{"from":"popup"}}"#).unwrap(), &entropy(), NOW).unwrap();
    assert!(Client::is_popup_record(popup.pending_record.expose()));
    let redirect = c.begin_login(&parse(b"{}").unwrap(), &entropy(), NOW).unwrap();
    assert!(!Client::is_popup_record(redirect.pending_record.expose()));
    assert!(!Client::is_popup_record("not a record"));
    // Fresh state, nonce and PKCE, and every check of the callback, as for a redirect.
    let q = parse_query(Url::parse(&popup.url).unwrap().query.as_deref().unwrap()).unwrap();
    let state = &q.iter().find(|(k, _)| k == "state").unwrap().1;
    let forged = c.parse_callback("https://app.example/cb?code=c&state=other&iss=https%3A%2F%2Fop.example").unwrap();
    assert_eq!(c.complete_callback(forged, Some(popup.pending_record.expose()), NOW + 5).err(), Some(Error::StateMismatch));
    let cb = c.parse_callback(&format!("https://app.example/cb?code=c&state={state}&iss=https%3A%2F%2Fop.example")).unwrap();
    assert_eq!(cb.pending_key(), popup.pending_key);
    assert!(c.complete_callback(cb, Some(popup.pending_record.expose()), NOW + 5).is_ok());
}

// The device authorization grant (RFC 8628) as the client runs it.

#[test]
fn a_device_login_ends_in_the_same_validated_session_as_a_redirect_login() {
    let mut c = discovered();
    assert_eq!(c.device_authorization_request(None).err(), Some(Error::Config { reason: &"device" }));
    c.metadata.as_mut().unwrap().device_authorization_endpoint = Some("https://op.example/device/auth".into());
    let r = c.device_authorization_request(Some("profile")).unwrap();
    assert_eq!(form(r.body.as_deref().unwrap())[1], ("scope".to_owned(), "openid profile".to_owned()), "openid always");
    let start = json(200, r#"{"device_code":"dc","user_code":"U","verification_uri":"https://op.example/device","expires_in":600}"#);
    let mut login = c.process_device_authorization(&start, NOW).unwrap();
    let _ = c.device_token_request(&login).unwrap();
    assert_eq!(login.on_token_response(&json(200, "{}"), NOW + 5), Ok(crate::protocol::device::DevicePoll::Tokens));
    // No nonce was sent: an ID token with one is refused, one without is accepted.
    let with_nonce = c.process_device_tokens(&token_response("rt-1", Some(&id_token(&claims()))), NOW + 5).unwrap();
    assert_eq!(finish(&mut c, with_nonce, NOW + 5).err(), Some(Error::InvalidIdToken { reason: &"nonce" }));
    let without = claims().replace(&format!(r#","nonce":"{}""#, crate::protocol::testing::nonce()), "");
    let exchange = c.process_device_tokens(&token_response("rt-1", Some(&id_token(&without))), NOW + 5).unwrap();
    let Exchanged::LoggedIn { reply, event } = finish(&mut c, exchange, NOW + 5).unwrap() else { panic!("no login") };
    assert_eq!((reply.as_str(), event), (r#"{"appState":null}"#, Event::Login));
    assert!(c.is_authenticated());
    // Without an ID token: no session.
    let mut c = discovered();
    assert_eq!(c.process_device_tokens(&token_response("rt-1", None), NOW).err(), Some(Error::InvalidResponse { reason: &"field" }));
    // A bad signature or claim: no session either (the same checks).
    let expired = claims().replace(&format!(r#""exp":{}"#, NOW + 600), &format!(r#""exp":{}"#, NOW - 600));
    let exchange = c.process_device_tokens(&token_response("rt-1", Some(&id_token(&expired))), NOW).unwrap();
    assert!(finish(&mut c, exchange, NOW).is_err());
    assert!(!c.is_authenticated());
}
