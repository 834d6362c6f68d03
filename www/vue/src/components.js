import {
  defineComponent, h, onUnmounted, ref, shallowRef,
} from 'vue';
import { RouterLink, RouterView } from 'vue-router';
import { useAuth } from 'oidc-worker/vue';

import {
  UNKNOWN_EXPIRY, clock, describeEvent, expiryText, holderText, nextExpiry, storageNames, storageText,
} from './session.js';

export const App = defineComponent({
  name: 'App',
  props: { apiOrigin: { type: String, required: true } },
  setup(props) {
    const { isLoading, isAuthenticated, user, error, loginWithRedirect, logout } = useAuth();

    const session = () => {
      if (isLoading.value) return h('p', 'Loading…');
      if (isAuthenticated.value) {
        return h('p', [
          'Signed in as ', h('strong', { id: 'user-name' }, user.value.name ?? user.value.sub), ' ',
          h('button', { id: 'sign-out', type: 'button', onClick: () => logout() }, 'Sign out'),
        ]);
      }
      return h('p', [
        'Signed out. ',
        // A failed login start is also in useAuth().error, shown below.
        h('button', { id: 'sign-in', type: 'button', onClick: () => loginWithRedirect().catch(() => {}) }, 'Sign in'),
      ]);
    };

    return () => h('main', [
      h('h1', 'oidc-worker · Vue'),
      h('nav', [h(RouterLink, { to: '/' }, () => 'Home'), h(RouterLink, { to: '/profile' }, () => 'Profile')]),
      session(),
      error.value && h('p', { id: 'error', role: 'alert' },
        `${error.value.code}${error.value.reason ? ` (${error.value.reason})` : ''}: ${error.value.message}`),
      h(RouterView),
      h(SessionPanel, { apiOrigin: props.apiOrigin }),
    ]);
  },
});

const EVENTS = ['login', 'tokenRefreshed', 'logout', 'sessionExpired', 'error'];
let seq = 0;

// What this tab knows about the session, live: the user, the access token's expiry (from the
// events), the events as they arrive (from any tab), who holds the session, and the names in this
// page's storage. Every tab of the app shares one session: open a second one and sign out there.
export const SessionPanel = defineComponent({
  name: 'SessionPanel',
  props: { apiOrigin: { type: String, required: true } },
  setup(props) {
    const auth = useAuth();
    const log = shallowRef([]);
    const expiry = shallowRef(UNKNOWN_EXPIRY);
    const now = ref(Date.now());
    const storage = shallowRef(null);
    const answer = ref(null);

    // Subscribed as the app mounts, before the client (started by app.use) is up: the login of a
    // callback handled at start is heard too. Every second: the countdown and the storage line.
    let alive = true;
    const readStorage = () => storageNames().then((names) => { if (alive) storage.value = names; });
    const stops = EVENTS.map((name) => auth.on(name, (detail) => {
      log.value = [{ id: ++seq, at: Date.now(), name, text: describeEvent(name, detail) }, ...log.value].slice(0, 6);
      expiry.value = nextExpiry(expiry.value, name, detail);
      readStorage(); // e.g. the session hint, written or removed as the event arrived
    }));
    const tick = () => { now.value = Date.now(); readStorage(); };
    tick();
    const timer = setInterval(tick, 1000);
    onUnmounted(() => {
      alive = false;
      clearInterval(timer);
      for (const stop of stops) stop();
    });

    async function callApi() {
      try {
        // The worker sends it with the access token; the page never sees the token.
        const response = await auth.fetch(`${props.apiOrigin}/me`);
        const body = await response.json();
        answer.value = `${response.status}${body.sub ? `, sub ${body.sub}` : ''}`;
      } catch (error) {
        answer.value = `${error.code ?? error.name}: ${error.message}`;
      }
    }

    return () => {
      const loading = auth.isLoading.value;
      const user = auth.user.value;
      return h('section', { id: 'session-panel', class: 'panel', 'aria-label': 'Session' }, [
        h('h2', "This tab's view of the session"),
        h('dl', [
          h('dt', 'User'),
          h('dd', { id: 'session-user' }, loading ? '…' : user ? `${user.name ?? user.sub} (sub ${user.sub})` : 'nobody: signed out'),
          h('dt', 'Access token'),
          h('dd', { id: 'session-expiry' }, loading ? '…' : expiryText(expiry.value, auth.isAuthenticated.value, now.value)),
          h('dt', 'Held by'),
          h('dd', { id: 'session-holder' }, holderText(auth.client()?.sharing)),
          h('dt', "This page's storage"),
          h('dd', { id: 'session-storage' }, storage.value ? storageText(storage.value) : '…'),
        ]),
        h('p', { class: 'panel-actions' }, [
          h('button', {
            id: 'session-call-api', type: 'button', disabled: !auth.isAuthenticated.value, onClick: callApi,
          }, 'Call the API (auth.fetch)'),
          answer.value && h('output', { id: 'session-api-result' }, `GET /me: ${answer.value}`),
          h('a', { id: 'open-tab', href: '/', target: '_blank', rel: 'noopener' }, 'Open the app in a new tab ↗'),
        ]),
        h('h3', 'Events in this tab'),
        h('ol', { id: 'session-events' }, log.value.length === 0
          ? [h('li', { class: 'empty' }, 'none yet (login, tokenRefreshed, logout and sessionExpired of any tab show here)')]
          : log.value.map((line) => h('li', { key: line.id, 'data-event': line.name }, [h('time', clock(line.at)), ` ${line.text}`]))),
      ]);
    };
  },
});

export const Home = defineComponent({
  name: 'Home',
  setup() {
    return () => h('p', "The tokens stay in oidc-worker's Web Worker; this page only sees the user's claims.");
  },
});

// Reached only by signed-in users: the route has meta.requiresAuth (see main.js).
export const Profile = defineComponent({
  name: 'Profile',
  props: { apiOrigin: { type: String, required: true } },
  setup(props) {
    const auth = useAuth();
    const answer = ref(null);

    async function callApi() {
      try {
        // Sent by the worker with `Authorization: Bearer <access token>`; the page never sees the token.
        const response = await auth.fetch(`${props.apiOrigin}/me`);
        answer.value = { status: response.status, body: await response.json() };
      } catch (error) {
        answer.value = { error: `${error.code ?? error.name}: ${error.message}` };
      }
    }

    return () => h('section', [
      h('h2', 'Profile'),
      h('p', 'Only signed-in users see this view.'),
      h('button', { id: 'call-api', type: 'button', onClick: callApi }, `Call GET ${props.apiOrigin}/me`),
      answer.value && h('pre', { id: 'api-result' }, JSON.stringify(answer.value, null, 2)),
    ]);
  },
});
