import type { Alias } from './ast.js';

/** An alias named by a probe: `NAME` (its newest version) or `NAME@N` (pinned). */
export type AliasLookup =
  | { kind: 'found'; alias: Alias }
  | { kind: 'unknown-version'; name: string; version: number; versions: number[] }
  | { kind: 'not-an-alias' };

const REF = /^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?:@([0-9]+))?$/;

/** An alias without `@N` is version 1, so a later `NAME@2` can be added without renaming it. */
export const aliasVersion = (a: Alias): number => a.version ?? 1;

/** How diagnostics name an alias: `NAME@N` when it was declared with a version, else `NAME`. */
export const aliasLabel = (a: Alias): string => (a.version === undefined ? a.name : `${a.name}@${a.version}`);

/**
 * Aliases by name and version. A later definition of the same name and version replaces an
 * earlier one, so a script's own aliases override the tapsets'.
 */
export class AliasTable {
  private readonly byName = new Map<string, Map<number, Alias>>();

  constructor(aliases: Alias[]) {
    for (const a of aliases) {
      const versions = this.byName.get(a.name) ?? new Map<number, Alias>();
      versions.set(aliasVersion(a), a);
      this.byName.set(a.name, versions);
    }
  }

  lookup(pointText: string): AliasLookup {
    const m = REF.exec(pointText);
    const versions = m ? this.byName.get(m[1]!) : undefined;
    if (!m || !versions) return { kind: 'not-an-alias' };
    const known = [...versions.keys()].sort((a, b) => a - b);
    if (m[2] === undefined) return { kind: 'found', alias: versions.get(known[known.length - 1]!)! };
    const version = Number(m[2]);
    const alias = versions.get(version);
    return alias ? { kind: 'found', alias } : { kind: 'unknown-version', name: m[1]!, version, versions: known };
  }

  /** The alias a point names, or undefined (unknown versions included: frontEnd reports those). */
  find(pointText: string): Alias | undefined {
    const r = this.lookup(pointText);
    return r.kind === 'found' ? r.alias : undefined;
  }
}
