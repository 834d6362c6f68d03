//! The sans-IO protocol core.
//!
//! Nothing in here performs I/O or reads a clock or a random source: the shell passes the
//! current time (`now`, Unix seconds) and fresh random bytes in, and performs the
//! [`http::HttpRequest`]s the core builds.

pub mod codec;
// The codecs' old paths, kept for code written before they moved under `codec`.
pub use codec::{base64url, json, url};

pub mod types;
pub mod error;
pub mod http;

pub mod config;
pub mod discovery;
pub mod pkce;
pub mod transaction;
pub mod authorization;
pub mod token;
pub mod dpop;
pub mod jwt;
pub mod id_token;
pub mod jws;
pub mod jwk;
pub mod session;
pub mod schedule;
pub mod api;
pub mod api_call;
pub mod event;
pub mod refresh;
pub mod logout;
pub mod restore;
pub mod persist;
pub mod par;
pub mod device;
pub mod client;
pub mod messages;

pub mod secret;
#[cfg(test)]
mod testing;

pub use error::Error;
