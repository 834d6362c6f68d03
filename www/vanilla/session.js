// The session panel's words: what this page can know about the session, none of it secret (no
// token ever reaches the page). The same file in www/vanilla/, www/react/src/ and www/vue/src/.

/** A wall-clock time, e.g. 14:03:27. */
export const clock = (ms) => new Date(ms).toLocaleTimeString('en-GB', { hour12: false });

const duration = (s) => (s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`);

const until = ({ expiresAt, resource }) => [
  expiresAt ? `, access token until ${clock(expiresAt)}` : '',
  resource ? ` (for ${resource})` : '',
].join('');

/** One line of the event log for a session event (`auth.on`); events come from any tab. */
export function describeEvent(name, detail) {
  switch (name) {
    case 'login': return `login (here or in another tab)${until(detail)}`;
    case 'tokenRefreshed': return `tokenRefreshed${until(detail)}`;
    case 'logout': return 'logout (from any tab)';
    case 'sessionExpired': return `sessionExpired (${detail.reason})`;
    case 'error': return `error: ${detail.code}${detail.reason ? ` (${detail.reason})` : ''}`;
    default: return name;
  }
}

/**
 * What the page knows of the access token's expiry, after an event: `{ known, at }`. Only the
 * login's token counts (an RFC 8707 token for an API has `resource`). A page that opened with the
 * session already there has had no event: it does not know.
 */
export const UNKNOWN_EXPIRY = Object.freeze({ known: false, at: null });
export function nextExpiry(expiry, name, detail) {
  if ((name === 'login' || name === 'tokenRefreshed') && !detail.resource) return { known: true, at: detail.expiresAt };
  if (name === 'logout' || name === 'sessionExpired') return UNKNOWN_EXPIRY;
  return expiry;
}

/** The expiry line, counting down against `now`. */
export function expiryText(expiry, signedIn, now) {
  if (!signedIn) return '—';
  if (!expiry.known) return 'unknown until the next login or refresh (this page found the session already open)';
  if (expiry.at === null) return 'not stated by the provider';
  const s = Math.round((expiry.at - now) / 1000);
  return s > 0 ? `in ${duration(s)} (at ${clock(expiry.at)})` : `expired ${duration(-s)} ago (refreshed on the next call, if it can be)`;
}

/** `auth.sharing`, in words. */
export const holderText = (sharing) => ({
  browser: 'browser: one SharedWorker for every tab of this app',
  tab: 'tab: this page\'s own worker',
}[sharing] ?? '…');

function keysOf(storage) {
  try {
    return Array.from({ length: storage.length }, (_, i) => storage.key(i)).sort();
  } catch {
    return []; // storage blocked
  }
}

/** Names only (keys and database names, never values) of what this page's storage holds. */
export async function storageNames() {
  let databases = [];
  try {
    databases = (await indexedDB.databases()).map((d) => d.name).sort();
  } catch {
    // indexedDB.databases() is missing in some browsers
  }
  return { localStorage: keysOf(localStorage), sessionStorage: keysOf(sessionStorage), indexedDB: databases };
}

/** The storage line. */
export const storageText = (names) => Object.entries(names)
  .map(([where, list]) => `${where}: ${list.length ? list.map((n) => `“${n}”`).join(', ') : '(empty)'}`)
  .join(' · ');
