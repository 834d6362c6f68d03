// A worker script that runs and then never answers as a session holder (a SharedWorker), and
// fails at once as a dedicated worker: what a page sees of a holder whose `error` event Chromium
// did not deliver. Used by tests/e2e/worker-url.test.mjs for the page's bound on a holder's start.
if (!('onconnect' in self)) throw new Error('idle-worker.js: not a dedicated worker');
