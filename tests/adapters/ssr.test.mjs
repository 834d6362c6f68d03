// Server-side rendering with the BUILT entries (pkg/, or $OIDC_WORKER_PKG_DIR) in plain Node: no
// window, no DOM, and a global Worker that throws if anything constructs one. Importing every entry
// must not throw; React's renderToString and Vue's renderToString render the loading state and
// start nothing; the vue-router guard lets everything through on the server without waiting.
//
//   OIDC_WORKER_PKG_DIR=/tmp/pkg-e node --test --test-force-exit tests/adapters/ssr.test.mjs

import assert from 'node:assert/strict';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { before, beforeEach, describe, it } from 'node:test';

import { importPkg, installThrowingWorker } from './support.mjs';

const OPTIONS = { issuer: 'https://op.example', clientId: 'spa', redirectUri: 'https://app.example/callback' };

let constructed;
let core;
let react;
let vue;

before(async () => {
  assert.equal(typeof window, 'undefined', 'plain Node: no window');
  assert.equal(typeof document, 'undefined', 'plain Node: no document');
  constructed = installThrowingWorker();
});

beforeEach(() => {
  constructed.length = 0;
});

/** Resolves with `promise`'s value if it settles before the next macrotask, else with `pending`. */
async function settledAtOnce(promise) {
  const pending = Symbol('pending');
  return Promise.race([promise, nextMacrotask().then(() => pending)]).then((v) => (v === pending ? 'pending' : v));
}

describe('imports', () => {
  it('every entry point imports in plain Node without throwing or starting a worker', async () => {
    core = await importPkg('index.js');
    const store = await importPkg('auth-store.js');
    react = await importPkg('react.js');
    vue = await importPkg('vue.js');
    assert.equal(typeof core.createAuthClient, 'function');
    assert.equal(typeof core.AuthError, 'function');
    assert.equal(typeof store.createAuthStore, 'function');
    assert.deepEqual(Object.keys(react).sort(), ['AuthProvider', 'useAuth', 'withAuthenticationRequired']);
    assert.deepEqual(Object.keys(vue).sort(), ['createAuth', 'createAuthGuard', 'useAuth']);
    assert.deepEqual(constructed, []);
  });
});

describe('React (react-dom/server)', () => {
  let React;
  let renderToString;
  before(async () => {
    React = await import('react');
    ({ renderToString } = await import('react-dom/server'));
    react ??= await importPkg('react.js');
  });

  it('renderToString(<AuthProvider><App/></AuthProvider>) renders the loading state, no Worker', () => {
    const seen = [];
    function App() {
      const auth = react.useAuth();
      seen.push({ isLoading: auth.isLoading, isAuthenticated: auth.isAuthenticated, user: auth.user, error: auth.error });
      return React.createElement('p', null, auth.isLoading ? 'Loading…' : auth.isAuthenticated ? 'Signed in' : 'Signed out');
    }
    const html = renderToString(React.createElement(react.AuthProvider, OPTIONS, React.createElement(App)));
    assert.equal(html, '<p>Loading…</p>');
    assert.deepEqual(seen, [{ isLoading: true, isAuthenticated: false, user: null, error: null }]);
    assert.deepEqual(constructed, [], 'no Worker was constructed');
  });

  it('withAuthenticationRequired renders onRedirecting on the server and starts no login', () => {
    const Secret = () => React.createElement('p', null, 'secret');
    const Protected = react.withAuthenticationRequired(Secret, { onRedirecting: () => React.createElement('p', null, 'Redirecting…') });
    const html = renderToString(React.createElement(react.AuthProvider, OPTIONS, React.createElement(Protected)));
    assert.equal(html, '<p>Redirecting…</p>');
    assert.deepEqual(constructed, []);
  });

  it('the calls of useAuth() reject with config / not_started on the server', async () => {
    let auth;
    function Grab() {
      auth = react.useAuth();
      return null;
    }
    renderToString(React.createElement(react.AuthProvider, OPTIONS, React.createElement(Grab)));
    await assert.rejects(auth.loginWithRedirect(), { name: 'AuthError', code: 'config', reason: 'not_started' });
    await assert.rejects(auth.getAccessToken(), { name: 'AuthError', code: 'config', reason: 'not_started' });
    assert.deepEqual(constructed, []);
  });
});

describe('Vue (createSSRApp + vue/server-renderer)', () => {
  let Vue;
  let renderToString;
  let VueRouter;
  before(async () => {
    Vue = await import('vue');
    ({ renderToString } = await import('vue/server-renderer'));
    VueRouter = await import('vue-router');
    vue ??= await importPkg('vue.js');
  });

  const App = () => Vue.defineComponent({
    setup() {
      const { isLoading, isAuthenticated } = vue.useAuth();
      return () => Vue.h('p', null, isLoading.value ? 'Loading…' : isAuthenticated.value ? 'Signed in' : 'Signed out');
    },
  });

  it('renderToString of an app with the plugin renders the loading state, no Worker', async () => {
    const auth = vue.createAuth(OPTIONS);
    const app = Vue.createSSRApp(App()).use(auth);
    const html = await renderToString(app);
    assert.equal(html, '<p>Loading…</p>');
    assert.equal(auth.isLoading.value, true);
    assert.equal(auth.isAuthenticated.value, false);
    assert.deepEqual(constructed, [], 'no Worker was constructed');
  });

  it('createAuthGuard resolves true on the server without waiting, for protected routes too', async () => {
    const auth = vue.createAuth(OPTIONS);
    Vue.createSSRApp(App()).use(auth);
    const guard = vue.createAuthGuard(auth);
    assert.equal(await settledAtOnce(guard({ fullPath: '/private', meta: { requiresAuth: true } })), true);
    assert.equal(await settledAtOnce(guard({ fullPath: '/', meta: {} })), true);
    // Nothing starts on the server, so there is nothing to wait for: ready() settles at once
    // (an SSR `await auth.ready()` must not hang), while the state stays "loading".
    assert.equal(await settledAtOnce(auth.ready()), undefined);
    assert.equal(auth.isLoading.value, true);
    assert.deepEqual(constructed, []);
  });

  it('a server render through vue-router (memory history) reaches a protected route', async () => {
    const auth = vue.createAuth(OPTIONS);
    const router = VueRouter.createRouter({
      history: VueRouter.createMemoryHistory(),
      routes: [
        { path: '/', component: { render: () => Vue.h('p', null, 'home') } },
        { path: '/private', component: App(), meta: { requiresAuth: true } },
      ],
    });
    router.beforeEach(vue.createAuthGuard(auth));
    const app = Vue.createSSRApp({ render: () => Vue.h(VueRouter.RouterView) }).use(auth).use(router);
    await router.push('/private');
    await router.isReady();
    assert.equal(router.currentRoute.value.fullPath, '/private');
    assert.equal(await renderToString(app), '<p>Loading…</p>');
    assert.deepEqual(constructed, []);
  });

  it('the calls of the plugin reject with config / not_started on the server', async () => {
    const auth = vue.createAuth(OPTIONS);
    Vue.createSSRApp(App()).use(auth);
    await assert.rejects(auth.loginWithRedirect(), { name: 'AuthError', code: 'config', reason: 'not_started' });
    await assert.rejects(auth.logout(), { name: 'AuthError', code: 'config', reason: 'not_started' });
    assert.deepEqual(constructed, []);
  });
});
