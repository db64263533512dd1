import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { realtimeNs } from '@tapfleet/runtime';
import { TIME_SUBJECT, type TimeReply } from '@tapfleet/schemas';

/**
 * The fleet's reference clock: answers each request with this host's realtime clock,
 * read as late as possible (right before the reply), so the agent's RTT brackets it.
 * Core NATS request/reply in a queue group: any replica may answer.
 */
export function startTimeService(nc: NatsConnection): Subscription {
  return nc.subscribe(TIME_SUBJECT, {
    queue: 'tapfleet-time',
    callback: (err, msg) => {
      if (err) return;
      const reply: TimeReply = { nowNs: realtimeNs().toString() };
      msg.respond(JSON.stringify(reply));
    },
  });
}
