/** Types of the probe language: 64-bit integers and bounded strings. */
export type Type = { kind: 'int'; signed: boolean } | { kind: 'str'; size: number };

export const INT: Type = { kind: 'int', signed: true };
export const UINT: Type = { kind: 'int', signed: false };
export const str = (size: number): Type => ({ kind: 'str', size });

export const typeName = (t: Type) => (t.kind === 'int' ? (t.signed ? 'int' : 'unsigned int') : `string[${t.size}]`);

