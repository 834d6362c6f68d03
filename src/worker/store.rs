//! The pending-login store, in IndexedDB (through `store.js`, a thin JS primitive).
//!
//! A full-page redirect to the provider ends the page and its worker, so what the callback
//! needs (the core's opaque pending record: verifier, state, nonce, ...) must outlive them.
//! Each record is single-use: [`take`] reads and deletes it in one transaction. Expired
//! records are purged on every [`put`].

#[allow(unused_imports)]
use crate::prelude::*;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::protocol::Error;

const UNAVAILABLE: Error = Error::Config {
    reason: "storage_unavailable",
};

#[wasm_bindgen(module = "/src/worker/store.js")]
extern "C" {
    #[wasm_bindgen(js_name = storePut, catch)]
    async fn store_put(key: &str, record: &str, expires_at: f64, now: f64) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = storeTake, catch)]
    async fn store_take(key: &str, now: f64) -> Result<JsValue, JsValue>;
}

/// Stores `record` under `key` until `expires_at` (Unix seconds), and purges records that
/// expired by `now`. Returns once the transaction has committed.
pub async fn put(key: &str, record: &str, expires_at: u64, now: u64) -> Result<(), Error> {
    store_put(key, record, expires_at as f64, now as f64)
        .await
        .map(drop)
        .map_err(|_| UNAVAILABLE)
}

/// Removes the record stored under `key` and returns it, unless it expired by `now`.
/// The record is gone afterwards whatever the outcome.
pub async fn take(key: &str, now: u64) -> Result<Option<String>, Error> {
    store_take(key, now as f64)
        .await
        .map(|record| record.as_string())
        .map_err(|_| UNAVAILABLE)
}
