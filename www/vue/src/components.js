import { defineComponent, h, ref } from 'vue';
import { RouterLink, RouterView } from 'vue-router';
import { useAuth } from 'oidc-worker/vue';

export const App = defineComponent({
  name: 'App',
  setup() {
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
    ]);
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
