//! Plain types shared by several modules of the core. A leaf: it imports nothing from the
//! core, so `config`, `token`, `session` and `api` can all use these without depending on
//! one another in a circle.

#[allow(unused_imports)]
use crate::prelude::*;

/// Which access token: the login's ([`TokenKey::default`]) or one obtained later with the
/// refresh token for another API (`resource`, RFC 8707 §2.2) or a narrower `scope` (RFC 6749 §6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenKey {
    /// The RFC 8707 `resource` the token is for.
    pub resource: Option<String>,
    /// The scope asked for.
    pub scope: Option<String>,
}

impl TokenKey {
    /// Whether this is the login's token.
    pub fn is_default(&self) -> bool {
        self.resource.is_none() && self.scope.is_none()
    }
}
