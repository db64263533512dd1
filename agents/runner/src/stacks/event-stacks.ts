import { isHostField, isStackField, isSymbolField, PREFIX_FIELD, publishedLayout, readStack, writeStackText, writeSymbolText, type BundleManifest, type DecodedEvent, type EventLayout, type LayoutField } from '@tapfleet/schemas';
import { kernelSymbols, LOST_STACK_PREFIX, symbolName } from './stack-symbolizer.js';
import { UserSymbols } from './user-symbols.js';
import { hostTime } from './host-time.js';

const EFAULT = 14;

/**
 * Names the frames of stack fields in event records (kstack/ustack written in an emit or a
 * printf()), and their ksym()/usym() addresses and strftime() times, on the host that took them: kernel frames from kallsyms, user frames from the
 * mappings of the record's process (its pid, in the record's prefix). Each frame is
 * `name+offset` (hex when unknown), leaf first, one a line: the text a stack key gets.
 * A record is symbolised as it arrives, while its process most likely still runs.
 */
export class EventStacks {
  private readonly user = new UserSymbols();

  constructor(private readonly kernelFrames: () => { frame(addr: bigint): string } = kernelSymbols) {}

  /** The frames of stack field `f` of the record at `base`, as text; a ksym/usym field's symbol name; a strftime() field's time. */
  text(view: DataView, base: number, f: LayoutField): string {
    if (f.strftime !== undefined) return hostTime(f.strftime, view.getBigUint64(base + f.offset, true));
    if (isSymbolField(f)) {
      const addr = view.getBigUint64(base + f.offset, true);
      if (f.type === 'ksym') return symbolName(this.kernelFrames().frame(addr));
      this.user.beginRoundIfStale();
      return symbolName(this.user.frame(view.getUint32(base + PREFIX_FIELD.pid.offset, true), addr));
    }
    const { frames, error } = readStack(view, base, f);
    // EFAULT: no such stack where the probe fired (a kernel stack of a sample in user mode): bpftrace prints it empty.
    if (error) return error === EFAULT ? '' : `${LOST_STACK_PREFIX}bpf_get_stack() gave errno ${error}]`;
    if (f.type === 'kstack') return frames.map((ip) => this.kernelFrames().frame(ip)).join('\n');
    this.user.beginRoundIfStale();
    const pid = view.getUint32(base + PREFIX_FIELD.pid.offset, true);
    return frames.map((ip) => this.user.frame(pid, ip)).join('\n');
  }

  /** A decoded record's stack and symbol fields replaced by their text (decodeRecord gives addresses). */
  symbolise(layout: EventLayout, data: Uint8Array, fields: DecodedEvent): DecodedEvent {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (const f of layout.fields) if (isHostField(f)) fields[f.name] = this.text(view, 0, f);
    return fields;
  }
}

/**
 * Rewrites records into their published layout before they leave the host: each stack field
 * becomes its symbolised text (schemas' publishedLayout); a record of an event without stacks,
 * or of no known event, is passed through as it is (the batcher judges those).
 */
export class StackPublisher {
  private readonly kernelLayouts = new Map<number, { layout: EventLayout; published: EventLayout }>();

  constructor(manifest: BundleManifest, private readonly stacks = new EventStacks()) {
    for (const layout of manifest.events)
      if (layout.fields.some(isHostField)) this.kernelLayouts.set(layout.id, { layout, published: publishedLayout(layout) });
  }

  /** Whether any event of the bundle carries a stack (else publish() is never needed). */
  get needed(): boolean {
    return this.kernelLayouts.size > 0;
  }

  publish(d: Uint8Array): Uint8Array {
    if (d.length < PREFIX_FIELD.event_id.offset + 4) return d;
    const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const plan = this.kernelLayouts.get(view.getUint32(PREFIX_FIELD.event_id.offset, true));
    if (!plan || d.length !== plan.layout.size) return d;
    const out = new Uint8Array(plan.published.size);
    const firstStack = plan.layout.fields.find(isHostField)!;
    // Everything before the first stack or symbol keeps its place (they are last in the record).
    out.set(d.subarray(0, firstStack.offset));
    plan.layout.fields.forEach((f, i) => {
      if (!isHostField(f)) return;
      const to = plan.published.fields[i]!;
      (isStackField(f) ? writeStackText : writeSymbolText)(out, to.offset, to.size, this.stacks.text(view, 0, f));
    });
    return out;
  }
}

