//! # oidc-worker
//!
//! An OpenID Connect client for single-page apps whose protocol core runs in a Web Worker.
//!
//! - [`protocol`] is the sans-IO core: plain Rust, no clock, no randomness, no network.
//!   Time and random bytes are arguments; HTTP requests are returned as values and
//!   responses are processed as values. It is unit-tested natively with `cargo test`.
//! - `worker` (wasm32 only) is the thin shell that performs the I/O the core asks for:
//!   the worker's message loop, `fetch`, IndexedDB for the pending login, randomness, the clock.
//!
//! The flow is the authorization code grant with PKCE
//! ([RFC 6749 §4.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1),
//! [RFC 7636](https://www.rfc-editor.org/rfc/rfc7636)) as profiled by
//! [OpenID Connect Core 1.0 §3.1](https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth).
#![warn(missing_docs)]
// The release wasm build (`--features tiny`, see scripts/build.sh) is `no_std`: without std's
// panic machinery the module is several KB smaller. Everything else builds with std.
#![cfg_attr(all(target_arch = "wasm32", feature = "tiny"), no_std)]

extern crate alloc;

/// What `no_std` leaves out of the prelude, for every module.
pub(crate) mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
    pub use alloc::boxed::Box;
    pub use alloc::vec;
    #[cfg(test)]
    pub use alloc::format;
}

/// In the `tiny` build a panic (a bug: the core returns errors, it does not panic) traps at
/// once, as `panic = "abort"` would, without formatting a message nobody can read.
#[cfg(all(target_arch = "wasm32", feature = "tiny"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

pub mod protocol;

#[cfg(target_arch = "wasm32")]
mod worker;

// The worker is single-threaded (no shared memory, no atomics), which is what makes this
// allocator sound here.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: the crate is built without the `atomics` target feature: one thread only.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// Test surface of the wasm shell, for `tests/web.rs`. Not public API.
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod __shell {
    pub use crate::worker::{io, single_flight, store, task, WorkerHost};
}
