//! The pending login: what must survive the full-page redirect to the provider and back.
//!
//! The worker dies with the page when the browser navigates to the authorization endpoint, so
//! the shell persists this record (in IndexedDB) under a key derived from `state`. It is
//! single-use (the shell removes it before it is checked, whatever the outcome) and expires
//! after [`PENDING_LOGIN_TTL_SECONDS`].

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::codec::base64url;
use crate::protocol::codec::json::{self, ObjectWriter, Value};
use crate::protocol::secret::Secret;
use sha2::{Digest, Sha256};

/// A login attempt is abandoned after 10 minutes.
pub const PENDING_LOGIN_TTL_SECONDS: u64 = 600;

/// One login attempt's secrets and context. Its `Debug` redacts the secrets.
#[derive(PartialEq, Eq)]
pub struct PendingLogin {
    /// The `state` sent to the provider.
    pub state: Secret,
    /// The `nonce` the ID token must carry.
    pub nonce: Secret,
    /// The PKCE `code_verifier`.
    pub code_verifier: Secret,
    /// The issuer this attempt was started for.
    pub issuer: String,
    /// The client this attempt was started for.
    pub client_id: String,
    /// The `redirect_uri` sent in the authorization request (the token request repeats it).
    pub redirect_uri: String,
    /// The app's own JSON value, returned by the callback.
    pub app_state: Option<String>,
    /// The `max_age` sent, which makes `auth_time` required (OIDC Core §3.1.2.1).
    pub max_age: Option<u64>,
    /// When the attempt started (Unix seconds).
    pub created_at: u64,
    /// Whether it restores a session (`prompt=none`, see [`restore`](crate::protocol::restore)):
    /// then the provider saying the user must interact only means "signed out".
    pub restore: bool,
    /// Whether it runs in a popup (`loginWithPopup`): its callback completes it in the worker
    /// that waits for it, and the popup closes.
    pub popup: bool,
}

impl core::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// The storage key for a `state`: its SHA-256, so the store is looked up by a digest
/// rather than by comparing secrets.
pub fn pending_key(state: &str) -> String {
    base64url::encode(&Sha256::digest(state.as_bytes()))
}

impl PendingLogin {
    /// When the attempt stops being accepted.
    pub fn expires_at(&self) -> u64 {
        self.created_at.saturating_add(PENDING_LOGIN_TTL_SECONDS)
    }

    /// The record as stored.
    pub fn to_record(&self) -> String {
        let mut o = ObjectWriter::new();
        o.number("v", 1)
            .string("state", self.state.expose())
            .string("nonce", self.nonce.expose())
            .string("codeVerifier", self.code_verifier.expose())
            .string("issuer", &self.issuer)
            .string("clientId", &self.client_id)
            .string("redirectUri", &self.redirect_uri)
            .number("createdAt", self.created_at as i64);
        if let Some(app_state) = &self.app_state {
            o.raw("appState", app_state);
        }
        if let Some(max_age) = self.max_age {
            o.number("maxAge", max_age as i64);
        }
        if self.restore {
            o.bool("restore", true);
        }
        if self.popup {
            o.bool("popup", true);
        }
        o.finish()
    }

    /// Reads a stored record back; `None` for anything malformed.
    pub fn from_record(record: &str) -> Option<PendingLogin> {
        let v = json::parse(record.as_bytes()).ok()?;
        if v.get("v")?.as_i64()? != 1 {
            return None;
        }
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(PendingLogin {
            state: text("state")?.into(),
            nonce: text("nonce")?.into(),
            code_verifier: text("codeVerifier")?.into(),
            issuer: text("issuer")?,
            client_id: text("clientId")?,
            redirect_uri: text("redirectUri")?,
            app_state: v.get("appState").map(Value::to_json),
            max_age: match v.get("maxAge") {
                None => None,
                Some(m) => Some(u64::try_from(m.as_i64()?).ok()?),
            },
            created_at: u64::try_from(v.get("createdAt")?.as_i64()?).ok()?,
            restore: v.get("restore").and_then(Value::as_bool) == Some(true),
            popup: v.get("popup").and_then(Value::as_bool) == Some(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PendingLogin {
        PendingLogin {
            state: "s".repeat(43).into(),
            nonce: "n".repeat(43).into(),
            code_verifier: "v".repeat(43).into(),
            issuer: "https://op.example".into(),
            client_id: "spa".into(),
            redirect_uri: "https://app.example/cb".into(),
            app_state: Some(r#"{"returnTo":"/orders/7"}"#.into()),
            max_age: Some(300),
            created_at: 1_700_000_000,
            restore: true,
            popup: true,
        }
    }

    #[test]
    fn record_round_trips() {
        let p = sample();
        assert_eq!(PendingLogin::from_record(&p.to_record()), Some(sample()));
        let mut without = p;
        without.app_state = None;
        without.max_age = None;
        assert_eq!(PendingLogin::from_record(&without.to_record()), Some(without));
    }

    #[test]
    fn malformed_records_are_refused() {
        for bad in ["", "{}", "[]", r#"{"v":2}"#, &sample().to_record().replace(r#""v":1"#, r#""v":2"#)] {
            assert_eq!(PendingLogin::from_record(bad), None, "{bad}");
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let shown = format!("{:?}", sample());
        assert!(!shown.contains("sss") && !shown.contains("nnn") && !shown.contains("vvv"));
    }

    #[test]
    fn expiry_and_key() {
        assert_eq!(sample().expires_at(), 1_700_000_600);
        assert_eq!(pending_key("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    }
}
