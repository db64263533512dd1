import type { Command } from '@tapfleet/runtime';
import { checkCommand } from './check.js';
import { compileCommand } from './compile.js';
import { profileCommand } from './profile.js';
import { runCommand } from './run.js';

export const compilerCommands: Command[] = [checkCommand, compileCommand, profileCommand, runCommand];
