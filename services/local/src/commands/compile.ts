import { readFileSync, writeFileSync } from 'node:fs';
import { parseOrThrow, ProfileFile, serializeBundle } from '@tapfleet/schemas';
import { UsageError, stringOption, type Command } from '@tapfleet/runtime/light';
import { BINARY_OPTION, binaryPaths, localSigningKey, printDiagnostics, PROGRAM_OPTION, readScript, buildOptions, SCRIPT_ARGS } from './common.js';
import { withBareBinaryNames } from '../binary-names.js';

export const compileCommand: Command = {
  path: ['compile'],
  args: SCRIPT_ARGS,
  summary: 'compile a probe script into a signed bundle for this host or for a saved profile',
  options: {
    program: PROGRAM_OPTION,
    profile: { type: 'string', description: 'compile for the host whose `tapfleet profile --all` output this is', valueName: 'P' },
    output: { type: 'string', short: 'o', description: 'bundle file to write', valueName: 'OUT' },
    binary: BINARY_OPTION,
  },
  async run(values, positionals, { config, out }) {
    const { file, text, params } = readScript(values, positionals);
    const output = stringOption(values, 'output');
    if (!output) throw new UsageError('give the bundle file with -o OUT');
    const profilePath = stringOption(values, 'profile');
    const profiles = profilePath ? parseOrThrow(ProfileFile, JSON.parse(readFileSync(profilePath, 'utf8')), `profile ${profilePath}`) : undefined;
    const [{ compileForThisHost }, { compileBundle, CompileError, loadTapsets }] = await Promise.all([import('../host-compile.js'), import('@tapfleet/compiler')]);
    const started = performance.now();
    try {
      const options = { tapsets: loadTapsets().aliases, binaryPaths: profiles ? binaryPaths(values) : withBareBinaryNames(text, binaryPaths(values)), signingKey: localSigningKey(config).privateKey, build: buildOptions(config), params, onWarnings: printDiagnostics };
      // A saved profile is another host's: compile for it as the control plane would; else for this one.
      const bundle = profiles ? await compileBundle(file, text, { ...options, profiles }) : await compileForThisHost(file, text, options);
      writeFileSync(output, serializeBundle(bundle));
      out(`${output}: bundle ${bundle.manifest.bundleId.slice(0, 16)} for kernel ${bundle.manifest.kernel.release} (${bundle.manifest.kernel.buildId.slice(0, 12)}), ${bundle.object.length} byte object, ${(performance.now() - started).toFixed(0)} ms`);
      return 0;
    } catch (e) {
      if (e instanceof CompileError) {
        printDiagnostics(e.diagnostics);
        return 1;
      }
      throw e;
    }
  },
};
