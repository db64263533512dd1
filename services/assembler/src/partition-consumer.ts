import { AckPolicy, DeliverPolicy, type ConsumerInfo, type JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@tapfleet/runtime';
import { assemblerConsumerName, EVENTS_FILTER, EVENTS_STREAM, MAX_ASSEMBLER_PARTITIONS, type AssemblerConfig } from '@tapfleet/schemas';

const NS_PER_MS = 1_000_000;
const DESCRIPTION = /^tapfleet assembler partition (\d+) of (\d+); catch-up to (\d+)$/;

export interface PartitionConsumer {
  name: string;
  /** Messages up to this stream sequence were read by a previous partition set: treat them as redelivered. */
  catchUpTo: number;
  /** Messages the previous process of this partition took and did not ack (they come back after ack_wait). */
  pendingAtStart: number;
}

const described = (c: ConsumerInfo) => {
  const m = DESCRIPTION.exec(c.config.description ?? '');
  return m ? { partition: Number(m[1]), of: Number(m[2]), catchUpTo: Number(m[3]) } : undefined;
};

/**
 * This replica's durable consumer (`assembler-p<i>`, its partition count in the description).
 * Rebalancing is a restart with a new partition count: the first replica of the new set finds
 * consumers made for another count, starts the new ones where the slowest old one had acked
 * everything, deletes the old ones, and marks what the new consumers re-read as catch-up, so
 * transactions the old set already emitted are merged with their stored events, not cut short.
 */
export async function ensurePartitionConsumer(jsm: JetStreamManager, o: AssemblerConfig, ackWaitMs: number, log: Logger, resume?: { startSeq: number; catchUpTo: number }): Promise<PartitionConsumer> {
  if (o.partition >= o.partitions) throw new Error(`assembler.partition ${o.partition} is not below assembler.partitions ${o.partitions}`);
  const name = assemblerConsumerName(o.partition);
  const all: ConsumerInfo[] = [];
  for (let i = 0; i < MAX_ASSEMBLER_PARTITIONS; i++) {
    const info = await jsm.consumers.info(EVENTS_STREAM, assemblerConsumerName(i)).catch((e: Error) => {
      if (/consumer not found/i.test(e.message)) return undefined;
      throw e;
    });
    if (info) all.push(info);
  }
  const mine = all.find((c) => c.name === name);
  const mineDesc = mine && described(mine);
  if (mine && mineDesc && mineDesc.of === o.partitions) return { name, catchUpTo: mineDesc.catchUpTo, pendingAtStart: mine.num_ack_pending };
  const stale = all.filter((c) => described(c)?.of !== o.partitions);
  const siblings = all.filter((c) => described(c)?.of === o.partitions);
  const stream = await jsm.streams.info(EVENTS_STREAM);
  let startSeq: number | undefined;
  let catchUpTo = 0;
  if (stale.length) {
    startSeq = Math.min(...stale.map((c) => c.ack_floor.stream_seq)) + 1;
    catchUpTo = stream.state.last_seq;
  } else if (siblings.length) {
    // Another replica of this set already rebalanced: start where it started.
    const first = siblings[0]!;
    startSeq = first.config.opt_start_seq;
    catchUpTo = described(first)!.catchUpTo;
  }
  if (resume && !stale.length) {
    // This process's consumer vanished under it (deleted by a replica of the new set that
    // started at the same time, or by hand): go on from what it has not finished, not from
    // the stream's start, and treat what it re-reads as catch-up.
    startSeq = resume.startSeq;
    catchUpTo = Math.max(catchUpTo, resume.catchUpTo);
  }
  for (const c of stale) {
    // A replica of the new set starting at the same time may have deleted it already.
    const gone = await jsm.consumers.delete(EVENTS_STREAM, c.name).then(() => false, (e: Error) => {
      if (/consumer not found/i.test(e.message)) return true;
      throw e;
    });
    if (gone) continue;
    log.info({ consumer: c.name, was: c.config.description, ackFloor: c.ack_floor.stream_seq }, 'deleted a consumer of the previous partition set');
  }
  await jsm.consumers.add(EVENTS_STREAM, {
    durable_name: name,
    description: `tapfleet assembler partition ${o.partition} of ${o.partitions}; catch-up to ${catchUpTo}`,
    filter_subject: EVENTS_FILTER,
    ack_policy: AckPolicy.Explicit,
    ack_wait: ackWaitMs * NS_PER_MS,
    max_ack_pending: 20_000,
    ...(startSeq !== undefined ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq } : { deliver_policy: DeliverPolicy.All }),
  });
  log.info({ consumer: name, partition: o.partition, partitions: o.partitions, startSeq: startSeq ?? 'all', catchUpTo }, 'created the partition consumer');
  return { name, catchUpTo, pendingAtStart: 0 };
}
