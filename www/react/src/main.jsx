// oidc-worker in a React app, bundled by Vite with no plugin and no config: Vite compiles JSX itself,
// and it emits the package's worker and .wasm as separate files on its own.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { AuthProvider } from 'oidc-worker/react';

import { App } from './App.jsx';
import './style.css';

const root = createRoot(document.getElementById('root'));

// The provider and the API come from /config.json next to the app: { issuer, clientId, apiOrigin }.
fetch('/config.json')
  .then((response) => {
    if (!response.ok) throw new Error(`/config.json: HTTP ${response.status}`);
    return response.json();
  })
  .then(({ issuer, clientId, apiOrigin }) => {
    const appUrl = `${location.origin}/`; // registered at the provider as redirect and post-logout URI
    root.render(
      <StrictMode>
        <AuthProvider
          issuer={issuer}
          clientId={clientId}
          redirectUri={appUrl}
          postLogoutRedirectUri={appUrl}
          scope="openid profile"
          apiOrigins={[apiOrigin]} // the only origin auth.fetch() sends the access token to
        >
          <App apiOrigin={apiOrigin} />
        </AuthProvider>
      </StrictMode>,
    );
  })
  .catch((error) => root.render(<p role="alert">{error.message}</p>));
