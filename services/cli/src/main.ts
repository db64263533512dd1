import { runCli, type Command } from '@tapfleet/runtime';
import { stackCommands } from '@tapfleet/stack';
import { commands as compilerCommands } from '@tapfleet/compiler';
import { commands as fleetCommands } from '@tapfleet/control-plane';
import { commands as agentCommands } from '@tapfleet/host-agent';
import { commands as ingestCommands } from '@tapfleet/ingest';
import { commands as assemblerCommands } from '@tapfleet/assembler';
import { commands as queryCommands } from '@tapfleet/query';
import { demoCommand } from './demo/demo-command.js';

/** Every subcommand, each owned by its package; this file only composes them. */
const commands: Command[] = [...stackCommands, ...compilerCommands, ...fleetCommands, ...agentCommands, ...ingestCommands, ...assemblerCommands, ...queryCommands, demoCommand];

export async function main(argv: string[]): Promise<number> {
  return runCli(commands, argv);
}
