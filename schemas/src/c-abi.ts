import { fileURLToPath } from 'node:url';

/**
 * The directory holding `tapfleet-abi.h`, the C half of the contract between generated BPF
 * objects and their loader (object names, stats slots, scope modes, the record header
 * `struct tf_prefix` whose TypeScript half is EVENT_PREFIX). The compiler passes it to clang
 * with -I; agents/runner's Makefile includes it for runner.c.
 */
export const C_ABI_INCLUDE_DIR = fileURLToPath(new URL('../include/', import.meta.url));
