import { durationMs, DurationText, foldedLines, mapText, stackKeysOf, verifyBundle } from '@tapfleet/schemas';
import { UsageError, stringOption, type Command } from '@tapfleet/runtime/light';
import { CompileError } from '@tapfleet/compiler/light';
import { liveStartTime } from '../pid-watch.js';
import { planShellCommand } from './shell-command.js';
import { BINARY_OPTION, binaryPaths, localSigningKey, printDiagnostics, PROGRAM_OPTION, readScript, buildOptions, SCRIPT_ARGS } from './common.js';
import { withBareBinaryNames } from '../binary-names.js';

export const runCommand: Command = {
  path: ['run'],
  // Events and maps as the traced programs produced them, as bpftrace prints them.
  rawOutput: true,
  args: SCRIPT_ARGS,
  summary: 'compile a probe script for this host, load it, and print events and aggregations (Ctrl-C stops)',
  options: {
    program: PROGRAM_OPTION,
    pid: { type: 'string', short: 'p', description: 'trace only this process (uprobes and USDT); stop when it exits', valueName: 'PID' },
    command: {
      type: 'string', short: 'c', valueName: 'CMD',
      description: 'run this command, traced from its first instruction; stop when it exits. With shell syntax (a; b, a | b, a &) it runs under /bin/sh -c and every probe sees only its processes',
    },
    duration: { type: 'string', short: 'd', description: 'stop after this long, e.g. 10s', valueName: 'D' },
    json: { type: 'boolean', description: 'print JSON lines instead of text' },
    folded: { type: 'boolean', description: 'print maps keyed by kstack/ustack as folded stacks (frame;frame N, root first: flamegraph.pl, speedscope)' },
    binary: BINARY_OPTION,
    'no-cache': { type: 'boolean', description: 'compile even when the compile cache holds this script\'s bundle, and store nothing' },
  },
  details: `Words after the script are its positional parameters, as in bpftrace: $1, $2, ... ($# counts them), numbers where a number is expected and str($N) for the word itself; put -- before one that starts with '-'. A compiled bundle is kept under <dataDir>/compile-cache (least recently used out beyond 64 MB), keyed by the script, its parameters, the tapsets, the kernel build, the compiler and clang builds and --binary; its binaries' build-ids are checked on use. A repeated run skips the compile.`,
  async run(values, positionals, ctx) {
    const { config, out } = ctx;
    // Loaded now, not with the command table: only a run needs the runner and the cache (and, on a
    // miss, the compiler). Started before the checks below so the files load while they run.
    const loading = Promise.all([
      import('../compile-cache/cached-compile.js'), import('../compile-cache/bundle-cache.js'), import('../run-session.js'), import('../output/format.js'), import('../output/run-lines.js'),
      import('../output/stack-loss.js'),
    ]);
    loading.catch(() => {}); // a usage error below may throw before it is awaited (a failed import still fails the run there)
    const { file, text, params } = readScript(values, positionals);
    const pidText = stringOption(values, 'pid');
    const command = stringOption(values, 'command');
    if (pidText && command) throw new UsageError('give -p PID or -c CMD, not both');
    if (pidText && !/^[1-9][0-9]{0,9}$/.test(pidText)) throw new UsageError(`-p takes a process id, got '${pidText}'`);
    if (pidText && !liveStartTime(Number(pidText))) throw new UsageError(`-p ${pidText}: no such process`);
    const duration = stringOption(values, 'duration');
    if (duration !== undefined && !DurationText.safeParse(duration).success) throw new UsageError(`--duration takes a duration like 30s, 10m or 2h, got '${duration}'`);
    const plan = command !== undefined ? planShellCommand(command) : undefined;
    const json = values.json === true;
    const folded = values.folded === true;
    if (json && folded) throw new UsageError('give --json or --folded, not both');
    const key = localSigningKey(config);
    const [{ cachedCompile }, { BundleCache, compileCacheDir }, { runSession }, { eventJson, eventText, mapJson }, { liveJson, liveText, printfJson }, { lostStackSamples, LOST_STACK_PREFIX }] = await loading;
    const cache = values['no-cache'] === true ? undefined : new BundleCache(compileCacheDir(config.dataDir), {
      // The logger is made only if the cache has something to say (a hit says nothing): see runCli.
      log: { warn: (o: object, m: string) => ctx.log.warn(o, m), debug: (o: object, m: string) => ctx.log.debug(o, m) },
    });
    let bundle;
    let fromCache = false;
    try {
      let warnings: string[];
      ({ bundle, cached: fromCache, warnings } = await cachedCompile({ file, text, params, binaryPaths: withBareBinaryNames(text, binaryPaths(values)), build: buildOptions(config), signingKey: key, ...(cache ? { cache } : {}) }));
      for (const w of warnings) process.stderr.write(`${w}\n`);
      if (cache && !fromCache) ctx.log.debug({ ...cache.stats }, 'compile cache miss: compiled and stored');
    } catch (e) {
      if (e instanceof CompileError) {
        printDiagnostics(e.diagnostics);
        return 1;
      }
      throw e;
    }
    // A cached bundle was verified when read; a fresh one is verified here, as an agent would.
    if (!fromCache) verifyBundle(bundle, key.publicKeyPem);
    let stop: () => void = () => {};
    const stopSignal = new Promise<void>((resolve) => (stop = resolve));
    let stopping = false;
    // Kept for the whole run: a second Ctrl-C while the maps are read and the probes detached
    // must not kill the run before it prints them (Node's default for SIGINT).
    const onSigint = (sig: NodeJS.Signals) => {
      if (stopping) process.stderr.write(`tapfleet run: ${sig}: already stopping (reading the maps, detaching)\n`);
      stopping = true;
      stop();
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    const result = await runSession({
      bundle,
      ...(pidText ? { pid: Number(pidText) } : {}),
      ...(plan ? { command: plan.argv, commandTree: plan.kind === 'shell' } : {}),
      ...(duration ? { durationMs: durationMs(duration) } : {}),
      stopSignal,
      printEachMapOnce: folded,
      onAttach: (s, program) => {
        if (s.errno) process.stderr.write(`tapfleet run: ${program} not attached: ${s.message}\n`);
      },
      onLive: (live) => (json ? out(liveJson(live)) : process.stderr.write(`${liveText(live)}\n`)),
      // Text as formatted, no newline added (bpftrace's printf); --json: one object per call.
      onPrintf: (text) => (json ? out(printfJson(text)) : process.stdout.write(text)),
      // bpftrace 0.17 writes "\n\n" after END, before the maps: an END printf() without a newline
      // (bitesize.bt's "histograms by process name:") ends its line there, not on the first map's.
      onExitMaps: () => void (json || folded ? undefined : process.stdout.write('\n\n')),
      onEvent: (name, fields, layout) => out(json ? eventJson(name, fields, layout) : eventText(name, fields, layout)),
      onPrint: (maps) => {
        for (const m of maps) {
          const layout = { ...m.layout, stackKeys: stackKeysOf(m.layout) };
          // --folded prints only stack-keyed maps: the lines must be all flame-graph input.
          if (folded) (layout.stackKeys.length ? foldedLines(layout, m.entries) : []).forEach((l) => out(l));
          else if (json) out(mapJson(m.layout, m.entries));
          else {
            // An empty map prints as an empty line, in print() and at exit, as bpftrace 0.17 prints it
            // (two for avg() and stats(), as it does). A keyless one is a one-slot array, never absent:
            // a hist() that counted nothing and an avg()/stats() of no values are empty.
            const counted = m.entries.filter((e) => !(e.key.length === 0 && (e.buckets ? e.buckets.every((b) => b === 0n) : (layout.kind === 'avg' || layout.kind === 'stats') && e.count === 0n)));
            const lines = mapText(layout, counted);
            (lines.length ? lines : layout.kind === 'avg' || layout.kind === 'stats' ? ['', ''] : ['']).forEach((l) => out(l));
          }
        }
      },
    });
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    if (result.pidExited) process.stderr.write(`tapfleet run: process ${pidText} exited\n`);
    // Like `time CMD`: the command's failure is the run's (127: it could not even be started).
    const commandFailed = typeof result.commandExit === 'number' && result.commandExit !== 0 ? result.commandExit : 0;
    if (commandFailed) process.stderr.write(`tapfleet run: the command exited with status ${commandFailed}\n`);
    const lost = result.ringbufDrops > 0n ? `, ${result.ringbufDrops} dropped (ring buffer full)` : '';
    // Records no event layout fits (schemas' EventLayouts) are lost, never printed garbled: say how many.
    const malformed = result.undecodable > 0 ? `, ${result.undecodable} malformed (fit no event layout; not printed)` : '';
    const lostStacks = lostStackSamples(result.maps);
    if (lostStacks > 0n) process.stderr.write(`tapfleet run: ${lostStacks} sample(s) lost their stack (the stack map had no room): they print as ${LOST_STACK_PREFIX}...]\n`);
    process.stderr.write(`tapfleet run: ${result.events} event(s)${lost}${malformed}; attached in ${(Number(result.attachNs) / 1e6).toFixed(1)} ms, detached in ${(Number(result.detachNs) / 1e6).toFixed(1)} ms\n`);
    if (result.attachFailures > 0 && result.attachFailures === bundle.manifest.attach.filter((a) => 'program' in a).length) return 1;
    return commandFailed;
  },
};
