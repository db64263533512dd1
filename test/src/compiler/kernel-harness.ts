import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DecodedEvent } from '@tapfleet/schemas';
import { DEFAULT_DATA_DIR, PROJECT_ROOT } from '@tapfleet/runtime';
import type { Alias } from '@tapfleet/compiler';
import { compileForThisHost, runSession, type SessionOptions, type SessionResult } from '@tapfleet/local';
import { verifyBundle } from '@tapfleet/schemas';

const keys = generateKeyPairSync('ed25519');
export const TEST_PUBLIC_KEY = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
export const TEST_SIGNING_KEY = keys.privateKey;

/**
 * Builds test/fixtures/tracee.c. Frame pointers everywhere so each function starts
 * with `push` (an emulated instruction: ~0.6 us a uprobe hit instead of ~4 us).
 */
export function buildTracee(name = 'tracee'): string {
  const dir = join(DEFAULT_DATA_DIR, 'test-bin');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, name);
  execFileSync('gcc', ['-O1', '-g', '-fno-omit-frame-pointer', '-mno-omit-leaf-frame-pointer', '-Wl,--build-id', '-o', out, join(PROJECT_ROOT, 'test', 'fixtures', 'tracee.c')]);
  return out;
}

export interface TraceRun extends SessionResult {
  events: number;
  collected: { name: string; fields: DecodedEvent }[];
}

/** Compiles `script` for this host, verifies it, and runs it around `command`. */
export async function traceCommand(
  script: string,
  command: string[],
  extra: Partial<SessionOptions> & { ringBufferBytes?: number; binaryPaths?: Record<string, string>; tapsets?: Alias[]; usdtArgs?: 'direct' | 'libbpf' } = {},
): Promise<TraceRun> {
  const { ringBufferBytes, binaryPaths, tapsets, usdtArgs, ...session } = extra;
  const bundle = await compileForThisHost('test.tap', script, {
    signingKey: TEST_SIGNING_KEY,
    ...(tapsets ? { tapsets } : {}),
    ...(binaryPaths ? { binaryPaths } : {}),
    ...(ringBufferBytes ? { ringBufferBytes } : {}),
    ...(usdtArgs ? { usdtArgs } : {}),
  });
  verifyBundle(bundle, TEST_PUBLIC_KEY);
  const collected: TraceRun['collected'] = [];
  const result = await runSession({ bundle, command, onEvent: (name, fields) => collected.push({ name, fields }), ...session });
  return { ...result, collected };
}
