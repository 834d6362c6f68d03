// Module resolution hooks for the adapter tests (registered by support.mjs with node:module's
// register()): a bare specifier ('react', 'vue') imported by a file of the package under test
// resolves as if it were imported from the repository, so that a pkg/ snapshot outside the repo
// (e.g. OIDC_WORKER_PKG_DIR=/tmp/pkg-e) uses the repo's node_modules, and the very same React /
// Vue instance as the test file and the testing libraries. Relative and absolute specifiers are
// left alone.

let pkgDirUrl = '';
let parentUrl = '';

export async function initialize(data) {
  pkgDirUrl = data.pkgDirUrl;
  parentUrl = data.parentUrl;
}

const NOT_BARE = /^(?:\.{0,2}\/|[a-zA-Z][a-zA-Z0-9+.-]*:)/;

export async function resolve(specifier, context, nextResolve) {
  if (context.parentURL?.startsWith(pkgDirUrl) && !NOT_BARE.test(specifier)) {
    return nextResolve(specifier, { ...context, parentURL: parentUrl });
  }
  return nextResolve(specifier, context);
}
