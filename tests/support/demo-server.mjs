// Serve the example apps and a real OpenID Provider for a person to try, until Ctrl-C.
// Used by `scripts/demo.sh`.
//
//   node tests/support/demo-server.mjs [--port N] [--op-port N] [--no-examples]   (default: free ports)
//   env DEMO_PORT / DEMO_OP_PORT do the same; DEMO_EXAMPLES=0 = --no-examples.
//
// The vanilla app (www/vanilla/, unbundled, the built pkg/ through an import map) is served as
// before, at <port>/vanilla/. Unless --no-examples, the example apps www/react/, www/vue/ and
// www/webpack/ are also built the way a user builds them (tests/support/examples.mjs: the package
// packed with npm pack and installed from the tarball, the framework at the repository's versions,
// Vite / webpack) and each served at the root of its own free port with /config.json, next to a
// protected API (tests/support/api-server.mjs: GET /me, tokens introspected at the provider) that
// their "Call GET .../me" buttons and their session panels reach through auth.fetch (the vanilla
// app's panel too: its /demo-config.json then names the API). One provider knows every app's URL.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startProvider } from '../op/provider.mjs';
import { startApiServer } from './api-server.mjs';
import {
  EXAMPLES, buildExample, installExample, packPackage, serveExample,
} from './examples.mjs';
import { APP_PATH, PKG_DIR, assertLibraryBuilt } from './harness.mjs';
import { REPO_ROOT, startStaticServer } from './static-server.mjs';

function arg(name, env) {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : process.env[env];
  return v ? Number(v) : 0;
}
const withExamples = !process.argv.includes('--no-examples') && process.env.DEMO_EXAMPLES !== '0';

const closers = [];
let tmp;
let stopping = false;
async function stop(signal, status = 0) {
  if (stopping) return;
  stopping = true;
  if (signal) console.log(`\n  ${signal}: stopping`);
  await Promise.allSettled(closers.map((close) => close()));
  if (tmp) await rm(tmp, { recursive: true, force: true });
  process.exit(status);
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGHUP', () => stop('SIGHUP'));

try {
  assertLibraryBuilt();
  let op;
  let api;

  // The vanilla app, exactly as before: pkg/ + www/ and /demo-config.json.
  const web = await startStaticServer({
    port: arg('--port', 'DEMO_PORT'),
    mounts: { '/pkg/': PKG_DIR, '/vendor/uqr/': join(REPO_ROOT, 'node_modules/uqr/dist'), '/': join(REPO_ROOT, 'www') },
    // With the API (when the examples are built), the vanilla app's session panel calls it too.
    json: {
      '/demo-config.json': () => ({
        issuer: op.issuer, clientId: op.clientId, ...(api ? { options: { apiOrigins: [api.origin] } } : {}),
      }),
    },
  });
  closers.push(() => web.close());
  const vanillaUrl = `${web.origin}${APP_PATH}`;

  // The example apps, built from the packed package (a failed one is reported and left out).
  const examples = [];
  if (withExamples) {
    tmp = await mkdtemp(join(tmpdir(), 'oidc-worker-demo-'));
    const t0 = Date.now();
    console.log('  building the example apps from the packed package (--no-examples skips this)…');
    const { tgz } = await packPackage(tmp);
    for (const name of Object.keys(EXAMPLES)) {
      try {
        const t = Date.now();
        const { dir } = await installExample(name, { tgz, into: join(tmp, name) });
        const { distDir } = await buildExample(name, dir);
        const server = await serveExample(name, distDir, {
          config: () => ({ issuer: op.issuer, clientId: op.clientId, apiOrigin: api.origin }),
        });
        closers.push(() => server.close());
        examples.push({ name, url: `${server.origin}/`, origin: server.origin });
        console.log(`  ${name.padEnd(8)} built in ${Date.now() - t} ms`);
      } catch (err) {
        console.error(`  ${name}: could not be built, left out:\n${String(err?.message ?? err).replace(/^/gm, '    ')}`);
      }
    }
    console.log(`  examples ready in ${Date.now() - t0} ms`);
  }

  const appUrls = [vanillaUrl, ...examples.map((e) => e.url)];
  op = await startProvider({
    redirectUris: appUrls,
    postLogoutRedirectUris: appUrls,
    port: arg('--op-port', 'DEMO_OP_PORT'),
    introspection: withExamples,
  });
  closers.push(() => op.close());
  if (examples.length) {
    api = await startApiServer({
      allowOrigin: [web.origin, ...examples.map((e) => e.origin)],
      introspect: (token) => op.introspect(token),
    });
    closers.push(() => api.close());
  }

  const width = Math.max(9, ...examples.map((e) => e.name.length + 1));
  const row = (label, text) => `  ${label.padEnd(width)}  ${text}`;
  console.log([
    '',
    '  oidc-worker demo',
    '',
    row('app:', `${vanillaUrl}   (vanilla: no bundler, import map)`),
    ...examples.map((e) => row(`${e.name}:`, `${e.url}   (${EXAMPLES[e.name].bundler}, built from the packed package)`)),
    row('provider:', `${op.issuer}   (oidc-provider, dev interactions)`),
    ...(api ? [row('api:', `${api.origin}/me   (protected: GET with a Bearer token the provider introspects as active)`)] : []),
    '',
    '  Open an app, click "Log in" / "Sign in", then sign in with ANY login and password',
    '  (the login becomes your "sub"; name = capitalised login), and click "Continue" on the consent page.',
    '  Ctrl-C stops every server.',
    '',
  ].join('\n'));
} catch (err) {
  console.error(`demo: ${err?.stack ?? err}`);
  await stop(undefined, 1);
}
