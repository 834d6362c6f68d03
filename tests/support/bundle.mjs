// Builds an app with a bundler (Vite: viteBuild, webpack 5: webpackBuild) in a child process that is
// killed when it overruns.
//
// Vite 8 (rolldown) now and then finishes writing its output and then never lets the process
// exit, or stalls mid-build (rolldown/rolldown#10606, vitejs/vite#21784: native worker threads).
// In-process, that hang outlives every test timeout; in a child that exits explicitly after the
// build and is SIGKILLed after `timeoutMs`, it costs at most one retry. Only a timeout is retried;
// a build error fails at once.

import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { REPO_ROOT } from './static-server.mjs';

/** Runs `node --input-type=module -e script` in cwd; resolves with its output, or rejects. */
function runNode(script, cwd, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd, env: { ...process.env, NODE_PATH: undefined }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b) => { out += b; });
    child.stderr.on('data', (b) => { out += b; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(Object.assign(new Error(`bundler child ${signal ? `killed (${signal})` : `exited ${code}`}:\n${out}`),
        { timedOut: signal === 'SIGKILL' }));
    });
  });
}

/**
 * `vite build` of `root` with no config file and no plugins, by the repository's vite. Resolves
 * with [{ type, fileName }] of the output.
 */
export async function viteBuild(root, { timeoutMs = 90_000, attempts = 2 } = {}) {
  const viteUrl = new URL('node_modules/vite/dist/node/index.js', `file://${REPO_ROOT}/`).href;
  const script = `
    const { build } = await import(${JSON.stringify(viteUrl)});
    const result = await build({ root: ${JSON.stringify(root)}, configFile: false, logLevel: 'warn' });
    const out = (Array.isArray(result) ? result : [result])
      .flatMap((r) => r.output.map((o) => ({ type: o.type, fileName: o.fileName })));
    process.stdout.write('\\n@@OUTPUT@@' + JSON.stringify(out) + '\\n', () => process.exit(0));`;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const out = await runNode(script, root, timeoutMs);
      const line = out.split('\n').find((l) => l.startsWith('@@OUTPUT@@'));
      if (!line) throw new Error(`vite build printed no output list:\n${out}`);
      return JSON.parse(line.slice('@@OUTPUT@@'.length));
    } catch (err) {
      if (!err.timedOut || attempt >= attempts) throw err;
      console.log(`# vite build overran ${timeoutMs} ms (attempt ${attempt}); retrying`);
    }
  }
}

/**
 * webpack 5 build of `root` with its own config file (default `webpack.config.mjs`; a plain ES
 * module exporting the configuration object), by the repository's webpack through its Node API
 * (no webpack-cli), in a child process with cwd = root (webpack's default context). Resolves with
 * { output: [{ type: 'chunk' | 'asset', fileName, size, sourceFilename? }], warnings: [string],
 * outputPath }; a compilation error rejects.
 */
export async function webpackBuild(root, { configFile = 'webpack.config.mjs', timeoutMs = 90_000, attempts = 2 } = {}) {
  const repoRequire = JSON.stringify(`${REPO_ROOT}/package.json`);
  const configUrl = JSON.stringify(pathToFileURL(resolve(root, configFile)).href);
  const script = `
    import { createRequire } from 'node:module';
    const webpack = createRequire(${repoRequire})('webpack');
    const { default: config } = await import(${configUrl});
    const compiler = webpack(config);
    compiler.run((err, stats) => {
      if (err) { console.error(err.stack || String(err)); process.exit(1); }
      if (stats.hasErrors()) { console.error(stats.toString('errors-only')); process.exit(1); }
      const result = {
        outputPath: stats.compilation.outputOptions.path,
        // Chunks are JS the bundler generated; assets are files it took from a module (the .wasm).
        output: stats.compilation.getAssets().map(({ name, source, info }) => ({
          type: info.sourceFilename ? 'asset' : 'chunk', fileName: name, size: source.size(),
          ...(info.sourceFilename ? { sourceFilename: info.sourceFilename } : {}),
        })),
        warnings: stats.compilation.warnings.map((w) => w.message ?? String(w)),
      };
      compiler.close(() => process.stdout.write('\\n@@OUTPUT@@' + JSON.stringify(result) + '\\n', () => process.exit(0)));
    });`;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const out = await runNode(script, root, timeoutMs);
      const line = out.split('\n').find((l) => l.startsWith('@@OUTPUT@@'));
      if (!line) throw new Error(`webpack printed no output list:\n${out}`);
      return JSON.parse(line.slice('@@OUTPUT@@'.length));
    } catch (err) {
      if (!err.timedOut || attempt >= attempts) throw err;
      console.log(`# webpack build overran ${timeoutMs} ms (attempt ${attempt}); retrying`);
    }
  }
}
