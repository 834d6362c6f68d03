// Browser-wide request interception through the DevTools protocol (`Fetch` on the browser target):
// it sees and steers the requests of every page, dedicated worker and SharedWorker of the browser.
// Playwright's page.route() / context.route() and request events miss a SharedWorker's requests
// (the session holder of `sharing: "browser"`), so tests about what the holder sends use this.
//
//   const seen = await interceptRequests(browser, stack.op.urls.revocation);
//   seen.requests        // [{ method, url, headers (lower-case names), params (URLSearchParams of the
//                        //    body), resourceType, failed }] in order
//   seen.fail = 'ConnectionRefused';   // from now on fail each such request (a CDP Network.ErrorReason)
//   seen.fail = null;                  // let them through again (the default)
//   await seen.stop();
//
// Start it before the page or worker whose requests matter starts: in Chromium 156 the browser-wide
// interception covers targets created after Fetch.enable, not a worker already running (checked).

/** Intercept the requests whose URL matches `urlPattern` (CDP pattern: `*` and `?` wildcards). */
export async function interceptRequests(browser, urlPattern) {
  const cdp = await browser.newBrowserCDPSession();
  const seen = {
    requests: [],
    /** null: continue every request; else the Network.ErrorReason to fail them with. */
    fail: null,
    async stop() {
      await cdp.send('Fetch.disable').catch(() => {});
      await cdp.detach().catch(() => {});
    },
  };
  cdp.on('Fetch.requestPaused', ({ requestId, request, resourceType }) => {
    const body = request.postData
      ?? (request.postDataEntries ?? []).map((e) => Buffer.from(e.bytes ?? '', 'base64').toString('utf8')).join('');
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const failed = seen.fail;
    seen.requests.push({
      method: request.method, url: request.url, headers, params: new URLSearchParams(body), resourceType, failed,
    });
    const answer = failed
      ? cdp.send('Fetch.failRequest', { requestId, errorReason: failed })
      : cdp.send('Fetch.continueRequest', { requestId });
    answer.catch(() => {}); // the browser or its target went away
  });
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern, requestStage: 'Request' }] });
  return seen;
}
