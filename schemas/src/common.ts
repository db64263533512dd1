import { z } from 'zod/v3';

/** Lower-case hex of a fixed number of bytes (build-ids, digests). */
export const hexBytes = (minBytes: number, maxBytes = minBytes) =>
  z
    .string()
    .regex(/^[0-9a-f]+$/, 'expected lower-case hex')
    .refine((s) => s.length % 2 === 0 && s.length >= minBytes * 2 && s.length <= maxBytes * 2, {
      message: minBytes === maxBytes ? `expected ${minBytes} bytes of hex` : `expected ${minBytes}..${maxBytes} bytes of hex`,
    });

/** GNU build-ids are usually 20 bytes (SHA-1) but the note allows 16..64. */
export const BuildId = hexBytes(16, 64);
export const Sha256Hex = hexBytes(32);

/** Host ids travel inside NATS subjects, so they must be a single safe token. */
export const HostId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'expected letters, digits, _ or - (it is used in NATS subjects)');

export const DeploymentId = z
  .string()
  .regex(/^d-[a-z0-9]{6,32}$/, 'expected a deployment id like d-1a2b3c4d');

export const Labels = z.record(
  z.string().regex(/^[A-Za-z0-9_.\/-]{1,63}$/, 'label keys are 1-63 of letters, digits, _ . / -')
    // zod 3's record leaves a "__proto__" key out of what it returns, with no issue: a selector would match more hosts than asked.
    .refine((k) => k !== '__proto__', { message: 'label key __proto__ is reserved' }),
  z.string().max(256),
);

/** Positional parameters a script is compiled with (`$1`.., `$#`): `tapfleet run FILE 1234 foo`, a deployment's `params`. */
export const MAX_SCRIPT_PARAMS = 64;
export const MAX_SCRIPT_PARAM_BYTES = 4096;
/** Written in the API common to zod 3 and 4 (the repo moves to 'zod/v3'): refine with { message }. */
export const ScriptParams = z
  .array(z.string().refine((p) => Buffer.byteLength(p) <= MAX_SCRIPT_PARAM_BYTES && !p.includes('\0'), { message: `a positional parameter is at most ${MAX_SCRIPT_PARAM_BYTES} bytes, with no NUL` }))
  .max(MAX_SCRIPT_PARAMS, { message: `at most ${MAX_SCRIPT_PARAMS} positional parameters` });

/** What is wrong with parameters given on a command line, in words (`parameter 2: ...`), or undefined. */
export function scriptParamsProblem(params: readonly string[]): string | undefined {
  const r = ScriptParams.safeParse(params);
  return r.success ? undefined : r.error.issues.map((i) => `${i.path.length ? `parameter ${Number(i.path[0]) + 1}: ` : ''}${i.message}`).join('; ');
}

/** Nanoseconds since the Unix epoch (or a duration), as a decimal string: u64 does not fit a JSON number. */
export const U64String = z.string().regex(/^(0|[1-9][0-9]{0,19})$/, 'expected an unsigned 64-bit integer as a decimal string');

/** Wall-clock timestamp in milliseconds (for control-plane records, where ms is plenty). */
/** `new Date()` holds at most 8.64e15 ms; a later "timestamp" cannot even be printed (toISOString throws). */
export const MAX_EPOCH_MS = 8_640_000_000_000_000;
export const EpochMs = z.number().int().safe().nonnegative().max(MAX_EPOCH_MS, 'beyond the last date JavaScript can represent');
