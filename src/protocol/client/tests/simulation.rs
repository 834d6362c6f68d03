//! A deterministic simulation of a session, in the spirit of quinn-proto's simulated network.
//!
//! The provider, the API and the network are plain values. A seeded generator decides, step by
//! step, which caller starts, which request reaches the provider and which answer reaches the
//! client (in any order), when a request is lost, when a signature check finishes or fails,
//! when the clock moves, when the user logs out and in again, when the provider revokes an
//! access token on its own, and when it answers a refresh with another user's ID token. The
//! driver plays the shell's part (src/worker/mod.rs): it performs what the core asks and shares
//! the outcome of a grant with the callers of its key that waited for it; every decision is
//! the core's. No real time: a seed is always the same run.
//!
//! Invariants, checked at every step of every run:
//! - a refresh token the provider rotated out, or one the client revoked, is never presented again;
//! - at most one grant per refresh token is in flight;
//! - an answer for a session that ended is never applied: the client's tokens are always its
//!   current login's, and there is no session after a logout until the next login;
//! - every caller is answered, and every token handed out is the current login's (a retry after
//!   an API refused a token never carries that token again);
//! - a refreshed ID token for another user ends the session and revokes the refresh token the
//!   provider just rotated in;
//! - at the end, no refresh token of an ended session still works at the provider.

use super::*;
use crate::protocol::api_call::{ApiCall, ApiStep};
use std::collections::{BTreeMap, BTreeSet};

/// xorshift64*: small, seeded, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefreshTokenState {
    Active,
    /// Rotated out by a grant.
    Spent,
    Revoked,
}

/// The fake provider: rotating refresh tokens with reuse detection (RFC 9700 §4.14.2), RFC 7009
/// revocation, and an API that accepts its live access tokens.
#[derive(Default)]
struct Provider {
    refresh_tokens: BTreeMap<String, RefreshTokenState>,
    /// Access token → when it expires; revoked ones are removed.
    access_tokens: BTreeMap<String, u64>,
    /// Every token issued → the login (grant) it belongs to.
    login_of: BTreeMap<String, u32>,
    /// Grants ended by a revocation or a reuse.
    revoked_logins: BTreeSet<u32>,
    issued: u32,
    /// The next refresh answer carries an ID token for another user.
    misbehave: bool,
}

impl Provider {
    fn issue(&mut self, login: u32, now: u64, lifetime: u64) -> (String, String) {
        self.issued += 1;
        let (rt, at) = (format!("rt-{login}-{}", self.issued), format!("at-{login}-{}", self.issued));
        self.refresh_tokens.insert(rt.clone(), RefreshTokenState::Active);
        self.access_tokens.insert(at.clone(), now + lifetime);
        self.login_of.insert(rt.clone(), login);
        self.login_of.insert(at.clone(), login);
        (rt, at)
    }

    /// A refresh grant arrives (RFC 6749 §6).
    fn grant(&mut self, body: &str, now: u64) -> HttpResponse {
        let params = form(body);
        let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let presented = param("refresh_token").expect("a refresh token").to_owned();
        let login = self.login_of[&presented];
        // A reused refresh token revokes the whole grant, as rotating providers do.
        if self.refresh_tokens[&presented] != RefreshTokenState::Active || self.revoked_logins.contains(&login) {
            self.revoked_logins.insert(login);
            return json(400, r#"{"error":"invalid_grant"}"#);
        }
        self.refresh_tokens.insert(presented, RefreshTokenState::Spent);
        let (rt, at) = self.issue(login, now, 60);
        let mut o = ObjectWriter::new();
        o.string("access_token", &at).string("token_type", "Bearer").number("expires_in", 60).string("refresh_token", &rt);
        if param("resource").is_none() {
            let sub = if core::mem::take(&mut self.misbehave) { "mallory" } else { "alice" };
            o.string("id_token", &id_token(&claims().replace("alice", sub)));
        }
        json(200, &o.finish())
    }

    /// RFC 7009 §2: revokes that token, and nothing else (the least a provider must do): a
    /// refresh token rotated in meanwhile stays alive unless it is revoked too.
    fn revoke(&mut self, body: &str) {
        let token = form(body)[0].1.clone();
        if self.refresh_tokens.contains_key(&token) {
            self.refresh_tokens.insert(token.clone(), RefreshTokenState::Revoked);
        }
        self.access_tokens.remove(&token);
    }

    /// The refresh tokens that still work.
    fn live_refresh_tokens(&self) -> impl Iterator<Item = &String> {
        self.refresh_tokens.iter().filter(|(t, state)| **state == RefreshTokenState::Active && !self.revoked_logins.contains(&self.login_of[*t])).map(|(t, _)| t)
    }

    /// The API's status for a request with `token`.
    fn api(&self, token: &str, now: u64) -> u16 {
        match self.access_tokens.get(token) {
            Some(expires) if now < *expires && !self.revoked_logins.contains(&self.login_of[token]) => 200,
            _ => 401,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `getAccessToken()`, or with `forceRefresh` (also the proactive refresh).
    Token { fresh: bool },
    /// `auth.fetch` to the API.
    Api,
}

#[derive(Debug)]
enum State {
    /// Waiting for grant `n` (the one in flight when the core said [`TokenStep::Wait`]).
    Parked(usize),
    /// Started grant `n`.
    Granting(usize),
    /// Its API request is in flight.
    Calling,
    Done,
}

struct Caller {
    key: TokenKey,
    kind: Kind,
    call: ApiCall,
    /// The token the API refused, to be replaced.
    refused: Option<String>,
    /// The token its API request carries.
    token: Option<String>,
    state: State,
}

struct Grant {
    ticket: Option<RefreshTicket>,
    key: TokenKey,
    presented: String,
}

enum Message {
    GrantRequest { grant: usize, body: String },
    GrantAnswer { grant: usize, response: HttpResponse },
    /// An answer whose ID token signature is being checked (the shell awaits WebCrypto).
    Verifying { grant: usize, exchange: Box<TokenExchange> },
    Revocation { body: String },
    ApiRequest { caller: usize, token: String },
    ApiAnswer { caller: usize, status: u16 },
}

/// What the runs went through, to show the interesting paths are exercised.
#[derive(Debug, Default)]
struct Seen {
    grants: u32,
    waits: u32,
    stale_answers: u32,
    lost_requests: u32,
    unverifiable_answers: u32,
    retries: u32,
    logouts: u32,
    ended_by_id_token: u32,
    ended_by_invalid_grant: u32,
    answered: u32,
    login_required: u32,
}

struct Sim {
    rng: Rng,
    now: u64,
    c: Client,
    op: Provider,
    callers: Vec<Caller>,
    grants: Vec<Grant>,
    network: Vec<Message>,
    /// The client's current login, as the simulation knows it (`None`: signed out).
    login: Option<u32>,
    logins: u32,
    /// Refresh tokens the client asked to revoke.
    revoked_by_client: BTreeSet<String>,
    /// Refresh tokens presented by grants not settled yet.
    in_flight: BTreeSet<String>,
    seen: Seen,
}

impl Sim {
    fn new(seed: u64) -> Sim {
        let mut c = discovered();
        c.metadata.as_mut().unwrap().revocation_endpoint = Some("https://op.example/revoke".into());
        let mut sim = Sim {
            rng: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
            now: NOW,
            c,
            op: Provider::default(),
            callers: Vec::new(),
            grants: Vec::new(),
            network: Vec::new(),
            login: None,
            logins: 0,
            revoked_by_client: BTreeSet::new(),
            in_flight: BTreeSet::new(),
            seen: Seen::default(),
        };
        sim.log_in();
        sim
    }

    /// A whole login, done at once (its own interleavings are the login tests' subject).
    fn log_in(&mut self) {
        self.logins += 1;
        let login = self.logins;
        let (rt, at) = self.op.issue(login, self.now, 600);
        let c = &mut self.c;
        let start = c.begin_login(&Value::Null, &entropy(), self.now).unwrap();
        let record = crate::protocol::transaction::PendingLogin::from_record(start.pending_record.expose()).unwrap();
        let cb = c.parse_callback(&format!("https://app.example/cb?code=c&state={}&iss=https%3A%2F%2Fop.example", record.state.expose())).unwrap();
        let validated = c.complete_callback(cb, Some(start.pending_record.expose()), self.now).unwrap();
        let body = format!(r#"{{"access_token":"{at}","token_type":"Bearer","expires_in":600,"refresh_token":"{rt}","id_token":"{}"}}"#, id_token(&claims()));
        let exchange = c.process_code_exchange_response(validated, &json(200, &body)).unwrap();
        assert!(matches!(finish(c, exchange, self.now), Ok(Exchanged::LoggedIn { .. })));
        self.login = Some(login);
    }

    fn log_out(&mut self) {
        self.seen.logouts += 1;
        let logout = self.c.logout(&[0; 16], true);
        self.login = None;
        self.send_revocations(logout.revocations);
    }

    fn send_revocations(&mut self, revocations: Vec<HttpRequest>) {
        for request in revocations {
            let body = request.body.unwrap();
            let params = form(&body);
            if params[1].1 == "refresh_token" {
                self.revoked_by_client.insert(params[0].1.clone());
            }
            self.network.push(Message::Revocation { body });
        }
    }

    fn spawn(&mut self) {
        let kind = match self.rng.below(3) {
            0 => Kind::Token { fresh: self.rng.chance(30) },
            _ => Kind::Api,
        };
        let key = if self.rng.chance(25) { api_key() } else { TokenKey::default() };
        self.callers.push(Caller { call: ApiCall::new(key.clone()), key, kind, refused: None, token: None, state: State::Done });
        self.ask(self.callers.len() - 1);
    }

    /// The caller asks the core for its token and does what it says.
    fn ask(&mut self, i: usize) {
        let caller = &self.callers[i];
        let key = caller.key.clone();
        let step = match (&caller.refused, caller.kind) {
            (Some(refused), _) => self.c.token_step(&key, Need::Replacing(refused), self.now),
            (None, Kind::Token { fresh: true }) => self.c.token_step(&key, Need::Fresh, self.now),
            (None, _) => self.c.token_step(&key, Need::Valid, self.now),
        };
        match step {
            Ok(TokenStep::Use(token)) => self.got_token(i, token),
            Ok(TokenStep::Wait) => {
                self.seen.waits += 1;
                let in_flight = self.grants.iter().rposition(|g| g.ticket.is_some()).expect("Wait without a grant in flight");
                self.callers[i].state = State::Parked(in_flight);
            }
            Ok(TokenStep::Refresh) => {
                let grant = self.c.begin_refresh(&key).unwrap();
                let body = grant.request.body.clone().unwrap();
                let presented = form(&body)[1].1.clone();
                assert_eq!(self.op.refresh_tokens[&presented], RefreshTokenState::Active, "presents a rotated-out or revoked refresh token");
                assert!(!self.revoked_by_client.contains(&presented), "presents a refresh token it revoked");
                assert!(self.in_flight.insert(presented.clone()), "two grants in flight for one refresh token");
                self.seen.grants += 1;
                self.grants.push(Grant { ticket: Some(grant.ticket), key, presented });
                let n = self.grants.len() - 1;
                self.network.push(Message::GrantRequest { grant: n, body });
                self.callers[i].state = State::Granting(n);
            }
            Err(error) => self.answer(i, Err(error)),
        }
    }

    fn got_token(&mut self, i: usize, token: String) {
        assert_eq!(self.op.login_of.get(&token).copied(), self.login, "a token of another login than the current one");
        assert_ne!(self.callers[i].refused.as_ref(), Some(&token), "a retry with the token the API refused");
        match self.callers[i].kind {
            Kind::Api => {
                self.callers[i].token = Some(token.clone());
                self.callers[i].state = State::Calling;
                self.network.push(Message::ApiRequest { caller: i, token });
            }
            Kind::Token { .. } => self.answer(i, Ok(token)),
        }
    }

    fn answer(&mut self, i: usize, result: Result<String, Error>) {
        self.seen.answered += 1;
        if result == Err(Error::LoginRequired) {
            self.seen.login_required += 1;
        }
        self.callers[i].state = State::Done;
    }

    /// The grant ended (answered, or its request lost): the core decides, the driver performs.
    fn settle(&mut self, n: usize, result: Result<(), Error>) {
        let ticket = self.grants[n].ticket.take().expect("a grant settles once");
        self.in_flight.remove(&self.grants[n].presented);
        let end = self.c.finish_refresh(ticket, result, self.now);
        match &end.event {
            Some(Event::SessionExpired { reason: "invalid_id_token" }) => {
                self.seen.ended_by_id_token += 1;
                // The refresh token the provider just rotated in is revoked, first.
                let first = form(end.revocations[0].body.as_deref().unwrap());
                assert_eq!(first[1].1, "refresh_token");
                assert_eq!(self.op.refresh_tokens[&first[0].1], RefreshTokenState::Active, "the rotated-in token is revoked");
                self.login = None;
            }
            Some(Event::SessionExpired { .. }) => {
                self.seen.ended_by_invalid_grant += 1;
                self.login = None;
            }
            _ => {}
        }
        self.send_revocations(end.revocations);
        let key = self.grants[n].key.clone();
        for i in 0..self.callers.len() {
            // The grant's own caller, and those that waited for it with the same key, share its
            // outcome (the shell's single flight); those with another key ask again.
            let shares = match self.callers[i].state {
                State::Granting(g) => g == n,
                State::Parked(g) if g == n => self.callers[i].key == key,
                _ => continue,
            };
            if !shares {
                if matches!(self.callers[i].state, State::Parked(g) if g == n) {
                    self.ask(i);
                }
                continue;
            }
            match &end.result {
                Ok(()) => match self.c.token_after_refresh(&key, self.now) {
                    Ok(token) => self.got_token(i, token),
                    Err(error) => self.answer(i, Err(error)),
                },
                Err(error) => self.answer(i, Err(error.clone())),
            }
        }
    }

    /// The client received grant `n`'s answer.
    fn receive_answer(&mut self, n: usize, response: HttpResponse) {
        let ticket = self.grants[n].ticket.as_ref().unwrap();
        match self.c.process_refresh_response(ticket, &response) {
            Ok(None) => {
                self.seen.stale_answers += 1;
                self.settle(n, Ok(()));
            }
            // The signature check takes a while: anything may happen meanwhile.
            Ok(Some(exchange)) if self.rng.chance(40) => self.network.push(Message::Verifying { grant: n, exchange }),
            Ok(Some(exchange)) => self.verified(n, exchange),
            Err(error) => self.settle(n, Err(error)),
        }
    }

    fn verified(&mut self, n: usize, exchange: Box<TokenExchange>) {
        // The provider's keys could not be fetched: the answer cannot be checked.
        if self.rng.chance(5) {
            self.seen.unverifiable_answers += 1;
            return self.settle(n, Err(Error::Network { reason: &"failed" }));
        }
        let result = match finish(&mut self.c, exchange, self.now) {
            Ok(Exchanged::Stale) => {
                self.seen.stale_answers += 1;
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(error) => Err(error),
        };
        self.settle(n, result);
    }

    fn deliver(&mut self, index: usize) {
        match self.network.swap_remove(index) {
            Message::GrantRequest { grant, .. } if self.rng.chance(8) => {
                self.seen.lost_requests += 1;
                self.settle(grant, Err(Error::Network { reason: &"failed" }));
            }
            Message::GrantRequest { grant, body } => {
                let response = self.op.grant(&body, self.now);
                self.network.push(Message::GrantAnswer { grant, response });
            }
            Message::GrantAnswer { grant, response } => self.receive_answer(grant, response),
            Message::Verifying { grant, exchange } => self.verified(grant, exchange),
            Message::Revocation { body } => self.op.revoke(&body),
            Message::ApiRequest { caller, token } => {
                let status = self.op.api(&token, self.now);
                self.network.push(Message::ApiAnswer { caller, status });
            }
            Message::ApiAnswer { caller, status } => {
                let challenge = (status == 401).then_some(r#"Bearer error="invalid_token""#);
                match self.callers[caller].call.on_response(status, challenge) {
                    ApiStep::Return => self.answer(caller, Ok(status.to_string())),
                    ApiStep::RetryWithNewToken => {
                        self.seen.retries += 1;
                        self.callers[caller].refused = self.callers[caller].token.take();
                        self.ask(caller);
                    }
                }
            }
        }
    }

    /// The session the client holds is its current login's, wholly.
    fn check_session(&self) {
        assert_eq!(self.c.is_authenticated(), self.login.is_some(), "a session exactly while logged in");
        if let Some(session) = &self.c.session {
            assert!(session.claims_json().contains(r#""sub":"alice""#), "another user's ID token was applied");
            for token in session.refresh_token().into_iter().chain(session.access_tokens()) {
                assert_eq!(self.op.login_of.get(token).copied(), self.login, "a token of an ended session was applied");
            }
        }
    }

    fn step(&mut self) {
        match self.rng.below(100) {
            0..=24 if self.callers.len() < 60 => self.spawn(),
            25..=79 if !self.network.is_empty() => {
                let index = self.rng.below(self.network.len());
                self.deliver(index);
            }
            80..=88 if self.now < NOW + 400 => {
                self.now += 1 + self.rng.below(12) as u64;
                // The proactive refresh: a caller of its own when the core says it is due.
                if self.c.start_auto_refresh(self.now) {
                    self.callers.push(Caller { key: TokenKey::default(), call: ApiCall::new(TokenKey::default()), kind: Kind::Token { fresh: true }, refused: None, token: None, state: State::Done });
                    self.ask(self.callers.len() - 1);
                }
            }
            89..=91 if self.login.is_some() => self.log_out(),
            92..=95 if self.login.is_none() => self.log_in(),
            96..=97 => self.op.misbehave = true,
            // The provider revokes an access token on its own (an admin, a password change):
            // the API refuses a token the client still holds as valid.
            98..=99 if !self.op.access_tokens.is_empty() => {
                let index = self.rng.below(self.op.access_tokens.len());
                let token = self.op.access_tokens.keys().nth(index).unwrap().clone();
                self.op.access_tokens.remove(&token);
            }
            _ => {}
        }
        self.check_session();
    }

    fn run(&mut self, steps: usize) {
        for _ in 0..steps {
            self.step();
        }
        // Let every message arrive, in random order, with nothing new starting.
        while !self.network.is_empty() {
            let index = self.rng.below(self.network.len());
            self.deliver(index);
            self.check_session();
        }
        // Nothing of an ended session stays usable at the provider: its refresh token was
        // revoked at the logout, or when the session ended, or when a late answer brought one.
        for token in self.op.live_refresh_tokens() {
            assert_eq!(Some(self.op.login_of[token]), self.login, "a refresh token of an ended session is still alive");
        }
        for (i, caller) in self.callers.iter().enumerate() {
            assert!(matches!(caller.state, State::Done), "caller {i} ({:?}) was never answered: {:?}", caller.kind, caller.state);
        }
        assert!(self.in_flight.is_empty());
    }
}

#[test]
fn simulated_sessions_keep_their_invariants() {
    let mut total = Seen::default();
    for seed in 0..400 {
        let mut sim = Sim::new(seed);
        sim.run(300);
        let s = sim.seen;
        total.grants += s.grants;
        total.waits += s.waits;
        total.stale_answers += s.stale_answers;
        total.lost_requests += s.lost_requests;
        total.unverifiable_answers += s.unverifiable_answers;
        total.retries += s.retries;
        total.logouts += s.logouts;
        total.ended_by_id_token += s.ended_by_id_token;
        total.ended_by_invalid_grant += s.ended_by_invalid_grant;
        total.answered += s.answered;
        total.login_required += s.login_required;
    }
    // Every path the invariants are about was taken, many times.
    for (what, count) in [
        ("grants", total.grants),
        ("callers waiting for a grant", total.waits),
        ("stale answers dropped", total.stale_answers),
        ("lost requests", total.lost_requests),
        ("answers that could not be checked", total.unverifiable_answers),
        ("RFC 6750 retries", total.retries),
        ("logouts", total.logouts),
        ("sessions ended by a refreshed ID token", total.ended_by_id_token),
        ("answered callers", total.answered),
        ("callers answered login_required", total.login_required),
    ] {
        assert!(count >= 20, "{what}: only {count} in all runs ({total:?})");
    }
}
