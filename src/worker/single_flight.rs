//! One run of an async operation, shared by every caller that asks while it is in flight.
//!
//! Used for the refresh grant: with rotating refresh tokens, two concurrent grants would
//! present the same refresh token twice, and the provider would revoke the whole family.

#[allow(unused_imports)]
use crate::prelude::*;
use core::cell::{Cell, RefCell};
use core::future::Future;
use alloc::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// Shares the run in flight, if any, with every caller of [`SingleFlight::run`].
pub struct SingleFlight<T> {
    current: RefCell<Option<Flight<T>>>,
    runs: Cell<u32>,
}

struct Flight<T> {
    /// Resolves once `outcome` is set.
    done: Promise,
    outcome: Rc<RefCell<Option<T>>>,
}

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        SingleFlight {
            current: RefCell::new(None),
            runs: Cell::new(0),
        }
    }
}

impl<T: Clone> SingleFlight<T> {
    /// Joins the run in flight, or runs `start()` itself, and returns the run's outcome.
    /// A run is forgotten once it settles, so a later call starts afresh.
    ///
    /// The caller that starts a run drives it: its future must be polled to completion
    /// (every caller here runs inside a `future_to_promise` task, which is).
    pub async fn run<F: Future<Output = T>>(&self, start: impl FnOnce() -> F) -> T {
        let joined = self
            .current
            .borrow()
            .as_ref()
            .map(|f| (f.done.clone(), f.outcome.clone()));
        if let Some((done, outcome)) = joined {
            let _ = JsFuture::from(done).await;
            let outcome = outcome.borrow().clone();
            return outcome.expect("a settled run has an outcome");
        }
        let mut settle: Option<Function> = None;
        let done = Promise::new(&mut |resolve, _| settle = Some(resolve));
        let outcome = Rc::new(RefCell::new(None));
        *self.current.borrow_mut() = Some(Flight {
            done,
            outcome: outcome.clone(),
        });
        self.runs.set(self.runs.get().wrapping_add(1));
        let result = start().await;
        *outcome.borrow_mut() = Some(result.clone());
        *self.current.borrow_mut() = None;
        if let Some(resolve) = settle {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
        result
    }

    /// How many runs have been started so far.
    pub fn runs(&self) -> u32 {
        self.runs.get()
    }
}
