/**
 * The Node flags the host agent is started with, wherever it is started: the stack's agent
 * services (services/stack), the fleet tests and bench (test/src/fleet/fleet-harness.ts), and,
 * spelled out as NODE_OPTIONS, docker/agent.Dockerfile (the image the Helm DaemonSet runs). Here,
 * not in the agent's package, so the stack can name them without loading the agent.
 *
 * --max-semi-space-size=1: V8's young generation otherwise grows to 2 x 8 MB semispaces under the
 * start-up's allocation burst (config and schemas, enrollment, NATS, the KV watch) and keeps them
 * committed until the memory reducer runs, at a time of its choosing: an idle agent measured 84 MB
 * RSS for its first ~20 s and 64-69 MB after, against 64-66 MB throughout with the flag (issue 13's
 * idle goal is 60 MB). Young-generation collections of 1 MB are cheap at the agent's allocation
 * rate; the fleet bench's busy agent (uprobe + hist + ~500 events/s) is measured with it.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
