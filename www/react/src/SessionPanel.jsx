import { useEffect, useState } from 'react';
import { useAuth } from 'oidc-worker/react';

import {
  UNKNOWN_EXPIRY, clock, describeEvent, expiryText, holderText, nextExpiry, storageNames, storageText,
} from './session.js';

const EVENTS = ['login', 'tokenRefreshed', 'logout', 'sessionExpired', 'error'];
let seq = 0;

// What this tab knows about the session, live: the user, the access token's expiry (from the
// events), the events as they arrive (from any tab), who holds the session, and the names in this
// page's storage. Every tab of the app shares one session: open a second one and sign out there.
export function SessionPanel({ apiOrigin }) {
  const auth = useAuth();
  const [log, setLog] = useState([]);
  const [expiry, setExpiry] = useState(UNKNOWN_EXPIRY);
  const [now, setNow] = useState(Date.now());
  const [storage, setStorage] = useState(null);
  const [answer, setAnswer] = useState(null);

  // Subscribed in an effect, which runs before <AuthProvider> starts the client: the login of a
  // callback handled at start is heard too. Every second: the countdown and the storage line.
  useEffect(() => {
    let alive = true;
    const readStorage = () => storageNames().then((names) => { if (alive) setStorage(names); });
    const stops = EVENTS.map((name) => auth.on(name, (detail) => {
      setLog((lines) => [{ id: ++seq, at: Date.now(), name, text: describeEvent(name, detail) }, ...lines].slice(0, 6));
      setExpiry((current) => nextExpiry(current, name, detail));
      readStorage(); // e.g. the session hint, written or removed as the event arrived
    }));
    const tick = () => { setNow(Date.now()); readStorage(); };
    tick();
    const timer = setInterval(tick, 1000);
    return () => {
      alive = false;
      clearInterval(timer);
      for (const stop of stops) stop();
    };
  }, [auth.on]);

  async function callApi() {
    try {
      // The worker sends it with the access token; the page never sees the token.
      const response = await auth.fetch(`${apiOrigin}/me`);
      const body = await response.json();
      setAnswer(`${response.status}${body.sub ? `, sub ${body.sub}` : ''}`);
    } catch (error) {
      setAnswer(`${error.code ?? error.name}: ${error.message}`);
    }
  }

  const { user, isAuthenticated, isLoading } = auth;
  return (
    <section id="session-panel" className="panel" aria-label="Session">
      <h2>This tab's view of the session</h2>
      <dl>
        <dt>User</dt>
        <dd id="session-user">
          {isLoading ? '…' : user ? `${user.name ?? user.sub} (sub ${user.sub})` : 'nobody: signed out'}
        </dd>
        <dt>Access token</dt>
        <dd id="session-expiry">{isLoading ? '…' : expiryText(expiry, isAuthenticated, now)}</dd>
        <dt>Held by</dt>
        <dd id="session-holder">{holderText(auth.client()?.sharing)}</dd>
        <dt>This page's storage</dt>
        <dd id="session-storage">{storage ? storageText(storage) : '…'}</dd>
      </dl>
      <p className="panel-actions">
        <button id="session-call-api" type="button" disabled={!isAuthenticated} onClick={callApi}>
          Call the API (auth.fetch)
        </button>
        {answer && <output id="session-api-result">GET /me: {answer}</output>}
        <a id="open-tab" href="/" target="_blank" rel="noopener">Open the app in a new tab ↗</a>
      </p>
      <h3>Events in this tab</h3>
      <ol id="session-events">
        {log.length === 0 && <li className="empty">none yet (login, tokenRefreshed, logout and sessionExpired of any tab show here)</li>}
        {log.map((line) => (
          <li key={line.id} data-event={line.name}><time>{clock(line.at)}</time> {line.text}</li>
        ))}
      </ol>
    </section>
  );
}
