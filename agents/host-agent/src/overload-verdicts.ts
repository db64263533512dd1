import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod/v3';

const Verdicts = z.record(z.string(), z.object({ bundleId: z.string(), reason: z.string() }));
type Verdicts = z.infer<typeof Verdicts>;

/**
 * The overload governor's detach decisions, kept across agent restarts: a bundle detached for
 * being over budget must not be attached again by the next agent (a crash-looping agent would
 * otherwise re-run it on every start). Only a new assignment (another deployment or bundle)
 * runs it again. Entries for deployments no longer assigned are dropped.
 */
export class OverloadVerdicts {
  private verdicts: Verdicts;

  constructor(private readonly file: string) {
    this.verdicts = OverloadVerdicts.load(file);
  }

  private static load(file: string): Verdicts {
    try {
      const r = Verdicts.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      return r.success ? r.data : {};
    } catch {
      return {};
    }
  }

  /** Why this deployment's bundle was detached for overload, if it was. */
  get(deploymentId: string, bundleId: string): string | undefined {
    const v = this.verdicts[deploymentId];
    return v && v.bundleId === bundleId ? v.reason : undefined;
  }

  record(deploymentId: string, bundleId: string, reason: string): void {
    this.verdicts[deploymentId] = { bundleId, reason };
    this.save();
  }

  /** Forgets deployments that are no longer assigned. */
  retain(assigned: Set<string>): void {
    const before = Object.keys(this.verdicts).length;
    this.verdicts = Object.fromEntries(Object.entries(this.verdicts).filter(([d]) => assigned.has(d)));
    if (Object.keys(this.verdicts).length !== before) this.save();
  }

  private save(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.verdicts));
    renameSync(`${this.file}.tmp`, this.file);
  }
}
