import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_DATA_DIR, PROJECT_ROOT, type Logger } from '@tapfleet/runtime';
import { goVersion, runGo } from './go-build.js';

/** The Jaeger release services/stack/jaeger/go.mod pins (as a `tool`); bump both together. */
export const JAEGER_VERSION = 'v1.76.0';
const JAEGER_PACKAGE = 'github.com/jaegertracing/jaeger/cmd/jaeger';
/** The Go module (go.mod + go.sum, committed) that pins Jaeger and every dependency by hash. */
const JAEGER_MODULE_DIR = join(PROJECT_ROOT, 'services', 'stack', 'jaeger');

/**
 * Where the built binary lives: shared by every stack of this checkout (dev and test), like
 * the Kafka jars, and named by version so a bump builds afresh instead of running a stale one.
 */
export function jaegerBinaryPath(): string {
  return join(DEFAULT_DATA_DIR, 'jaeger', `jaeger-${JAEGER_VERSION}`);
}

export class JaegerBuildError extends Error {
  readonly code: 'GO_MISSING' | 'BUILD_FAILED';
  constructor(code: JaegerBuildError['code'], message: string) {
    super(message);
    this.name = 'JaegerBuildError';
    this.code = code;
  }
}

export interface EnsureJaegerOptions {
  /** Where the binary goes (default: jaegerBinaryPath()). */
  binary?: string;
  /** Where the progress lines go (default: stderr, beside setup's other "setup: ..." lines). */
  progress?: (line: string) => void;
}

/**
 * Builds Jaeger with Go from the module proxy when the binary is missing; a no-op after.
 * The first build compiles ~800 modules (about 6 minutes on 2 cores), so it says so and
 * reports every minute, instead of looking hung. Asynchronous: `stack up` may call it while
 * it waits for other servers. The binary is written under a temporary name and renamed, so
 * an interrupted build never leaves a half-written one that the next run would trust.
 */
export async function ensureJaegerBinary(log?: Logger, options: EnsureJaegerOptions = {}): Promise<string> {
  const binary = options.binary ?? jaegerBinaryPath();
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (existsSync(binary)) return binary;
  const go = goVersion();
  if (go === undefined)
    throw new JaegerBuildError(
      'GO_MISSING',
      `Go is not installed (no 'go' on PATH). tapfleet builds Jaeger ${JAEGER_VERSION}, the OTLP receiver of the tests and of ` +
        '`stack up --with jaeger`, from source once; install Go 1.21 or newer (https://go.dev/dl/; it fetches the 1.24 toolchain ' +
        'Jaeger needs by itself) and run `tapfleet setup` again',
    );
  mkdirSync(dirname(binary), { recursive: true });
  const partial = `${binary}.partial-${process.pid}`;
  const started = Date.now();
  progress(`setup: building Jaeger ${JAEGER_VERSION} with Go (first time only, ~6 min; ${go}) into ${binary}`);
  const ticker = setInterval(() => progress(`setup: still building Jaeger ${JAEGER_VERSION} (${Math.round((Date.now() - started) / 60_000)} min so far)`), 60_000);
  try {
    // The version stamp Jaeger's own release build sets, so `jaeger version` and the log say which one this is.
    await runGoBuild(['build', '-trimpath', `-ldflags=-X github.com/jaegertracing/jaeger/internal/version.latestVersion=${JAEGER_VERSION}`, '-o', partial, JAEGER_PACKAGE]);
    renameSync(partial, binary);
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  } finally {
    clearInterval(ticker);
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  progress(`setup: built Jaeger ${JAEGER_VERSION} in ${seconds} s`);
  log?.info({ binary, seconds }, 'built Jaeger');
  return binary;
}

/** `go build` in the pinning module (go-build.ts: go.sum checked, never rewritten), failures as JaegerBuildError. */
async function runGoBuild(args: string[]): Promise<void> {
  try {
    await runGo(args, JAEGER_MODULE_DIR, `building Jaeger ${JAEGER_VERSION} failed`);
  } catch (e) {
    throw new JaegerBuildError('BUILD_FAILED', (e as Error).message);
  }
}
