// The DevTools protocol of the app's SharedWorkers (the session holder of `sharing: "browser"`).
// Playwright reports a page's dedicated workers (page.on('worker'), request events, page.route)
// but nothing of a SharedWorker: it detaches from those targets at once. So a test that must see
// or steer what the holder does (its requests, its console, its timers, a fault inside it) attaches
// itself, through a browser-level CDP session, to every `shared_worker` target it discovers.
//
//   const holders = await watchSharedWorkers(browser, { onWorker: (w) => w.send('Network.enable') });
//   const holder = await holders.next();          // the first one attached (waits for it)
//   holder.on('Network.requestWillBeSent', (p) => ...);
//   await holder.send('Runtime.evaluate', { expression: '...', returnByValue: true });
//   holders.all                                   // every holder attached so far, in order
//   await holders.stop();
//
// Attaching happens once the target exists, i.e. after the worker started: what it did before
// (fetching its script and wasm, its first messages) is not seen, but for console messages, which
// Runtime.enable replays. For its requests see intercept.mjs. The sessions are not flattened
// (Playwright's browser session routes only its own flattened sessions): messages go through
// Target.sendMessageToTarget / Target.receivedMessageFromTarget. (tests/support/holder.mjs reads a
// holder's heap and port counters through this module.)

/**
 * Attach to every SharedWorker target of `browser`, those that exist and those to come.
 * `onWorker(worker)`: awaited before the worker is handed out (e.g. to enable domains).
 * `filter(targetInfo)`: which targets to attach to (default: all).
 * A worker is { targetId, url, title, browserContextId, closed, send(method, params), on(method, listener) }.
 */
export async function watchSharedWorkers(browser, { onWorker, filter = () => true } = {}) {
  const cdp = await browser.newBrowserCDPSession();
  const bySession = new Map();
  const all = [];
  const waiters = [];
  let nextId = 0;

  const attach = async (info) => {
    if (info.type !== 'shared_worker' || !filter(info) || all.some((w) => w.targetId === info.targetId)) return;
    const placeholder = { targetId: info.targetId };
    all.push(placeholder);
    let sessionId;
    try {
      ({ sessionId } = await cdp.send('Target.attachToTarget', { targetId: info.targetId, flatten: false }));
    } catch {
      all.splice(all.indexOf(placeholder), 1); // gone before we got there
      return;
    }
    const pending = new Map();
    const listeners = new Map();
    const worker = {
      targetId: info.targetId,
      url: info.url,
      title: info.title,
      browserContextId: info.browserContextId,
      closed: false,
      send(method, params = {}) {
        if (worker.closed) return Promise.reject(new Error(`shared worker ${info.url} is gone (${method})`));
        const id = ++nextId;
        return new Promise((resolve, reject) => {
          pending.set(id, { resolve, reject, method });
          cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) })
            .catch((error) => { pending.delete(id); reject(error); });
        });
      },
      on(method, listener) {
        if (!listeners.has(method)) listeners.set(method, new Set());
        listeners.get(method).add(listener);
        return () => listeners.get(method).delete(listener);
      },
    };
    bySession.set(sessionId, { worker, pending, listeners });
    all[all.indexOf(placeholder)] = worker;
    try {
      await onWorker?.(worker);
    } catch {
      // the worker went away meanwhile
    }
    for (const waiter of waiters.splice(0)) waiter();
  };

  cdp.on('Target.receivedMessageFromTarget', ({ sessionId, message }) => {
    const attached = bySession.get(sessionId);
    if (!attached) return;
    const data = JSON.parse(message);
    if (data.id !== undefined) {
      const call = attached.pending.get(data.id);
      attached.pending.delete(data.id);
      if (data.error) call?.reject(new Error(`${call.method}: ${data.error.message}`));
      else call?.resolve(data.result);
    } else {
      for (const listener of attached.listeners.get(data.method) ?? []) listener(data.params);
    }
  });
  cdp.on('Target.detachedFromTarget', ({ sessionId }) => {
    const attached = bySession.get(sessionId);
    if (!attached) return;
    attached.worker.closed = true;
    for (const { reject, method } of attached.pending.values()) reject(new Error(`shared worker ${attached.worker.url} is gone (${method})`));
    attached.pending.clear();
  });
  cdp.on('Target.targetCreated', ({ targetInfo }) => { attach(targetInfo); });
  await cdp.send('Target.setDiscoverTargets', { discover: true });
  const { targetInfos } = await cdp.send('Target.getTargets');
  await Promise.all(targetInfos.map(attach));

  const ready = () => all.filter((w) => w.send);
  return {
    /** Every worker attached so far (and handed to onWorker), in order of attachment. */
    get all() { return ready(); },
    /** The `index`-th worker attached (default: the first), once it is; rejects after `timeout` ms. */
    async next({ index = 0, timeout = 20_000 } = {}) {
      const deadline = Date.now() + timeout;
      while (!ready()[index]) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no shared worker #${index + 1} attached within ${timeout} ms`);
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => { clearTimeout(timer); resolve(); });
        });
      }
      return ready()[index];
    },
    async stop() {
      await cdp.detach().catch(() => {});
    },
  };
}

/**
 * Evaluate `expression` in a worker (a CDP `Runtime.evaluate`, awaiting a promise); returns its
 * value, or throws with the exception's description.
 */
export async function evaluateIn(worker, expression) {
  const { result, exceptionDetails } = await worker.send('Runtime.evaluate', {
    expression, returnByValue: true, awaitPromise: true,
  });
  if (exceptionDetails) throw new Error(`evaluate in ${worker.url}: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
  return result.value;
}

/** The DevTools `browserContextId` of a Playwright page's context. */
export async function browserContextIdOf(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { targetInfo } = await cdp.send('Target.getTargetInfo');
    return targetInfo.browserContextId;
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/**
 * The session holder (the SharedWorker running the package's worker.js) of `page`'s browser
 * context, attached: { holder, stop() }. Call it once the page has connected (e.g. after
 * waitForApp). With `onWorker` as in watchSharedWorkers.
 */
export async function holderOfPage(browser, page, { onWorker, timeout } = {}) {
  const contextId = await browserContextIdOf(page);
  const holders = await watchSharedWorkers(browser, {
    onWorker,
    filter: (info) => info.browserContextId === contextId && new URL(info.url).pathname.endsWith('/worker.js'),
  });
  try {
    return { holder: await holders.next({ timeout }), stop: holders.stop };
  } catch (error) {
    await holders.stop();
    throw error;
  }
}

/**
 * Chromium hands a SharedWorker's script response to the worker, and the creating page's record of
 * that request never completes: DevTools (Playwright's `requestfailed`) reports it as
 * `net::ERR_ABORTED` once the page navigates or closes, although the server answered it and the
 * worker runs. True for exactly that case: `errorText` is net::ERR_ABORTED, `url` is the script of
 * one of `holders` (what watchSharedWorkers returned), and `served` (a static server's request
 * log, [{ path, status }]) answered its path 200.
 */
export function isHolderScriptAbort(url, errorText, holders, served) {
  return errorText === 'net::ERR_ABORTED'
    && holders.all.some((w) => w.url === url)
    && served.some((q) => q.path === new URL(url).pathname && q.status === 200);
}
