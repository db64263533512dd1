import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT, type Command } from '@tapfleet/runtime';
import { BROWSER_PACKAGES, BUILD_PACKAGES, ensureDebianPackages, STACK_PACKAGES, STACK_TEST_PACKAGES, TAPSET_TEST_PACKAGES, TLS_TEST_PACKAGES } from './debian-packages.js';
import { ensureTracefs } from './tracefs.js';
import { ensureJaegerBinary } from './jaeger-build.js';
import { ensureHelmTools } from './helm-tools.js';

/**
 * `tapfleet setup`: everything a fresh machine needs before the stack and the
 * runner can work. Idempotent and quiet when nothing is missing.
 */
export const setupCommand: Command = {
  path: ['setup'],
  summary: 'install missing Debian packages (servers, the BPF toolchain, chromium for the page tests, postgresql for its tapset test), mount tracefs, build the runner, the demo pipeline and (once, with Go) Jaeger and the Helm chart\'s tools',
  async run(_v, _p, { log }) {
    ensureDebianPackages([...STACK_PACKAGES, ...BUILD_PACKAGES, ...BROWSER_PACKAGES, ...TAPSET_TEST_PACKAGES, ...TLS_TEST_PACKAGES, ...STACK_TEST_PACKAGES], log);
    ensureTracefs(log);
    // make is incremental: a no-op when the runner and the demo (test/demo, its USDT-probed
    // trading pipeline) are up to date.
    for (const dir of [['agents', 'runner'], ['test', 'demo']])
      execFileSync('make', ['-s', '-C', join(PROJECT_ROOT, ...dir)], { stdio: ['ignore', 'inherit', 'inherit'] });
    // The tests' OTLP receiver (and `stack up --with jaeger`): built here, once, not per test.
    await ensureJaegerBinary(log);
    // The chart and image tests' tools: helm, kubeconform, manifest-check, the Kubernetes schemas
    // and dockerfile-check, built once.
    await ensureHelmTools(log);
    return 0;
  },
};
