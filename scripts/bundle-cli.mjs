// The CLI bundled for start-up (`npm run build`, after `tsc -b`): bin/tapfleet.js runs
// services/cli/bundle/<build>/tapfleet.mjs when it is fresh, else the compiled packages themselves.
//
// Why: a `tapfleet run` loads ~120 ES modules, and Node's loader (resolve each URL, read each
// file, link) cost more of its start than the code did. esbuild puts the packages into a few
// files; with code splitting each command's lazy import() stays a lazy chunk, so a command
// still loads only what it uses (test/src/cli/import-graph.test.ts checks both ways).
//
// What goes in: the tapfleet workspaces (their compiled dist/) and zod (pure ES modules, no
// file read at run time). Every other package stays external and is loaded by Node as before:
// the clients (NATS, ClickHouse, Redis, Kafka, OpenTelemetry, Prometheus) and pino (its
// transports start worker files), echarts (the page serves its file); none is on the path a
// user waits for, and a package read from its own directory cannot break by moving.
//
// Files found relative to their own module: every `import.meta.url` in a bundled file becomes
// the URL of that file's compiled dist/ original (computed relative to the chunk, so the
// checkout can move). Paths to assets (bpf/, include/, clickhouse/, web/, the runner binary),
// worker and child-process entry files (which stay unbundled dist files) and createRequire
// bases keep meaning exactly what they mean unbundled. Any other `import.meta` use (resolve,
// dirname) fails the build, so a new one is looked at rather than resolved from the chunk's directory.
//
// Staleness: stamp.json names the current build's directory and holds the mtime of each
// bundled workspace's tsconfig.tsbuildinfo (tsc -b rewrites it whenever it emits) and of
// node_modules' .package-lock.json (npm rewrites it on every install). bin/tapfleet.js stats
// them and runs the unbundled packages if any differs, so a `tsc -b` alone never leaves a stale
// bundle running.
//
// Each build goes to a directory of its own and stamp.json is replaced (renamed into place) last:
// a process already running from an earlier build (a demo's services, an agent) still finds
// the chunks it has yet to import lazily, and a process starting meanwhile never reads a
// half-written build. Builds other than the new one are removed once a day old.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(ROOT, 'services', 'cli', 'bundle');
const STAMP = join(BUNDLE, 'stamp.json');
const BUILD = `build-${Date.now().toString(36)}-${process.pid}`;
const OUT = join(BUNDLE, BUILD);
/** How long an earlier build stays for the processes started from it. */
const KEEP_MS = 24 * 3600_000;
/** Bundled packages (bare specifiers); everything else that is not relative stays external. */
const BUNDLED = /^(@tapfleet\/|zod(\/|$))/;
/** A compiled workspace file: <workspace>/dist/... (not node_modules). */
const WORKSPACE_DIST = /^(schemas|services\/[^/]+|agents\/[^/]+)\/dist\//;

const workspaces = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).workspaces.filter((w) => w !== 'test');
// An external package must resolve from the bundle's directory as it does from the file that
// imports it: a workspace's own node_modules would be invisible from services/cli/bundle/*/.
for (const ws of workspaces)
  if (existsSync(join(ROOT, ws, 'node_modules'))) throw new Error(`bundle-cli: ${ws}/node_modules exists; its packages would resolve differently from the bundle`);

/** The files whose mtimes say the bundle is current, and those mtimes, taken before building (a tsc run during the build makes it stale, not wrong). */
const watched = [...workspaces.map((ws) => `${ws}/tsconfig.tsbuildinfo`), 'node_modules/.package-lock.json'];
const inputs = Object.fromEntries(watched.map((f) => [f, statSync(join(ROOT, f)).mtimeMs]));
// The compile cache keys on the compiled files of the packages that decide a bundle's bytes
// (services/local's cache-key.ts): computed here, over the files about to be bundled, the bundle
// carries it as a constant and a cached run need not walk and stat them all again. Taken before
// building, as the stamp's mtimes are: a tsc run meanwhile makes the whole build stale.
const { packagesCodeIdentity } = await import('@tapfleet/local');
const define = { 'globalThis.TAPFLEET_BUNDLED_CODE_IDENTITY': JSON.stringify(packagesCodeIdentity()) };

const moduleUrls = {
  name: 'module-urls',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (a) => (a.path.startsWith('node:') || BUNDLED.test(a.path) ? undefined : { path: a.path, external: true }));
    b.onLoad({ filter: /\.js$/ }, (a) => {
      const rel = relative(ROOT, a.path).split(sep).join('/');
      if (!WORKSPACE_DIST.test(rel)) return undefined;
      const text = readFileSync(a.path, 'utf8');
      const fromChunk = relative(OUT, a.path).split(sep).join('/');
      const contents = text.replace(/\bimport\.meta(\.url\b)?/g, (m, url) => {
        if (url) return `new URL(${JSON.stringify(fromChunk)}, import.meta.url).href`;
        throw new Error(`bundle-cli: ${rel} uses import.meta other than import.meta.url: make it derive from import.meta.url, or teach scripts/bundle-cli.mjs what it means`);
      });
      return { contents, loader: 'js' };
    });
  },
};

mkdirSync(OUT, { recursive: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: { tapfleet: 'services/cli/dist/index.js' },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  // .mjs: Node knows each file's format from its name; a .js file costs every import a walk up the
  // directories for the package.json that says `"type": "module"` (a run imports ~30 files).
  outExtension: { '.js': '.mjs' },
  metafile: true,
  define,
  logLevel: 'warning',
  plugins: [moduleUrls],
});
// meta.json: which inputs each chunk holds (import-graph.test.ts maps loaded chunks back to modules).
writeFileSync(join(OUT, 'meta.json'), JSON.stringify(result.metafile));
writeFileSync(`${STAMP}.${process.pid}`, `${JSON.stringify({ build: BUILD, inputs }, null, 1)}\n`);
renameSync(`${STAMP}.${process.pid}`, STAMP);
for (const d of readdirSync(BUNDLE))
  if (d.startsWith('build-') && d !== BUILD && Date.now() - statSync(join(BUNDLE, d)).mtimeMs > KEEP_MS) rmSync(join(BUNDLE, d), { recursive: true, force: true });
const chunks = Object.keys(result.metafile.outputs).length;
process.stderr.write(`bundle-cli: ${Object.keys(result.metafile.inputs).length} modules -> ${chunks} files in ${relative(ROOT, OUT)}/\n`);
