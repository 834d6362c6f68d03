/**
 * `oidc-worker/vue` (Vue ≥ 3.5): a plugin ({@link createAuth}) that owns one client per app, a
 * {@link useAuth} composable with reactive state, and a vue-router guard
 * ({@link createAuthGuard}).
 *
 * @example
 * ```ts
 * import { createApp } from 'vue';
 * import { createAuth, createAuthGuard } from 'oidc-worker/vue';
 *
 * const auth = createAuth({ issuer: 'https://login.example.com', clientId: 'my-spa', redirectUri: location.origin + '/' });
 * router.beforeEach(createAuthGuard(auth));          // optional: routes with meta.requiresAuth
 * createApp(App).use(auth).use(router).mount('#app');
 *
 * // in a component's setup():
 * const { isLoading, isAuthenticated, user, loginWithRedirect, logout } = useAuth();
 * ```
 *
 * The plugin handles the login callback itself (a URL on `redirectUri` with `state` and `code`
 * or `error`), once. On the server (no `window`) it stays in the loading state and starts
 * nothing.
 *
 * @packageDocumentation
 */
import { inject, readonly, shallowRef, type App, type InjectionKey, type Ref } from 'vue';

import { createAuthStore, type AuthActions, type AuthSnapshot, type RedirectCallback } from './auth-store.js';
import type { AuthClientOptions, AuthError, LoginOptions, UserClaims } from './index.js';

export type { AuthSnapshot, AuthActions, RedirectCallback } from './auth-store.js';

/** The plugin and what {@link useAuth} returns: reactive state and the calls. */
export interface VueAuth extends AuthActions {
  /** `true` until the client is up, any callback handled and the user known. */
  readonly isLoading: Readonly<Ref<boolean>>;
  /** Whether there is a session. */
  readonly isAuthenticated: Readonly<Ref<boolean>>;
  /** The validated ID token claims, or `null`. */
  readonly user: Readonly<Ref<UserClaims | null>>;
  /** The last error of starting, of the callback, or of a login/logout started here. */
  readonly error: Readonly<Ref<AuthError | null>>;
  /** Resolves once `isLoading` is `false`. */
  ready(): Promise<void>;
  /** Installs the plugin: provides {@link useAuth} and starts the client (browser only). */
  install(app: App): void;
}

/** Options of {@link createAuth}: the client's options, plus the callback. */
export interface VueAuthOptions extends AuthClientOptions {
  /**
   * Called with the `appState` of a login completed on this page. Default: replace the URL with
   * `appState.returnTo` when it is a same-origin path.
   */
  onRedirectCallback?: RedirectCallback;
}

const AUTH: InjectionKey<VueAuth> = Symbol('oidc-worker');

/** The plugin: `app.use(createAuth(options))`. One client per plugin; closed when the app unmounts. */
export function createAuth({ onRedirectCallback, ...options }: VueAuthOptions): VueAuth {
  const store = createAuthStore(options, onRedirectCallback);
  const state = {
    isLoading: shallowRef(true),
    isAuthenticated: shallowRef(false),
    user: shallowRef<UserClaims | null>(null),
    error: shallowRef<AuthError | null>(null),
  };
  store.subscribe(() => {
    const snapshot: AuthSnapshot = store.getSnapshot();
    state.isLoading.value = snapshot.isLoading;
    state.isAuthenticated.value = snapshot.isAuthenticated;
    state.user.value = snapshot.user;
    state.error.value = snapshot.error;
  });
  const auth: VueAuth = {
    isLoading: readonly(state.isLoading),
    isAuthenticated: readonly(state.isAuthenticated),
    user: readonly(state.user) as Readonly<Ref<UserClaims | null>>,
    error: readonly(state.error) as Readonly<Ref<AuthError | null>>,
    ready: store.ready,
    loginWithRedirect: store.loginWithRedirect,
    loginWithPopup: store.loginWithPopup,
    loginWithDeviceCode: store.loginWithDeviceCode,
    logout: store.logout,
    getAccessToken: store.getAccessToken,
    fetch: store.fetch,
    on: store.on,
    client: store.client,
    install(app) {
      app.provide(AUTH, auth);
      store.start();
      app.onUnmount?.(() => store.stop());
    },
  };
  return auth;
}

/** The app's {@link VueAuth}. Must be called in `setup()` of a component of an app that uses the plugin. */
export function useAuth(): VueAuth {
  const auth = inject(AUTH, null);
  if (!auth) throw new Error('useAuth() needs app.use(createAuth(...))');
  return auth;
}

/** Options of {@link createAuthGuard}. */
export interface AuthGuardOptions {
  /** Which routes need a session. Default: those with `meta.requiresAuth`. */
  requiresAuth?: (to: { meta?: Record<string | number | symbol, unknown> }) => boolean;
  /** Options for the login; `appState` defaults to `{ returnTo: to.fullPath }`. */
  loginOptions?: LoginOptions;
}

/**
 * A vue-router `beforeEach` guard: waits for the session to be known, lets signed-in users
 * through, and sends anyone else to the login (cancelling the navigation), to come back to the
 * route afterwards.
 */
export function createAuthGuard(auth: VueAuth, { requiresAuth = (to) => to.meta?.requiresAuth === true, loginOptions }: AuthGuardOptions = {}) {
  return async (to: { fullPath: string; meta?: Record<string | number | symbol, unknown> }): Promise<boolean> => {
    // On the server nothing starts: render, and let the browser decide.
    if (!requiresAuth(to) || typeof window === 'undefined') return true;
    await auth.ready();
    if (auth.isAuthenticated.value) return true;
    await auth.loginWithRedirect({ appState: { returnTo: to.fullPath }, ...loginOptions });
    return false;
  };
}
