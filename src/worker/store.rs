//! The pending-login store, in IndexedDB.
//!
//! A full-page redirect to the provider ends the page and its worker, so what the callback
//! needs (the core's opaque pending record: verifier, state, nonce, ...) must outlive them.
//! Records live in the `pending` object store of the `oidc-worker` database as
//! `[record, expires_at]`, keyed by the core's pending key. Each is single-use: [`take`]
//! reads and deletes it in one transaction. Expired records are purged on every [`put`].

use js_sys::{Array, Promise};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbCursorWithValue, IdbDatabase, IdbRequest, IdbTransaction, IdbTransactionMode};

use super::io::scope;
use crate::protocol::Error;

const DB_NAME: &str = "oidc-worker";
const DB_VERSION: u32 = 1;
const STORE: &str = "pending";
const UNAVAILABLE: Error = Error::Config {
    reason: "storage_unavailable",
};

/// Stores `record` under `key` until `expires_at` (Unix seconds), and purges records that
/// expired by `now`. Returns once the transaction has committed.
pub async fn put(key: &str, record: &str, expires_at: u64, now: u64) -> Result<(), Error> {
    let db = open().await?;
    let result = put_in(&db, key, record, expires_at, now).await;
    db.close();
    result
}

/// Removes the record stored under `key` and returns it, unless it expired by `now`.
/// The record is gone afterwards whatever the outcome.
pub async fn take(key: &str, now: u64) -> Result<Option<String>, Error> {
    let db = open().await?;
    let result = take_in(&db, key, now).await;
    db.close();
    result
}

async fn put_in(
    db: &IdbDatabase,
    key: &str,
    record: &str,
    expires_at: u64,
    now: u64,
) -> Result<(), Error> {
    let tx = transaction(db)?;
    let committed = completion(&tx);
    let store = tx.object_store(STORE).map_err(|_| UNAVAILABLE)?;
    let value = Array::of2(
        &JsValue::from_str(record),
        &JsValue::from_f64(expires_at as f64),
    );
    store
        .put_with_key(&value, &JsValue::from_str(key))
        .map_err(|_| UNAVAILABLE)?;
    // Purge: walk every record, deleting the expired ones. The callback runs inside the
    // success event, while the transaction is active; it lives until the commit.
    let cursor = store.open_cursor().map_err(|_| UNAVAILABLE)?;
    let purge = Closure::<dyn FnMut()>::new({
        let cursor = cursor.clone();
        move || {
            let entry: IdbCursorWithValue = match cursor.result() {
                Ok(entry) if !entry.is_null() => entry.unchecked_into(),
                _ => return, // null: the walk is over
            };
            if live(&entry.value().unwrap_or(JsValue::NULL), now).is_none() {
                let _ = entry.delete();
            }
            let _ = entry.continue_();
        }
    });
    cursor.set_onsuccess(Some(purge.as_ref().unchecked_ref()));
    let result = committed.await;
    drop(purge);
    result
}

async fn take_in(db: &IdbDatabase, key: &str, now: u64) -> Result<Option<String>, Error> {
    let tx = transaction(db)?;
    let committed = completion(&tx);
    let store = tx.object_store(STORE).map_err(|_| UNAVAILABLE)?;
    let key = JsValue::from_str(key);
    // Both requests are queued before anything awaits: the get sees the record, the delete
    // then removes it, in one transaction.
    let get = store.get(&key).map_err(|_| UNAVAILABLE)?;
    let got = succeeded(&get);
    store.delete(&key).map_err(|_| UNAVAILABLE)?;
    got.await?;
    let value = get.result().map_err(|_| UNAVAILABLE)?;
    committed.await?;
    Ok(live(&value, now))
}

/// The record of a stored `[record, expires_at]` value, if it has not expired by `now`.
fn live(value: &JsValue, now: u64) -> Option<String> {
    let pair = value.dyn_ref::<Array>()?;
    let expires_at = pair.get(1).as_f64()?;
    if (now as f64) < expires_at {
        pair.get(0).as_string()
    } else {
        None
    }
}

async fn open() -> Result<IdbDatabase, Error> {
    let factory = scope().indexed_db().ok().flatten().ok_or(UNAVAILABLE)?;
    let request = factory
        .open_with_u32(DB_NAME, DB_VERSION)
        .map_err(|_| UNAVAILABLE)?;
    let upgrade = Closure::<dyn FnMut()>::new({
        let request = request.clone();
        move || {
            if let Ok(db) = request.result() {
                let _ = db
                    .unchecked_into::<IdbDatabase>()
                    .create_object_store(STORE);
            }
        }
    });
    request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let opened = succeeded(&request).await;
    request.set_onupgradeneeded(None);
    drop(upgrade);
    opened?;
    // A successful open request's result is the IDBDatabase.
    request
        .result()
        .map(JsCast::unchecked_into)
        .map_err(|_| UNAVAILABLE)
}

fn transaction(db: &IdbDatabase) -> Result<IdbTransaction, Error> {
    db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
        .map_err(|_| UNAVAILABLE)
}

/// Settles when `request` succeeds or fails. The handlers are set before this returns, so
/// the future may be awaited later.
fn succeeded(request: &IdbRequest) -> impl std::future::Future<Output = Result<(), Error>> {
    let done = JsFuture::from(Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    }));
    async move { done.await.map(drop).map_err(|_| UNAVAILABLE) }
}

/// Settles when `tx` commits (or fails on error or abort).
fn completion(tx: &IdbTransaction) -> impl std::future::Future<Output = Result<(), Error>> {
    let done = JsFuture::from(Promise::new(&mut |resolve, reject| {
        tx.set_oncomplete(Some(&resolve));
        tx.set_onerror(Some(&reject));
        tx.set_onabort(Some(&reject));
    }));
    async move { done.await.map(drop).map_err(|_| UNAVAILABLE) }
}
