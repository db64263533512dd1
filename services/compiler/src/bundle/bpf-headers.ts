import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { C_ABI_INCLUDE_DIR } from '@tapfleet/schemas';

/**
 * The C headers every generated program includes, found from the installed packages: the
 * compiler's own `bpf/tapfleet.bpf.h` (static helpers and the objects every bundle defines)
 * and the schemas' `include/tapfleet-abi.h` (the names and record header runner.c shares).
 * Each directory gets a stable name in the object's debug and BTF line info, so an object
 * does not depend on where the repository is checked out.
 */
export const BPF_INCLUDE_DIRS: readonly { dir: string; as: string }[] = [
  { dir: fileURLToPath(new URL('../../bpf', import.meta.url)), as: 'tapfleet/bpf' },
  { dir: C_ABI_INCLUDE_DIR.replace(/\/$/, ''), as: 'tapfleet/include' },
];

let digest: string | undefined;

/**
 * sha256 over every header's name and content: part of the compile cache's key and of the
 * build directory's name, so an edited header is a new build. Read once per process (the
 * headers ship with the code, which a running process does not see change either).
 */
export function bpfHeadersDigest(): string {
  if (digest) return digest;
  const h = createHash('sha256');
  for (const { dir, as } of BPF_INCLUDE_DIRS)
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.h')).sort()) h.update(`${as}/${f}\n`).update(readFileSync(join(dir, f))).update('\n');
  digest = h.digest('hex');
  return digest;
}
