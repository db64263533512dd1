import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, type Command } from '@tapfleet/runtime/light';
import { TAPSET_DOC_PATH } from '@tapfleet/compiler/light';
import { printDiagnostics } from './common.js';

export const tapsetsDocCommand: Command = {
  path: ['tapsets', 'doc'],
  summary: `write ${TAPSET_DOC_PATH}, the list of every tapset alias, from tapsets/*.tap`,
  options: {
    check: { type: 'boolean', description: `write nothing; exit 1 when ${TAPSET_DOC_PATH} is not what the tapsets generate` },
    stdout: { type: 'boolean', description: 'print the markdown instead of writing the file' },
  },
  async run(values, _p, { out }) {
    const { loadTapsetFiles, tapsetMarkdown } = await import('@tapfleet/compiler');
    const { files, diagnostics } = loadTapsetFiles();
    printDiagnostics(diagnostics);
    if (diagnostics.some((d) => d.severity === 'error')) return 1;
    const markdown = tapsetMarkdown(files);
    const path = join(PROJECT_ROOT, TAPSET_DOC_PATH);
    if (values.stdout) {
      process.stdout.write(markdown);
      return 0;
    }
    if (values.check) {
      const current = (() => {
        try {
          return readFileSync(path, 'utf8');
        } catch {
          return '';
        }
      })();
      if (current === markdown) return 0;
      process.stderr.write(`${TAPSET_DOC_PATH} is stale: run node bin/tapfleet.js tapsets doc\n`);
      return 1;
    }
    writeFileSync(path, markdown);
    out(`wrote ${TAPSET_DOC_PATH}: ${files.reduce((n, f) => n + f.aliases.length, 0)} aliases from ${files.length} tapset files`);
    return 0;
  },
};
