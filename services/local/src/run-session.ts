import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isHostField, mapObjectName, printedEntries, stackKeysOf, type AggEntry, type Bundle, type DecodedEvent, type EventLayout, type MapLayout, type UserAction } from '@tapfleet/schemas';
import { decodeSnapshot, EventStacks, mergeEqualKeys, RunnerProcess, symbolizerFor, whenReady, type RunnerRecord } from '@tapfleet/runner';
import { decodeEvent, layoutsById, printfStacks } from './output/format.js';
import { PrintfFormatters } from './output/printf.js';
import { setLongInterval, setLongTimeout } from '@tapfleet/runtime/light';
import { liveStartTime, watchPidExit } from './pid-watch.js';
import { RunCgroup } from './run-cgroup.js';
import { IntervalSchedule } from './interval-schedule.js';

export interface SessionOptions {
  bundle: Bundle;
  /** Trace only this process (uprobes/USDT are scoped to it by the kernel). */
  pid?: number;
  /** Start this command stopped, attach, then let it run; the session ends when it exits. */
  command?: string[];
  /**
   * Trace the command and every process it starts (a shell running a list or pipeline),
   * through a cgroup v2 directory made for the run, instead of the command's pid alone.
   */
  commandTree?: boolean;
  durationMs?: number;
  /** Count per-program runs (SessionResult.programRuns); costs ~50-100 ns a probe hit. */
  runStats?: boolean;
  /** An emitted event; its stack fields hold their symbolised frames, one a line, leaf first (the layout says which). */
  onEvent?: (name: string, fields: DecodedEvent, layout: EventLayout) => void;
  /** Maps named by an interval/end print(), after each snapshot. */
  onPrint?: (maps: { layout: MapLayout; entries: AggEntry[] }[]) => void;
  onAttach?: (status: Extract<RunnerRecord, { type: 'attach' }>, program: string) => void;
  /** Every probe is attached (or failed to): the moment to start a workload. Before any other output. */
  onLive?: (live: { probes: number; failed: number; attachNs: bigint }) => void;
  /** A printf() line (kernel record or begin/end/interval call), formatted, as bytes. */
  onPrintf?: (text: Buffer) => void;
  /** After the end probes' actions, before the maps are printed at exit (bpftrace prints two newlines there). */
  onExitMaps?: () => void;
  /** At exit, leave out the maps an end probe printed (bpftrace prints them again; a flame graph must not). */
  printEachMapOnce?: boolean;
  /** Resolves to end the session early (Ctrl-C). */
  stopSignal?: Promise<void>;
}

export interface SessionResult {
  events: number;
  undecodable: number;
  produced: bigint;
  ringbufDrops: bigint;
  attachNs: bigint;
  detachNs: bigint;
  attachFailures: number;
  /** Per BPF program (object order): how often it ran, from the kernel's run-time stats. */
  programRuns: bigint[];
  /** Last snapshot of every map, merged across CPUs. */
  maps: Map<string, AggEntry[]>;
  commandExit?: number | null;
  /** Set when the session ended because the traced process (`pid`) exited. */
  pidExited?: boolean;
  /** Pid of the -c command, when there was one. */
  commandPid?: number;
  /** Set when exit() ended the session. */
  exited?: boolean;
}

/** A decoded record's kernel time (CLOCK_MONOTONIC ns). */
const ktimeOf = (fields: DecodedEvent): bigint => {
  const v = fields.ktime_ns;
  return typeof v === 'bigint' ? v : BigInt(typeof v === 'number' ? v : 0);
};

/** Starts `argv` stopped before exec, so probes are attached before its first instruction. */
async function spawnStopped(argv: string[]): Promise<ChildProcess> {
  const child = spawn('/bin/sh', ['-c', 'kill -STOP $$; exec "$@"', 'tapfleet-run', ...argv], { stdio: 'inherit' });
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    try {
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return child;
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  child.kill('SIGKILL');
  throw new Error(`could not start ${argv.join(' ')}`);
}

/**
 * Processes a shell command left running in the background keep running, moved back to the
 * root cgroup (untraced) so the run's directory can go.
 */
async function releaseCgroup(cgroup: RunCgroup | undefined): Promise<void> {
  if (!cgroup) return;
  const root = join(cgroup.dir, '..', 'cgroup.procs');
  // An exiting task leaves the cgroup a moment after its exit is seen: retry for up to a second.
  for (let attempt = 0; attempt < 20; attempt++) {
    for (const pid of cgroup.members()) {
      try {
        writeFileSync(root, String(pid));
      } catch {
        // exited meanwhile
      }
    }
    if (cgroup.remove()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stderr.write(`tapfleet run: could not remove ${cgroup.dir}\n`);
}

/** Loads a verified bundle through the runner and streams it until duration, stop, or command exit. */
export async function runSession(o: SessionOptions): Promise<SessionResult> {
  const { manifest } = o.bundle;
  const dir = mkdtempSync(join(tmpdir(), 'tapfleet-run-'));
  const objectPath = join(dir, 'probe.bpf.o');
  writeFileSync(objectPath, o.bundle.object);
  if (o.pid !== undefined && !liveStartTime(o.pid)) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`no process ${o.pid}`);
  }
  const child = o.command ? await spawnStopped(o.command) : undefined;
  let cgroup: RunCgroup | undefined;
  try {
    if (child && o.commandTree) cgroup = RunCgroup.create(child.pid!);
  } catch (e) {
    child!.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  // A tree is followed by its cgroup (every probe sees only its processes); one process by its pid.
  const pid = cgroup ? undefined : child?.pid ?? o.pid;
  const runner = new RunnerProcess({
    objectPath, manifest, ...(pid !== undefined ? { pid } : {}), ...(cgroup ? { scope: { cgroup: cgroup.dir } } : {}), ...(o.runStats ? { runStats: true } : {}),
  });
  const result: SessionResult = { events: 0, undecodable: 0, produced: 0n, ringbufDrops: 0n, attachNs: 0n, detachNs: 0n, attachFailures: 0, programRuns: [], maps: new Map(), ...(child?.pid !== undefined ? { commandPid: child.pid } : {}) };
  const layouts = layoutsById(manifest);
  const programs = manifest.attach.flatMap((a) => ('program' in a && a.program ? [a.program] : []));
  const stacks = symbolizerFor(manifest);
  let stderr = '';
  let requestExit: () => void = () => {};
  const exitSignal = new Promise<void>((resolve) => (requestExit = () => {
    result.exited = true;
    resolve();
  }));
  let frozen = false;
  let runnerGone = false;
  void runner.exited.then(() => (runnerGone = true));
  /** Resolves once a snapshot asked for now has fully arrived (its last map), or after 2 s. */
  const freshSnapshot = () =>
    new Promise<void>((resolve) => {
      const last = mapObjectName(manifest.maps[manifest.maps.length - 1]!.name);
      const onRecord = (r: RunnerRecord) => {
        if (r.type === 'map' && r.name === last) done();
      };
      const timer = setTimeout(() => done(), 2000);
      const done = () => {
        clearTimeout(timer);
        runner.off('record', onRecord);
        resolve();
      };
      runner.on('record', onRecord);
      runner.snapshot();
    });
  const formatters = new PrintfFormatters();
  // A begin/end/interval probe's printf() records wait here, by record, until its firing's
  // actions print them at their place among its print() calls (see fire()).
  const userRecords = new Set(manifest.attach.flatMap((a) => ('actions' in a ? a.actions.flatMap((x) => (x.op === 'printf' ? [x.record] : [])) : [])));
  const firingLines = new Map<string, { at: bigint; text: Buffer }[]>();
  /**
   * Kernel probes' output held while a firing's lines are awaited, each with its record's kernel
   * time: what happened before the firing's program ran is shown before its lines, the rest after.
   */
  type Held = { at: bigint; show: () => void };
  let held: Held[] | undefined = manifest.attach.some((a) => a.kind === 'begin' && a.actions.length) ? [] : undefined;
  const kernelOutput = (at: bigint, show: () => void) => (held ? held.push({ at, show }) : show());
  /** exit() records read so far: a firing's program that sent one ended its probe there. */
  let exitRecords = 0;
  // Stack fields are symbolised as each record arrives, while its process most likely still runs.
  const withStacks = new Set(manifest.events.filter((e) => e.fields.some(isHostField)).map((e) => e.id));
  const eventStacks = new EventStacks();
  runner.on('stderr', (s) => (stderr += s));
  runner.on('record', (r) => {
    switch (r.type) {
      case 'event': {
        const ev = decodeEvent(layouts, r.data);
        // A begin/end/interval printf(): formatted now, printed by its firing's actions (an end probe's after exit() too).
        if (ev && userRecords.has(ev.name)) {
          if (withStacks.has(ev.layout.id)) eventStacks.symbolise(ev.layout, r.data, ev.fields);
          const lines = firingLines.get(ev.name) ?? [];
          lines.push({ at: ktimeOf(ev.fields), text: formatters.record(ev.layout, ev.fields) });
          firingLines.set(ev.name, lines);
          break;
        }
        // After exit(), records still in the ring are not printed (as bpftrace stops reading at exit).
        if (result.exited) break;
        if (!ev) result.undecodable++;
        else if (ev.layout.call?.fn === 'exit') {
          exitRecords++;
          kernelOutput(ktimeOf(ev.fields), requestExit);
        }
        else {
          if (withStacks.has(ev.layout.id)) eventStacks.symbolise(ev.layout, r.data, ev.fields);
          if (ev.layout.call?.fn === 'printf') {
            const text = formatters.record(ev.layout, printfStacks(ev.layout, ev.fields));
            kernelOutput(ktimeOf(ev.fields), () => o.onPrintf?.(text));
          } else {
            result.events++;
            kernelOutput(ktimeOf(ev.fields), () => o.onEvent?.(ev.name, ev.fields, ev.layout));
          }
        }
        break;
      }
      case 'attach':
        if (r.errno) result.attachFailures++;
        o.onAttach?.(r, programs[r.index] ?? `#${r.index}`);
        break;
      case 'map': {
        // The run's final values were read when it ended: later snapshots (the runner's own, taken
        // after detaching) would add what the probes counted while being detached.
        if (frozen) break;
        if (stacks?.owns(r.name)) {
          stacks.update(r.name, r.entries);
          break;
        }
        const layout = manifest.maps.find((m) => mapObjectName(m.name) === r.name);
        if (!layout) break;
        const entries = decodeSnapshot(layout, r.entries, stacks);
        result.maps.set(layout.name, stackKeysOf(layout).length ? mergeEqualKeys(layout.kind, entries) : entries);
        break;
      }
      case 'stats':
        result.produced = r.produced;
        result.ringbufDrops = r.ringbufDrops;
        result.programRuns = r.programs.map((p) => p.runCount);
        break;
      case 'detached':
        result.detachNs = r.detachNs;
        break;
      default:
        break;
    }
  });
  /** A begin/end/interval body, in statement order (maps as of the latest snapshot). */
  const runActions = (actions: UserAction[]) => {
    for (const a of actions) {
      switch (a.op) {
        case 'print': {
          const layout = manifest.maps.find((m) => m.name === a.map);
          if (layout) o.onPrint?.([{ layout, entries: printedEntries(layout, result.maps.get(a.map) ?? [], a) }]);
          break;
        }
        // After the run ended (an end probe) the runner is gone: clear the values read at the end,
        // so a map an end probe clears is not printed at exit (bpftrace's END { clear(@start); }).
        // bpftrace 0.17 still prints a cleared count() without keys, as 0 (pidpersec.bt's END { clear(@); }
        // leaves "@: 0"); any other cleared map prints as an empty line.
        case 'clear':
          if (frozen) result.maps.set(a.map, manifest.maps.some((m) => m.name === a.map && m.kind === 'count' && m.keyFields.length === 0) ? [{ key: [], value: 0n }] : []);
          else runner.clear(mapObjectName(a.map));
          break;
        // The line this firing's program sent, if the printf() ran (it may sit in an if).
        case 'printf': {
          const line = firingLines.get(a.record)?.shift();
          if (line) o.onPrintf?.(line.text);
          break;
        }
        case 'exit': requestExit(); break;
      }
    }
  };
  /** Resolves at the runner's answer to `sync` (every record asked for before it has arrived), or when it is gone. */
  const synced = () =>
    new Promise<void>((resolve) => {
      const onRecord = (r: RunnerRecord) => {
        if (r.type === 'sync') done();
      };
      const done = () => {
        runner.off('record', onRecord);
        resolve();
      };
      runner.on('record', onRecord);
      void runner.exited.then(done);
      runner.sync();
    });
  /** Shows the held output from before kernel time `before` (all of it without one), and stops holding when all is shown. */
  const releaseHeld = (before?: bigint) => {
    const shows = held ?? [];
    const now = before === undefined ? shows : shows.filter((h) => h.at < before);
    held = before === undefined ? undefined : shows.filter((h) => h.at >= before);
    now.forEach((h) => h.show());
  };
  let firings = Promise.resolve();
  /**
   * One firing of a begin/end/interval probe, after the ones before it: its program (map writes
   * and printf() records; a begin probe's ran before attaching), a snapshot when it prints a map,
   * then, once the runner has sent all of that, its actions in statement order. Kernel probes'
   * output is held meanwhile and shown after its lines, as bpftrace's interleave in time.
   */
  const fire = (actions: UserAction[], program?: string, beforeEverything = false, interval = false): Promise<void> =>
    (firings = firings.then(async () => {
      // An interval firing queued behind one that exit()ed does not run (bpftrace's exit ends the
      // probes due at the same moment after it, as it does the probe's own later statements).
      if (interval && result.exited) return;
      held ??= [];
      // CLOCK_MONOTONIC, as the kernel's record times: when a firing sends no record, it ran about now.
      const started = process.hrtime.bigint();
      // A begin probe's program ran before the probes attached: every exit record so far is a begin program's.
      const exitsBefore = beforeEverything ? 0 : exitRecords;
      if (program) runner.run(program);
      if (manifest.maps.length && actions.some((x) => x.op === 'print')) runner.snapshot();
      await synced();
      // Its program's exit() (in an if) ended the probe there, as bpftrace's returns: the print() and
      // clear() calls all stand after that if (typecheck), so only the printf() lines it sent remain.
      if ((program || beforeEverything) && exitRecords > exitsBefore) actions = actions.filter((x) => x.op === 'printf');
      const sent = [...firingLines.values()].flat().map((l) => l.at);
      // A begin probe ran before any probe attached: everything the probes sent comes after its lines.
      releaseHeld(beforeEverything ? 0n : sent.length ? sent.reduce((x, y) => (x < y ? x : y)) : started);
      runActions(actions);
      releaseHeld();
    }));
  try {
    const ready = await whenReady(runner);
    result.attachNs = ready.attachNs;
    const userSide = manifest.attach.filter((a) => a.kind === 'interval' || a.kind === 'begin' || a.kind === 'end').length;
    o.onLive?.({ probes: ready.ok + userSide, failed: ready.failed, attachNs: ready.attachNs });
  } catch (e) {
    child?.kill('SIGKILL');
    await releaseCgroup(cgroup);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}${stderr ? `\n${stderr.trim()}` : ''}`);
  }
  const intervals = new IntervalSchedule(manifest.attach.flatMap((a) =>
    a.kind === 'interval'
      ? [{
          periodNs: BigInt(a.periodNs),
          fire: () => {
            // Map writes alone need no waiting: the runner takes commands in order, so a later snapshot sees them.
            if (!a.actions.length) return a.kernel ? runner.run(a.kernel) : undefined;
            void fire(a.actions, a.kernel, false, true);
          },
        }]
      : []));
  intervals.start();
  const timers = [{ clear: () => intervals.stop() }];
  // User stacks are symbolised through their process's mappings, which go when it exits:
  // snapshot every second so a process's stacks are read while it lives.
  if (manifest.stacks?.some((m) => m.user)) timers.push(setLongInterval(() => runner.snapshot(), 1000));
  // Before a -c command starts, as bpftrace's BEGIN lines come before it runs.
  for (const a of manifest.attach) if (a.kind === 'begin' && a.actions.length) await fire(a.actions, undefined, true);
  releaseHeld();
  const endings: Promise<unknown>[] = [runner.exited, exitSignal];
  if (o.stopSignal) endings.push(o.stopSignal);
  let durationTimer: { clear(): void } | undefined;
  // Chained: a duration over ~24.8 days would overflow Node's timer and end the run at once.
  if (o.durationMs !== undefined) endings.push(new Promise<void>((r) => (durationTimer = setLongTimeout(r, o.durationMs!))));
  // -p PID: the run ends when the process does, as bpftrace's does.
  const target = o.pid !== undefined && !child ? watchPidExit(o.pid) : undefined;
  if (target) endings.push(target.exited.then(() => void (result.pidExited = true)));
  if (child) {
    endings.push(new Promise<void>((r) => child.on('exit', (code) => {
      result.commandExit = code;
      r();
    })));
    child.kill('SIGCONT');
  }
  await Promise.race(endings);
  timers.forEach((t) => t.clear());
  durationTimer?.clear();
  target?.stop();
  // A firing under way ends first (its lines belong before the end probes').
  await firings;
  releaseHeld();
  // The maps as they are at the moment the run ends (exit(), Ctrl-C, -d, the command's exit), as
  // bpftrace prints them. bpftrace detaches every probe before END; a detach takes 50-130 ms a probe,
  // so the run is closed instead (every kernel probe returns at once, still attached): no probe hit
  // changes a map after an end probe wrote it (delete(@n) in END leaves no @n). Then the end probes'
  // map writes run while the runner still holds the maps, and the last snapshot reads them.
  if (!runnerGone) {
    runner.close();
    for (const a of manifest.attach) if (a.kind === 'end' && a.kernel) runner.run(a.kernel);
  }
  if (manifest.maps.length && !runnerGone) await freshSnapshot();
  frozen = true;
  await runner.stop();
  if (child && child.exitCode === null) child.kill('SIGTERM');
  await releaseCgroup(cgroup);
  rmSync(dir, { recursive: true, force: true });
  const endActions = manifest.attach.flatMap((a) => (a.kind === 'end' ? a.actions : []));
  runActions(endActions);
  // Then every map, as bpftrace prints its maps at exit after END: by name, an empty one not at all.
  // Once only (--folded): a map an end probe printed is not printed again (a flame graph would count it twice).
  const printedAtEnd = new Set(endActions.flatMap((a) => (a.op === 'print' ? [a.map] : [])));
  const atExit = [...manifest.maps].filter((m) => !(o.printEachMapOnce && printedAtEnd.has(m.name)));
  o.onExitMaps?.();
  runActions(atExit.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)).map((m) => ({ op: 'print', map: m.name })));
  return result;
}
