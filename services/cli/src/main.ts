import { runCli, type Command } from '@tapfleet/runtime';
import { stackCommands } from '@tapfleet/stack/commands';
import { compilerCommands } from '@tapfleet/compiler/commands';
import { fleetCommands } from '@tapfleet/control-plane/commands';
import { agentCommand } from '@tapfleet/host-agent/commands';
import { ingestCommands } from '@tapfleet/ingest/commands';
import { assemblerCommands } from '@tapfleet/assembler/commands';
import { queryCommands } from '@tapfleet/query/commands';
import { demoCommand } from './demo/demo-command.js';

/**
 * Every subcommand, each owned by its package; this file only composes them. Each package's
 * `./commands` export is its command table alone: a command loads its service code (and the
 * client libraries that code uses) when it runs, so `tapfleet --help` or `tapfleet run` pays
 * only for what it uses (test/src/cli/import-graph.test.ts holds this).
 */
const commands: Command[] = [...stackCommands, ...compilerCommands, ...fleetCommands, agentCommand, ...ingestCommands, ...assemblerCommands, ...queryCommands, demoCommand];

export async function main(argv: string[]): Promise<number> {
  return runCli(commands, argv);
}
