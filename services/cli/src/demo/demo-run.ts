import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DemoRunRecord, type TapfleetConfig } from '@tapfleet/schemas';
import { isOwnedAlive, processStartTime } from '@tapfleet/stack';

/** Where the running `tapfleet demo` says who it is and what it must stop (schemas/src/demo-run.ts). */
export const demoRunFile = (config: TapfleetConfig) => join(config.dataDir, 'stack', 'demo', 'demo-run.json');

/** The record a demo run left, or undefined if there is none or it does not parse (then it is ignored and overwritten). */
export function readDemoRun(file: string): DemoRunRecord | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const parsed = DemoRunRecord.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** True while the recorded demo process is still the one that wrote the record. */
export const demoRunAlive = (rec: DemoRunRecord | undefined): rec is DemoRunRecord => isOwnedAlive(rec);

/** Records this process as the running demo, responsible for stopping `services`. */
export function writeDemoRun(file: string, services: readonly string[]): void {
  mkdirSync(dirname(file), { recursive: true });
  const rec: DemoRunRecord = { pid: process.pid, startTime: processStartTime(process.pid) ?? '', command: process.argv.slice(1).join(' '), services: [...services] };
  writeFileSync(file, JSON.stringify(rec));
}

/** Removes the record if it is still this process's (a later run may have replaced it). */
export function removeDemoRun(file: string): void {
  if (readDemoRun(file)?.pid === process.pid) rmSync(file, { force: true });
}
