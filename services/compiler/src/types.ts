/** Types of the probe language: 64-bit integers, bounded strings and stacks (kstack/ustack). */
export type Type =
  /**
   * `sym`: an address ksym()/usym() gave, named in user space; `strftime`: nsecs that
   * strftime(FORMAT, ns) gave, printed as local wall time. Both compute as integers in the kernel.
   */
  | { kind: 'int'; signed: boolean; sym?: 'ksym' | 'usym'; strftime?: string }
  | { kind: 'str'; size: number }
  /** A stack sampled where the probe fires, kept by id in a stack-trace map; usable as a map key. */
  | { kind: 'stack'; user: boolean; depth: number };

/** What a value map stores: an integer or a string (stacks are keys only). */
export type ValueType = Extract<Type, { kind: 'int' | 'str' }>;

export const INT = { kind: 'int', signed: true } as const satisfies Type;
export const UINT = { kind: 'int', signed: false } as const satisfies Type;
export const str = (size: number): Extract<Type, { kind: 'str' }> => ({ kind: 'str', size });

export const typeName = (t: Type) =>
  t.kind === 'int' ? (t.sym ? `${t.sym}()` : t.strftime !== undefined ? 'strftime()' : t.signed ? 'int' : 'unsigned int') : t.kind === 'str' ? `string[${t.size}]` : `${t.user ? 'ustack' : 'kstack'}(${t.depth})`;
