//! Helpers for values that must not leak: constant-time comparison.

#[allow(unused_imports)]
use crate::prelude::*;

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
    }
}
