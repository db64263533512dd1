/**
 * HTTP API, fleet inventory, compile cache, rollout, signing keys (fleet issue).
 * The workspace exists so the dependency graph and the CLI's command registry are
 * in place; its commands join `tapfleet` through this array.
 */
import type { Command } from '@tapfleet/runtime';

export const commands: Command[] = [];
