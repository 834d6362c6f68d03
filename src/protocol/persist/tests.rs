use super::*;
use crate::protocol::testing::config;

#[test]
fn a_record_holds_the_refresh_token_the_user_and_the_key_and_reads_back() {
    let record = PersistedSession::to_record("rt-\"1\"", "user-1", Some("n-1"), "jkt-1");
    let read = PersistedSession::from_record(record.expose()).unwrap();
    assert_eq!((read.refresh_token.expose(), read.sub.as_str(), read.nonce.as_deref(), read.jkt.as_str()), ("rt-\"1\"", "user-1", Some("n-1"), "jkt-1"));
    let without_nonce = PersistedSession::to_record("rt", "u", None, "k");
    assert_eq!(PersistedSession::from_record(without_nonce.expose()).unwrap().nonce, None);
    assert_eq!(format!("{read:?}"), "PersistedSession { .. }", "Debug shows no token");
}

#[test]
fn anything_else_is_no_record() {
    for bad in ["", "null", "[]", "{}", r#"{"refresh_token":"rt","sub":"u"}"#, r#"{"refresh_token":"","sub":"u","jkt":"k"}"#,
        r#"{"refresh_token":1,"sub":"u","jkt":"k"}"#, r#"{"refresh_token":"rt","sub":"u","nonce":1,"jkt":"k"}"#, r#"{"refresh_token":"rt","sub":"u","jkt":"k""#] {
        assert!(PersistedSession::from_record(bad).is_none(), "{bad}");
    }
}

#[test]
fn one_record_per_issuer_and_client() {
    let mut other = config();
    assert_eq!(record_id(&config()), "session\nhttps://op.example\nspa");
    other.scope = "openid other".into();
    assert_eq!(record_id(&other), record_id(&config()), "other options of the same client: the same record");
    other.client_id = "spa-2".into();
    assert_ne!(record_id(&other), record_id(&config()));
}
