// A worker script that, as a session holder (a SharedWorker), runs and never answers: what a page
// sees of a holder whose start Chromium did not report. As a dedicated worker it is the real
// worker (../worker.js next to it), with the messages that came while that loaded handed over in
// order. Used by tests/e2e/worker-url.test.mjs: the page falls back to a worker of its own, which
// works.
if (!('onconnect' in self)) {
  const early = [];
  self.onmessage = (event) => early.push(event);
  await import('../worker.js');
  for (const event of early) self.onmessage(event);
}
