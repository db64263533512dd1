import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A config whose compiler is clang behind a wrapper that counts its calls: how the compile-cache
 * tests tell a compile from a cache hit. Returns the config file for `--config` and the count.
 */
export function countedClang(work: string): { configFile: string; clangRuns: () => number } {
  const calls = join(work, 'clang-calls');
  const wrapper = join(work, 'clang');
  writeFileSync(wrapper, `#!/bin/sh\necho called >> ${calls}\nexec clang "$@"\n`);
  chmodSync(wrapper, 0o755);
  const configFile = join(work, 'config.json');
  writeFileSync(configFile, JSON.stringify({ compiler: { clang: wrapper } }));
  return { configFile, clangRuns: () => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter(Boolean).length : 0) };
}
