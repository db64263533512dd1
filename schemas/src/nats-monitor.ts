import { z } from 'zod/v3';

/**
 * The parts of nats-server's HTTP monitoring answers (`/healthz`, `/routez`, `/connz`,
 * `/jsz`) that tapfleet reads: the stack's cluster health, and the failover tests and bench.
 * Fields nats-server may leave out (an empty list, a node without a leader yet) are optional.
 */
export const NatsHealthz = z.object({ status: z.string(), error: z.string().optional() });
export type NatsHealthz = z.infer<typeof NatsHealthz>;

export const NatsRoutez = z.object({
  server_id: z.string(),
  num_routes: z.number().int().safe(),
  routes: z.array(z.object({ remote_id: z.string(), ip: z.string().optional(), port: z.number().int().safe().optional() })).nullish(),
});
export type NatsRoutez = z.infer<typeof NatsRoutez>;

export const NatsConnz = z.object({
  server_id: z.string(),
  num_connections: z.number().int().safe(),
  connections: z.array(z.object({ cid: z.number().int().safe(), name: z.string().optional() })).nullish(),
});
export type NatsConnz = z.infer<typeof NatsConnz>;

/** One peer of a raft group (the meta group, a stream's) as the answering node sees it. */
export const NatsPeerInfo = z.object({ name: z.string(), current: z.boolean(), offline: z.boolean().optional(), lag: z.number().finite().optional() });
export const NatsClusterInfo = z.object({
  name: z.string().optional(),
  leader: z.string().optional(),
  replicas: z.array(NatsPeerInfo).nullish(),
});
export type NatsClusterInfo = z.infer<typeof NatsClusterInfo>;

export const NatsJsz = z.object({
  server_id: z.string(),
  meta_cluster: z.object({ name: z.string().optional(), leader: z.string().optional(), cluster_size: z.number().int().safe().optional(), replicas: z.array(NatsPeerInfo).nullish() }).optional(),
  account_details: z.array(z.object({
    name: z.string(),
    stream_detail: z.array(z.object({
      name: z.string(),
      cluster: NatsClusterInfo.optional(),
      state: z.object({ messages: z.number().finite() }),
    })).nullish(),
  })).nullish(),
});
export type NatsJsz = z.infer<typeof NatsJsz>;

/** Where a node's monitoring answers. */
export interface NatsNodeAddress {
  host: string;
  monitorPort: number;
}
