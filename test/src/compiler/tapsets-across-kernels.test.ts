import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { CompileError, compileBundle, formatDiagnostic, frontEnd, loadTapsets, type Alias } from '@tapfleet/compiler';
import { readBinaryProfile } from '@tapfleet/runner';
import type { BinaryProfile, KernelProfile } from '@tapfleet/schemas';
import { TEST_SIGNING_KEY } from './kernel-harness.js';
import { buildDemo, demoBinaryPaths } from '../demo/demo-pipeline.js';
import { kernelFixtures, type KernelFixture } from './kernel-fixtures.js';

/**
 * "Tapsets break across kernels" as a test: every alias in tapsets/*.tap compiled, through the
 * real path (generated C, clang, BPF object), against every kernel profile in test/fixtures/kernels.
 * Each must compile, or fail with the alias's own "unavailable on this kernel" diagnostic, or, on a
 * profile derived from BTF, name a tracepoint whose format the derivation reported it could not
 * derive. Anything else (a crash, a generic error, clang failing on generated code) fails.
 */

/** Tapset placeholders bound on this machine (the demo's programs are built before the tests). */
const BINARIES: Record<string, string> = { python: '/usr/bin/python3.11' };
const postgres = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin/postgres`).find(existsSync) : undefined;
if (postgres) BINARIES.postgres = postgres;

const UNAVAILABLE = /^alias \S+ (is unavailable on this kernel|has no variant this kernel supports)/;
const LACKS_FORMAT = /^the kernel profile lacks the format of tracepoint (\S+)$/;

/** How to name an alias in a script: `NAME`, or `NAME@N` where aliases carry versions. */
function aliasRef(alias: Alias): string {
  return 'version' in alias && typeof alias.version === 'number' ? `${alias.name}@${alias.version}` : alias.name;
}

function binariesFor(alias: Alias): BinaryProfile[] {
  const points = [...alias.variants, ...(Array.isArray(alias.pairs) ? alias.pairs : alias.pairs ? [alias.pairs] : [])];
  const paths = new Set<string>();
  for (const p of points) for (const m of p.text.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)) if (BINARIES[m[1]!]) paths.add(BINARIES[m[1]!]!);
  return [...paths].map(readBinaryProfile);
}

const HOST_ARCH = process.arch === 'arm64' ? 'aarch64' : 'x86_64';

function probesBinaries(alias: Alias): boolean {
  return [...alias.variants, ...(Array.isArray(alias.pairs) ? alias.pairs : alias.pairs ? [alias.pairs] : [])].some((p) => /^(uprobe|uretprobe|usdt):/.test(p.text));
}

type Outcome = { kind: 'compiled' } | { kind: 'unavailable'; message: string } | { kind: 'underived'; tracepoint: string };

async function compileAgainst(alias: Alias, fixture: KernelFixture, tapsets: Alias[]): Promise<Outcome> {
  const ref = aliasRef(alias);
  try {
    const bundle = await compileBundle(`${ref}.tap`, `probe ${ref} { @n = count(); }`, {
      signingKey: TEST_SIGNING_KEY,
      tapsets,
      binaryPaths: BINARIES,
      profiles: { kernel: fixture.kernel, binaries: binariesFor(alias) },
    });
    assert.ok(bundle.object.length > 0);
    assert.equal(bundle.manifest.kernel.buildId, fixture.kernel.buildId);
    return { kind: 'compiled' };
  } catch (e) {
    if (!(e instanceof CompileError)) throw e;
    const errors = e.diagnostics.filter((d) => d.severity === 'error');
    const all = errors.map((d) => formatDiagnostic(d)).join('\n');
    if (errors.every((d) => UNAVAILABLE.test(d.message))) return { kind: 'unavailable', message: errors[0]!.message };
    const missing = errors.map((d) => LACKS_FORMAT.exec(d.message)?.[1]);
    if (missing.every((tp) => tp !== undefined && fixture.underived.has(tp))) return { kind: 'underived', tracepoint: missing[0]! };
    assert.fail(`${ref} against ${fixture.file}: not a clean outcome:\n${all}`);
  }
}

describe('tapsets across kernels', () => {
  const { aliases, diagnostics } = loadTapsets();
  const fixtures = kernelFixtures();
  before(() => {
    Object.assign(BINARIES, demoBinaryPaths(buildDemo()));
  });

  test('the fixtures are real kernels of more than one build and arch, this host among them', () => {
    assert.deepEqual(diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
    assert.ok(fixtures.length >= 4, fixtures.map((f) => f.file).join(', '));
    assert.equal(new Set(fixtures.map((f) => f.kernel.buildId)).size, fixtures.length);
    assert.deepEqual([...new Set(fixtures.map((f) => f.kernel.arch))].sort(), ['aarch64', 'x86_64']);
  });

  test('each profile has its architecture\'s syscalls: arm64 has openat, pselect6 and clock_nanosleep, not open, select or poll', () => {
    const has = (f: KernelFixture, s: string) => f.kernel.tracepointNames!.includes(`syscalls:sys_enter_${s}`) && f.kernel.tracepoints[`syscalls:sys_enter_${s}`] !== undefined;
    for (const f of fixtures) {
      for (const s of ['openat', 'pselect6', 'clock_nanosleep', 'read', 'exit_group']) assert.ok(has(f, s), `${f.file}: ${s}`);
      for (const s of ['open', 'select', 'poll']) assert.equal(has(f, s), f.kernel.arch === 'x86_64', `${f.file}: ${s}`);
    }
  });

  for (const fixture of fixtures) {
    test(`every alias against ${fixture.file} (${fixture.kernel.release}, ${fixture.kernel.arch})`, async (t) => {
      const outcomes = new Map<string, Outcome>();
      for (const alias of aliases) {
        // User-space probes read the probed binary's registers: this machine's binaries are for
        // its own arch, so they are compiled only against kernels of that arch.
        if (fixture.kernel.arch !== HOST_ARCH && probesBinaries(alias)) continue;
        outcomes.set(aliasRef(alias), await compileAgainst(alias, fixture, aliases));
      }
      const summary = [...outcomes].map(([name, o]) => `${name}: ${o.kind === 'compiled' ? 'compiled' : o.kind === 'unavailable' ? o.message : `format of ${o.tracepoint} not derived (${fixture.underived.get(o.tracepoint)})`}`);
      t.diagnostic(summary.join('\n'));
      // These kernels are all recent: most aliases must compile, not just "fail cleanly".
      assert.ok([...outcomes.values()].filter((o) => o.kind === 'compiled').length >= outcomes.size / 2, summary.join('\n'));
    });
  }

  test('a char array sized by a name is a string: char prev_comm[TASK_COMM_LEN] (5.17 to 6.12, where it is an enum)', async () => {
    const fixture = fixtures.find((f) => f.kernel.tracepoints['sched:sched_switch']?.fields.some((x) => x.decl === 'char prev_comm[TASK_COMM_LEN]'));
    assert.ok(fixture, 'a fixture whose sched_switch has char prev_comm[TASK_COMM_LEN]');
    const bundle = await compileBundle('comm.tap', 'probe tracepoint:sched:sched_switch { emit sw { prev: args.prev_comm } }', { signingKey: TEST_SIGNING_KEY, profiles: { kernel: fixture.kernel, binaries: [] } });
    const prev = bundle.manifest.events.find((e) => e.name === 'sw')?.fields.find((f) => f.name === 'prev');
    assert.deepEqual(prev && { type: prev.type, size: prev.size }, { type: 'str', size: 16 });
  });

  test('a kernel lacking an alias\'s first tracepoint gets its fallback variant', () => {
    const alias = aliases.find((a) => a.variants.length >= 2 && a.variants.every((v) => v.text.startsWith('tracepoint:')));
    assert.ok(alias, 'some tapset alias has tracepoint variants (A | B)');
    const [first, fallback] = alias.variants.map((v) => v.text.slice('tracepoint:'.length));
    const host = fixtures.find((f) => f.underived.size === 0 && f.kernel.tracepoints[first!]);
    assert.ok(host, `a fixture with ${first}'s format`);
    // An older kernel: it has the fallback (same record, as the alias's locals require) and not the first.
    const { [first!]: format, ...rest } = host.kernel.tracepoints;
    const older: KernelProfile = { ...host.kernel, tracepoints: { ...rest, [fallback!]: format! }, tracepointNames: [...host.kernel.tracepointNames!.filter((n) => n !== first), fallback!] };
    const chosen = (kernel: KernelProfile) => {
      const fe = frontEnd({ file: 'f.tap', text: `probe ${aliasRef(alias)} { @n = count(); }`, kernel, binaries: [], tapsets: aliases });
      assert.deepEqual(fe.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
      const target = fe.probes[0]!.points[0]!.target;
      return target.kind === 'tracepoint' ? `${target.category}:${target.event}` : target.kind;
    };
    assert.equal(chosen(host.kernel), first);
    assert.equal(chosen(older), fallback);
    // Neither: the alias's own diagnostic, naming the kernel.
    const neither: KernelProfile = { ...older, tracepoints: rest, tracepointNames: host.kernel.tracepointNames!.filter((n) => n !== first) };
    const fe = frontEnd({ file: 'f.tap', text: `probe ${aliasRef(alias)} { @n = count(); }`, kernel: neither, binaries: [], tapsets: aliases });
    assert.match(fe.diagnostics.find((d) => d.severity === 'error')?.message ?? '', UNAVAILABLE);
  });
});
