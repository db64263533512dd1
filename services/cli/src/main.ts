import { runCli, type Command } from '@tapfleet/runtime';

/**
 * Every subcommand, each owned by its package; this file only composes them. Each package's
 * `./commands` export is its command table alone, and a command loads its service code (and the
 * client libraries that code uses) when it runs. A command word is owned by one table, so a
 * command loads the tables only up to its own; help and unknown words load them all.
 * test/src/cli/import-graph.test.ts holds what each command may load.
 */
const TABLES: (() => Promise<Command[]>)[] = [
  async () => (await import('@tapfleet/stack/commands')).stackCommands,
  async () => (await import('@tapfleet/compiler/commands')).compilerCommands,
  async () => (await import('@tapfleet/control-plane/commands')).fleetCommands,
  async () => [(await import('@tapfleet/host-agent/commands')).agentCommand],
  async () => (await import('@tapfleet/ingest/commands')).ingestCommands,
  async () => (await import('@tapfleet/assembler/commands')).assemblerCommands,
  async () => (await import('@tapfleet/query/commands')).queryCommands,
  async () => [(await import('./demo/demo-command.js')).demoCommand],
];
/** The compiler's table is tried first: `run` is the command whose start a user waits for. */
const DISPATCH_ORDER = [TABLES[1]!, TABLES[0]!, ...TABLES.slice(2)];

export async function main(argv: string[]): Promise<number> {
  const word = argv[0];
  if (word !== undefined && !word.startsWith('-')) {
    for (const load of DISPATCH_ORDER) {
      const table = await load();
      if (table.some((c) => c.path[0] === word)) return runCli(table, argv);
    }
  }
  return runCli((await Promise.all(TABLES.map((load) => load()))).flat(), argv);
}
