import type { Command } from '@tapfleet/runtime';
import { checkCommand } from './check.js';
import { compileCommand } from './compile.js';
import { profileCommand } from './profile.js';
import { runCommand } from './run.js';
import { tapsetsDocCommand } from './tapsets.js';

export const compilerCommands: Command[] = [checkCommand, compileCommand, profileCommand, runCommand, tapsetsDocCommand];
