import { useState, useSyncExternalStore } from 'react';
import { useAuth, withAuthenticationRequired } from 'oidc-worker/react';

import { SessionPanel } from './SessionPanel.jsx';

// Two views, chosen by the URL's hash (#/ and #/profile), so that any static server can host the app.
const onHashChange = (notify) => {
  window.addEventListener('hashchange', notify);
  return () => window.removeEventListener('hashchange', notify);
};
const useHashRoute = () => useSyncExternalStore(onHashChange, () => window.location.hash || '#/');

export function App({ apiOrigin }) {
  const { isLoading, isAuthenticated, user, error, loginWithRedirect, logout } = useAuth();
  const route = useHashRoute();

  return (
    <main>
      <h1>oidc-worker · React</h1>
      <nav>
        <a href="#/">Home</a>
        <a href="#/profile">Profile</a>
      </nav>
      {isLoading ? (
        <p>Loading…</p>
      ) : isAuthenticated ? (
        <p>
          Signed in as <strong id="user-name">{user.name ?? user.sub}</strong>{' '}
          <button id="sign-out" type="button" onClick={() => logout()}>Sign out</button>
        </p>
      ) : (
        <p>
          Signed out.{' '}
          {/* A failed login start is also in useAuth().error, shown below. */}
          <button id="sign-in" type="button" onClick={() => loginWithRedirect().catch(() => {})}>Sign in</button>
        </p>
      )}
      {error && <p id="error" role="alert">{error.code}{error.reason ? ` (${error.reason})` : ''}: {error.message}</p>}
      {route === '#/profile' ? <Profile apiOrigin={apiOrigin} /> : <Home />}
      <SessionPanel apiOrigin={apiOrigin} />
    </main>
  );
}

function Home() {
  return <p>The tokens stay in oidc-worker's Web Worker; this page only sees the user's claims.</p>;
}

// Signed-out visitors of #/profile are sent to the provider's login, and come back to #/profile.
const Profile = withAuthenticationRequired(
  function Profile({ apiOrigin }) {
    const auth = useAuth();
    const [answer, setAnswer] = useState(null);

    async function callApi() {
      try {
        // Sent by the worker with `Authorization: Bearer <access token>`; the page never sees the token.
        const response = await auth.fetch(`${apiOrigin}/me`);
        setAnswer({ status: response.status, body: await response.json() });
      } catch (error) {
        setAnswer({ error: `${error.code ?? error.name}: ${error.message}` });
      }
    }

    return (
      <section>
        <h2>Profile</h2>
        <p>Only signed-in users see this view.</p>
        <button id="call-api" type="button" onClick={callApi}>Call GET {apiOrigin}/me</button>
        {answer && <pre id="api-result">{JSON.stringify(answer, null, 2)}</pre>}
      </section>
    );
  },
  { onRedirecting: () => <p>Redirecting to the sign-in page…</p> },
);
