//! The events the app receives (`auth.on(name, listener)`): which one, decided by the core.
//! The shell turns each into its wire form (`{ name, detail }`); none carries a token.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::error::Error;
use crate::protocol::types::TokenKey;

/// An event for the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `login`: a callback completed a login. Its detail describes the login's token
    /// ([`Client::token_info`](crate::protocol::client::Client::token_info)).
    Login,
    /// `tokenRefreshed`: a refresh grant succeeded. Its detail describes `key`'s token.
    TokenRefreshed {
        /// Which token was refreshed.
        key: TokenKey,
    },
    /// `sessionExpired`: the session ended without a logout. `reason`: `invalid_grant` (the
    /// provider no longer knows the grant) or `invalid_id_token` (a refreshed ID token failed
    /// validation).
    SessionExpired {
        /// Why it ended.
        reason: &'static str,
    },
    /// `error`: a refresh failed and the session stays.
    Error(Error),
}
