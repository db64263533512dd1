/**
 * Every bound the compiler enforces, in one place. Each is either a limit some later
 * stage enforces anyway (the runner, the kernel, clang, the bundle schema), turned into
 * a compile-time diagnostic at the construct that crosses it, or a bound on the
 * compiler's own work so that no input can exhaust its stack or its time.
 * docs/language.md ("Limits") lists them with their diagnostics; limits.test.ts checks
 * the runner's numbers against agents/runner/native/runner.c.
 */
export const LIMITS = {
  /** Script text; the API's CreateDeploymentRequest allows the same 1,000,000 characters. */
  maxScriptBytes: 1_000_000,
  /**
   * Depth of an expression tree, counted as written: each operator, unary operator,
   * parenthesis, call and @entry() is one level, and so is each link of an operator chain
   * (`a + b + c` is two deep). Bounds the compiler's recursion in every pass and the
   * bracket depth of the generated C (clang gets -fbracket-depth=CLANG_BRACKET_DEPTH).
   */
  maxExpressionDepth: 64,
  /** Nested blocks: if/else bodies, each `else if` counting one level more. */
  maxBlockDepth: 32,
  /** Statements per probe body, nested ones included (a SystemTap MAXACTION analogue). */
  maxStatementsPerProbe: 1000,
  /** Errors reported per compile; past this the rest are counted, not listed (a garbage file is one answer, not 100,000). */
  maxErrors: 100,
  /** Probes per script: every probe point is a BPF program or a timer, the runner attaches at most this many. */
  maxProbes: 256,
  /** Kernel attach points per bundle: runner.c MAX_ATTACH refuses more ("more than 512 attach points"). */
  maxAttachPoints: 512,
  /** Aggregation maps per script: runner.c MAX_MAPS snapshots at most this many (more were silently dropped). */
  maxMaps: 64,
  /**
   * Maps one BPF program may use: the kernel's MAX_USED_MAPS (64) refuses more at load.
   * Each program also uses tf_events, tf_stats, tf_scope_pids, .rodata and maybe its
   * entry map, so a probe body may touch at most 64 - 5 aggregation maps.
   */
  maxMapsPerProbe: 59,
  /** Distinct emitted events per script: the event layout id is a u16 in the bundle schema. */
  maxEvents: 0x10000,
  /** Bytes of one event record, prefix included: the 4 MiB ring holds at least 512 of the largest. */
  maxEventBytes: 8192,
  /** Key bytes of one aggregation map: keys are built on the 512-byte BPF stack. */
  maxMapKeyBytes: 256,
  /**
   * Names (maps, events, fields, locals): they become BTF names (the kernel bounds those
   * by KSYM_NAME_LEN, 128 before 6.1) and the runner's 256-byte command line `clear m_NAME`.
   */
  maxNameBytes: 64,
  defaultStringBytes: 64,
  maxStringBytes: 256,
  maxMapEntries: 10240,
  /**
   * Keys of one value map (`@m[k] = v`): a plain hash shared by all CPUs. When it is full the
   * kernel refuses new keys (existing ones still update); `tapfleet run` says so when it prints the map.
   */
  maxValueMapEntries: 10240,
  maxLhistBuckets: 1000,
  ringBufferBytes: 4 << 20,
  /** Processes one agent may be scoped to by pid (runner.c MAX_SCOPE_PIDS; cgroup scope has no limit). */
  maxScopePids: 4096,
  /** BPF programs get 512 bytes of stack (MAX_BPF_STACK); clang refuses more at build time. */
  maxStackBytes: 512,
  /** Instructions of one BPF program: the kernel's BPF_COMPLEXITY_LIMIT_INSNS refuses a longer one at load (E2BIG). */
  maxInstructionsPerProgram: 1_000_000,
  /**
   * A BPF jump's offset is a signed 16-bit count of instructions, and clang 14 wraps a longer one
   * silently (the kernel then refuses it, or worse, it lands inside the program): a program this
   * long could branch wrongly, so it is refused before it ships.
   */
  maxJumpSpanInstructions: 32_767,
  /** Integers in a pair key (`key (a, b, ...)`): the start/end map's key is built on the BPF stack, 8 bytes each. */
  maxPairKeyExprs: 4,
  /** A printf() format, in bytes after escapes: it travels in the manifest, once per call site. */
  maxPrintfFormatBytes: 1024,
  /** printf() arguments per call: each is a field of the call site's record. */
  maxPrintfArgs: 32,
} as const;

/** clang's default bracket depth is 256; generated C nests about 4 brackets per expression level. */
export const CLANG_BRACKET_DEPTH = 1024;

/** Lower-case identifiers: what the bundle schema and ClickHouse accept as event and field names. */
export const EVENT_NAME = /^[a-z_][a-z0-9_]*$/;
