/** The host agent; its command joins `tapfleet` through `commands`. */
import type { Command } from '@tapfleet/runtime';
import { agentCommand } from './agent-command.js';

export { HostAgent, AGENT_VERSION, type HostAgentOptions } from './host-agent.js';
export { Governor, type Budget, type Load } from './governor.js';
export { bestClockEstimate, type ClockSample } from './clock-offset.js';
export { DiskSpool } from './disk-spool.js';
export { verifyForThisHost } from './verify-bundle.js';

export const commands: Command[] = [agentCommand];
export { publishHostProfiles, type HostProfileRefs } from './host-profiles.js';
export { EventBatcher } from './event-batcher.js';
export { BatchPublisher } from './batch-publisher.js';
export { HostClock } from './host-clock.js';
export { Ledgers } from './loss-ledger.js';
