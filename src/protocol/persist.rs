//! The opt-in persisted session (`persist: "dpop-bound"`): what is stored, when it is written
//! and deleted, and how a stored session is resumed.
//!
//! Only a refresh token that is sender-constrained to the worker's non-extractable DPoP key
//! (RFC 9449 §5) is ever stored, next to that key: a copy of it is useless off the device,
//! since every grant needs a proof signed with the key (draft-ietf-oauth-browser-based-apps,
//! "Sender-Constrained Tokens"). A bearer refresh token is never stored. The record holds
//! the refresh token, the user's `sub` and the login's `nonce` (so that the resumed session's
//! ID token must name the same user and login, OIDC Core §12.2) and the key's thumbprint
//! (RFC 7638); the shell stores the key
//! itself beside it, as a `CryptoKey` (structured clone keeps it non-extractable).
//!
//! The shell carries out [`PersistAction`]s the client decides after each call
//! ([`Client::persist_action`](crate::protocol::client::Client::persist_action)): write after
//! a login and after each rotation, delete when the session ends (logout, `invalid_grant`, a
//! failed check of a refreshed ID token) or was never persistable.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::config::ClientConfig;
use crate::protocol::json::{self, ObjectWriter, Value};
use crate::protocol::secret::Secret;

/// What the shell does with the store after a call.
#[derive(Debug, PartialEq, Eq)]
pub enum PersistAction {
    /// Write `record` (and the worker's DPoP key beside it) under `id`, replacing what is there.
    Store {
        /// [`record_id`].
        id: String,
        /// The record: secret (it holds the refresh token).
        record: Secret,
    },
    /// Delete whatever is stored under `id`, record and key.
    Delete {
        /// [`record_id`].
        id: String,
    },
}

/// What the client believes the store holds for its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stored {
    /// Nothing (or nothing this client knows of: a cold start that did not look).
    #[default]
    Nothing,
    /// The session's refresh token of this revision.
    Revision(u32),
    /// Something this client must not keep: a record it could not use, a write that failed,
    /// what an earlier session of this browser left.
    Stale,
}

/// The store key of a client's persisted session: one per issuer and client ID, so that a
/// session stored under other options of the same client is found (and replaced or deleted)
/// rather than left behind with its refresh token.
pub fn record_id(config: &ClientConfig) -> String {
    crate::protocol::codec::join(&["session", &config.issuer, &config.client_id], "\n")
}

/// A stored session, read back.
pub struct PersistedSession {
    /// The DPoP-bound refresh token.
    pub refresh_token: Secret,
    /// The user the session was for (`sub` of its ID token).
    pub sub: String,
    /// The `nonce` of its ID token, which a refreshed one may repeat (OIDC Core §12.2).
    pub nonce: Option<String>,
    /// The thumbprint of the key it is bound to (RFC 7638).
    pub jkt: String,
}

impl core::fmt::Debug for PersistedSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PersistedSession { .. }")
    }
}

impl PersistedSession {
    /// The record text: `{"refresh_token": …, "sub": …, "nonce"?: …, "jkt": …}`.
    pub fn to_record(refresh_token: &str, sub: &str, nonce: Option<&str>, jkt: &str) -> Secret {
        let mut record = ObjectWriter::new();
        record.string("refresh_token", refresh_token).string("sub", sub);
        if let Some(nonce) = nonce {
            record.string("nonce", nonce);
        }
        record.string("jkt", jkt);
        Secret::from(record.finish())
    }

    /// Reads a record; `None` for anything that is not one (it is then deleted, not guessed at).
    pub fn from_record(record: &str) -> Option<PersistedSession> {
        let value = json::parse(record.as_bytes()).ok()?;
        let field = |name: &str| value.get(name).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        let nonce = match value.get("nonce") {
            None => None,
            Some(_) => Some(field("nonce")?),
        };
        Some(PersistedSession { refresh_token: Secret::from(field("refresh_token")?), sub: field("sub")?, nonce, jkt: field("jkt")? })
    }
}

#[cfg(test)]
mod tests;
