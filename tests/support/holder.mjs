// Counters of the session holder (the package's SharedWorker), read through the DevTools
// Protocol: its JS heap and its live MessagePort objects (one per connected page). The
// attaching itself is shared-workers.mjs's.

import { watchSharedWorkers } from './shared-workers.mjs';

/**
 * Attach to the first shared worker of the browser whose script URL contains `urlPart` (default:
 * the package's `worker.js`). Returns { send(method, params), heapUsed(), livePorts(), detach() }.
 */
export async function attachHolder(browser, { urlPart = '/worker.js', timeout = 20_000 } = {}) {
  const holders = await watchSharedWorkers(browser, { filter: (t) => t.url.includes(urlPart) });
  let holder;
  try {
    holder = await holders.next({ timeout });
  } catch (error) {
    await holders.stop();
    throw error;
  }
  const send = (method, params) => holder.send(method, params);
  return {
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
    detach: () => holders.stop(),
  };
}
