import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod/v3';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { KernelProfile, parseOrThrow } from '@tapfleet/schemas';

/** test/fixtures/kernels: real kernels' profiles (this host's from tracefs, others derived from Debian images' BTF). */
export const KERNEL_FIXTURES_DIR = join(PROJECT_ROOT, 'test', 'fixtures', 'kernels');

const KernelFixtureFile = z.object({
  kernel: KernelProfile,
  /** Tracepoints a derived profile left out, each with why (scripts/kernel-profiles.sh writes them). */
  underived: z.array(z.object({ name: z.string(), reason: z.string() })).default([]),
});

export interface KernelFixture {
  file: string;
  kernel: KernelProfile;
  underived: Map<string, string>;
}

export function kernelFixtures(): KernelFixture[] {
  return readdirSync(KERNEL_FIXTURES_DIR)
    .filter((f) => f.endsWith('.json') || f.endsWith('.json.gz'))
    .sort()
    .map((file) => {
      const raw = readFileSync(join(KERNEL_FIXTURES_DIR, file));
      const parsed = parseOrThrow(KernelFixtureFile, JSON.parse((file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')), file);
      return { file, kernel: parsed.kernel, underived: new Map(parsed.underived.map((u) => [u.name, u.reason])) };
    });
}
