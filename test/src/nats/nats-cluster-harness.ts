import { connectJetStream, natsClusterNodes, readNatsMonitor, type NatsNode } from '@tapfleet/runtime';
import { readPidFile, serviceDirs, stackUp } from '@tapfleet/stack';
import { AGENT_STREAM, ASSIGNMENTS_BUCKET, BUNDLES_OBJECT_STORE, EVENTS_STREAM, NatsConnz, NatsJsz, PROFILES_OBJECT_STORE, type TapfleetConfig } from '@tapfleet/schemas';
import { testLogger } from '../stack-harness.js';

const log = testLogger('nats-cluster');

/** The streams a node may die under without anything stopping: events, agent traffic, assignments, bundles, profiles. */
export const REPLICATED_STREAMS = [EVENTS_STREAM, AGENT_STREAM, `KV_${ASSIGNMENTS_BUCKET}`, `OBJ_${BUNDLES_OBJECT_STORE}`, `OBJ_${PROFILES_OBJECT_STORE}`];

/** The node a client (by its connection name) is connected to right now, if any answers for it. */
export async function nodeOf(config: TapfleetConfig, connectionName: string): Promise<NatsNode | undefined> {
  for (const node of natsClusterNodes(config)) {
    const connz = await readNatsMonitor(node, '/connz?limit=1024', NatsConnz).catch(() => undefined);
    if (connz?.connections?.some((c) => c.name === connectionName)) return node;
  }
  return undefined;
}

/** The node leading a durable consumer's raft group (it delivers, and tracks what is acked). */
export async function consumerLeader(config: TapfleetConfig, stream: string, consumer: string): Promise<NatsNode | undefined> {
  const { nc, jsm } = await connectJetStream(config, { name: 'nats-cluster-test-info', timeoutMs: 3000 });
  try {
    const leader = (await jsm.consumers.info(stream, consumer)).cluster?.leader;
    return natsClusterNodes(config).find((n) => n.serverName === leader);
  } finally {
    await nc.close();
  }
}

/** kill -9 of one node's nats-server (the stack's pid file says which process); returns when it is gone. */
export async function killNode(config: TapfleetConfig, node: NatsNode): Promise<void> {
  const rec = readPidFile(serviceDirs(config, node.service).pidFile);
  if (!rec) throw new Error(`${node.service} has no pid file`);
  process.kill(rec.pid, 'SIGKILL');
  while (isAlive(rec.pid)) await new Promise((r) => setTimeout(r, 20));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `stack up` for the cluster again: starts the dead node, and returns once it is healthy (routes, JetStream current). */
export async function restartDeadNodes(config: TapfleetConfig): Promise<void> {
  await stackUp(config, log, { install: false, only: ['nats'] });
}

export interface StreamReplicas {
  stream: string;
  leader?: string;
  /** Peers other than the leader, and whether each is current. */
  replicas: { name: string; current: boolean }[];
}

/** Each replicated stream's leader and followers, as the stream leader reports them (STREAM.INFO). */
export async function streamReplicas(config: TapfleetConfig): Promise<StreamReplicas[]> {
  const { nc, jsm } = await connectJetStream(config, { name: 'nats-cluster-test-info', timeoutMs: 3000 });
  try {
    const out: StreamReplicas[] = [];
    for (const stream of REPLICATED_STREAMS) {
      const c = (await jsm.streams.info(stream)).cluster;
      out.push({ stream, leader: c?.leader, replicas: (c?.replicas ?? []).map((r) => ({ name: r.name, current: r.current })) });
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** True when every replicated stream has a leader and two current followers (R3 whole again). */
export const allThreeCurrent = (rs: StreamReplicas[]): boolean => rs.every((r) => r.leader !== undefined && r.replicas.length === 2 && r.replicas.every((p) => p.current));

/** The node's own view of the JetStream meta group (/jsz): the leader, and (on the leader only) its peers, current or not. */
export const metaCluster = async (node: NatsNode) => (await readNatsMonitor(node, '/jsz', NatsJsz)).meta_cluster;

/**
 * The node is back in the meta group: it knows the leader, and the leader (the only node that
 * tracks its peers) reports every peer current, this one included.
 */
export async function rejoinedMeta(config: TapfleetConfig, node: NatsNode): Promise<boolean> {
  const own = await metaCluster(node);
  if (!own?.leader || own.cluster_size !== 3) return false;
  const leader = natsClusterNodes(config).find((n) => n.serverName === own.leader);
  const peers = leader && (await metaCluster(leader))?.replicas;
  return !!peers && peers.length === 2 && peers.every((p) => p.current) && (own.leader === node.serverName || peers.some((p) => p.name === node.serverName));
}
