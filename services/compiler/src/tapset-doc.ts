import type { Alias, Expr, PairKey, ProbePoint } from './ast.js';
import { aliasVersion } from './alias-table.js';
import type { Span } from './source.js';
import type { TapsetFile } from './tapsets.js';

/** Where docs/tapsets.md lives, relative to the project root. */
export const TAPSET_DOC_PATH = 'docs/tapsets.md';

const text = (s: Span) => s.source.text.slice(s.start, s.end);
/** Markdown table cells cannot hold a bare `|`. */
const cell = (s: string) => s.replace(/\|/g, '\\|');
const code = (s: string) => `\`${cell(s)}\``;

function usesEntry(e: Expr): boolean {
  switch (e.kind) {
    case 'entry': return true;
    case 'unary': return usesEntry(e.expr);
    case 'binary': return usesEntry(e.left) || usesEntry(e.right);
    case 'ternary': return usesEntry(e.cond) || usesEntry(e.then) || usesEntry(e.else);
    case 'cast': return usesEntry(e.expr);
    case 'call': return e.args.some(usesEntry);
    default: return false;
  }
}

function pointsCell(a: Alias): string {
  const side = (points: ProbePoint[], sep: string, key?: PairKey) => points.map((p) => code(p.text)).join(sep) + (key ? ` ${code(text(key.span))}` : '');
  const end = side(a.variants, ', else ', a.endKey);
  if (!a.pairs) return end;
  return `${end}, paired with ${side(a.pairs, ' and ', a.startKey)}${a.startKey ? '' : ' (same thread)'}`;
}

function bindsCell(a: Alias): string {
  const locals = a.assigns.flatMap((s) => (s.kind === 'let' ? [`\`$${s.name}\`${usesEntry(s.value) ? ' (at the start)' : ''}`] : []));
  return [...locals, ...(a.pairs ? ['`latency`'] : [])].join(', ') || '(none)';
}

/** docs/tapsets.md, generated from the tapset files: one section per file, one row per alias version. */
export function tapsetMarkdown(files: TapsetFile[]): string {
  const out = [
    '# Tapsets',
    '',
    '<!-- Generated from tapsets/*.tap by `tapfleet tapsets doc`: edit the .tap files and rerun it. A test fails when this file is stale. -->',
    '',
    'Every alias in `tapsets/`, with the one-line doc comment above it. A probe names an alias (`probe syscall.read.return { ... }`)',
    'and gets its newest version, or pins one (`probe syscall.read.return@1`); where an alias lists several points',
    '("A, else B") the first the host\'s kernel has wins, and an alias none of whose points exists there is refused with',
    '"unavailable on this kernel" and the reason. A paired alias fires at its end point with `latency`, the ns since the',
    'matching start, matched on the current thread or on the `key` each side gives. The language is in',
    '[language.md](language.md#tapsets); `tapfleet check FILE` reports any alias a script uses that this host cannot run.',
    '',
  ];
  for (const f of files) {
    out.push(`## ${f.file.replace(/\.tap$/, '')} (\`tapsets/${f.file}\`)`, '');
    if (f.header.length) out.push(f.header.join('\n'), '');
    out.push('| alias | version | fires at | binds | what |', '|---|---|---|---|---|');
    for (const a of f.aliases) out.push(`| \`${a.name}\` | ${aliasVersion(a)} | ${pointsCell(a)} | ${bindsCell(a)} | ${cell(a.doc ?? '')} |`);
    out.push('');
  }
  return out.join('\n');
}
