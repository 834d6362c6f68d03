//! The worker's store, in IndexedDB (through `store.js`, a thin JS primitive): the pending
//! login and, with `persist: "dpop-bound"`, the persisted session.
//!
//! A full-page redirect to the provider ends the page and its worker, so what the callback
//! needs (the core's opaque pending record: verifier, state, nonce, ...; and the DPoP key the
//! code is bound to) must outlive them. Each pending record is single-use: [`take`] reads and
//! deletes it in one transaction. Expired records are purged on every [`put`].
//!
//! A DPoP key crosses as `store.js`/`dpop.js` made it, `[privateKey, rawPublicKey]`: the
//! private `CryptoKey` is non-extractable and is only ever handed back to WebCrypto.

#[allow(unused_imports)]
use crate::prelude::*;
use js_sys::Array;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::protocol::Error;

const UNAVAILABLE: Error = Error::Config {
    reason: &"storage_unavailable",
};

#[wasm_bindgen(module = "/src/worker/store.js")]
extern "C" {
    #[wasm_bindgen(js_name = storePut, catch)]
    async fn store_put(key: &str, record: &str, expires_at: f64, now: f64, dpop_key: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = storeRead, catch)]
    async fn store_read(key: &str, now: f64, take: bool) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = sessionWrite, catch)]
    async fn session_write_js(id: &str, record: Option<&str>, dpop_key: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = sessionGet, catch)]
    async fn session_get_js(id: &str) -> Result<JsValue, JsValue>;
}

/// Stores `record` (with the DPoP key pair the login's code is bound to, or `undefined`) under
/// `key` until `expires_at` (Unix seconds), and purges records that expired by `now`. Returns
/// once the transaction has committed.
pub async fn put(key: &str, record: &str, expires_at: u64, now: u64, dpop_key: &JsValue) -> Result<(), Error> {
    store_put(key, record, expires_at as f64, now as f64, dpop_key).await.map(drop).map_err(|_| UNAVAILABLE)
}

/// Removes the record stored under `key` and returns it with its DPoP key pair (`undefined`
/// without one), unless it expired by `now`. The record is gone afterwards whatever the outcome.
pub async fn take(key: &str, now: u64) -> Result<Option<(String, JsValue)>, Error> {
    read(key, now, true).await
}

/// The record stored under `key`, unless it expired by `now`, left in place (to tell whose
/// callback it is before anyone takes it).
pub async fn peek(key: &str, now: u64) -> Result<Option<String>, Error> {
    Ok(read(key, now, false).await?.map(|(record, _)| record))
}

/// [`take`] (`take: true`) and [`peek`]: one read in the wasm and in `store.js`.
async fn read(key: &str, now: u64, take: bool) -> Result<Option<(String, JsValue)>, Error> {
    let read = store_read(key, now as f64, take).await.map_err(|_| UNAVAILABLE)?;
    Ok(record_and_key(read))
}

/// Writes the persisted session's record next to its key pair under `id`, or, without a
/// record, deletes what is stored there (record and key).
pub async fn session_write(id: &str, record: Option<&str>, dpop_key: &JsValue) -> Result<(), Error> {
    session_write_js(id, record, dpop_key).await.map(drop).map_err(|_| UNAVAILABLE)
}

/// The persisted session stored under `id`: its record and key pair.
pub async fn session_get(id: &str) -> Result<Option<(String, JsValue)>, Error> {
    let stored = session_get_js(id).await.map_err(|_| UNAVAILABLE)?;
    Ok(record_and_key(stored))
}

/// `[record, dpopKey]` as `store.js` returns it; `None` for anything else.
fn record_and_key(value: JsValue) -> Option<(String, JsValue)> {
    let pair: Array = value.dyn_into().ok()?;
    Some((pair.get(0).as_string()?, pair.get(1)))
}
