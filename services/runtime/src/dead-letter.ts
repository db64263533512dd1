import { natsTransport } from './client-modules.js';
import type { JetStreamClient } from '@nats-io/jetstream';
import { DEAD_LETTER_REASON_HEADER, deadLetterSubject, EVENTS_DEAD_LETTER_ORIGIN, misfitDeadLetters, type Misfit, type ScannedBatch } from '@tapfleet/schemas';

/** Header naming the subject a dead letter was first published on. */
export const DEAD_LETTER_ORIGIN_HEADER = 'Tapfleet-Dlq-Subject';

/**
 * Parks a message that failed validation on the dead-letter stream, bytes unchanged,
 * with the reason and original subject in headers: nothing malformed is dropped
 * silently, and nothing malformed stops a consumer. With a message id, a dead letter
 * published again (a redelivery, another reader of the same message) is stored once;
 * returns false when the stream had it already.
 */
export async function publishDeadLetter(js: JetStreamClient, origin: string, subject: string, data: Uint8Array, reason: string, msgId?: string): Promise<boolean> {
  const h = natsTransport().headers();
  h.set(DEAD_LETTER_REASON_HEADER, reason.slice(0, 1000).replace(/[\r\n]+/g, ' '));
  h.set(DEAD_LETTER_ORIGIN_HEADER, subject);
  const ack = await js.publish(deadLetterSubject(origin), data, { headers: h, ...(msgId ? { msgID: msgId } : {}) });
  return !ack.duplicate;
}

/**
 * Dead-letters the records of an events batch that fit no layout (schemas' fitBatch), one dead
 * letter per run of them, each a batch of just those records; the rest of the batch is the
 * caller's to take. Every reader of the batch publishes the same dead letters under the same ids,
 * so the stream keeps one copy. Returns how many were new.
 */
export async function deadLetterMisfits(js: JetStreamClient, subject: string, batch: ScannedBatch, misfits: readonly Misfit[]): Promise<number> {
  let stored = 0;
  for (const letter of misfitDeadLetters(batch, misfits))
    if (await publishDeadLetter(js, EVENTS_DEAD_LETTER_ORIGIN, subject, letter.bytes, letter.reason, letter.msgId)) stored++;
  return stored;
}
