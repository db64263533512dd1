import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { loadConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { terminalText } from './terminal-text.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { description: string; valueName?: string };
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CommandContext {
  config: TapfleetConfig;
  log: Logger;
  /** Human output; commands write results here, logs go to stderr. */
  out: (line: string) => void;
}

/** A `tapfleet` subcommand. Packages export arrays of these; the CLI only composes them. */
export interface Command {
  /** Words after `tapfleet`, e.g. ['stack', 'up']. */
  path: string[];
  summary: string;
  /** Positional arguments as shown in usage, e.g. 'FILE'. */
  args?: string;
  options?: Record<string, OptionSpec>;
  /** Longer text shown by --help. */
  details?: string;
  /**
   * Output written as the command produced it. Only for what prints a traced program's own data
   * the way bpftrace does (`tapfleet run`'s printf lines and maps): every other command's output
   * has terminal-acting characters escaped (terminal-text.ts), as it prints what hosts, agents,
   * servers and traced processes of a whole fleet sent.
   */
  rawOutput?: boolean;
  run(values: OptionValues, positionals: string[], ctx: CommandContext): Promise<number>;
}

/** A usage error: printed with the command's help hint, exit code 2. */
export class UsageError extends Error {
  readonly code = 'TAPFLEET_USAGE';
}

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  config: { type: 'string', description: 'JSON config file (else $TAPFLEET_CONFIG)', valueName: 'FILE' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

export function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  if (v === undefined || typeof v === 'string') return v;
  throw new UsageError(`--${name} takes a value`);
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  return Object.entries(options).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '    ';
    const value = spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : '';
    return `  ${short}--${name}${value}`.padEnd(34) + spec.description;
  });
}

export function commandHelp(cmd: Command): string {
  const lines = [`usage: tapfleet ${cmd.path.join(' ')}${cmd.args ? ` ${cmd.args}` : ''} [options]`, '', cmd.summary];
  if (cmd.details) lines.push('', cmd.details);
  lines.push('', 'options:', ...optionLines({ ...cmd.options, ...GLOBAL_OPTIONS }));
  return lines.join('\n');
}

function listHelp(commands: Command[], prefix: string[]): string {
  const matching = commands.filter((c) => prefix.every((w, i) => c.path[i] === w));
  const width = Math.max(...matching.map((c) => c.path.join(' ').length + (c.args?.length ?? 0) + 1), 10);
  const rows = matching.map((c) => `  ${`${c.path.join(' ')}${c.args ? ` ${c.args}` : ''}`.padEnd(width + 2)}${c.summary}`);
  return [`usage: tapfleet ${prefix.length ? `${prefix.join(' ')} ` : ''}COMMAND [options]`, '', 'commands:', ...rows, '', "run 'tapfleet COMMAND --help' for a command's options"].join('\n');
}

function findCommand(commands: Command[], argv: string[]): { cmd: Command; rest: string[] } | undefined {
  let best: { cmd: Command; rest: string[] } | undefined;
  for (const cmd of commands) {
    if (cmd.path.every((w, i) => argv[i] === w) && (!best || cmd.path.length > best.cmd.path.length))
      best = { cmd, rest: argv.slice(cmd.path.length) };
  }
  return best;
}

/** Runs `tapfleet ARGV`; returns the process exit code. */
export async function runCli(commands: Command[], argv: string[]): Promise<number> {
  // `tapfleet aggs D | head`: a reader that went away ends the command quietly, as with any Unix tool.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const write = (line: string) => process.stdout.write(`${line}\n`);
  const found = findCommand(commands, argv);
  if (!found) {
    const words: string[] = [];
    for (const a of argv) {
      if (a.startsWith('-')) break;
      words.push(a);
    }
    const isGroup = commands.some((c) => words.every((w, i) => c.path[i] === w));
    const wantsHelp = argv.includes('--help') || argv.includes('-h');
    if (!isGroup) {
      process.stderr.write(`tapfleet: unknown command '${words.join(' ')}'\n\n${listHelp(commands, [])}\n`);
      return 2;
    }
    (wantsHelp ? process.stdout : process.stderr).write(`${listHelp(commands, words)}\n`);
    return wantsHelp ? 0 : 2;
  }
  const { cmd, rest } = found;
  const out = cmd.rawOutput ? write : (line: string) => write(terminalText(line));
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...cmd.options, ...GLOBAL_OPTIONS }, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`tapfleet ${cmd.path.join(' ')}: ${(e as Error).message}\n\n${commandHelp(cmd)}\n`);
    return 2;
  }
  if (parsed.values.help) {
    out(commandHelp(cmd));
    return 0;
  }
  let config: TapfleetConfig;
  try {
    config = loadConfig({ file: stringOption(parsed.values, 'config') });
  } catch (e) {
    process.stderr.write(`tapfleet: ${(e as Error).message}\n`);
    return 2;
  }
  // Made on first use: a command that never logs does not load the logger (logger.ts).
  let logger: Logger | undefined;
  const lazyLog = () => (logger ??= createLogger(`cli.${cmd.path.join('.')}`, config.logLevel));
  const ctx: CommandContext = { config, out, get log() { return lazyLog(); } };
  try {
    return await cmd.run(parsed.values, parsed.positionals, ctx);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`tapfleet ${cmd.path.join(' ')}: ${e.message}\n\n${commandHelp(cmd)}\n`);
      return 2;
    }
    // A failure's message may carry a server's or agent's words: escaped as any output is.
    process.stderr.write(`tapfleet ${cmd.path.join(' ')}: ${terminalText((e as Error).message)}\n`);
    lazyLog().debug({ err: e }, 'command failed');
    return 1;
  }
}

/** `K=V,K2=V2` (labels, selectors) -> record; a malformed pair is a usage error naming it. */
export function parseKeyValues(text: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',').filter((p) => p.length)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`${what}: expected KEY=VALUE, got '${pair}'`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** Resolves on the first SIGINT or SIGTERM: long-running commands stop cleanly on either. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** The one FILE positional of a command, read as UTF-8; a missing or unreadable file is said plainly. */
export function readFileArg(positionals: string[], what = 'script FILE'): { file: string; text: string } {
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError(`give exactly one ${what}`);
  try {
    return { file, text: readFileSync(file, 'utf8') };
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
