import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';
import { parseOrThrow, ProfileFile } from '@tapfleet/schemas';
import { frontEnd, type FrontEndResult } from './compile.js';
import { formatDiagnostic } from './diagnostics.js';

/** A frozen kernel profile (6.18, x86_64) and a made-up gateway binary: pure tests compile against these. */
export const FIXTURE_PROFILES = parseOrThrow(ProfileFile, JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'profile-6.18-x86_64.json'), 'utf8')), 'fixture profile');

export function compileFixture(text: string, file = 'script.tap'): FrontEndResult {
  return frontEnd({ file, text, kernel: FIXTURE_PROFILES.kernel, binaries: FIXTURE_PROFILES.binaries, binaryPaths: { gw: '/opt/gw/bin/gateway' } });
}

/** `line:col: message` of every error, for compact assertions. */
export function errorsOf(text: string): string[] {
  return compileFixture(text).diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d).split('\n')[0]!.replace(/^script\.tap:/, '').replace(' error:', ''));
}
