import { runCli, type Command } from '@tapfleet/runtime/light';

/**
 * Every subcommand, each owned by its package; this file only composes them. Each package's
 * `./commands` export is its command table alone, and a command loads its service code (and the
 * client libraries that code uses) when it runs. A command word is owned by one table, so a
 * command loads the tables only up to its own; help and unknown words load them all.
 * test/src/cli/import-graph.test.ts holds what each command may load.
 */
type Table = () => Promise<Command[]>;
/** The single-host commands: run, profile, check, compile, tapsets doc. */
const localTable: Table = async () => (await import('@tapfleet/local/commands')).localCommands;
const agentTable: Table = async () => [(await import('@tapfleet/host-agent/commands')).agentCommand];
/** In the order `tapfleet --help` lists them. */
const TABLES: Table[] = [
  async () => (await import('@tapfleet/stack/commands')).stackCommands,
  localTable,
  async () => (await import('@tapfleet/control-plane/commands')).fleetCommands,
  agentTable,
  async () => (await import('@tapfleet/ingest/commands')).ingestCommands,
  async () => (await import('@tapfleet/assembler/commands')).assemblerCommands,
  async () => (await import('@tapfleet/query/commands')).queryCommands,
  async () => [(await import('./demo/demo-command.js')).demoCommand],
];
/** The local table is tried first: `run` is the command whose start a user waits for. */
const DISPATCH_ORDER: Table[] = [localTable, ...TABLES.filter((t) => t !== localTable)];

/** Every command of every table, in help order: the registry `tapfleet --help` lists (and tests walk). */
export async function allCommands(): Promise<Command[]> {
  return (await Promise.all(TABLES.map((load) => load()))).flat();
}

/**
 * Words whose table is known without trying the others: the agent runs for as long as the host
 * does, and the modules the tables before its own load (~50: the stack's and
 * commands, the local table's) would stay in its memory for good (issue 13's idle RSS goal).
 */
const DIRECT: ReadonlyMap<string, Table> = new Map([['agent', agentTable]]);

export async function main(argv: string[]): Promise<number> {
  const word = argv[0];
  const direct = word === undefined ? undefined : DIRECT.get(word);
  if (direct) return runCli(await direct(), argv);
  if (word !== undefined && !word.startsWith('-')) {
    for (const load of DISPATCH_ORDER) {
      const table = await load();
      if (table.some((c) => c.path[0] === word)) return runCli(table, argv);
    }
  }
  return runCli(await allCommands(), argv);
}
