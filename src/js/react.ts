/**
 * `oidc-worker/react`: an {@link AuthProvider} that owns one client, a {@link useAuth} hook,
 * and a {@link withAuthenticationRequired} guard.
 *
 * @example
 * ```tsx
 * import { AuthProvider, useAuth } from 'oidc-worker/react';
 *
 * createRoot(el).render(
 *   <AuthProvider issuer="https://login.example.com" clientId="my-spa" redirectUri={location.origin + '/'}>
 *     <App />
 *   </AuthProvider>,
 * );
 *
 * function App() {
 *   const { isLoading, isAuthenticated, user, loginWithRedirect, logout } = useAuth();
 *   if (isLoading) return <p>Loading…</p>;
 *   return isAuthenticated
 *     ? <button onClick={() => logout()}>Sign out {user?.name as string}</button>
 *     : <button onClick={() => loginWithRedirect()}>Sign in</button>;
 * }
 * ```
 *
 * The provider handles the login callback itself (a URL on `redirectUri` with `state` and
 * `code` or `error`), once, also under `<StrictMode>`, whose replayed effect keeps the same
 * client instead of starting a second worker. On the server it renders its children in the
 * loading state and starts nothing.
 *
 * @packageDocumentation
 */
import {
  createContext,
  createElement,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
  type ComponentType,
  type ReactNode,
} from 'react';

import { createAuthStore, type AuthActions, type AuthSnapshot, type RedirectCallback } from './auth-store.js';
import type { AuthClientOptions, LoginOptions } from './index.js';

export type { AuthSnapshot, AuthActions, RedirectCallback } from './auth-store.js';

/** What {@link useAuth} returns: the session's state and the calls. */
export interface AuthContextValue extends AuthSnapshot, AuthActions {}

/** Props of {@link AuthProvider}: the client's options, plus the children and the callback. */
export interface AuthProviderProps extends AuthClientOptions {
  /** The app. */
  children?: ReactNode;
  /**
   * Called with the `appState` of a login completed on this page. Default: replace the URL with
   * `appState.returnTo` when it is a same-origin path.
   */
  onRedirectCallback?: RedirectCallback;
}

const AuthContext = createContext<AuthContextValue | null>(null);

/**
 * Owns one client for its lifetime (closed on unmount) and gives {@link useAuth} to its
 * subtree. The options are read once, at mount.
 */
export function AuthProvider({ children, onRedirectCallback, ...options }: AuthProviderProps): ReactNode {
  // Created once per provider instance; creating a store starts nothing (no worker yet).
  const [store] = useState(() => createAuthStore(options, onRedirectCallback));
  useEffect(() => {
    store.start();
    return () => store.stop();
  }, [store]);
  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  const value = useMemo<AuthContextValue>(() => ({
    ...snapshot,
    loginWithRedirect: store.loginWithRedirect,
    loginWithPopup: store.loginWithPopup,
    loginWithDeviceCode: store.loginWithDeviceCode,
    logout: store.logout,
    getAccessToken: store.getAccessToken,
    fetch: store.fetch,
    on: store.on,
    client: store.client,
  }), [snapshot, store]);
  return createElement(AuthContext.Provider, { value }, children);
}

/** The session's state and calls. Must be used under an {@link AuthProvider}. */
export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth() must be used inside <AuthProvider>');
  return value;
}

/** Options of {@link withAuthenticationRequired}. */
export interface AuthenticationRequiredOptions {
  /** What to render while loading or redirecting to the login. Default: nothing. */
  onRedirecting?: () => ReactNode;
  /** Options for the login; `appState` defaults to `{ returnTo: <current path> }`. */
  loginOptions?: LoginOptions;
}

/**
 * Wraps a component so that it renders only for a signed-in user; anyone else is sent to the
 * login, and comes back to the same path afterwards.
 */
export function withAuthenticationRequired<P extends object>(
  Component: ComponentType<P>,
  { onRedirecting = () => null, loginOptions }: AuthenticationRequiredOptions = {},
): ComponentType<P> {
  function Required(props: P): ReactNode {
    const { isLoading, isAuthenticated, error, loginWithRedirect } = useAuth();
    useEffect(() => {
      if (isLoading || isAuthenticated || error) return;
      const returnTo = `${location.pathname}${location.search}${location.hash}`;
      void loginWithRedirect({ appState: { returnTo }, ...loginOptions }).catch(() => {});
    }, [isLoading, isAuthenticated, error, loginWithRedirect]);
    return isAuthenticated ? createElement(Component, props) : onRedirecting();
  }
  Required.displayName = `withAuthenticationRequired(${Component.displayName ?? Component.name ?? 'Component'})`;
  return Required;
}
