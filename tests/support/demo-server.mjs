// Serve the example app and a real OpenID Provider for a person to try, until Ctrl-C.
// Used by `scripts/demo.sh`.
//
//   node tests/support/demo-server.mjs [--port N] [--op-port N]     (default: free ports)
//   env DEMO_PORT / DEMO_OP_PORT do the same.

import { assertLibraryBuilt, startStack } from './harness.mjs';

function arg(name, env) {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : process.env[env];
  return v ? Number(v) : 0;
}

assertLibraryBuilt();
const stack = await startStack({ port: arg('--port', 'DEMO_PORT'), providerPort: arg('--op-port', 'DEMO_OP_PORT') });
console.log(`
  oidc-worker demo

  app:       ${stack.appUrl}
  provider:  ${stack.op.issuer}   (oidc-provider, dev interactions)

  Open the app, click "Log in", then sign in with ANY login and password
  (the login becomes your "sub"; name = capitalised login), and click "Continue" on the consent page.
  Ctrl-C stops both servers.
`);

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`\n  ${signal}: stopping`);
  await stack.close();
  process.exit(0);
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGHUP', () => stop('SIGHUP'));
