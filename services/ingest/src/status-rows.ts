import { storableDayText as day, type AgentDeploymentStatus, type AggregationSnapshot, type Outage } from '@tapfleet/schemas';

/** An agent status report as an agent_status row (the loss counters of every stage). */
export function statusRow(s: AgentDeploymentStatus): object {
  const l = s.loss;
  return {
    date: day(s.sentAtMs), at_ms: s.sentAtMs, deployment: s.deploymentId, host: s.hostId, boot_id: s.bootId, state: s.state, reason: s.reason ?? '',
    produced_by_kernel: l?.producedByKernel ?? 0, ring_buffer_drops: l?.ringBufferDrops ?? 0, received: l?.received ?? 0, malformed: l?.malformed ?? 0,
    spooled: l?.spooled ?? 0, spool_drops: l?.spoolDrops ?? 0, published: l?.published ?? 0, runner_restarts: s.runnerRestarts,
    published_unacked: l?.publishedUnacked ?? 0, ...outageColumns(s.outages ?? []),
  };
}

/** Outages as the parallel array columns of agent_status (0 and '' while still down). */
function outageColumns(outages: Outage[]): object {
  return {
    outage_kind: outages.map((o) => o.kind), outage_from_ms: outages.map((o) => o.fromMs), outage_to_ms: outages.map((o) => o.toMs ?? 0),
    outage_cause: outages.map((o) => o.cause), outage_resolution: outages.map((o) => o.resolution ?? ''),
  };
}

/** A map snapshot as aggregation_snapshots rows, one per map entry. */
export function snapshotRows(s: AggregationSnapshot): object[] {
  return s.maps.flatMap((m) => m.entries.map((e) => ({
    date: day(s.sentAtMs), taken_at_ms: s.sentAtMs, deployment: s.deploymentId, host: s.hostId, boot_id: s.bootId, map: m.name,
    key: e.key, value: e.value, count: e.count ?? '0', buckets: e.buckets ?? [],
  })));
}
