// The session holder (the package's SharedWorker) seen from the DevTools Protocol: Playwright has
// no handle on shared workers, so this attaches to the worker target through the browser's CDP
// session and runs protocol commands there (heap use, live MessagePort objects).

/**
 * Attach to the shared worker whose script URL contains `urlPart` (default: the package's
 * `worker.js`). Returns { send(method, params), heapUsed(), livePorts(), detach() }, or throws if
 * there is no such target.
 */
export async function attachHolder(browser, { urlPart = '/worker.js' } = {}) {
  const cdp = await browser.newBrowserCDPSession();
  const { targetInfos } = await cdp.send('Target.getTargets');
  const target = targetInfos.find((t) => t.type === 'shared_worker' && t.url.includes(urlPart));
  if (!target) {
    await cdp.detach();
    throw new Error(`no shared worker target with ${urlPart}: ${targetInfos.map((t) => `${t.type} ${t.url}`).join(', ')}`);
  }
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false });
  let nextId = 1;
  const waiting = new Map();
  cdp.on('Target.receivedMessageFromTarget', (event) => {
    if (event.sessionId !== sessionId) return;
    const message = JSON.parse(event.message);
    const caller = waiting.get(message.id);
    if (!caller) return;
    waiting.delete(message.id);
    if (message.error) caller.reject(new Error(`${message.error.message} (${JSON.stringify(message.error)})`));
    else caller.resolve(message.result);
  });
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(reject);
  });
  return {
    target,
    send,
    /** JS heap in use after a full garbage collection, in bytes. */
    async heapUsed() {
      await send('HeapProfiler.collectGarbage');
      return (await send('Runtime.getHeapUsage')).usedSize;
    },
    /** How many MessagePort objects are alive in the holder (one per connected page), after a GC. */
    async livePorts() {
      await send('HeapProfiler.collectGarbage');
      const proto = await send('Runtime.evaluate', { expression: 'MessagePort.prototype' });
      const { objects } = await send('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId });
      const { result } = await send('Runtime.callFunctionOn', {
        objectId: objects.objectId, functionDeclaration: 'function () { return this.length; }', returnByValue: true,
      });
      await send('Runtime.releaseObject', { objectId: objects.objectId });
      await send('Runtime.releaseObject', { objectId: proto.result.objectId });
      return result.value;
    },
    async detach() {
      await cdp.send('Target.detachFromTarget', { sessionId }).catch(() => {});
      await cdp.detach().catch(() => {});
    },
  };
}
