/**
 * `node --import test/dist/cli/module-trace.js bin/tapfleet.js ...` with TAPFLEET_MODULE_TRACE=FILE:
 * appends every module the process loads to FILE, one per line: `esm URL` as the loader resolves
 * it, and at exit `cjs PATH` for each CommonJS module in the require cache (the client libraries
 * are CommonJS, and a lazy require() never passes the ESM loader). For import-graph.test.ts.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.TAPFLEET_MODULE_TRACE;
if (!out) throw new Error('module-trace: set TAPFLEET_MODULE_TRACE to the file to write');
register(new URL('./module-trace-hooks.js', import.meta.url), { data: { out } });
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(out, Object.keys(require.cache).map((p) => `cjs ${p}\n`).join('')));
