import { runCli, type Command } from '@tapfleet/runtime';
import { stackCommands } from '@tapfleet/stack';
import { commands as compilerCommands } from '@tapfleet/compiler';

/** Every subcommand, each owned by its package; this file only composes them. */
const commands: Command[] = [...stackCommands, ...compilerCommands];

export async function main(argv: string[]): Promise<number> {
  return runCli(commands, argv);
}
