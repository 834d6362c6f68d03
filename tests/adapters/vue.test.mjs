// Unit tests of `oidc-worker/vue` (the BUILT pkg/vue.js, or $OIDC_WORKER_PKG_DIR/vue.js): Vue Test
// Utils and vue-router (memory history) in Node with a happy-dom DOM, the client's worker replaced
// at its message boundary by a fake global Worker (support.mjs) that answers like pkg/worker.js
// over a scripted session and counts every Worker and every call.
//
//   OIDC_WORKER_PKG_DIR=/tmp/pkg-e node --test --test-force-exit tests/adapters/vue.test.mjs

import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';

import {
  importPkg, installDom, installWorkerStub, OPTIONS, pkgUrl, REDIRECT_URI, settle, USER, waitUntil,
} from './support.mjs';

let dom;
let stub;
let Vue;
let VTU;
let VueRouter;
let adapter;
/** Apps / wrappers mounted by a test, unmounted after it. */
let mounted;
let warnings;
const originalWarn = console.warn;

before(async () => {
  dom = await installDom('https://app.example/');
  stub = installWorkerStub();
  // The DOM globals must exist before vue's runtime-dom loads.
  Vue = await import('vue');
  VTU = await import('@vue/test-utils');
  VueRouter = await import('vue-router');
  adapter = await importPkg('vue.js');
});

after(async () => {
  stub?.uninstall();
  await dom?.close();
});

beforeEach(() => {
  stub.reset();
  dom.setURL('https://app.example/');
  dom.navigations.length = 0;
  mounted = [];
  warnings = [];
  console.warn = (...args) => { warnings.push(args.map(String).join(' ')); };
});

afterEach(async () => {
  for (const m of mounted) {
    try {
      m.unmount();
    } catch {
      // already unmounted by the test
    }
  }
  await settle(); // the plugin closes its worker a task after unmount
  console.warn = originalWarn;
  // Vue's warnings name real misuse (a missing injection, a write to a read-only ref...).
  assert.deepEqual(warnings, [], 'Vue warned');
});

/** What the app shows: 'loading', 'signed-out' or 'signed-in:<name>:<email>', plus the error code. */
function statusOf({ isLoading, isAuthenticated, user, error }) {
  const base = isLoading.value ? 'loading' : isAuthenticated.value ? `signed-in:${user.value?.name}:${user.value?.email}` : 'signed-out';
  return error.value ? `${base} error:${error.value.code}` : base;
}

/** A component rendering the status line from useAuth(), with sign-in / sign-out buttons. */
function makeApp(seen = []) {
  return Vue.defineComponent({
    name: 'App',
    setup() {
      const auth = adapter.useAuth();
      seen.push(auth);
      return () => {
        const status = statusOf(auth);
        return Vue.h('div', null, [
          Vue.h('p', { 'data-testid': 'status' }, status),
          Vue.h('button', { class: 'login', onClick: () => void auth.loginWithRedirect({ appState: { from: 'button' } }).catch(() => {}) }, 'Sign in'),
          Vue.h('button', { class: 'logout', onClick: () => void auth.logout().catch(() => {}) }, 'Sign out'),
        ]);
      };
    },
  });
}

/** Mounts `component` with the plugin (VTU), remembered for unmounting. */
function mountWith(auth, component = makeApp()) {
  const wrapper = VTU.mount(component, { global: { plugins: [auth] } });
  mounted.push(wrapper);
  return wrapper;
}

const statusText = (wrapper) => wrapper.get('[data-testid="status"]').text();
const waitForStatus = async (wrapper, expected) => {
  await waitUntil(`status "${expected}" (now "${statusText(wrapper)}")`, async () => {
    await VTU.flushPromises();
    return statusText(wrapper) === expected;
  });
};

describe('createAuth + useAuth', () => {
  it('refs go loading → signed-out, then signed-in with the claims on a login event of the worker', async () => {
    const auth = adapter.createAuth({ ...OPTIONS, onRedirectCallback: () => {} });
    assert.equal(stub.created, 0, 'creating the plugin starts nothing');
    const seen = [];
    const wrapper = mountWith(auth, makeApp(seen));
    assert.equal(statusText(wrapper), 'loading');
    assert.equal(seen[0], auth, 'useAuth() is the installed plugin');
    assert.equal(auth.isLoading.value, true);
    await waitForStatus(wrapper, 'signed-out');
    assert.equal(auth.isLoading.value, false);
    assert.equal(auth.isAuthenticated.value, false);
    assert.equal(auth.user.value, null);
    assert.equal(auth.error.value, null);

    assert.equal(stub.created, 1);
    assert.equal(stub.workers[0].url, pkgUrl('worker.js'));
    assert.deepEqual(stub.workers[0].options, { type: 'module' });
    const configure = stub.calls.filter((c) => c.type === 'configure');
    assert.equal(configure.length, 1);
    assert.deepEqual(configure[0].config, OPTIONS, 'only the client options reach the worker');

    stub.session.authenticated = true;
    stub.session.user = USER;
    stub.emit('login', { expiresAt: null, scope: 'openid', resource: null });
    await waitForStatus(wrapper, 'signed-in:Ada Lovelace:ada@example.com');
    assert.equal(auth.isAuthenticated.value, true);
    assert.deepEqual({ ...auth.user.value }, USER);
    assert.equal(stub.created, 1);
  });

  it('an existing session: ready() resolves with the user known; the refs are read-only', async () => {
    stub.session.authenticated = true;
    stub.session.user = USER;
    const auth = adapter.createAuth(OPTIONS);
    const wrapper = mountWith(auth);
    let readyAt;
    await auth.ready().then(() => { readyAt = { loading: auth.isLoading.value, user: auth.user.value?.name }; });
    assert.deepEqual(readyAt, { loading: false, user: 'Ada Lovelace' });
    await waitForStatus(wrapper, 'signed-in:Ada Lovelace:ada@example.com');
    auth.isAuthenticated.value = false;
    assert.equal(auth.isAuthenticated.value, true, 'the app cannot overwrite the state');
    assert.ok(warnings.some((w) => /readonly/i.test(w)), 'Vue warned about the write');
    warnings.length = 0; // that one was expected
    assert.equal(stub.count('getUser'), 1);
  });

  it('useAuth() without the plugin throws a clear error', () => {
    let caught;
    const Comp = Vue.defineComponent({
      setup() {
        try {
          adapter.useAuth();
        } catch (e) {
          caught = e;
        }
        return () => Vue.h('p', null, 'x');
      },
    });
    mounted.push(VTU.mount(Comp));
    assert.equal(caught?.message, 'useAuth() needs app.use(createAuth(...))');
    assert.equal(stub.created, 0);
  });
});

describe('login callback', () => {
  it('is handled once: onRedirectCallback gets the appState, the URL is cleaned, the refs say signed-in', async () => {
    stub.session.pending.set('s1', { returnTo: '/private?tab=2' });
    dom.setURL(`${REDIRECT_URI}?code=c1&state=s1`);
    const redirects = [];
    const auth = adapter.createAuth({ ...OPTIONS, onRedirectCallback: (appState) => redirects.push(appState) });
    const wrapper = mountWith(auth);
    await waitForStatus(wrapper, 'signed-in:Ada Lovelace:ada@example.com');
    await settle();
    assert.equal(stub.count('handleCallback'), 1);
    assert.equal(stub.calls.find((c) => c.type === 'handleCallback').url, `${REDIRECT_URI}?code=c1&state=s1`);
    assert.deepEqual(redirects, [{ returnTo: '/private?tab=2' }]);
    assert.equal(location.href, REDIRECT_URI);
    assert.equal(auth.error.value, null);
    assert.equal(stub.created, 1);
  });

  it('by default returns to appState.returnTo with history.replaceState', async () => {
    stub.session.pending.set('s1', { returnTo: '/private?tab=2' });
    dom.setURL(`${REDIRECT_URI}?code=c1&state=s1`);
    const auth = adapter.createAuth(OPTIONS);
    mountWith(auth);
    await auth.ready();
    assert.equal(auth.isAuthenticated.value, true);
    assert.equal(location.href, 'https://app.example/private?tab=2');
    assert.deepEqual(dom.navigations, []);
  });

  it('an error callback (error=access_denied) sets error.code authorization_error', async () => {
    stub.session.pending.set('s1', null);
    dom.setURL(`${REDIRECT_URI}?error=access_denied&state=s1`);
    const redirects = [];
    const auth = adapter.createAuth({ ...OPTIONS, onRedirectCallback: (appState) => redirects.push(appState) });
    const wrapper = mountWith(auth);
    await waitForStatus(wrapper, 'signed-out error:authorization_error');
    assert.equal(auth.error.value.name, 'AuthError');
    assert.equal(auth.error.value.error, 'access_denied');
    assert.equal(stub.count('handleCallback'), 1);
    assert.deepEqual(redirects, []);
    assert.equal(location.href, REDIRECT_URI);
  });
});

describe('actions', () => {
  it('loginWithRedirect calls login and navigates to its URL', async () => {
    const auth = adapter.createAuth(OPTIONS);
    const wrapper = mountWith(auth);
    await waitForStatus(wrapper, 'signed-out');
    await wrapper.get('button.login').trigger('click');
    await waitUntil('the navigation', () => dom.navigations.length > 0);
    await settle();
    const logins = stub.calls.filter((c) => c.type === 'login');
    assert.equal(logins.length, 1);
    assert.deepEqual(logins[0].options, { appState: { from: 'button' } });
    assert.deepEqual(dom.navigations, [`https://op.example/authorize?state=${[...stub.session.pending.keys()][0]}`]);
  });

  it('logout updates the refs to signed-out', async () => {
    stub.session.authenticated = true;
    stub.session.user = USER;
    const auth = adapter.createAuth(OPTIONS);
    const wrapper = mountWith(auth);
    await waitForStatus(wrapper, 'signed-in:Ada Lovelace:ada@example.com');
    await auth.logout();
    assert.equal(auth.isAuthenticated.value, false, 'signed-out once logout() resolves');
    assert.equal(auth.user.value, null);
    await waitForStatus(wrapper, 'signed-out');
    assert.equal(stub.count('logout'), 1);
    assert.deepEqual(dom.navigations, []);
  });
});

describe('createAuthGuard (vue-router)', () => {
  const Page = (name) => Vue.defineComponent({ name, render: () => Vue.h('p', null, name) });

  /** An app with the plugin and a router (memory history) guarded by createAuthGuard(auth). */
  async function setup(guardOptions) {
    const auth = adapter.createAuth(OPTIONS);
    const router = VueRouter.createRouter({
      history: VueRouter.createMemoryHistory(),
      routes: [
        { path: '/', component: Page('home') },
        { path: '/public', component: Page('public') },
        { path: '/private', component: Page('private'), meta: { requiresAuth: true } },
        { path: '/admin', component: Page('admin'), meta: { role: 'admin' } },
      ],
    });
    const guard = adapter.createAuthGuard(auth, guardOptions);
    router.beforeEach(guard);
    const Root = Vue.defineComponent({ render: () => Vue.h(VueRouter.RouterView) });
    const wrapper = VTU.mount(Root, { global: { plugins: [auth, router] } });
    mounted.push(wrapper);
    return { auth, router, guard, wrapper };
  }

  it('lets public routes through at once, even while loading', async () => {
    const release = stub.hold('isAuthenticated');
    const { auth, router } = await setup();
    const failure = await router.push('/public');
    assert.equal(failure, undefined);
    assert.equal(router.currentRoute.value.fullPath, '/public');
    assert.equal(auth.isLoading.value, true, 'the session was not known yet');
    release();
    await auth.ready();
    assert.equal(stub.count('login'), 0);
  });

  it('waits for loading on a protected route, then lets a signed-in user through', async () => {
    stub.session.authenticated = true;
    stub.session.user = USER;
    const release = stub.hold('isAuthenticated');
    const { auth, router, wrapper } = await setup();
    await router.push('/');
    let done = false;
    const navigation = router.push('/private').then((r) => { done = true; return r; });
    await settle(50);
    assert.equal(done, false, 'the guard waits while the session is unknown');
    assert.equal(router.currentRoute.value.fullPath, '/');
    assert.equal(auth.isLoading.value, true);
    release();
    assert.equal(await navigation, undefined);
    assert.equal(router.currentRoute.value.fullPath, '/private');
    await VTU.flushPromises();
    assert.equal(wrapper.text(), 'private');
    assert.equal(stub.count('login'), 0);
  });

  it('sends a signed-out user to the login with returnTo = to.fullPath and cancels the navigation', async () => {
    const { router } = await setup();
    await router.push('/');
    const failure = await router.push('/private?tab=2#top');
    assert.ok(VueRouter.isNavigationFailure(failure, VueRouter.NavigationFailureType.aborted), `aborted: ${failure}`);
    assert.equal(router.currentRoute.value.fullPath, '/');
    const logins = stub.calls.filter((c) => c.type === 'login');
    assert.equal(logins.length, 1);
    assert.deepEqual(logins[0].options, { appState: { returnTo: '/private?tab=2#top' } });
    assert.equal(dom.navigations.length, 1);
    assert.match(dom.navigations[0], /^https:\/\/op\.example\/authorize\?state=state-\d+$/);
  });

  it('the guard itself resolves true for public / signed-in routes and false after starting a login', async () => {
    const { auth, guard } = await setup();
    assert.equal(await guard({ fullPath: '/public', meta: {} }), true);
    assert.equal(await guard({ fullPath: '/x?y=1', meta: { requiresAuth: true } }), false);
    assert.deepEqual(stub.calls.filter((c) => c.type === 'login').map((c) => c.options), [{ appState: { returnTo: '/x?y=1' } }]);
    stub.session.authenticated = true;
    stub.session.user = USER;
    stub.emit('login', { expiresAt: null, scope: 'openid', resource: null });
    await waitUntil('signed in', () => auth.isAuthenticated.value);
    assert.equal(await guard({ fullPath: '/x', meta: { requiresAuth: true } }), true);
    assert.equal(stub.count('login'), 1);
  });

  it('requiresAuth and loginOptions are honoured', async () => {
    const { router } = await setup({ requiresAuth: (to) => to.meta?.role === 'admin', loginOptions: { extraParams: { prompt: 'login' } } });
    await router.push('/');
    assert.equal(await router.push('/private'), undefined, 'meta.requiresAuth no longer counts');
    const failure = await router.push('/admin');
    assert.ok(VueRouter.isNavigationFailure(failure, VueRouter.NavigationFailureType.aborted));
    assert.deepEqual(stub.calls.filter((c) => c.type === 'login').map((c) => c.options),
      [{ appState: { returnTo: '/admin' }, extraParams: { prompt: 'login' } }]);
  });
});

describe('lifecycle', () => {
  it('app.unmount() closes the worker', async () => {
    const auth = adapter.createAuth(OPTIONS);
    const app = Vue.createApp(makeApp()).use(auth);
    const el = document.createElement('div');
    document.body.appendChild(el);
    app.mount(el);
    mounted.push(app);
    await auth.ready();
    await Vue.nextTick();
    assert.equal(el.querySelector('[data-testid="status"]').textContent, 'signed-out');
    assert.equal(stub.terminated, 0);
    app.unmount();
    await waitUntil('the worker to be terminated', () => stub.terminated === 1);
    await settle();
    assert.equal(stub.created, 1);
    assert.equal(stub.terminated, 1);
  });

  it('unmounting a VTU wrapper (its app) closes the worker; two apps own two workers', async () => {
    const one = mountWith(adapter.createAuth(OPTIONS));
    const two = mountWith(adapter.createAuth({ ...OPTIONS, clientId: 'other' }));
    await waitUntil('both clients configured', () => stub.count('configure') === 2);
    assert.equal(stub.created, 2);
    assert.deepEqual(stub.calls.filter((c) => c.type === 'configure').map((c) => c.config.clientId), ['spa', 'other']);
    await waitForStatus(one, 'signed-out');
    two.unmount();
    await waitUntil('the second worker to be terminated', () => stub.workers[1].terminated);
    assert.equal(stub.workers[0].terminated, false);
    one.unmount();
    await waitUntil('the first worker to be terminated', () => stub.workers[0].terminated);
  });
});
