/**
 * history HTTP API, CLI and web page (query issue).
 * The workspace exists so the dependency graph and the CLI's command registry are
 * in place; its commands join `tapfleet` through this array.
 */
import type { Command } from '@tapfleet/runtime';

export const commands: Command[] = [];
