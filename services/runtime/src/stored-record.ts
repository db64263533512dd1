import type { Redis } from 'ioredis';
import { issuesOf } from '@tapfleet/schemas';
import type { z } from 'zod/v3';

/**
 * Reporting of stored records this process cannot read (hand-edited Redis, an older
 * release's format, a bug elsewhere): each is logged and counted by the sink, and the
 * reader skips it instead of failing every request or sweep that touches it.
 */
export type CorruptRecordSink = (store: string, key: string, reason: string) => void;

export type RecordRead<T> = { ok: true; value: T } | { ok: false; reason: string };

/** JSON text from a store, checked against the schema its writer used. */
export function readRecord<S extends z.ZodType>(schema: S, raw: string): RecordRead<z.output<S>> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  const r = schema.safeParse(json);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, reason: issuesOf(r.error).map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ') };
}

/**
 * The record as it will be stored, after checking it reads back: what the store itself
 * could not parse is never written (one such record once failed every later request).
 */
export function serializeChecked<S extends z.ZodType>(schema: S, what: string, value: z.input<S>): string {
  const text = JSON.stringify(value);
  const back = readRecord(schema, text);
  if (!back.ok) throw new UnwritableRecordError(what, back.reason);
  return text;
}

/** A write refused because the reader could not read it back; a bug upstream, reported with its fields. */
export class UnwritableRecordError extends Error {
  readonly code = 'TAPFLEET_UNWRITABLE_RECORD';
  constructor(readonly what: string, readonly reason: string) {
    super(`refusing to store ${what}: it would not read back (${reason})`);
  }
}

/** A record the API was asked for by id but cannot read; the API answers with its key and reason. */
export class CorruptRecordError extends Error {
  readonly code = 'TAPFLEET_CORRUPT_RECORD';
  constructor(readonly key: string, readonly reason: string) {
    super(`stored record ${key} is unreadable (${reason})`);
  }
}

/** What a list skipped, for the API to report alongside the readable items. */
export interface SkippedRecord {
  key: string;
  reason: string;
}

/** Redis's refusal of a command on a key that holds another kind of value (a hand edit, another tool). */
export const isWrongKind = (e: unknown): boolean => e instanceof Error && /WRONGTYPE/.test(e.message);

/**
 * GET of a string record, where a key of another kind is an unreadable record like bad JSON,
 * not an error that fails every request and sweep that touches it.
 */
export async function getStringRecord(redis: Redis, key: string): Promise<{ ok: true; raw: string | null } | { ok: false; reason: string }> {
  try {
    return { ok: true, raw: await redis.get(key) };
  } catch (e) {
    if (isWrongKind(e)) return { ok: false, reason: 'holds another kind of Redis value than a JSON string' };
    throw e;
  }
}

/** HGETALL of a hash of records; a key of another kind reads as empty (and is reported by the caller). */
export async function getHashRecords(redis: Redis, key: string): Promise<{ ok: true; raw: Record<string, string> } | { ok: false; reason: string }> {
  try {
    return { ok: true, raw: await redis.hgetall(key) };
  } catch (e) {
    if (isWrongKind(e)) return { ok: false, reason: 'holds another kind of Redis value than a hash' };
    throw e;
  }
}
