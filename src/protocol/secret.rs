//! Values that must not leak: the [`Secret`] type, and constant-time comparison.

#[allow(unused_imports)]
use crate::prelude::*;

/// A secret string: an access, refresh or ID token, a PKCE verifier, a nonce, a `state`, an
/// authorization code.
///
/// It cannot be copied by accident (no `Clone`), `Debug` prints `Secret(..)`, `==` compares in
/// constant time, and its bytes are overwritten when it is dropped, so it does not linger in
/// the wasm heap after a logout. [`Secret::expose`] reads it, only where it is sent or checked.
pub struct Secret(String);

impl Secret {
    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_owned())
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for Secret {}

impl Drop for Secret {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Overwrites a secret's bytes before its memory is freed. Zero bytes keep the string valid
/// UTF-8.
fn wipe(secret: &mut str) {
    // SAFETY: writing 0x00 over the bytes keeps them valid UTF-8.
    for byte in unsafe { secret.as_bytes_mut() } {
        // Volatile, so the compiler cannot drop writes to memory that is about to be freed.
        unsafe { core::ptr::write_volatile(byte, 0) };
    }
}

/// Compares two byte strings in time that depends only on their lengths, so a mismatch
/// position cannot be learned from timing (used for `state` and `nonce`).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    // A volatile-ish read keeps the optimiser from turning the loop into an early exit.
    core::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_equal_and_different_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
        assert_eq!(Secret::from("abc"), Secret::from("abc"));
        assert_ne!(Secret::from("abc"), Secret::from("abd"));
    }

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::from("rt-secret");
        assert_eq!(format!("{secret:?}"), "Secret(..)");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(Secret(..))");
        assert_eq!(secret.expose(), "rt-secret");
    }

    #[test]
    fn wipe_overwrites_in_place() {
        let mut secret = String::from("rt-secret");
        let ptr = secret.as_ptr();
        wipe(&mut secret);
        assert_eq!(secret.as_ptr(), ptr);
        assert_eq!(secret.as_bytes(), &[0; 9]);
    }
}
