import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Alias } from './ast.js';
import { Diagnostics, type Diagnostic } from './diagnostics.js';
import { parse } from './parser.js';
import { Source } from './source.js';
import { TAPSETS_DIR } from './tapsets-dir.js';

export { TAPSETS_DIR };

/** One tapsets/*.tap file: its aliases and its opening comment (what the file covers). */
export interface TapsetFile {
  file: string;
  header: string[];
  aliases: Alias[];
}

/** The comment lines a file starts with, up to the first blank line, without their `#`. */
function headerOf(text: string): string[] {
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    if (!/^\s*(#|\/\/)/.test(line)) break;
    lines.push(line.replace(/^\s*(#|\/\/)\s?/, ''));
  }
  return lines;
}

/** Parses every tapsets/*.tap, in name order; tapset files hold aliases only. */
export function loadTapsetFiles(dir: string = TAPSETS_DIR): { files: TapsetFile[]; diagnostics: Diagnostic[] } {
  const diags = new Diagnostics();
  const files: TapsetFile[] = [];
  if (!existsSync(dir)) return { files, diagnostics: [] };
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.tap')).sort()) {
    const text = readFileSync(join(dir, f), 'utf8');
    const script = parse(new Source(join(dir, f), text), diags);
    for (const p of script.probes) diags.error(p.span, 'tapset files may only define aliases');
    for (const a of script.aliases) if (!a.doc) diags.warning(a.span, `alias ${a.name} has no doc comment`, 'put a one-line # comment above it');
    files.push({ file: f, header: headerOf(text), aliases: script.aliases });
  }
  return { files, diagnostics: diags.items };
}

/** Every alias of every tapsets/*.tap. */
export function loadTapsets(dir: string = TAPSETS_DIR): { aliases: Alias[]; diagnostics: Diagnostic[] } {
  const { files, diagnostics } = loadTapsetFiles(dir);
  return { aliases: files.flatMap((f) => f.aliases), diagnostics };
}
