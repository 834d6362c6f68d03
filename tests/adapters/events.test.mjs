// Unit tests of the adapters' event access (the BUILT pkg/react.js and pkg/vue.js, or
// $OIDC_WORKER_PKG_DIR): `useAuth().on(name, listener)` hears the client's session events, also
// when it listens before the client is up (the `login` of a callback handled at start), a throwing
// listener harms no other, and the returned function stops listening; `useAuth().client()` is the
// client once started (e.g. for `sharing`). happy-dom and the fake Worker of support.mjs, like
// react.test.mjs and vue.test.mjs.
//
//   node --test --test-force-exit tests/adapters/events.test.mjs

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import {
  importPkg, installDom, installWorkerStub, OPTIONS, REDIRECT_URI, settle, waitUntil,
} from './support.mjs';

let dom;
let stub;
let React;
let RTL;
let Vue;
let VTU;
let react;
let vue;

before(async () => {
  dom = await installDom('https://app.example/');
  globalThis.IS_REACT_ACT_ENVIRONMENT = true;
  stub = installWorkerStub();
  // The DOM globals must exist before react-dom, vue's runtime-dom and the testing libraries load.
  React = await import('react');
  RTL = await import('@testing-library/react');
  Vue = await import('vue');
  VTU = await import('@vue/test-utils');
  react = await importPkg('react.js');
  vue = await importPkg('vue.js');
});

after(async () => {
  stub?.uninstall();
  await dom?.close();
});

beforeEach(() => {
  stub.reset();
  dom.setURL('https://app.example/');
  dom.navigations.length = 0;
});

const TOKEN = { expiresAt: null, scope: 'openid', resource: null };

describe('oidc-worker/react: useAuth().on and useAuth().client', () => {
  it('a listener added in an effect hears the login of the callback handled at start, then other tabs\' events; off stops it', async () => {
    stub.session.pending.set('s1', { returnTo: '/' });
    dom.setURL(`${REDIRECT_URI}?code=c1&state=s1`);
    const heard = [];
    const clients = [];
    let off;
    function Log() {
      const auth = react.useAuth();
      clients.push(auth.client());
      // A child's effect runs before the provider's, which starts the client.
      React.useEffect(() => {
        const stops = ['login', 'logout', 'tokenRefreshed', 'sessionExpired'].map((name) => auth.on(name, (detail) => heard.push({ name, detail })));
        const throwing = auth.on('logout', () => { throw new Error('a broken listener'); });
        off = () => { for (const stop of [...stops, throwing]) stop(); };
        return off;
      }, [auth.on]);
      return React.createElement('p', { 'data-testid': 'status' }, auth.isLoading ? 'loading' : String(auth.isAuthenticated));
    }
    const view = RTL.render(React.createElement(react.AuthProvider, OPTIONS, React.createElement(Log)));
    await RTL.waitFor(() => assert.equal(RTL.screen.getByTestId('status').textContent, 'true'), { timeout: 3000 });
    assert.equal(clients[0], undefined, 'no client before the provider started it');
    assert.equal(heard.length, 1, JSON.stringify(heard));
    assert.equal(heard[0].name, 'login');
    assert.equal(typeof heard[0].detail.expiresAt, 'number', 'the login event carries the token\'s expiry');
    assert.equal(heard[0].detail.resource, null);

    const auth = [];
    function Peek() { auth.push(react.useAuth()); return null; }
    view.rerender(React.createElement(react.AuthProvider, OPTIONS, React.createElement(Log), React.createElement(Peek)));
    assert.equal(auth.at(-1).client().sharing, 'tab', 'no SharedWorker here: a dedicated worker');

    // Events of the worker (e.g. another tab's refresh and logout) reach the listeners; the
    // throwing one (registered after them) harms none.
    await RTL.act(async () => {
      stub.emit('tokenRefreshed', TOKEN);
      stub.emit('logout', {});
      await settle();
    });
    assert.deepEqual(heard.slice(1), [{ name: 'tokenRefreshed', detail: TOKEN }, { name: 'logout', detail: {} }]);

    off();
    await RTL.act(async () => {
      stub.emit('sessionExpired', { reason: 'invalid_grant' });
      await settle();
    });
    assert.equal(heard.length, 3, 'nothing heard after the listeners stopped');
    view.unmount();
    await settle();
  });
});

describe('oidc-worker/vue: useAuth().on and useAuth().client', () => {
  it('listening before mount hears the callback\'s login; client() is the started client; off stops it', async () => {
    stub.session.pending.set('s1', { returnTo: '/' });
    dom.setURL(`${REDIRECT_URI}?code=c1&state=s1`);
    const auth = vue.createAuth({ ...OPTIONS, onRedirectCallback: () => {} });
    const heard = [];
    const off = auth.on('login', (detail) => heard.push({ name: 'login', detail }));
    auth.on('error', (error) => heard.push({ name: 'error', code: error.code }));
    assert.equal(auth.client(), undefined);
    const seen = [];
    const App = Vue.defineComponent({
      setup() {
        const mine = vue.useAuth();
        seen.push(mine);
        return () => Vue.h('p', mine.isAuthenticated.value ? 'in' : 'out');
      },
    });
    const wrapper = VTU.mount(App, { global: { plugins: [auth] } });
    await waitUntil('signed in', async () => { await VTU.flushPromises(); return auth.isAuthenticated.value; });
    assert.equal(seen[0].on, auth.on);
    assert.equal(heard.length, 1, JSON.stringify(heard));
    assert.equal(heard[0].name, 'login');
    assert.equal(typeof heard[0].detail.expiresAt, 'number');
    assert.equal(auth.client().sharing, 'tab');

    off();
    stub.emit('login', TOKEN);
    stub.emit('error', { code: 'network', message: 'offline' });
    await settle();
    assert.deepEqual(heard.slice(1), [{ name: 'error', code: 'network' }], 'the error event is an AuthError; login no longer heard');
    wrapper.unmount();
    await settle();
  });
});
