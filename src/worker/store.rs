//! The pending-login store, in IndexedDB (web-sys).
//!
//! A full-page redirect to the provider ends the page and its worker, so what the callback
//! needs (the core's opaque pending record: verifier, state, nonce, ...) must outlive them.
//! Each record is single-use: [`take`] reads and deletes it in one transaction. Expired
//! records are purged on every [`put`]. It decides nothing: keys, records and expiry times
//! all come from the core.
//!
//! Records live in the `pending` object store of the `oidc-worker` database as
//! `[record, expiresAt]`, keyed by the core's pending key.
//!
//! IndexedDB answers through events. Rather than Rust closures for them, each wait is a
//! `Promise` whose own `resolve`/`reject` are the handlers; the Rust code after an `await` runs
//! in the microtasks that follow the event, while its transaction is still active.

#[allow(unused_imports)]
use crate::prelude::*;
use js_sys::{Array, Function, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbCursorWithValue, IdbDatabase, IdbObjectStore, IdbRequest, IdbTransaction, IdbTransactionMode, WorkerGlobalScope};

use crate::protocol::Error;

const UNAVAILABLE: Error = Error::Config {
    reason: "storage_unavailable",
};
const DATABASE: &str = "oidc-worker";
const STORE: &str = "pending";

/// A promise settled by the first of the events `arm` wires to its `resolve` and `reject`.
fn event(arm: impl Fn(&Function, &Function)) -> JsFuture {
    JsFuture::from(Promise::new(&mut |resolve, reject| arm(&resolve, &reject)))
}

/// The result of `request` once it succeeds.
async fn result(request: &IdbRequest) -> Result<JsValue, JsValue> {
    event(|resolve, reject| {
        request.set_onsuccess(Some(resolve));
        request.set_onerror(Some(reject));
    })
    .await?;
    request.result()
}

/// Opens the database (creating the store on first use) and starts a readwrite transaction;
/// also returns the promise of its commit, armed before any request is placed.
async fn begin() -> Result<(IdbDatabase, IdbObjectStore, JsFuture), JsValue> {
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    let open = scope.indexed_db()?.ok_or(JsValue::NULL)?.open_with_u32(DATABASE, 1)?;
    // First `upgradeneeded` (a new database: create the store while its versionchange
    // transaction is active), then `success`.
    let first = event(|resolve, reject| {
        open.set_onupgradeneeded(Some(resolve));
        open.set_onsuccess(Some(resolve));
        open.set_onerror(Some(reject));
    });
    first.await?;
    if open.transaction().is_some() {
        open.result()?.unchecked_into::<IdbDatabase>().create_object_store(STORE)?;
        result(&open).await?;
    }
    let db: IdbDatabase = open.result()?.unchecked_into();
    let tx: IdbTransaction = db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)?;
    let committed = event(|resolve, reject| {
        tx.set_oncomplete(Some(resolve));
        tx.set_onerror(Some(reject));
        tx.set_onabort(Some(reject));
    });
    let store = tx.object_store(STORE)?;
    Ok((db, store, committed))
}

/// Stores `record` under `key` until `expires_at` (Unix seconds), and purges records that
/// expired by `now`. Returns once the transaction has committed.
pub async fn put(key: &str, record: &str, expires_at: u64, now: u64) -> Result<(), Error> {
    put_record(key, record, expires_at as f64, now as f64).await.map_err(|_| UNAVAILABLE)
}

async fn put_record(key: &str, record: &str, expires_at: f64, now: f64) -> Result<(), JsValue> {
    let (db, store, committed) = begin().await?;
    let entry = Array::of2(&JsValue::from_str(record), &JsValue::from_f64(expires_at));
    store.put_with_key(&entry, &JsValue::from_str(key))?;
    let cursor = store.open_cursor()?;
    loop {
        let entry = result(&cursor).await?;
        if entry.is_null() {
            break;
        }
        let entry: IdbCursorWithValue = entry.unchecked_into();
        // `!(expiresAt > now)`: a malformed record goes too.
        if !(entry.value()?.unchecked_into::<Array>().get(1).as_f64() > Some(now)) {
            entry.delete()?;
        }
        entry.continue_()?;
    }
    let outcome = committed.await;
    db.close();
    outcome.map(drop)
}

/// Removes the record stored under `key` and returns it, unless it expired by `now`.
/// The record is gone afterwards whatever the outcome: read and delete happen in one
/// transaction, so a record can be taken once.
pub async fn take(key: &str, now: u64) -> Result<Option<String>, Error> {
    take_record(key, now as f64).await.map_err(|_| UNAVAILABLE)
}

async fn take_record(key: &str, now: f64) -> Result<Option<String>, JsValue> {
    let (db, store, committed) = begin().await?;
    let key = JsValue::from_str(key);
    let read = store.get(&key)?;
    store.delete(&key)?;
    let entry = result(&read).await?;
    let outcome = committed.await;
    db.close();
    outcome?;
    if !Array::is_array(&entry) {
        return Ok(None);
    }
    let entry: Array = entry.unchecked_into();
    Ok(entry.get(0).as_string().filter(|_| entry.get(1).as_f64() > Some(now)))
}
