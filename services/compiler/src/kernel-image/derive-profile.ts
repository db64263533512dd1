import type { KernelProfile, ProbeKind, TracepointFormat } from '@tapfleet/schemas';
import { Btf, BtfKind } from './btf.js';
import { KernelImageError, type KernelImage } from './kernel-image.js';
import { KernelTables, type SyscallMeta } from './kernel-tables.js';
import { SyscallLayouts } from './syscall-layouts.js';
import { syscallTable } from './syscall-table.js';
import { TraceEventLayouts, type LayoutResult, type Underived } from './trace-event-layouts.js';

export interface DerivedProfile {
  profile: KernelProfile;
  /** Tracepoints the kernel has whose format is not in the profile, each with why. */
  underived: Underived[];
  /** Where the facts came from: `image tables` (the image's own event and syscall tables) or `BTF only`. */
  method: 'image tables' | 'BTF only';
}

/**
 * A kernel profile from a kernel image, made without running the kernel.
 *
 * From an image (vmlinux, vmlinuz, arm64 Image) events and their subsystems come from the kernel's
 * own event tables and record layouts from BTF; syscall arguments from the syscall metadata.
 * From bare BTF (no image memory) the subsystem of an event is not known (TRACE_SYSTEM is a string
 * in the event's class, not a type): `reference` (a tracefs listing, `subsys:event` names) says
 * it, and the event's class is found by prototype. `reference` also holds the x86_64 syscall
 * table (see syscall-table.ts). Nothing is guessed: what cannot be told is reported in `underived`.
 */
export function deriveKernelProfile(image: KernelImage, reference: readonly string[]): DerivedProfile {
  if (!image.buildId) throw new KernelImageError(`${image.format} has no GNU build-id note, and a profile must name its build: give the vmlinux or vmlinuz the BTF came from`);
  const btf = new Btf(image.btf);
  const layouts = new TraceEventLayouts(btf);
  const tables = image.memory ? new KernelTables(btf, image.memory) : undefined;
  const tracepoints: Record<string, TracepointFormat> = {};
  const names = new Set<string>();
  const underived: Underived[] = [];
  const add = (name: string, layout: LayoutResult) => {
    names.add(name);
    if ('reason' in layout) underived.push({ name, reason: layout.reason });
    else tracepoints[name] = { fields: layout.fields };
  };

  const events = layouts.tracepoints();
  if (tables) eventsFromTables(tables, layouts, events, add, underived);
  else eventsFromBtf(layouts, events, subsystemsOf(reference), add, underived);

  // A profile without syscall tracepoints would tell the compiler the kernel has none: refuse instead.
  const table = syscallTable(image.arch, reference);
  if ('reason' in table) throw new KernelImageError(`cannot tell which syscalls this ${image.arch} kernel has: ${table.reason}`);
  deriveSyscalls(btf, image.arch, [...table], tables?.syscalls([...table]), add);

  return {
    profile: {
      buildId: image.buildId,
      release: image.release ?? 'unknown',
      version: image.version ?? 'unknown',
      arch: image.arch,
      btf: { present: true, sha256: image.btfSha256 },
      tracepoints,
      tracepointNames: [...names].sort(),
      probeKinds: probeKinds(btf),
    },
    underived: underived.sort((a, b) => a.name.localeCompare(b.name)),
    method: tables ? 'image tables' : 'BTF only',
  };
}

type Add = (name: string, layout: LayoutResult) => void;

/** Each event the image's tables hold, under the subsystem its class names; the rest of BTF's tracepoints are bare or reported. */
function eventsFromTables(tables: KernelTables, layouts: TraceEventLayouts, events: string[], add: Add, underived: Underived[]): void {
  const entries = tables.events(events);
  for (const event of events) {
    const entry = entries.get(event);
    if (entry) add(`${entry.system}:${event}`, entry.fields ? layouts.fromTable(entry.fields) : byPrototype(layouts, event));
    // Not in the event tables: a bare tracepoint (DECLARE_TRACE, no tracefs entry) if BTF says so, else unexplained.
    else if (!isBare(layouts, event)) underived.push({ name: event, reason: "BTF declares it but the image's event tables do not have it (a bare tracepoint, or a table that did not read cleanly)" });
  }
}

/** From BTF alone: the subsystem from the reference listing, the class by prototype. */
function eventsFromBtf(layouts: TraceEventLayouts, events: string[], subsystems: Map<string, string>, add: Add, underived: Underived[]): void {
  for (const event of events) {
    if (isBare(layouts, event)) continue;
    const subsys = subsystems.get(event);
    if (subsys) add(`${subsys}:${event}`, byPrototype(layouts, event));
    else underived.push({ name: event, reason: 'its subsystem is not in BTF and the reference tracefs listing does not have it' });
  }
}

function isBare(layouts: TraceEventLayouts, event: string): boolean {
  const cls = layouts.classOf(event);
  return 'reason' in cls && cls.reason.startsWith('a bare tracepoint');
}

function byPrototype(layouts: TraceEventLayouts, event: string): LayoutResult {
  const cls = layouts.classOf(event);
  return 'reason' in cls ? cls : layouts.layout(cls.cls);
}

/**
 * syscalls:sys_enter_/sys_exit_<name> exist for each syscall in the table that has metadata
 * (SYSCALL_DEFINE made it). Without the image's metadata, BTF's entry stub stands in for it.
 */
function deriveSyscalls(btf: Btf, arch: KernelProfile['arch'], table: string[], metadata: Map<string, SyscallMeta> | undefined, add: Add): void {
  const syscalls = new SyscallLayouts(btf, arch);
  for (const name of table.sort()) {
    const meta = metadata?.get(name);
    if (metadata ? !meta : !syscalls.has(name)) continue;
    add(`syscalls:sys_enter_${name}`, meta ? syscalls.enterFrom(meta.args) : syscalls.enter(name));
    add(`syscalls:sys_exit_${name}`, syscalls.exit());
  }
}

/** Probe kinds by the tracing code the kernel was built with (each brings its own structs into BTF). */
function probeKinds(btf: Btf): ProbeKind[] {
  const kinds: ProbeKind[] = ['interval', 'begin', 'end', 'tracepoint'];
  if (btf.find(BtfKind.Struct, 'trace_uprobe')) kinds.push('uprobe', 'uretprobe', 'usdt');
  if (btf.find(BtfKind.Struct, 'trace_kprobe')) kinds.push('kprobe', 'kretprobe');
  return kinds;
}

/** event -> subsystem from `subsys:event` names (a tracefs listing, e.g. a profile's tracepointNames). */
export function subsystemsOf(tracepointNames: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const n of tracepointNames) {
    const [subsys, event] = n.split(':');
    if (subsys && event) map.set(event, subsys);
  }
  return map;
}
