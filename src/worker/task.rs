//! Each call's future run as a JS promise: [`to_promise`], the shell's own small stand-in for
//! wasm-bindgen-futures' `future_to_promise`.
//!
//! Why by hand: `future_to_promise` schedules every poll through a queue of tasks on
//! `queueMicrotask` (found through a look for the global object), with a probe for JS Promise
//! Integration, none of which a worker whose futures only ever wait on JS promises needs
//! (README, Design notes: the bytes it saves). The promises themselves are still awaited with
//! js-sys's `JsFuture`. `tests/web.rs` runs the same futures through both and compares what
//! they settle with, and in which order.
//!
//! How it runs: the future is polled at once, inside `to_promise`, up to its first await; a
//! wake-up polls it again right there. Every wake-up here comes from a JS promise settling,
//! which JS only ever runs from its microtask queue, on an empty stack: never inside a poll.
//! Should one still come while the task is being polled, the poll goes round once more instead
//! of nesting.

#[allow(unused_imports)]
use crate::prelude::*;
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::task::{Context, RawWaker, RawWakerVTable, Waker};

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;

/// A future that settles a JS promise when it ends.
struct Task {
    /// The future until it is ready; `None` after.
    future: RefCell<Option<Pin<Box<dyn Future<Output = ()>>>>>,
    /// Woken while being polled: poll it once more.
    woken: Cell<bool>,
}

/// Runs `future` and returns a promise that settles with its outcome: fulfilled with `Ok`'s
/// value, rejected with `Err`'s.
pub fn to_promise(future: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    let (promise, resolve, reject) = pending_promise();
    let task = Rc::new(Task {
        future: RefCell::new(Some(Box::pin(async move {
            let (settle, value) = match future.await {
                Ok(value) => (resolve, value),
                Err(error) => (reject, error),
            };
            let _ = settle.call1(&JsValue::UNDEFINED, &value);
        }))),
        woken: Cell::new(false),
    });
    poll(&task);
    promise
}

/// A new promise, and the functions that fulfil and reject it: what one future here waits on
/// until another settles it.
pub fn pending_promise() -> (Promise, Function, Function) {
    let mut settle = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    // (The executor of `new Promise` runs before the constructor returns: always `Some`.)
    let Some((resolve, reject)) = settle else { core::arch::wasm32::unreachable() };
    (promise, resolve, reject)
}

/// Polls `task` until it is pending without a wake-up in between, or done.
fn poll(task: &Rc<Task>) {
    let Ok(mut slot) = task.future.try_borrow_mut() else {
        task.woken.set(true); // woken during its own poll: that poll goes round again
        return;
    };
    loop {
        let Some(future) = slot.as_mut() else { return };
        // SAFETY: the waker owns the strong count it is built from (see `VTABLE`).
        let waker = unsafe { Waker::from_raw(raw_waker(Rc::clone(task))) };
        if future.as_mut().poll(&mut Context::from_waker(&waker)).is_ready() {
            *slot = None;
            return;
        }
        if !task.woken.replace(false) {
            return;
        }
    }
}

/// A waker that holds one strong count of its task (as a raw pointer).
fn raw_waker(task: Rc<Task>) -> RawWaker {
    RawWaker::new(Rc::into_raw(task).cast(), &VTABLE)
}

// SAFETY (all four): `data` is a pointer from `Rc::into_raw` holding one strong count, which
// `clone` adds to and `wake`/`drop` give back; `wake_by_ref` leaves it. One thread only.
static VTABLE: RawWakerVTable = RawWakerVTable::new(
    |data| {
        // SAFETY: see above.
        let task = ManuallyDrop::new(unsafe { Rc::from_raw(data.cast::<Task>()) });
        raw_waker(Rc::clone(&task))
    },
    // SAFETY: see above.
    |data| poll(&unsafe { Rc::from_raw(data.cast::<Task>()) }),
    // SAFETY: see above.
    |data| poll(&ManuallyDrop::new(unsafe { Rc::from_raw(data.cast::<Task>()) })),
    // SAFETY: see above.
    |data| drop(unsafe { Rc::from_raw(data.cast::<Task>()) }),
);
