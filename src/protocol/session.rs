//! The signed-in session: the tokens, held only in the worker's memory.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::token::TokenResponse;

/// The tokens of one signed-in user. `Debug` prints no token.
pub struct Session {
    access_token: String,
    /// When the access token stops being handed out (Unix seconds); `None`: no `expires_in`.
    access_token_valid_until: Option<u64>,
    /// When the access token expires (receipt + `expires_in`, Unix seconds).
    access_token_expires_at: Option<u64>,
    refresh_token: Option<String>,
    id_token: String,
    claims_json: String,
    scope: Option<String>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("access_token_valid_until", &self.access_token_valid_until)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Overwrites a secret's bytes before its memory is freed, so a token does not linger in the
/// wasm heap after logout. Zero bytes keep the string valid UTF-8.
fn wipe(secret: &mut str) {
    // SAFETY: writing 0x00 over the bytes keeps them valid UTF-8.
    for byte in unsafe { secret.as_bytes_mut() } {
        // Volatile, so the compiler cannot drop writes to memory that is about to be freed.
        unsafe { core::ptr::write_volatile(byte, 0) };
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        wipe(&mut self.access_token);
        wipe(&mut self.id_token);
        if let Some(refresh_token) = &mut self.refresh_token {
            wipe(refresh_token);
        }
    }
}

/// When an access token received at `now` with `expires_in` stops being handed out: the skew
/// before its expiry, but never more than half its lifetime, so that a provider issuing
/// tokens shorter than the skew does not cause a refresh on every call.
fn valid_until(now: u64, expires_in: Option<u64>, clock_skew: u64) -> Option<u64> {
    expires_in.map(|lifetime| now + lifetime - clock_skew.min(lifetime / 2))
}

impl Session {
    /// Starts a session from a code exchange whose ID token passed validation.
    pub(crate) fn new(tokens: TokenResponse, id_token: String, claims_json: String, now: u64, clock_skew: u64) -> Session {
        Session {
            access_token_valid_until: valid_until(now, tokens.expires_in, clock_skew),
            access_token_expires_at: tokens.expires_in.map(|e| now + e),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            id_token,
            claims_json,
            scope: tokens.scope,
        }
    }

    /// The access token while it is valid.
    pub fn access_token(&self, now: u64) -> Option<&str> {
        match self.access_token_valid_until {
            Some(until) if now >= until => None,
            _ => Some(&self.access_token),
        }
    }

    /// When the access token expires, if the provider said (Unix seconds).
    pub fn expires_at(&self) -> Option<u64> {
        self.access_token_expires_at
    }

    /// The granted scope, if the provider said.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The access token whatever its expiry (for revocation).
    pub(crate) fn access_token_unchecked(&self) -> &str {
        &self.access_token
    }

    /// The refresh token, when the provider issued one.
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }

    /// The raw ID token (for `id_token_hint`).
    pub fn id_token(&self) -> &str {
        &self.id_token
    }

    /// The validated ID token claims as JSON object text.
    pub fn claims_json(&self) -> &str {
        &self.claims_json
    }

    /// Applies a successful refresh response (RFC 6749 §6). A new refresh token replaces the
    /// old one (rotation); a new ID token, already validated by the caller, replaces the old.
    pub(crate) fn apply_refresh(
        &mut self,
        tokens: TokenResponse,
        id_token: Option<(String, String)>,
        now: u64,
        clock_skew: u64,
    ) {
        self.access_token_valid_until = valid_until(now, tokens.expires_in, clock_skew);
        self.access_token_expires_at = tokens.expires_in.map(|e| now + e);
        wipe(&mut self.access_token);
        self.access_token = tokens.access_token;
        if let Some(rotated) = tokens.refresh_token {
            if let Some(old) = &mut self.refresh_token {
                wipe(old);
            }
            self.refresh_token = Some(rotated);
        }
        if let Some((raw, claims)) = id_token {
            wipe(&mut self.id_token);
            self.id_token = raw;
            self.claims_json = claims;
        }
        if tokens.scope.is_some() {
            self.scope = tokens.scope;
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

    #[test]
    fn access_token_expires_skew_before_expires_in() {
        let s = Session::new(tokens(Some(3600), None), "h.p.s".into(), "{}".into(), 1000, 60);
        assert_eq!(s.access_token(1000), Some("at-1"));
        assert_eq!(s.access_token(1000 + 3600 - 61), Some("at-1"));
        assert_eq!(s.access_token(1000 + 3600 - 60), None);
    }

    #[test]
    fn short_lived_tokens_keep_half_their_lifetime() {
        let s = Session::new(tokens(Some(30), None), "h.p.s".into(), "{}".into(), 1000, 60);
        assert_eq!(s.access_token(1014), Some("at-1"));
        assert_eq!(s.access_token(1015), None);
    }

    #[test]
    fn without_expires_in_the_token_is_kept() {
        let s = Session::new(tokens(None, None), "h.p.s".into(), "{}".into(), 1000, 60);
        assert_eq!(s.access_token(u64::MAX), Some("at-1"));
    }

    #[test]
    fn wipe_overwrites_in_place() {
        let mut secret = String::from("rt-secret");
        let ptr = secret.as_ptr();
        wipe(&mut secret);
        assert_eq!(secret.as_ptr(), ptr);
        assert_eq!(secret.as_bytes(), &[0; 9]);
    }

    #[test]
    fn debug_prints_no_token() {
        let s = Session::new(tokens(Some(60), Some("rt-1")), "h.p.s".into(), "{}".into(), 0, 60);
        let shown = format!("{s:?}");
        assert!(!shown.contains("at-1") && !shown.contains("rt-1") && !shown.contains("h.p.s"));
    }
}
