// The shell's storage primitive, called from src/worker/store.rs, in the worker's IndexedDB
// (database `oidc-worker`). It decides nothing: keys, records and expiry times all come from
// the Rust core. Written in JS because the same thing against web-sys costs the wasm module
// several KB. Rejections carry no detail.
//
// - `pending`: the pending login, [record, expiresAt, dpopKey?], keyed by the core's pending
//   key. A full-page redirect to the provider ends the page and its worker, so the record
//   (verifier, state, nonce, ...) must outlive them, and so must the DPoP key the code is bound
//   to (RFC 9449 §10), as [privateKey, rawPublicKey]: a CryptoKey is stored by structured clone
//   and stays non-extractable.
// - `session` (only with `persist: "dpop-bound"`): [record, [privateKey, rawPublicKey]], the
//   DPoP-bound refresh token's record next to its key, keyed by the core's record id.

const STORES = ['pending', 'session'];

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open('oidc-worker', 2);
    request.onupgradeneeded = () => {
      for (const name of STORES) if (!request.result.objectStoreNames.contains(name)) request.result.createObjectStore(name);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// Runs `work(store, done)` in one readwrite transaction of `name`, one transaction at a time
// (writes land in the order the core decided them); resolves with `done`'s value once committed.
let queue = Promise.resolve();
function transact(name, work) {
  const run = queue.then(async () => {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(name, 'readwrite');
        let result;
        tx.oncomplete = () => resolve(result);
        tx.onerror = tx.onabort = () => reject(tx.error);
        work(tx.objectStore(name), (value) => (result = value));
      });
    } finally {
      db.close();
    }
  });
  queue = run.catch(() => {});
  return run;
}

// Stores `record` (and the DPoP key pair, if any) under `key` until `expiresAt` (Unix
// seconds), and purges every record that expired by `now`, in the same transaction.
export function storePut(key, record, expiresAt, now, dpopKey) {
  return transact('pending', (store) => {
    store.put([record, expiresAt, dpopKey], key);
    const cursor = store.openCursor();
    cursor.onsuccess = () => {
      const entry = cursor.result;
      if (!entry) return;
      if (!(entry.value?.[1] > now)) entry.delete();
      entry.continue();
    };
  });
}

// The record under `key` as [record, dpopKey?], unless it expired by `now` (then undefined); with
// `take`, removed in the same transaction: a record can be taken once. (Without, it is left in
// place: to tell whose callback it is before anyone takes it.)
export function storeRead(key, now, take) {
  return transact('pending', (store, done) => {
    const read = store.get(key);
    read.onsuccess = () => {
      const [record, expiresAt, dpopKey] = Array.isArray(read.result) ? read.result : [];
      done(typeof record === 'string' && expiresAt > now ? [record, dpopKey] : undefined);
    };
    if (take) store.delete(key);
  });
}

// Writes the persisted session [record, dpopKey] under `id`; without a record (undefined),
// deletes what is stored there, record and key.
export function sessionWrite(id, record, dpopKey) {
  return transact('session', (store) => (record === undefined ? store.delete(id) : store.put([record, dpopKey], id)));
}

// Reads [record, dpopKey] stored under `id` (undefined: none).
export function sessionGet(id) {
  return transact('session', (store, done) => {
    const read = store.get(id);
    read.onsuccess = () => done(Array.isArray(read.result) ? read.result : undefined);
  });
}

