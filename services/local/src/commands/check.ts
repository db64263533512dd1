import type { Command } from '@tapfleet/runtime/light';
import { BINARY_OPTION, binaryPaths, printDiagnostics, PROGRAM_OPTION, readScript, SCRIPT_ARGS } from './common.js';
import { withBareBinaryNames } from '../binary-names.js';

export const checkCommand: Command = {
  path: ['check'],
  args: SCRIPT_ARGS,
  summary: 'report diagnostics for a probe script against this host (nothing is loaded)',
  options: { program: PROGRAM_OPTION, binary: BINARY_OPTION },
  async run(values, positionals, { out }) {
    const { file, text, params } = readScript(values, positionals);
    const [{ frontEnd, loadTapsets }, { profilesForScript }] = await Promise.all([import('@tapfleet/compiler'), import('../host-compile.js')]);
    const tapsets = loadTapsets();
    const paths = withBareBinaryNames(text, binaryPaths(values));
    const profiles = profilesForScript(file, text, tapsets.aliases, paths, params);
    const fe = frontEnd({ file, text, ...profiles, tapsets: tapsets.aliases, binaryPaths: paths, params });
    printDiagnostics(fe.diagnostics);
    const errors = fe.diagnostics.filter((d) => d.severity === 'error').length;
    if (errors) {
      process.stderr.write(`${errors} error(s)\n`);
      return 1;
    }
    out(`${file}: ok (${fe.programs?.length ?? 0} BPF program(s), ${fe.analysis?.events.size ?? 0} event(s), ${fe.analysis?.maps.size ?? 0} map(s))`);
    return 0;
  },
};
