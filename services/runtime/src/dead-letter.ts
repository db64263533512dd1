import { natsTransport } from './client-modules.js';
import type { JetStreamClient } from '@nats-io/jetstream';
import { DEAD_LETTER_REASON_HEADER, deadLetterSubject } from '@tapfleet/schemas';

/** Header naming the subject a dead letter was first published on. */
export const DEAD_LETTER_ORIGIN_HEADER = 'Tapfleet-Dlq-Subject';

/**
 * Parks a message that failed validation on the dead-letter stream, bytes unchanged,
 * with the reason and original subject in headers: nothing malformed is dropped
 * silently, and nothing malformed stops a consumer.
 */
export async function publishDeadLetter(js: JetStreamClient, origin: string, subject: string, data: Uint8Array, reason: string): Promise<void> {
  const h = natsTransport().headers();
  h.set(DEAD_LETTER_REASON_HEADER, reason.slice(0, 1000).replace(/[\r\n]+/g, ' '));
  h.set(DEAD_LETTER_ORIGIN_HEADER, subject);
  await js.publish(deadLetterSubject(origin), data, { headers: h });
}
