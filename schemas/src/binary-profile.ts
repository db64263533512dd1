import { z } from 'zod/v3';
import { BuildId } from './common.js';

export const ElfSymbol = z.object({
  name: z.string().min(1),
  /** Virtual address as in the symbol table. */
  address: z.number().int().safe().nonnegative(),
  size: z.number().int().safe().nonnegative(),
  /** File offset of the symbol: what a uprobe attaches to. */
  fileOffset: z.number().int().safe().nonnegative(),
});
export type ElfSymbol = z.infer<typeof ElfSymbol>;

/** One `.note.stapsdt` entry (a sys/sdt.h probe site). */
export const UsdtNote = z.object({
  provider: z.string().min(1),
  name: z.string().min(1),
  address: z.number().int().safe().nonnegative(),
  base: z.number().int().safe().nonnegative(),
  semaphore: z.number().int().safe().nonnegative(),
  /** Argument spec as the assembler wrote it, e.g. `-4@%edi 8@-16(%rbp)`. */
  args: z.string(),
  /** File offset of the probe site (a uprobe attaches there), prelink-adjusted. */
  fileOffset: z.number().int().safe().nonnegative().optional(),
  /** File offset of the semaphore (the uprobe's reference counter), 0 when there is none. */
  semaphoreFileOffset: z.number().int().safe().nonnegative().optional(),
});
export type UsdtNote = z.infer<typeof UsdtNote>;

/** What the compiler needs to know of a probed binary, read from its ELF locally or by an agent. */
export const BinaryProfile = z.object({
  path: z.string().startsWith('/', 'expected an absolute path'),
  buildId: BuildId,
  symbols: z.array(ElfSymbol),
  usdt: z.array(UsdtNote),
});
export type BinaryProfile = z.infer<typeof BinaryProfile>;
