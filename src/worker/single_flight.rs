//! One run of an async operation at a time, shared by every caller that asks for the same key
//! while it is in flight.
//!
//! Used for refresh grants: with rotating refresh tokens, two grants in flight would present
//! the same refresh token twice, and the provider would revoke the whole family. So callers
//! for the same token share one grant, and a grant for another token waits its turn.

#[allow(unused_imports)]
use crate::prelude::*;
use core::cell::{Cell, RefCell};
use core::future::Future;
use alloc::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::task::pending_promise;

/// Shares the run in flight, if any, with every caller of [`SingleFlight::run`] for its key.
pub struct SingleFlight<K, T> {
    current: RefCell<Option<Flight<K, T>>>,
    runs: Cell<u32>,
}

struct Flight<K, T> {
    key: K,
    /// Resolves once `outcome` is set.
    done: Promise,
    outcome: Rc<RefCell<Option<T>>>,
}

/// What [`SingleFlight::run`] did.
pub enum Turn<T> {
    /// The outcome of the run for the caller's key (its own, or the one it joined).
    Done(T),
    /// A run for another key was in flight; it has settled now, so ask again.
    Waited,
}

impl<K, T> Default for SingleFlight<K, T> {
    fn default() -> Self {
        SingleFlight {
            current: RefCell::new(None),
            runs: Cell::new(0),
        }
    }
}

impl<K: PartialEq + Clone, T: Clone> SingleFlight<K, T> {
    /// Joins the run in flight for `key`, waits out a run for another key, or runs `start()`
    /// itself. A run is forgotten once it settles, so a later call starts afresh.
    ///
    /// The caller that starts a run drives it: its future must be polled to completion
    /// (every caller here runs inside a [`to_promise`](super::task::to_promise) task, which is).
    pub async fn run<F: Future<Output = T>>(&self, key: &K, start: impl FnOnce() -> F) -> Turn<T> {
        let in_flight = self
            .current
            .borrow()
            .as_ref()
            .map(|f| (f.key == *key, f.done.clone(), f.outcome.clone()));
        if let Some((same_key, done, outcome)) = in_flight {
            let _ = JsFuture::from(done).await;
            if !same_key {
                return Turn::Waited;
            }
            let outcome = outcome.borrow().clone();
            // A settled run always has an outcome (set before `done` resolves). Trapping here,
            // rather than `expect`, keeps panic-message formatting out of the module.
            return Turn::Done(outcome.unwrap_or_else(|| core::arch::wasm32::unreachable()));
        }
        let (done, settle, _) = pending_promise();
        let outcome = Rc::new(RefCell::new(None));
        *self.current.borrow_mut() = Some(Flight {
            key: key.clone(),
            done,
            outcome: outcome.clone(),
        });
        self.runs.set(self.runs.get().wrapping_add(1));
        let result = start().await;
        *outcome.borrow_mut() = Some(result.clone());
        *self.current.borrow_mut() = None;
        let _ = settle.call0(&JsValue::UNDEFINED);
        Turn::Done(result)
    }

    /// How many runs have been started so far.
    pub fn runs(&self) -> u32 {
        self.runs.get()
    }
}
