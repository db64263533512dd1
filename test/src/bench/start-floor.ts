/**
 * The start bench's floor: the least any Node program must do for a run whose bundle is cached,
 * and no more. Node builtins only (no tapfleet module, no zod, no config): read the compile-cache
 * entry, write the BPF object, spawn the runner with the manifest's attach list, and print `first`
 * at the runner's first output, whatever it is (so it is a lower bound: no record decoding, no
 * check of the bundle, nothing printed when probes attach). A tapfleet run can only come near it.
 *
 *   node test/dist/bench/start-floor.js ENTRY.json RUNNER
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Attach { kind: string; program: string; name?: string; category?: string; event?: string; binary?: string; offset?: number; provider?: string }

const [entryPath, runner] = process.argv.slice(2);
const entry = JSON.parse(readFileSync(entryPath!, 'utf8')) as { bundle: string };
const bundle = JSON.parse(entry.bundle) as { object: string; manifest: { attach: Attach[] } };
const dir = mkdtempSync(join(tmpdir(), 'tapfleet-floor-'));
const object = join(dir, 'probe.bpf.o');
writeFileSync(object, Buffer.from(bundle.object, 'base64'));
const args = [object];
for (const a of bundle.manifest.attach) {
  if (a.kind === 'raw_tracepoint') args.push('--raw-tracepoint', a.program, a.name!);
  else if (a.kind === 'tracepoint') args.push('--tracepoint', a.program, a.category!, a.event!);
  else if (a.kind === 'uprobe' || a.kind === 'uretprobe') args.push(`--${a.kind}`, a.program, a.binary!, String(a.offset));
  else if (a.kind === 'usdt') args.push('--usdt', a.program, a.binary!, a.provider!, a.name!);
  else throw new Error(`start-floor: attach kind ${a.kind} not handled`);
}
const child = spawn(runner!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
child.stdout.once('data', () => {
  process.stdout.write('first\n');
  child.kill('SIGINT');
});
child.on('exit', () => {
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});
