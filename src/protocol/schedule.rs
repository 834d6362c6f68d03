//! When the refresh token is used: bounded backoff after a refresh failed for a transient
//! reason, and the proactive refresh ahead of expiry.
//!
//! Both only ever delay a grant, never add one: with rotating refresh tokens every extra grant
//! is a chance to race, and a provider in trouble should not be hammered.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::error::Error;
use crate::protocol::session::AccessToken;

/// The first wait after a transient failure; it doubles with each failure in a row.
pub const BACKOFF_FIRST_SECONDS: u64 = 1;
/// The longest wait between two attempts.
pub const BACKOFF_MAX_SECONDS: u64 = 30;
/// Proactive refreshes start at most this often, however short-lived the provider's tokens.
pub const MIN_AUTO_REFRESH_INTERVAL_SECONDS: u64 = 30;

/// The longest delay a browser timer holds: `setTimeout` takes a signed 32-bit count of
/// milliseconds (HTML §8.6 timer initialisation steps, WebIDL `long`), and a longer one wraps
/// and fires at once. A token living ~25 days or more puts its proactive refresh further away.
pub const MAX_TIMER_DELAY_MS: u64 = (1 << 31) - 1;

/// How long the shell's timer waits to wake the client at `at` (Unix seconds) from `now_ms`
/// (Unix milliseconds): the time left, at most [`MAX_TIMER_DELAY_MS`]. A capped timer wakes
/// the client early; nothing is due then, and the timer is armed again for the time left.
pub fn timer_delay_ms(at: u64, now_ms: u64) -> u64 {
    at.saturating_mul(1000).saturating_sub(now_ms).min(MAX_TIMER_DELAY_MS)
}

/// Whether a failed refresh says nothing about the grant, only about the way to the provider:
/// no answer, a timeout, or a server error (RFC 9110 §15.6). Those keep the session.
pub fn is_transient(error: &Error) -> bool {
    match error {
        Error::Network { .. } | Error::ServerError { .. } => true,
        Error::TokenError(e) => e.status >= 500,
        _ => false,
    }
}

/// The wait after `failures` transient failures in a row: 1, 2, 4, 8, 16, then 30 seconds.
pub fn backoff_seconds(failures: u32) -> u64 {
    match failures {
        0 => 0,
        n => BACKOFF_FIRST_SECONDS
            .checked_shl(n - 1)
            .map_or(BACKOFF_MAX_SECONDS, |s| s.min(BACKOFF_MAX_SECONDS)),
    }
}

/// Transient refresh failures in a row, and when the next attempt may start.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
    retry_at: u64,
    /// What the last attempt failed with: calls during the wait get it at once.
    last_error: Option<Error>,
}

impl Backoff {
    /// `Err` with the last failure while the wait lasts.
    pub fn check(&self, now: u64) -> Result<(), Error> {
        match &self.last_error {
            Some(error) if now < self.retry_at => Err(error.clone()),
            _ => Ok(()),
        }
    }

    /// Records how an attempt ended. A transient failure lengthens the wait; anything else
    /// (a success, or an answer about the grant itself) ends it.
    pub fn record(&mut self, outcome: Result<(), &Error>, now: u64) {
        match outcome {
            Err(error) if is_transient(error) => {
                self.failures = self.failures.saturating_add(1);
                // `now` is whole seconds, truncated: a failure at x.95 s is "x". One second more
                // makes the wait at least the backoff, never just the rest of a second.
                self.retry_at = now + backoff_seconds(self.failures) + 1;
                self.last_error = Some(error.clone());
            }
            _ => *self = Backoff::default(),
        }
    }

    /// When the next attempt may start, while waiting.
    pub fn retry_at(&self) -> Option<u64> {
        self.last_error.as_ref().map(|_| self.retry_at)
    }
}

/// When the worker should refresh `token` on its own: `lead` seconds before `getAccessToken`
/// would have to, but never sooner than [`MIN_AUTO_REFRESH_INTERVAL_SECONDS`] after the token
/// arrived or after the last proactive attempt, so short-lived tokens cannot cause a loop.
/// `None` when the token does not expire.
pub fn auto_refresh_at(token: &AccessToken, lead: u64, last_attempt: Option<u64>) -> Option<u64> {
    let due = token.valid_until()?.saturating_sub(lead);
    let earliest = token.received_at().max(last_attempt.unwrap_or(0)) + MIN_AUTO_REFRESH_INTERVAL_SECONDS;
    Some(due.max(earliest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_bound() {
        let waits: Vec<u64> = (0..9).map(backoff_seconds).collect();
        assert_eq!(waits, [0, 1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff_seconds(u32::MAX), BACKOFF_MAX_SECONDS);
    }

    #[test]
    fn timer_delays_fit_a_browser_timer() {
        assert_eq!(timer_delay_ms(100, 99_250), 750);
        assert_eq!(timer_delay_ms(100, 100_000), 0);
        assert_eq!(timer_delay_ms(100, 200_000), 0, "overdue: at once");
        // 30 days ahead: capped at 2^31 - 1 ms (~24.8 days), never a wrapped value.
        assert_eq!(timer_delay_ms(30 * 86_400, 0), MAX_TIMER_DELAY_MS);
        assert_eq!(timer_delay_ms(u64::MAX, 0), MAX_TIMER_DELAY_MS);
        assert!(MAX_TIMER_DELAY_MS <= i32::MAX as u64);
    }

    #[test]
    fn only_transient_failures_are_retried_later() {
        assert!(is_transient(&Error::Network { reason: &"timeout" }));
        assert!(is_transient(&Error::ServerError { status: 503 }));
        let token_error = |status| Error::token_error("temporarily_unavailable", None, status);
        assert!(is_transient(&token_error(503)));
        assert!(!is_transient(&token_error(400)));
        assert!(!is_transient(&Error::LoginRequired));
        assert!(!is_transient(&Error::InvalidIdToken { reason: &"signature" }));
    }

    #[test]
    fn calls_during_the_wait_get_the_last_failure() {
        let outage = Error::Network { reason: &"failed" };
        let mut b = Backoff::default();
        assert_eq!(b.check(0), Ok(()));
        b.record(Err(&outage), 100);
        // A failure in second 100 (anywhere from 100.0 to 100.99) waits at least 1 s: through
        // second 101, so the first attempt allowed is in second 102.
        assert_eq!(b.check(100), Err(outage.clone()));
        assert_eq!(b.check(101), Err(outage.clone()));
        assert_eq!(b.retry_at(), Some(102));
        assert_eq!(b.check(102), Ok(()));
        b.record(Err(&outage), 102);
        assert_eq!(b.retry_at(), Some(105));
        assert_eq!(b.check(104), Err(outage.clone()));
        // A success (or a non-transient answer) ends the backoff.
        b.record(Ok(()), 105);
        assert_eq!((b.check(105), b.retry_at()), (Ok(()), None));
        b.record(Err(&outage), 200);
        b.record(Err(&Error::InvalidResponse { reason: &"json" }), 201);
        assert_eq!(b.check(201), Ok(()));
    }
}
