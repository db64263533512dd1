/** Types of the probe language: 64-bit integers and bounded strings. */
export type Type = { kind: 'int'; signed: boolean } | { kind: 'str'; size: number };

export const INT: Type = { kind: 'int', signed: true };
export const UINT: Type = { kind: 'int', signed: false };
export const str = (size: number): Type => ({ kind: 'str', size });

export const typeName = (t: Type) => (t.kind === 'int' ? (t.signed ? 'int' : 'unsigned int') : `string[${t.size}]`);

export const LIMITS = {
  defaultStringBytes: 64,
  maxStringBytes: 256,
  maxMapEntries: 10240,
  maxStatementsPerProbe: 1000,
  maxLhistBuckets: 1000,
  ringBufferBytes: 4 << 20,
  /** Processes one agent may be scoped to by pid (cgroup scope has no limit). */
  maxScopePids: 4096,
  /** BPF programs get 512 bytes of stack; locals and keys must fit with room to spare. */
  maxStackBytes: 400,
} as const;
