import type { Command } from '@tapfleet/runtime/light';
import { checkCommand } from './check.js';
import { compileCommand } from './compile.js';
import { profileCommand } from './profile.js';
import { runCommand } from './run.js';
import { tapsetsDocCommand } from './tapsets.js';

/** Every command that works on this host alone, in the order `tapfleet --help` lists them. */
export const localCommands: Command[] = [checkCommand, compileCommand, profileCommand, runCommand, tapsetsDocCommand];
