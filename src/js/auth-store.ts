/**
 * The state the framework adapters (`oidc-worker/react`, `oidc-worker/vue`) render from: one
 * client per store, the login callback handled at most once, and a snapshot
 * `{ isLoading, isAuthenticated, user, error }` that changes only through this store.
 *
 * It holds no token and no protocol logic: it calls the client and remembers what it answered.
 * It does nothing on the server: {@link AuthStore.start} is a no-op without `window`.
 *
 * @packageDocumentation
 */
import {
  createAuthClient,
  AuthError,
  type AuthClient,
  type AuthClientOptions,
  type AuthEvents,
  type DeviceLoginOptions,
  type GetAccessTokenOptions,
  type LoginOptions,
  type LogoutOptions,
  type PopupLoginOptions,
  type RedirectResult,
  type UserClaims,
} from './index.js';

/** What the adapters render from. */
export interface AuthSnapshot {
  /** `true` until the client is up, any callback in the URL handled and the user known. */
  readonly isLoading: boolean;
  /** Whether there is a session. */
  readonly isAuthenticated: boolean;
  /** The validated ID token claims, or `null`. */
  readonly user: UserClaims | null;
  /** The last error of starting, of the callback, or of a login/logout started here. */
  readonly error: AuthError | null;
}

/**
 * The calls every adapter exposes; the promise-returning ones wait for the client to be up.
 */
export interface AuthActions {
  /** See {@link AuthClient.loginWithRedirect}. */
  loginWithRedirect(options?: LoginOptions): Promise<void>;
  /**
   * See {@link AuthClient.loginWithPopup}; call it from a click handler. Before the client is
   * up it opens the popup itself, at once, and hands it over. Updates the snapshot.
   */
  loginWithPopup<S = unknown>(options?: PopupLoginOptions): Promise<RedirectResult<S>>;
  /** See {@link AuthClient.loginWithDeviceCode}. Updates the snapshot. */
  loginWithDeviceCode(options: DeviceLoginOptions): Promise<void>;
  /**
   * See {@link AuthClient.logout}. Updates the snapshot to signed-out unless it navigates to the
   * provider's logout page (then the page is leaving, and guarded views must not start a login).
   */
  logout(options?: LogoutOptions): Promise<void>;
  /**
   * See {@link AuthClient.getAccessToken}: only with `exposeAccessToken: true`; by default it
   * rejects with `config` (`access_token_not_exposed`). Call APIs with `fetch` instead.
   */
  getAccessToken(options?: GetAccessTokenOptions): Promise<string>;
  /** See {@link AuthClient.fetch}. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /**
   * See {@link AuthClient.on}: the client's session events, whichever page caused them (a
   * logout in another tab reaches this one). Listening may start before the client is up, so
   * the `login` of a callback handled at start is heard too. Returns the function that stops
   * listening.
   */
  on<K extends keyof AuthEvents>(name: K, listener: (detail: AuthEvents[K]) => void): () => void;
  /** The client, once started (e.g. for {@link AuthClient.sharing}); `undefined` before. */
  client(): AuthClient | undefined;
}

/** Called with the `appState` of a completed login. Default: go to `appState.returnTo` if it is a same-origin path. */
export type RedirectCallback = (appState: unknown) => void;

/** A store: the snapshot, its subscribers, and the one client behind them. */
export interface AuthStore extends AuthActions {
  /** The current snapshot (a new object after every change). */
  getSnapshot(): AuthSnapshot;
  /** Calls `listener` after every change; returns the function that stops it. */
  subscribe(listener: () => void): () => void;
  /**
   * Starts the client (once), handles a login callback in the URL (once), and loads the user.
   * A no-op on the server. Calling it again, also after {@link AuthStore.stop} in the same task
   * (React StrictMode's effect replay), keeps the same client.
   */
  start(): void;
  /** Closes the client, unless {@link AuthStore.start} is called again before the next task. */
  stop(): void;
  /** Resolves once `isLoading` is `false`. */
  ready(): Promise<void>;
}

const LOADING: AuthSnapshot = Object.freeze({ isLoading: true, isAuthenticated: false, user: null, error: null });

/** The default {@link RedirectCallback}: back to the path the login started from. */
function returnTo(appState: unknown): void {
  const target = (appState as { returnTo?: unknown } | null)?.returnTo;
  if (typeof target !== 'string' || !target.startsWith('/') || target.startsWith('//')) return;
  const url = new URL(target, location.origin);
  if (url.origin === location.origin && url.href !== location.href) history.replaceState(history.state, '', url);
}

/**
 * Whether the current URL is a login callback for `redirectUri`: that path (and origin), with
 * `state` and either `code` or `error` (RFC 6749 §4.1.2, §4.1.2.1).
 */
function isCallback(redirectUri: string): boolean {
  const here = new URL(location.href);
  const target = new URL(redirectUri, location.href);
  const params = here.searchParams;
  return here.origin === target.origin && here.pathname === target.pathname
    && params.has('state') && (params.has('code') || params.has('error'));
}

/** A store for one client with these options. Creating it starts nothing. */
export function createAuthStore(options: AuthClientOptions, onRedirectCallback: RedirectCallback = returnTo): AuthStore {
  let snapshot = LOADING;
  const listeners = new Set<() => void>();
  let starting: Promise<AuthClient> | undefined;
  let current: AuthClient | undefined;
  /** Bumped by every start and stop, so a client that finishes starting after a stop is dropped. */
  let generation = 0;
  /** The login in flight: a second call (a double click, StrictMode's replayed effect) joins it. */
  let redirecting: Promise<void> | undefined;
  /**
   * A logout that navigates to the provider is under way: the page is leaving, so the state is
   * not flipped to signed-out (a guarded view would start a login whose navigation replaces the
   * provider's logout page).
   */
  let leaving = false;
  let closeTimer: ReturnType<typeof setTimeout> | undefined;
  let markReady: () => void = () => {};
  let readiness = new Promise<void>((resolve) => { markReady = resolve; });
  /** The app's event listeners ({@link AuthActions.on}), by event name; they outlive clients. */
  const handlers = new Map<string, Set<(detail: any) => void>>();

  const set = (patch: Partial<AuthSnapshot>): void => {
    snapshot = Object.freeze({ ...snapshot, ...patch });
    if (!snapshot.isLoading) markReady();
    for (const listener of listeners) listener();
  };
  const asAuthError = (error: unknown): AuthError => error instanceof AuthError
    ? error
    : new AuthError({ code: 'config', reason: 'failed', message: String((error as Error)?.message ?? error) });

  /** Reads the session from the client into the snapshot. */
  const sync = async (client: AuthClient, error: AuthError | null = snapshot.error): Promise<void> => {
    const isAuthenticated = await client.isAuthenticated();
    const user = isAuthenticated ? await client.getUser() : null;
    set({ isLoading: false, isAuthenticated, user, error });
  };

  const boot = async (mine: number): Promise<AuthClient> => {
    const client = await createAuthClient(options);
    if (mine !== generation) {
      client.close(); // stopped while starting
      return client;
    }
    current = client;
    for (const name of ['login', 'tokenRefreshed', 'sessionExpired', 'logout'] as const) {
      client.on(name, () => { if (current === client && !leaving) void sync(client).catch(() => {}); });
    }
    for (const name of ['login', 'tokenRefreshed', 'sessionExpired', 'logout', 'error'] as const) {
      client.on(name, (detail) => {
        if (current !== client) return;
        for (const listener of [...(handlers.get(name) ?? [])]) {
          try {
            listener(detail);
          } catch {
            // A throwing listener must not break the store or the other listeners.
          }
        }
      });
    }
    let error: AuthError | null = null;
    if (isCallback(options.redirectUri)) {
      try {
        const { appState } = await client.handleRedirectCallback();
        onRedirectCallback(appState);
      } catch (e) {
        error = asAuthError(e);
      }
    }
    await sync(client, error);
    return client;
  };

  const ensure = (): Promise<AuthClient> => {
    if (!starting) throw new AuthError({ code: 'config', reason: 'not_started', message: 'the auth client is not started (browser only)' });
    return starting;
  };

  const store: AuthStore = {
    getSnapshot: () => snapshot,
    subscribe(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
    start() {
      clearTimeout(closeTimer);
      closeTimer = undefined;
      if (starting || typeof window === 'undefined') return;
      starting = boot(++generation);
      starting.catch((e) => set({ isLoading: false, error: asAuthError(e) }));
    },
    stop() {
      clearTimeout(closeTimer);
      closeTimer = setTimeout(() => {
        generation += 1;
        const stopping = starting;
        starting = undefined;
        current = undefined;
        snapshot = LOADING;
        readiness = new Promise<void>((resolve) => { markReady = resolve; });
        void stopping?.then((client) => client.close(), () => {});
      }, 0);
    },
    // Nothing starts on the server, so there is nothing to wait for.
    ready: () => (typeof window === 'undefined' ? Promise.resolve() : readiness),
    client: () => current,
    loginWithRedirect(loginOptions) {
      if (redirecting) return redirecting;
      const attempt = (async () => {
        try {
          await (await ensure()).loginWithRedirect(loginOptions);
        } catch (e) {
          set({ error: asAuthError(e) });
          throw e;
        }
      })();
      redirecting = attempt;
      const settled = (): void => {
        if (redirecting === attempt) redirecting = undefined;
      };
      attempt.then(settled, settled);
      return attempt;
    },
    async loginWithPopup(popupOptions = {}) {
      // The window must open in the click's task: before any await.
      const popup = current ? undefined : popupOptions.popup ?? open('', 'oidc-worker-popup', 'popup,width=500,height=640') ?? undefined;
      const login = current?.loginWithPopup(popupOptions);
      try {
        const result = await (login ?? (await ensure()).loginWithPopup({ ...popupOptions, popup }));
        if (current) await sync(current, null);
        return result as RedirectResult<any>;
      } catch (e) {
        set({ error: asAuthError(e) });
        throw e;
      }
    },
    async loginWithDeviceCode(deviceOptions) {
      const client = await ensure();
      try {
        await client.loginWithDeviceCode(deviceOptions);
        await sync(client, null);
      } catch (e) {
        set({ error: asAuthError(e) });
        throw e;
      }
    },
    async logout(logoutOptions) {
      const client = await ensure();
      const redirect = logoutOptions?.redirect !== false;
      leaving = redirect;
      let error: AuthError | null = null;
      let navigating = false;
      try {
        navigating = redirect && (await client.logout(logoutOptions)).url !== null;
      } catch (e) {
        error = asAuthError(e);
        throw e;
      } finally {
        // Unless the page is on its way to the provider: the session ended in the worker
        // whatever failed (e.g. the provider's metadata), so show it.
        if (!navigating) {
          leaving = false;
          await sync(client, error).catch(() => {});
        }
      }
    },
    getAccessToken: async (tokenOptions) => (await ensure()).getAccessToken(tokenOptions),
    fetch: async (input, init) => (await ensure()).fetch(input, init),
    on(name, listener) {
      let named = handlers.get(name);
      if (!named) handlers.set(name, (named = new Set()));
      const own = (detail: any): void => listener(detail);
      named.add(own);
      return () => { named.delete(own); };
    },
  };
  return store;
}
