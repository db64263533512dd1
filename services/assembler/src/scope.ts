/** The instrumentation scope spans are exported under. */
export const ASSEMBLER_SCOPE = { name: 'tapfleet-assembler', version: '0.1.0' } as const;
