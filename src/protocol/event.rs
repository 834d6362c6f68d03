//! The events the app receives (`auth.on(name, listener)`). None carries a token.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::error::Error;
use crate::protocol::codec::json::ObjectWriter;

/// An event for the app, decided by the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A callback completed a login. `detail`: `{ expiresAt, scope, resource }` JSON text.
    Login {
        /// JSON object text.
        detail: String,
    },
    /// A refresh grant succeeded. `detail`: `{ expiresAt, scope, resource }` JSON text.
    TokenRefreshed {
        /// JSON object text.
        detail: String,
    },
    /// The session ended without a logout. `reason`: `invalid_grant` (the provider no longer
    /// knows the grant) or `invalid_id_token` (a refreshed ID token failed validation).
    SessionExpired {
        /// Why it ended.
        reason: &'static str,
    },
    /// A refresh failed and the session stays.
    Error(Error),
}

impl Event {
    /// The event's name, as `auth.on` knows it.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Login { .. } => "login",
            Event::TokenRefreshed { .. } => "tokenRefreshed",
            Event::SessionExpired { .. } => "sessionExpired",
            Event::Error(_) => "error",
        }
    }

    /// The event's detail as JSON text.
    pub fn detail_json(&self) -> String {
        match self {
            Event::Login { detail } | Event::TokenRefreshed { detail } => detail.clone(),
            Event::SessionExpired { reason } => {
                let mut o = ObjectWriter::new();
                o.string("reason", reason);
                o.finish()
            }
            Event::Error(error) => error.to_json(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_details() {
        let expired = Event::SessionExpired { reason: "invalid_id_token" };
        assert_eq!((expired.name(), expired.detail_json().as_str()), ("sessionExpired", r#"{"reason":"invalid_id_token"}"#));
        let error = Event::Error(Error::Network { reason: "failed" });
        assert_eq!(error.name(), "error");
        assert_eq!(error.detail_json(), Error::Network { reason: "failed" }.to_json());
        assert_eq!(Event::Login { detail: "{}".into() }.name(), "login");
        assert_eq!(Event::TokenRefreshed { detail: "{}".into() }.name(), "tokenRefreshed");
    }
}
