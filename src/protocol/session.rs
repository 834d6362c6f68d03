//! The signed-in session: the tokens, held only in the worker's memory.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::secret::Secret;
use crate::protocol::token::TokenResponse;
// Re-exported: it was defined here before it moved to the leaf module `types`.
pub use crate::protocol::types::TokenKey;

/// One access token and what the client knows of it. Opaque: never parsed.
pub struct AccessToken {
    token: Secret,
    /// When it stops being handed out (Unix seconds); `None`: the provider sent no `expires_in`.
    valid_until: Option<u64>,
    /// Receipt + `expires_in` (Unix seconds).
    expires_at: Option<u64>,
    /// When it was received (Unix seconds).
    received_at: u64,
    /// The granted scope, when the provider said.
    scope: Option<String>,
}

impl AccessToken {
    /// A token received at `now`. It stops being handed out the skew before its expiry, but
    /// never more than half its lifetime early, so that a provider issuing tokens shorter than
    /// the skew does not cause a refresh on every call.
    pub(crate) fn new(token: Secret, expires_in: Option<u64>, scope: Option<String>, now: u64, clock_skew: u64) -> Self {
        AccessToken {
            token,
            valid_until: expires_in.map(|lifetime| now + lifetime - clock_skew.min(lifetime / 2)),
            expires_at: expires_in.map(|lifetime| now + lifetime),
            received_at: now,
            scope,
        }
    }

    /// The token while it is valid.
    pub fn valid(&self, now: u64) -> Option<&str> {
        match self.valid_until {
            Some(until) if now >= until => None,
            _ => Some(self.token.expose()),
        }
    }

    /// When it stops being handed out (Unix seconds), if it expires.
    pub fn valid_until(&self) -> Option<u64> {
        self.valid_until
    }

    /// When it expires, if the provider said (Unix seconds).
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_at
    }

    /// When it was received (Unix seconds).
    pub fn received_at(&self) -> u64 {
        self.received_at
    }

    /// The granted scope, if the provider said.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }
}

/// The tokens of one signed-in user. `Debug` prints no token.
pub struct Session {
    /// The login's access token.
    access_token: AccessToken,
    /// Tokens for other APIs or narrower scopes, one per key.
    api_tokens: Vec<(TokenKey, AccessToken)>,
    refresh_token: Option<Secret>,
    id_token: Secret,
    claims_json: String,
    /// Whether the tokens are DPoP-bound (RFC 9449): the only kind whose refresh token may be
    /// stored (`persist: "dpop-bound"`).
    pub(crate) dpop_bound: bool,
    /// A session resumed from the store ([`Session::resumed`]): the `sub` its first refresh
    /// must show (and the `nonce` it may repeat), until that refresh makes it a signed-in session.
    resumed_sub: Option<(String, Option<String>)>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("access_token_valid_until", &self.access_token.valid_until)
            .field("api_tokens", &self.api_tokens.len())
            .field("has_refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Starts a session from a code exchange whose ID token passed validation.
    pub(crate) fn new(tokens: TokenResponse, id_token: Secret, claims_json: String, now: u64, clock_skew: u64) -> Session {
        Session {
            access_token: AccessToken::new(tokens.access_token, tokens.expires_in, tokens.scope, now, clock_skew),
            api_tokens: Vec::new(),
            refresh_token: tokens.refresh_token,
            id_token,
            claims_json,
            dpop_bound: false,
            resumed_sub: None,
        }
    }

    /// A session resumed from a stored DPoP-bound refresh token: no access token and no ID
    /// token yet. It counts as signed in only once its first refresh brought an ID token for
    /// `sub` ([`Session::is_resuming`]).
    pub(crate) fn resumed(refresh_token: Secret, sub: String, nonce: Option<String>) -> Session {
        Session {
            access_token: AccessToken { token: Secret::from(String::new()), valid_until: Some(0), expires_at: Some(0), received_at: 0, scope: None },
            api_tokens: Vec::new(),
            refresh_token: Some(refresh_token),
            id_token: Secret::from(String::new()),
            claims_json: String::new(),
            dpop_bound: true,
            resumed_sub: Some((sub, nonce)),
        }
    }

    /// The `sub` a resumed session's first refresh must show (and the `nonce` its ID token may
    /// repeat), until it did.
    pub fn is_resuming(&self) -> Option<(&str, Option<&str>)> {
        self.resumed_sub.as_ref().map(|(sub, nonce)| (sub.as_str(), nonce.as_deref()))
    }

    /// The access token for `key`, if the session has one (valid or not).
    pub fn token(&self, key: &TokenKey) -> Option<&AccessToken> {
        if key.is_default() {
            return Some(&self.access_token);
        }
        self.api_tokens.iter().find(|(k, _)| k == key).map(|(_, t)| t)
    }

    /// Every access token of the session, the login's first (for revocation).
    pub(crate) fn access_tokens(&self) -> impl Iterator<Item = &str> {
        // (A resumed session has no access token until its first refresh.)
        core::iter::once(&self.access_token).chain(self.api_tokens.iter().map(|(_, t)| t)).map(|t| t.token.expose()).filter(|t| !t.is_empty())
    }

    #[cfg(test)]
    pub(crate) fn drop_refresh_token_for_tests(&mut self) {
        self.refresh_token = None;
    }

    /// The refresh token, when the provider issued one.
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_ref().map(Secret::expose)
    }

    /// The raw ID token (for `id_token_hint`).
    pub fn id_token(&self) -> &str {
        self.id_token.expose()
    }

    /// The validated ID token claims as JSON object text.
    pub fn claims_json(&self) -> &str {
        &self.claims_json
    }

    /// Replaces the refresh token with the one a refresh response rotated in (RFC 6749 §6);
    /// the old one is overwritten as it is dropped.
    pub(crate) fn rotate_refresh_token(&mut self, rotated: Secret) {
        self.refresh_token = Some(rotated);
    }

    /// Applies a successful refresh response for `key` (RFC 6749 §6). A new refresh token
    /// replaces the old one (rotation); a new ID token, already validated by the caller,
    /// replaces the old; the access token replaces `key`'s. For the login's token, a response
    /// without `scope` keeps the previous scope (§5.1: the scope is then unchanged).
    pub(crate) fn apply_refresh(
        &mut self,
        key: &TokenKey,
        tokens: TokenResponse,
        id_token: Option<(Secret, String)>,
        now: u64,
        clock_skew: u64,
    ) {
        let TokenResponse { access_token, expires_in, refresh_token, scope, .. } = tokens;
        if let Some(rotated) = refresh_token {
            self.rotate_refresh_token(rotated);
        }
        if let Some((raw, claims)) = id_token {
            self.id_token = raw;
            self.claims_json = claims;
            self.resumed_sub = None;
        }
        let scope = scope.or_else(|| self.token(key).and_then(|t| t.scope.clone()));
        let token = AccessToken::new(access_token, expires_in, scope, now, clock_skew);
        if key.is_default() {
            self.access_token = token;
        } else if let Some(slot) = self.api_tokens.iter_mut().find(|(k, _)| k == key) {
            slot.1 = token;
        } else {
            self.api_tokens.push((key.clone(), token));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(expires_in: Option<u64>, refresh: Option<&str>) -> TokenResponse {
        TokenResponse {
            access_token: "at-1".into(),
            expires_in,
            refresh_token: refresh.map(Into::into),
            id_token: None,
            scope: None,
        }
    }

    fn login_token(s: &Session, now: u64) -> Option<&str> {
        s.token(&TokenKey::default()).and_then(|t| t.valid(now))
    }

    #[test]
    fn access_token_expires_skew_before_expires_in() {
        let s = Session::new(tokens(Some(3600), None), "h.p.s".into(), "{}".into(), 1000, 60);
        assert_eq!(login_token(&s, 1000), Some("at-1"));
        assert_eq!(login_token(&s, 1000 + 3600 - 61), Some("at-1"));
        assert_eq!(login_token(&s, 1000 + 3600 - 60), None);
        assert_eq!(s.token(&TokenKey::default()).unwrap().expires_at(), Some(4600));
    }

    #[test]
    fn short_lived_tokens_keep_half_their_lifetime() {
        let s = Session::new(tokens(Some(30), None), "h.p.s".into(), "{}".into(), 1000, 60);
        assert_eq!(login_token(&s, 1014), Some("at-1"));
        assert_eq!(login_token(&s, 1015), None);
    }

    #[test]
    fn without_expires_in_the_token_is_kept() {
        let s = Session::new(tokens(None, None), "h.p.s".into(), "{}".into(), 1000, 60);
        assert_eq!(login_token(&s, u64::MAX), Some("at-1"));
    }

    #[test]
    fn refresh_rotates_and_keeps_tokens_per_key() {
        let mut s = Session::new(tokens(Some(60), Some("rt-1")), "h.p.s".into(), "{}".into(), 0, 10);
        let api = TokenKey { resource: Some("https://api.example/".into()), scope: None };
        let mut for_api = tokens(Some(300), Some("rt-2"));
        for_api.access_token = "at-api".into();
        for_api.scope = Some("api:read".into());
        s.apply_refresh(&api, for_api, None, 100, 10);
        // The API's token is cached under its key; the login's token is untouched; the refresh
        // token rotated.
        assert_eq!(s.token(&api).and_then(|t| t.valid(100)), Some("at-api"));
        assert_eq!(s.token(&api).unwrap().scope(), Some("api:read"));
        assert_eq!(login_token(&s, 10), Some("at-1"));
        assert_eq!(s.refresh_token(), Some("rt-2"));
        // A response without a refresh token keeps the current one; a second token for the
        // same key replaces the first; the login's token keeps its scope when none is sent.
        let mut again = tokens(Some(300), None);
        again.access_token = "at-api-2".into();
        s.apply_refresh(&api, again, None, 200, 10);
        assert_eq!(s.token(&api).and_then(|t| t.valid(200)), Some("at-api-2"));
        assert_eq!(s.token(&api).unwrap().scope(), Some("api:read"));
        assert_eq!(s.refresh_token(), Some("rt-2"));
        assert_eq!(s.access_tokens().collect::<Vec<_>>(), ["at-1", "at-api-2"]);
        assert!(s.token(&TokenKey { resource: None, scope: Some("other".into()) }).is_none());
    }

    #[test]
    fn debug_prints_no_token() {
        let s = Session::new(tokens(Some(60), Some("rt-1")), "h.p.s".into(), "{}".into(), 0, 60);
        let shown = format!("{s:?}");
        assert!(!shown.contains("at-1") && !shown.contains("rt-1") && !shown.contains("h.p.s"));
    }
}
