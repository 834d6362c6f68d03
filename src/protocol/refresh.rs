//! The session's refresh policy, as values the shell acts on: whether a caller gets the cached
//! access token or a refresh grant first, whether a grant may start or must wait for the one in
//! flight, whether an answer is still for the current session, and what a grant's end means
//! for the session (the event, the caller's result, revocations).
//!
//! The shell performs the requests and shares one grant between concurrent callers; every
//! decision is made here, by [`Client`](crate::protocol::client::Client), from the values below.

#[allow(unused_imports)]
use crate::prelude::*;
use crate::protocol::error::Error;
use crate::protocol::event::Event;
use crate::protocol::http::HttpRequest;
use crate::protocol::types::TokenKey;

/// What a caller needs of an access token.
#[derive(Debug, Clone, Copy)]
pub enum Need<'a> {
    /// A valid one: the cached token, or a refresh when there is none.
    Valid,
    /// A new one (`forceRefresh`, the proactive refresh).
    Fresh,
    /// Another than this one, which an API refused (`invalid_token`, RFC 6750 §3.1): a refresh,
    /// unless a concurrent caller already replaced it.
    Replacing(&'a str),
}

/// What the shell does next for a caller that needs an access token.
#[derive(PartialEq, Eq)]
pub enum TokenStep {
    /// Hand this token to the caller.
    Use(String),
    /// Start a refresh grant ([`Client::begin_refresh`](crate::protocol::client::Client::begin_refresh)).
    Refresh,
    /// A grant is in flight: wait until it settles (sharing its outcome when it is for the
    /// same key), then ask again. With rotating refresh tokens a second grant would present the
    /// same refresh token twice, and the provider would revoke the whole grant (RFC 9700 §4.14.2).
    Wait,
}

impl core::fmt::Debug for TokenStep {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            TokenStep::Use(_) => "Use(..)",
            TokenStep::Refresh => "Refresh",
            TokenStep::Wait => "Wait",
        })
    }
}

/// A refresh grant the core allowed: the request to send and the ticket that identifies its
/// answer.
#[derive(Debug)]
pub struct RefreshGrant {
    /// The token request (RFC 6749 §6); it carries the refresh token.
    pub request: HttpRequest,
    /// Hand it back with the answer, and finally to
    /// [`Client::finish_refresh`](crate::protocol::client::Client::finish_refresh).
    pub ticket: RefreshTicket,
}

/// Which grant an answer belongs to: the key it refreshes and the session it was made for.
/// Not `Clone`: one grant, one ticket, one end.
#[derive(Debug, PartialEq, Eq)]
pub struct RefreshTicket {
    pub(crate) key: TokenKey,
    /// The session generation the grant was made in; an answer for another is dropped.
    pub(crate) generation: u32,
    /// The first grant of a session resumed from the store: it signs the user in, or ends it.
    pub(crate) resume: bool,
}

impl RefreshTicket {
    /// Which access token the grant is for.
    pub fn key(&self) -> &TokenKey {
        &self.key
    }
}

/// How a grant ended, for the shell to carry out in this order: emit `event`, send the
/// `revocations` (their outcome is ignored), answer every caller that shared the grant with
/// `result`.
#[derive(Debug)]
pub struct RefreshEnd {
    /// `Ok`: the callers take the current token. An answer dropped because the session it was
    /// made for ended is `Ok` too: the callers then see the session as it is now.
    pub result: Result<(), Error>,
    /// What the app is told.
    pub event: Option<Event>,
    /// RFC 7009 requests for the tokens of a session this grant ended.
    pub revocations: Vec<HttpRequest>,
}

/// What a completed token exchange did.
#[derive(Debug, PartialEq, Eq)]
pub enum Exchanged {
    /// A login: the reply value (`{"appState": …}`) and the `login` event.
    LoggedIn {
        /// JSON text of the reply value.
        reply: String,
        /// The `login` event.
        event: Event,
    },
    /// A refresh was applied to the session.
    Refreshed,
    /// The session the exchange was made for ended meanwhile (a logout, another login, a grant
    /// that ended it): the answer is for no one and was dropped.
    Stale,
}
