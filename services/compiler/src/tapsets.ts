import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import type { Alias } from './ast.js';
import { Diagnostics, type Diagnostic } from './diagnostics.js';
import { parse } from './parser.js';
import { Source } from './source.js';

export const TAPSETS_DIR = join(PROJECT_ROOT, 'tapsets');

/** Parses every tapsets/*.tap; tapset files hold aliases only. */
export function loadTapsets(dir: string = TAPSETS_DIR): { aliases: Alias[]; diagnostics: Diagnostic[] } {
  const diags = new Diagnostics();
  const aliases: Alias[] = [];
  if (!existsSync(dir)) return { aliases, diagnostics: [] };
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.tap')).sort()) {
    const source = new Source(join(dir, f), readFileSync(join(dir, f), 'utf8'));
    const script = parse(source, diags);
    for (const p of script.probes) diags.error(p.span, 'tapset files may only define aliases');
    for (const a of script.aliases) if (!a.doc) diags.warning(a.span, `alias ${a.name} has no doc comment`, 'put a one-line # comment above it');
    aliases.push(...script.aliases);
  }
  return { aliases, diagnostics: diags.items };
}
