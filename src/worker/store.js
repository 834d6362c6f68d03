// The shell's storage primitive, called from src/worker/store.rs: the pending login in
// IndexedDB. A full-page redirect to the provider ends the page and its worker, so the core's
// pending record (verifier, state, nonce, ...) must outlive them. It decides nothing: keys,
// records and expiry times all come from the Rust core. Written in JS because the same thing
// against web-sys costs the wasm module several KB.
//
// Records live in the `pending` object store of the `oidc-worker` database as
// [record, expiresAt], keyed by the core's pending key. Rejections carry no detail.

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open('oidc-worker', 1);
    request.onupgradeneeded = () => request.result.createObjectStore('pending');
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// Runs `work(store)` in one readwrite transaction; resolves with its result once committed.
async function transact(work) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction('pending', 'readwrite');
      let result;
      tx.oncomplete = () => resolve(result);
      tx.onerror = tx.onabort = () => reject(tx.error);
      work(tx.objectStore('pending'), (value) => (result = value));
    });
  } finally {
    db.close();
  }
}

// Stores `record` under `key` until `expiresAt` (Unix seconds), and purges every record that
// expired by `now`, in the same transaction.
export function storePut(key, record, expiresAt, now) {
  return transact((store) => {
    store.put([record, expiresAt], key);
    const cursor = store.openCursor();
    cursor.onsuccess = () => {
      const entry = cursor.result;
      if (!entry) return;
      if (!(entry.value?.[1] > now)) entry.delete();
      entry.continue();
    };
  });
}

// Removes the record under `key` and returns it, unless it expired by `now` (then undefined).
// Read and delete happen in one transaction: a record can be taken once, whatever follows.
export function storeTake(key, now) {
  return transact((store, done) => {
    const read = store.get(key);
    read.onsuccess = () => {
      const [record, expiresAt] = Array.isArray(read.result) ? read.result : [];
      done(typeof record === 'string' && expiresAt > now ? record : undefined);
    };
    store.delete(key);
  });
}
