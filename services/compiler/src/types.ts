/** Types of the probe language: 64-bit integers, bounded strings and stacks (kstack/ustack). */
export type Type =
  | { kind: 'int'; signed: boolean }
  | { kind: 'str'; size: number }
  /** A stack sampled where the probe fires, kept by id in a stack-trace map; usable as a map key. */
  | { kind: 'stack'; user: boolean; depth: number };

export const INT: Type = { kind: 'int', signed: true };
export const UINT: Type = { kind: 'int', signed: false };
export const str = (size: number): Type => ({ kind: 'str', size });

export const typeName = (t: Type) =>
  t.kind === 'int' ? (t.signed ? 'int' : 'unsigned int') : t.kind === 'str' ? `string[${t.size}]` : `${t.user ? 'ustack' : 'kstack'}(${t.depth})`;
