import { z } from 'zod/v3';
import type { EventsCursor } from './query-sql.js';

/** A cursor that is not one this service handed out; the API answers 400 naming `cursor`. */
export class CursorError extends Error {
  readonly code = 'TAPFLEET_BAD_CURSOR';
}

const CursorJson = z.object({ t: z.string().regex(/^\d{1,20}$/), h: z.string().max(128), b: z.string().max(64), s: z.string().regex(/^\d{1,20}$/) });

/**
 * Where a page of raw events ended, opaque to clients (base64url JSON): the next page starts
 * strictly after this (time, host, boot, seq), so rows arriving meanwhile are neither skipped nor repeated.
 */
export function encodeCursor(c: EventsCursor): string {
  return Buffer.from(JSON.stringify({ t: String(c.tsNs), h: c.host, b: c.bootId, s: String(c.seq) })).toString('base64url');
}

export function decodeCursor(text: string): EventsCursor {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError('not a cursor this service gave out');
  }
  const r = CursorJson.safeParse(json);
  if (!r.success) throw new CursorError('not a cursor this service gave out');
  return { tsNs: BigInt(r.data.t), host: r.data.h, bootId: r.data.b, seq: BigInt(r.data.s) };
}
