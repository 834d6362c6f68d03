/**
 * oidc-worker: an OpenID Connect client for single-page apps.
 *
 * The protocol (authorization code flow with PKCE, ID token validation, refresh) runs in
 * a module Web Worker compiled from Rust to wasm. Tokens live only in the worker's memory:
 * the page gets the ID token claims and calls its APIs through {@link AuthClient.fetch}, which
 * attaches the access token in the worker. The refresh and ID tokens never reach the page; the
 * access token only with `exposeAccessToken: true`.
 *
 * @example
 * ```ts
 * const auth = await createAuthClient({ issuer, clientId, redirectUri, apiOrigins: ['https://api.example.com'] });
 * if (location.search.includes('state=')) await auth.handleRedirectCallback();
 * if (!(await auth.isAuthenticated())) await auth.loginWithRedirect();
 * const orders = await auth.fetch('https://api.example.com/orders');
 * ```
 *
 * @see {@link https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth | OIDC Core 1.0 §3.1}
 * @see {@link https://www.rfc-editor.org/rfc/rfc7636 | RFC 7636 (PKCE)}
 * @packageDocumentation
 */

/**
 * The stable machine-readable code of an {@link AuthError}; `switch (e.code)` narrows.
 *
 * - `config`: invalid options (then every call rejects with it), invalid call arguments, a worker
 *   that failed, a client used after {@link AuthClient.close}.
 * - `network`: a request failed, timed out or its response was too large (`reason`).
 * - `invalid_response`: a malformed provider response; `reason` includes `metadata` (the
 *   discovery document is invalid or lacks what the call needs, e.g. `jwks_uri`), `jwks` (a
 *   malformed key set, or a key WebCrypto refuses), `sub` (UserInfo about another subject) and
 *   `signature` (a signed UserInfo response whose JWS fails; the session stays).
 * - `issuer_mismatch`: the provider is not the configured issuer.
 * - `state_mismatch`: the callback's `state` is absent, unknown, expired or already used.
 * - `invalid_callback`: a malformed callback URL.
 * - `authorization_error`: the provider redirected back with `error=` (see `error`).
 * - `token_error`: the token endpoint answered with an OAuth error (see `error`, `status`).
 * - `invalid_id_token`: the ID token failed validation, at login or after a refresh (which ends
 *   the session: `sessionExpired`); `reason` names the check, e.g.
 *   `signature` (does not verify), `alg` (not allowed, or unsupported by this browser), `kid` (no
 *   matching key), `typ`, `auth_time`, `at_hash`, besides the claim checks (`iss`, `aud`, `exp`, ...).
 * - `login_required`: there is no session (or no longer one).
 */
export type AuthErrorCode =
  | 'config'
  | 'network'
  | 'invalid_response'
  | 'issuer_mismatch'
  | 'state_mismatch'
  | 'invalid_callback'
  | 'authorization_error'
  | 'token_error'
  | 'invalid_id_token'
  | 'login_required'
  | 'popup_blocked'
  | 'popup_closed'
  | 'timeout';

/** The plain error object the worker sends, from which an {@link AuthError} is built. */
export interface AuthErrorData {
  /** The stable code. */
  code: AuthErrorCode;
  /** A human-readable message; it never contains a token, code or other secret. */
  message: string;
  /** Which check failed, where the code has several (e.g. `timeout` for `network`). */
  reason?: string;
  /** The provider's OAuth `error` (`authorization_error`, `token_error`). */
  error?: string;
  /** The provider's OAuth `error_description`, when it sent a well-formed one. */
  errorDescription?: string;
  /** The HTTP status of a `token_error` response. */
  status?: number;
}

/**
 * Every failure of the client. Check `code` (stable), and `reason`, `error`,
 * `errorDescription`, `status` where they apply.
 *
 * @see {@link https://www.rfc-editor.org/rfc/rfc6749#section-5.2 | RFC 6749 §5.2} for `error`.
 */
export class AuthError extends Error {
  /** The stable machine-readable code. */
  declare readonly code: AuthErrorCode;
  /** Which check failed, where the code has several. */
  declare readonly reason?: string;
  /** The provider's OAuth `error` code. */
  declare readonly error?: string;
  /** The provider's OAuth `error_description`. */
  declare readonly errorDescription?: string;
  /** The HTTP status of a `token_error` response. */
  declare readonly status?: number;

  /** Builds the error from the worker's plain error object. */
  constructor({ code, message, reason, error, errorDescription, status }: AuthErrorData) {
    super(message);
    this.name = 'AuthError';
    Object.assign(this, { code, reason, error, errorDescription, status });
  }
}

/** Options of {@link createAuthClient}. Everything but `workerUrl` configures the worker. */
export interface AuthClientOptions {
  /** The issuer identifier: `https://` (`http://` only for loopback hosts). */
  issuer: string;
  /** The client identifier registered with the provider (a public client). */
  clientId: string;
  /** The registered redirect URI, where {@link AuthClient.handleRedirectCallback} runs. */
  redirectUri: string;
  /** Space-separated scopes; `openid` is always included. Default: `openid`. */
  scope?: string;
  /** Where the provider sends the browser after logout (must be registered). */
  postLogoutRedirectUri?: string;
  /** Allowed clock difference with the provider, in seconds. */
  clockSkewSeconds?: number;
  /** Extra parameters added to every authorization request. */
  extraAuthParams?: Record<string, string>;
  /**
   * Further `aud` values accepted in ID tokens besides `clientId` (e.g. an API the provider
   * also names). Any other audience is refused. Default: none.
   *
   * @see {@link https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation | OIDC Core 1.0 §3.1.3.7} step 3
   */
  trustedAudiences?: string[];
  /**
   * Refresh the access token in the worker shortly before it would expire, while the session
   * has a refresh token, so the first call after idle does not wait. At most one proactive
   * refresh per 30 s, however short-lived the tokens. Default: `true`.
   */
  autoRefresh?: boolean;
  /**
   * How many seconds before {@link AuthClient.getAccessToken} would have to refresh, the worker
   * does it on its own (0–3600). Default: 30.
   */
  refreshLeadSeconds?: number;
  /**
   * The only origins {@link AuthClient.fetch} sends requests to, each compared exactly
   * (`scheme://host[:port]`, `https` unless loopback). An entry may name the token its
   * requests carry: `{ origin, resource?, scope? }` (RFC 8707); a plain string gets the
   * login's token. Default: none (then `auth.fetch` refuses every request).
   */
  apiOrigins?: Array<string | ApiOrigin>;
  /**
   * `true` lets {@link AuthClient.getAccessToken} hand the access token to the page, where
   * any script can take it. Default: `false`: the access token stays in the worker,
   * `getAccessToken` rejects with `config` (`access_token_not_exposed`), and the app calls its
   * APIs through {@link AuthClient.fetch}.
   */
  exposeAccessToken?: boolean;
  /**
   * How long an {@link AuthClient.fetch} may take, response body included, in seconds (1–600);
   * then it rejects with `network` (`timeout`). Default: 30.
   */
  fetchTimeoutSeconds?: number;
  /**
   * The largest API response body {@link AuthClient.fetch} accepts, in bytes (1–1073741824);
   * a larger one rejects with `network` (`too_large`). Default: 10485760 (10 MiB).
   */
  fetchMaxResponseBytes?: number;
  /**
   * Who holds the session. `"browser"` (default): one module SharedWorker for every page of
   * the app in this browser profile, so new tabs and reloads find the session (no request to
   * the provider), one refresh serves every tab, and login and logout reach every tab. `"tab"`:
   * a dedicated worker per page, one session per page (logouts still reach the other tabs).
   * Where SharedWorker does not exist the client uses `"tab"` by itself: see
   * {@link AuthClient.sharing}.
   */
  sharing?: 'browser' | 'tab';
  /**
   * How a page that finds no session gets the provider's session back (a `prompt=none`
   * request), attempted only when this browser's session hint says a session existed (never
   * for a signed-out visitor) and at most once per hint. `"redirect"` (default): the page goes
   * to the provider and straight back to `redirectUri`, whose usual callback handling completes
   * it (`appState` is `{ returnTo }`, the page it left). `"silent"`: a hidden iframe, where the
   * provider's cookies reach it (see the README). `"none"`: never.
   */
  restore?: 'redirect' | 'silent' | 'none';
  /**
   * Where a silent restore's answer lands instead of `redirectUri`: a lighter page of the
   * app's origin (it needs no script at all), registered with the provider. Default:
   * `redirectUri`.
   */
  silentRedirectUri?: string;
  /**
   * Sender-constrained tokens (DPoP, RFC 9449). `true`: the worker makes an ECDSA P-256 key
   * whose private half cannot be exported and never leaves the worker, binds the login's code
   * to it (`dpop_jkt`), and sends a signed proof with every token, revocation, UserInfo and
   * `auth.fetch` request (`Authorization: DPoP <token>`); the provider must answer with
   * `token_type` `DPoP`, a Bearer answer fails (`invalid_response` / `token_type`). `"auto"`:
   * the same when the provider's discovery lists `ES256` in
   * `dpop_signing_alg_values_supported`, else bearer tokens. Default `false`.
   */
  dpop?: boolean | 'auto';
  /**
   * `"dpop-bound"`: the session survives a browser restart. After login and each rotation the
   * worker stores the DPoP-bound refresh token in IndexedDB next to its non-extractable key;
   * a page that finds no live session resumes it with one refresh grant, no provider page.
   * Never a bearer refresh token. Logout, `invalid_grant` and a failed ID token check delete
   * token and key. Needs `dpop` (`true` or `"auto"`; else `config` / `persist`). Default
   * `"none"`: nothing but the pending login is ever stored.
   */
  persist?: 'none' | 'dpop-bound';
  /**
   * Pushed authorization requests (RFC 9126). `"auto"` (default): when discovery has a
   * `pushed_authorization_request_endpoint`, every login POSTs its parameters there first and
   * the browser goes to the provider with only `client_id` and `request_uri`. `true`: always
   * (no endpoint: `config` / `par`); `false`: never (a provider that requires it: `config` / `par`).
   * A refused push rejects the login with `authorization_error` and the provider's `error`.
   */
  par?: 'auto' | boolean;
  /**
   * Where to load the worker from, instead of the package's `worker.js` (e.g. to satisfy a
   * strict `worker-src` CSP). It must be a module worker built from this package.
   */
  workerUrl?: string | URL;
}

/** An entry of {@link AuthClientOptions.apiOrigins} with the token its requests carry. */
export interface ApiOrigin {
  /** `scheme://host[:port]`, nothing else. */
  origin: string;
  /** The RFC 8707 resource of the token to send (an `https` URL, `http` only on loopback). */
  resource?: string;
  /** The scope of the token to send. */
  scope?: string;
}

/** Options of {@link AuthClient.loginWithRedirect}. */
export interface LoginOptions {
  /**
   * Any JSON value, handed back by {@link AuthClient.handleRedirectCallback}. It is stored
   * with the pending login (IndexedDB) until the callback.
   */
  appState?: unknown;
  /** Extra authorization request parameters for this login (e.g. `prompt`). */
  extraParams?: Record<string, string>;
}

/** Options of {@link AuthClient.loginWithPopup}. */
export interface PopupLoginOptions extends LoginOptions {
  /**
   * A window the app opened itself (synchronously, in the click handler), instead of the one
   * `loginWithPopup` opens.
   */
  popup?: Window;
  /**
   * How long to wait for the login to complete (default 120): then it rejects `popup_closed`
   * if the browser reported the popup closed, `timeout` otherwise.
   */
  timeoutSeconds?: number;
}

/** What {@link DeviceLoginOptions.onCode} gets: what to show the user (RFC 8628 §3.2). */
export interface DeviceCode {
  /** The code the user enters at `verificationUri`. */
  userCode: string;
  /** The provider's page where the user enters the code (on a phone or computer). */
  verificationUri: string;
  /** The same page with the code in it, for a QR code; `null` if the provider gave none. */
  verificationUriComplete: string | null;
  /** When the codes expire (ms since the epoch). */
  expiresAt: number;
}

/** Options of {@link AuthClient.loginWithDeviceCode}. */
export interface DeviceLoginOptions {
  /** The scope to ask for (default: the client's `scope`); `openid` is always included. */
  scope?: string;
  /** Called once with the code to show, as soon as the provider gave it. */
  onCode(code: DeviceCode): void;
  /** Stops the login (it then rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** The outcome of a successful {@link AuthClient.handleRedirectCallback}. */
export interface RedirectResult<S = unknown> {
  /** The `appState` given to {@link AuthClient.loginWithRedirect}, or `null`. */
  appState: S | null;
}

/** Options of {@link AuthClient.getAccessToken} (with `exposeAccessToken: true`). */
export interface GetAccessTokenOptions {
  /** Refresh even if the current access token is still valid. */
  forceRefresh?: boolean;
  /**
   * A token for this API instead of the login's, obtained with the refresh token (RFC 8707
   * `resource`; the provider must support resource indicators and have granted it at login).
   * An `https` URL (`http` only on a loopback host).
   *
   * @see {@link https://www.rfc-editor.org/rfc/rfc8707#section-2.2 | RFC 8707 §2.2}
   */
  resource?: string;
  /** A token with this (narrower) scope, obtained with the refresh token (RFC 6749 §6). */
  scope?: string;
}

/** Options of {@link AuthClient.getUser}. */
export interface GetUserOptions {
  /**
   * Ask the provider's UserInfo endpoint (with the access token, refreshed first if needed)
   * instead of returning the ID token's claims. Its `sub` must be the ID token's.
   *
   * @see {@link https://openid.net/specs/openid-connect-core-1_0.html#UserInfo | OIDC Core 1.0 §5.3}
   */
  fresh?: boolean;
}

/** Options of {@link AuthClient.logout}. */
export interface LogoutOptions {
  /** `false` to stay on the page instead of going to the provider's logout URL. */
  redirect?: boolean;
}

/**
 * Validated ID token claims.
 *
 * @see {@link https://openid.net/specs/openid-connect-core-1_0.html#IDToken | OIDC Core 1.0 §2}
 */
export interface UserClaims {
  /** The subject identifier. */
  sub: string;
  /** Any other claim. */
  [claim: string]: unknown;
}

/** A client bound to one provider, returned by {@link createAuthClient}. */
export interface AuthClient {
  /**
   * Who holds this page's session: `"browser"` (a SharedWorker shared by every page of the app)
   * or `"tab"` (this page's own worker): `"tab"` when asked for, where the browser has no
   * SharedWorker (e.g. Android WebView), and from when a holder that failed to start has made
   * the page fall back to a worker of its own.
   */
  readonly sharing: 'browser' | 'tab';
  /** Starts a login: sends the browser to the provider's authorization endpoint. */
  loginWithRedirect(options?: LoginOptions): Promise<void>;
  /**
   * Logs in in a popup window and resolves with the login's `appState` once the session is in
   * the worker (every page of the app gets `login`). Call it synchronously from a click
   * handler: it opens the window at once (browsers, iOS Safari above all, block later ones).
   * The popup lands on the redirect URI, whose page calls `handleRedirectCallback` as for any
   * login: it hands the callback to the worker that waits for it and closes itself. No
   * `window.opener` is needed, so it works with `Cross-Origin-Opener-Policy` on the app and on
   * the provider. Rejects `popup_blocked` (no window), `authorization_error` (the provider's
   * `error`), or after `timeoutSeconds` `popup_closed` / `timeout`. A second call while a
   * popup login runs focuses its window and returns the same promise.
   */
  loginWithPopup<S = unknown>(options?: PopupLoginOptions): Promise<RedirectResult<S>>;
  /**
   * Logs in with the device authorization grant (RFC 8628), for TV and kiosk apps: `onCode`
   * gets a user code and a page (and a complete link for a QR code) for the user to approve
   * on another device, while the worker polls the provider at its interval (5 s more after
   * each `slow_down`). Resolves once the session is in the worker, with the same checks as a
   * redirect login; rejects `token_error` with `access_denied` or `expired_token`, or with the
   * signal's reason. Needs a provider with a `device_authorization_endpoint` (else `config` /
   * `device`).
   */
  loginWithDeviceCode(options: DeviceLoginOptions): Promise<void>;
  /**
   * Completes a login on the redirect URI: validates the callback, redeems the code and
   * starts the session. `url` defaults to the current location; when it is the current
   * location, the OAuth parameters are removed from the address bar afterwards (on
   * success or failure).
   */
  handleRedirectCallback<S = unknown>(url?: string): Promise<RedirectResult<S>>;
  /** Whether there is a session. */
  isAuthenticated(): Promise<boolean>;
  /**
   * The validated ID token claims, or `null` without a session. With `fresh: true`, the
   * claims of the provider's UserInfo endpoint instead; then it rejects with `login_required`
   * without a session.
   */
  getUser<T extends UserClaims = UserClaims>(options?: GetUserOptions): Promise<T | null>;
  /**
   * A valid access token, refreshed first when it expired (or when `forceRefresh`), for an app
   * that opted in with `exposeAccessToken: true`; by default it rejects with `config`
   * (`access_token_not_exposed`): call your APIs with {@link AuthClient.fetch} instead.
   * Concurrent calls share one refresh. Rejects with `login_required` without a session. With
   * `resource` and/or `scope`, a token for that API or scope, cached separately.
   */
  getAccessToken(options?: GetAccessTokenOptions): Promise<string>;
  /**
   * `fetch` from the worker with the access token attached, for the app's own APIs: only to
   * an origin listed in `apiOrigins` (anything else rejects with `config` / `api_origin`, and
   * no token is attached). On a `401` whose `WWW-Authenticate` is a Bearer `invalid_token`
   * challenge, it refreshes the token once and retries once. Redirects are not followed
   * (`invalid_response` / `redirect`); the signal aborts the request (rejecting with the
   * signal's reason); after `fetchTimeoutSeconds` it rejects with `network` / `timeout`, and a
   * body over `fetchMaxResponseBytes` with `network` / `too_large`. Resolves with a `Response` built from the API's status, headers (those
   * its CORS policy exposes) and body; `Response.url` is empty.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /**
   * Ends the session in the worker, then (unless `redirect: false`) sends the browser to
   * the provider's end-session endpoint when it has one. Resolves with that URL (it carries
   * `client_id`, `post_logout_redirect_uri` and `state`, never the ID token), or `null` with
   * `redirect: false` or without an endpoint. If the provider metadata cannot be fetched it
   * rejects (`network`), the session ended all the same.
   *
   * @see {@link https://openid.net/specs/openid-connect-rpinitiated-1_0.html | RP-Initiated Logout 1.0}
   */
  logout(options?: LogoutOptions): Promise<{ url: string | null }>;
  /**
   * Listens to an event of the session; returns the function that stops listening. No event
   * carries a token, so they can go to telemetry as they are.
   */
  on<K extends keyof AuthEvents>(name: K, listener: (detail: AuthEvents[K]) => void): () => void;
  /**
   * Disconnects this page: pending and later calls reject with `config`. With `sharing:
   * "browser"` the holder and its session stay for the other pages; a tab's own worker is
   * terminated.
   */
  close(): void;
}

/** What an app may know about the session's access token. */
export interface TokenInfo {
  /** When the access token expires (ms since the epoch), if the provider said. */
  expiresAt: number | null;
  /** The granted scope, if the provider said. */
  scope: string | null;
  /** The resource (RFC 8707) the token is for; `null` for the login's token. */
  resource: string | null;
}

/**
 * The events of {@link AuthClient.on} and their details. With `sharing: "browser"` every page of
 * the session gets every event, whichever tab caused it.
 */
export interface AuthEvents {
  /** A login completed (a callback was handled, in any tab; also a restore). */
  login: TokenInfo;
  /** A refresh grant succeeded. */
  tokenRefreshed: TokenInfo;
  /**
   * The session is gone: the provider ended the grant (`invalid_grant` on refresh), or a
   * refreshed ID token failed validation (`invalid_id_token`; its refresh token was revoked).
   */
  sessionExpired: { reason: 'invalid_grant' | 'invalid_id_token' };
  /** {@link AuthClient.logout} ended the session, in this tab or another. */
  logout: Record<string, never>;
  /** A refresh failed without ending the session (e.g. `network`). */
  error: AuthError;
}

/**
 * JSON text of what the core validates as a whole (the options, the login options); `null`
 * (the worker then answers `config` / `invalid_call`) for what JSON cannot hold.
 */
const json = (value: unknown): string | null => {
  try {
    return JSON.stringify(value);
  } catch {
    return null;
  }
};

/**
 * OAuth parameters a callback URL may carry (RFC 6749 §4.1.2, RFC 9207, OIDC Session): the
 * callback parameters of src/contract.json, which the worker reads (`RESPONSE_PARAMS`).
 */
const CALLBACK_PARAMS = ['code', 'state', 'iss', 'session_state', 'error', 'error_description', 'error_uri'];

/** The popup window's name, and the channel a popup's callback reaches its opener's worker by. */
const POPUP = 'oidc-worker-popup';

/** The name of the hidden iframe of a silent restore, and of the message its page posts. */
const FRAME = 'oidc-worker-restore';
/** How long a silent restore may take before the page counts as signed out. */
const FRAME_TIMEOUT_MS = 10_000;
/**
 * How long a session holder may take to run its script and say `{ started }`: Chromium does not
 * always fire `error` at a SharedWorker whose script fails to load (about one start in twelve in
 * the e2e tests, headless), so a holder that has not started by then is taken for failed and the
 * page falls back to a worker of its own. (Its script only, not the wasm: that comes later.)
 */
const HOLDER_START_MS = 10_000;

/**
 * Starts the worker and configures it. Resolves at once, without waiting for the worker: the
 * first call waits until the worker has its options and any session has been restored (README
 * "Start-up"). Options the worker refuses, or a worker that fails to load, reject that call and
 * every later one with an {@link AuthError} `config`.
 */
export async function createAuthClient(options: AuthClientOptions): Promise<AuthClient> {
  const { workerUrl, ...config } = options;
  let sharing: 'browser' | 'tab' = config.sharing !== 'tab' && typeof SharedWorker === 'function' ? 'browser' : 'tab';
  let port: MessagePort | Worker;
  let stop: () => void;
  let starting: ReturnType<typeof setTimeout> | undefined;

  // One channel for every call: the worker answers `{ id, ok, value | error }`. (A fresh
  // MessageChannel per call costs more than the call itself.)
  const waiting = new Map<number, { resolve: (value: any) => void; reject: (error: AuthError) => void }>();
  let nextId = 0;
  let failure: AuthError | undefined;
  function fail(reason: string, message: string): void {
    clearTimeout(starting);
    if (!failure) stop();
    failure ??= new AuthError({ code: 'config', reason, message });
    for (const { reject } of waiting.values()) reject(failure);
    waiting.clear();
  }
  // The session hint (README "Sessions"): when a session was last seen here, no token and no
  // user; read by the core to decide on a restore, removed when a session ends or an attempt
  // starts. `hint()` reads it, `hint(true)` writes now, `hint(false)` removes it.
  const hintKey = `oidc-worker session ${config.issuer} ${config.clientId}`;
  const hint = (write?: boolean): number | null => {
    try {
      if (write) localStorage.setItem(hintKey, String(Date.now()));
      else if (write === false) localStorage.removeItem(hintKey);
      return Number(localStorage.getItem(hintKey)) || null;
    } catch {
      return null; // storage blocked: no hint, no restore
    }
  };
  const listeners = new Map<string, Set<(detail: any) => void>>();
  const codes = new Map<number, (code: DeviceCode) => void>();
  const receive = ({ data }: MessageEvent): void => {
    clearTimeout(starting); // (the holder's `{ started }` comes first)
    const caller = waiting.get(data?.id);
    if (data?.code) return void codes.get(data.id)?.(data.code);
    if (data?.event) {
      const { name, detail } = data.event;
      if (name === 'login' || name === 'tokenRefreshed') hint(true);
      else if (name === 'logout' || name === 'sessionExpired') hint(false);
      for (const listener of listeners.get(name) ?? []) {
        try {
          listener(name === 'error' ? new AuthError(detail) : detail);
        } catch {
          // A throwing listener must not break the client or the other listeners.
        }
      }
    } else if (caller) {
      waiting.delete(data.id);
      if (data.ok) caller.resolve(data.value);
      else caller.reject(new AuthError(data.error));
    } else if (data?.ready === false) {
      fail('worker_failed', 'the worker could not load its wasm');
    } else if (data?.failed) {
      fail('worker_failed', 'the worker failed');
    }
  };

  // A message is `{ [type]: argument }`, or `type` alone without one (src/protocol/messages.rs).
  const send = <T>(type: string, arg?: unknown, extra?: object, transfer: Transferable[] = [], signal?: AbortSignal): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (failure) return reject(failure);
      const id = nextId++;
      try {
        port.postMessage({ id, call: arg === undefined ? type : { [type]: arg }, ...extra }, transfer);
      } catch {
        return reject(new AuthError({ code: 'config', reason: 'invalid_call', message: 'the call could not be sent to the worker' }));
      }
      waiting.set(id, { resolve, reject });
      signal?.addEventListener('abort', () => {
        if (waiting.delete(id)) {
          port.postMessage({ abort: id });
          reject(signal.reason);
        }
      }, { once: true });
    });

  /** Starts the worker and posts `configure` (the worker queues what arrives while its wasm loads). */
  const start = (): Promise<unknown> => {
    if (sharing === 'browser') {
      // One holder per (issuer, clientId) and build; it files sessions by the whole configuration.
      // `extendedLifetime` (Chromium 148+; ignored elsewhere) keeps it ~30 s after its last page,
      // so a reload of the only tab finds the session.
      const name = `oidc-worker ${config.issuer} ${config.clientId}`;
      // Bundlers recognise only these literal forms; keep them in their own branch.
      const worker = workerUrl === undefined
        ? new SharedWorker(new URL('./worker.js', import.meta.url), { type: 'module', name, extendedLifetime: true } as WorkerOptions)
        : new SharedWorker(workerUrl, { type: 'module', name, extendedLifetime: true } as WorkerOptions);
      worker.onerror = () => fail('worker_failed', 'the worker failed');
      starting = setTimeout(() => fail('worker_failed', 'the worker did not start'), HOLDER_START_MS);
      const holder = (port = worker.port);
      // The holder drops this page when it can take this lock: when the page is gone.
      let release = (): void => {};
      const lock = `oidc-worker page ${crypto.randomUUID()}`;
      navigator.locks?.request(lock, () => {
        holder.postMessage({ lock });
        return new Promise<void>((resolve) => (release = resolve));
      });
      stop = () => {
        worker.onerror = null;
        holder.postMessage({ close: true });
        release();
        holder.close();
      };
    } else {
      let worker: Worker;
      let wasm: () => URL;
      // With `workerUrl` the .wasm is the one next to that worker (README "Content-Security-Policy");
      // resolved later, where a URL without one (e.g. `blob:`) only means the worker fetches it itself.
      if (workerUrl === undefined) {
        worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
        wasm = () => new URL('./oidc_worker_bg.wasm', import.meta.url);
      } else {
        worker = new Worker(workerUrl, { type: 'module' });
        wasm = () => new URL('oidc_worker_bg.wasm', new URL(workerUrl, location.href));
      }
      worker.onerror = () => fail('worker_failed', 'the worker failed');
      // Cold start: the worker would fetch and compile its wasm only once its own script has been
      // fetched and run. Fetch and stream-compile it here meanwhile, and hand the compiled module
      // over (`{ wasm }`, the worker's first message; a module is shared, not copied). `null` when
      // that failed (e.g. a CSP that lets only the worker compile wasm): the worker then fetches it.
      Promise.resolve()
        .then(() => WebAssembly.compileStreaming(fetch(wasm())))
        .catch(() => null)
        .then((module) => worker.postMessage({ wasm: module }));
      port = worker;
      stop = () => worker.terminate();
    }
    port.onmessage = receive;
    return send('configure', json(config)).catch((error: AuthError) => {
      // A holder that failed (its wasm trapped, or it never started) serves no one again: this
      // page gets a worker of its own.
      if (sharing === 'browser' && error.reason === 'worker_failed') {
        sharing = 'tab';
        failure = undefined;
        return start();
      }
      fail('closed', 'the client is closed');
      throw error;
    });
  };

  // A hidden iframe's `prompt=none` request: its answer lands on the redirect URI, whose page
  // posts it here (see handleRedirectCallback), or is read here once it is same-origin.
  const silently = (url: string): Promise<void> =>
    new Promise((resolve) => {
      const frame = document.createElement('iframe');
      let settled = false;
      const settle = (callback?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        removeEventListener('message', answer);
        frame.remove();
        // Every check of a callback applies; a failed attempt leaves the page signed out.
        (callback ? send('handleCallback', callback) : Promise.resolve()).catch(() => {}).then(() => resolve());
      };
      const answer = ({ source, origin, data }: MessageEvent): void => {
        if (source === frame.contentWindow && origin === location.origin && typeof data?.[FRAME] === 'string') settle(data[FRAME]);
      };
      frame.onload = () => {
        try {
          const href = frame.contentWindow?.location.href;
          if (href && new URL(href).searchParams.has('state')) settle(href);
        } catch {
          // still on the provider's origin
        }
      };
      const timer = setTimeout(settle, FRAME_TIMEOUT_MS);
      addEventListener('message', answer);
      frame.name = FRAME;
      frame.hidden = true;
      frame.src = url;
      (document.body ?? document.documentElement).append(frame);
    });

  // The start-up every call waits for: the worker configured, then the session restored where
  // it can be. No session here, but the hint says there was one: the core decides whether and
  // how to get it back (`null`: not at all). The hint is spent by the attempt, so it cannot loop.
  const ready = start().then(async () => {
    try {
      const restoring = await send<{ restore: 'redirect' | 'silent'; url: string } | null>(
        'restore',
        json({ url: location.href, hint: hint() }),
      );
      if (restoring) {
        hint(false);
        if (restoring.restore === 'redirect') {
          location.replace(restoring.url);
          await new Promise(() => {}); // the page is leaving
        }
        await silently(restoring.url);
      }
    } catch {
      // (e.g. the provider unreachable: the page starts signed out)
    }
  });
  ready.catch(() => {}); // (the calls report it)
  const call = <T>(...args: Parameters<typeof send>): Promise<T> => ready.then(() => send<T>(...args));

  // Popup logins: with `sharing: "tab"` the popup page's worker is not the one waiting, so the
  // popup hands its callback URL over this channel; only the worker that waits for that
  // login's `state` acts on it (a forged one is ignored: no request is made).
  const channel = new BroadcastChannel(POPUP);
  channel.onmessage = ({ data }) => {
    if (typeof data === 'string') call('popupCallback', data).catch(() => {});
  };
  let popupLogin: Promise<never> | undefined;
  let popupWindow: Window | null = null;

  return {
    get sharing() {
      return sharing;
    },
    async loginWithRedirect(options = {}) {
      const { url } = await call<{ url: string }>('login', json(options));
      location.assign(url);
    },
    loginWithPopup({ popup, timeoutSeconds = 120, ...options } = {}) {
      if (popupLogin) {
        popupWindow?.focus();
        return popupLogin;
      }
      // Synchronously, in the caller's click handler.
      const win = popup ?? open('', POPUP, 'popup,width=500,height=640');
      if (!win) return Promise.reject(new AuthError({ code: 'popup_blocked', message: 'the browser blocked the popup: call loginWithPopup from a click handler' }));
      popupWindow = win;
      popupLogin = (async () => {
        const stop = new AbortController();
        let closed = false;
        const watch = setInterval(() => (closed ||= win.closed), 500);
        const limit = new Promise<never>((_, reject) =>
          setTimeout(() => {
            reject(new AuthError(closed
              ? { code: 'popup_closed', message: 'the popup was closed before the login completed' }
              : { code: 'timeout', message: `the popup login did not complete within ${timeoutSeconds} s` }));
            stop.abort();
          }, timeoutSeconds * 1000));
        try {
          const { url, popup: key } = await call<{ url: string; popup: string }>('login', json({ ...options, popup: true }));
          win.location.href = url;
          return await Promise.race([call<never>('awaitLogin', key, undefined, [], stop.signal), limit]);
        } catch (error) {
          if (!win.closed) win.close();
          throw error;
        } finally {
          clearInterval(watch);
          stop.abort();
          popupLogin = undefined;
          popupWindow = null;
        }
      })();
      return popupLogin;
    },
    async loginWithDeviceCode({ scope, onCode, signal }) {
      await ready;
      const id = nextId; // (send takes it synchronously)
      codes.set(id, onCode);
      try {
        await send('deviceLogin', json({ scope }), undefined, [], signal);
      } finally {
        codes.delete(id);
      }
    },
    async handleRedirectCallback(url) {
      // In a silent restore's iframe: the answer is the parent page's, which completes it.
      if (window.name === FRAME && parent !== window) {
        parent.postMessage({ [FRAME]: url ?? location.href }, location.origin);
        return new Promise(() => {});
      }
      const current = url === undefined || url === location.href;
      try {
        const result = await call<{ appState: any; popup?: 'done' | 'forward' }>('handleCallback', url ?? location.href);
        // A popup's callback: handled by the worker that waits for it (here, or the opener's,
        // reached through the channel); the popup closes.
        if (result.popup) {
          if (result.popup === 'forward') channel.postMessage(url ?? location.href);
          close();
          return new Promise(() => {});
        }
        return result;
      } finally {
        if (current) {
          const clean = new URL(location.href);
          for (const name of CALLBACK_PARAMS) clean.searchParams.delete(name);
          if (clean.href !== location.href) history.replaceState(history.state, '', clean);
        }
      }
    },
    isAuthenticated: () => call('isAuthenticated'),
    getUser: (options) => call('getUser', options?.fresh === true),
    getAccessToken: (options) => call('getAccessToken', { ...options }),
    async fetch(input, init) {
      const request = new Request(input, init);
      const { signal } = request;
      signal.throwIfAborted();
      const body = request.body ? await request.arrayBuffer() : undefined;
      const { cache, credentials, integrity, keepalive, referrerPolicy } = request;
      const headers = [...request.headers];
      const value = await call<{ status: number; statusText: string; headers: [string, string][]; body: ArrayBuffer }>(
        'fetch',
        { url: request.url, method: request.method },
        { headers, body, init: { cache, credentials, integrity, keepalive, referrerPolicy } },
        body ? [body] : [],
        signal,
      );
      // Fetch: these statuses have no body.
      const empty = [101, 103, 204, 205, 304].includes(value.status);
      return new Response(empty ? null : value.body, value);
    },
    async logout(options = {}) {
      const value = await call<{ url: string | null }>('logout', options.redirect !== false);
      if (value.url) location.assign(value.url);
      return value;
    },
    on(name, listener) {
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      const own = (detail: any) => listener(detail);
      set.add(own);
      return () => set.delete(own);
    },
    close() {
      channel.close();
      fail('closed', 'the client is closed');
    },
  };
}
