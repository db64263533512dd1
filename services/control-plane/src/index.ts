/** The control plane: HTTP API, inventory, compile cache, rollout, signing key, time service; and the fleet CLI commands. */
export { fleetCommands as commands, followRollout } from './commands/fleet-commands.js';
export { ControlPlane, adminTokenPath, type ControlPlaneOptions } from './control-plane.js';
export { ApiClient, ApiCallError } from './api-client.js';
export { publicKeyPath } from './signing-key.js';
export { mergeSnapshots } from './aggregation-merge.js';
export { groupHosts } from './build-groups.js';
export { lossReport } from './loss-report.js';
