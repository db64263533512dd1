/**
 * The package graph (README "Layout"): every workspace sits on a layer and may import only
 * packages on lower layers, never one beside or above it. Read from what each package declares
 * (package.json dependencies, tsconfig references) and from what its sources name, so an import
 * that skips the declaration is caught as well as a declaration that breaks the layering.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime';

/**
 * schemas -> runtime -> {runner, compiler} -> {local, control-plane, host-agent, ...} -> cli -> test.
 * The compiler is script + profiles -> bundle: it knows no host (runner) and no single-host tooling (local).
 */
const LAYERS: Record<string, number> = {
  '@tapfleet/schemas': 0,
  '@tapfleet/runtime': 1,
  '@tapfleet/runner': 2,
  '@tapfleet/compiler': 2,
  '@tapfleet/local': 3,
  '@tapfleet/control-plane': 3,
  '@tapfleet/host-agent': 3,
  '@tapfleet/ingest': 3,
  '@tapfleet/assembler': 3,
  '@tapfleet/query': 3,
  '@tapfleet/stack': 3,
  '@tapfleet/cli': 4,
  '@tapfleet/test': 5,
};

interface Workspace {
  dir: string;
  name: string;
  /** @tapfleet packages its package.json depends on. */
  declared: string[];
  /** @tapfleet packages its tsconfig.json references, by their package names. */
  referenced: string[];
  /** @tapfleet packages its sources name (import, import(), import.meta.resolve), with the file naming each. */
  named: { pkg: string; file: string }[];
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
const ownPackages = (deps: unknown) => Object.keys((deps ?? {}) as Record<string, string>).filter((d) => d.startsWith('@tapfleet/'));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(path) : e.name.endsWith('.ts') ? [path] : [];
  });
}

/** A quoted `@tapfleet/NAME` or `@tapfleet/NAME/subpath` anywhere in code: an import of any form. */
const PACKAGE_LITERAL = /['"`](@tapfleet\/[a-z-]+)(?:\/[^'"`]*)?['"`]/g;

function workspaces(): Workspace[] {
  const dirs = (readJson(join(PROJECT_ROOT, 'package.json')).workspaces as string[]).map((w) => join(PROJECT_ROOT, w));
  const nameOf = new Map(dirs.map((d) => [d, readJson(join(d, 'package.json')).name as string]));
  return dirs.map((dir) => {
    const pkg = readJson(join(dir, 'package.json'));
    const refs = ((readJson(join(dir, 'tsconfig.json')).references ?? []) as { path: string }[]).map((r) => nameOf.get(resolve(dir, r.path)) ?? r.path);
    const named = sourceFiles(join(dir, 'src')).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(PACKAGE_LITERAL)].map((m) => ({ pkg: m[1]!, file: file.slice(PROJECT_ROOT.length + 1) })),
    );
    return { dir, name: pkg.name as string, declared: ownPackages(pkg.dependencies), referenced: refs, named: named.filter((n) => n.pkg !== pkg.name) };
  });
}

const all = workspaces();

test('every workspace has a layer (a new package is placed in the graph when it is added)', () => {
  assert.deepEqual(all.map((w) => w.name).filter((n) => LAYERS[n] === undefined), []);
  assert.deepEqual(Object.keys(LAYERS).filter((n) => !all.some((w) => w.name === n)), [], 'every layered package is a workspace');
});

test('no package depends on one beside or above it: declared in package.json, referenced in tsconfig, or named in its sources', () => {
  const wrong: string[] = [];
  for (const w of all) {
    const below = (pkg: string) => (LAYERS[pkg] ?? Infinity) < LAYERS[w.name]!;
    for (const d of w.declared) if (!below(d)) wrong.push(`${w.name} package.json depends on ${d}`);
    for (const r of w.referenced) if (!below(r)) wrong.push(`${w.name} tsconfig.json references ${r}`);
    for (const n of w.named) if (!below(n.pkg)) wrong.push(`${n.file} imports ${n.pkg}`);
  }
  assert.deepEqual(wrong, []);
});

test('what a package imports it declares, and its tsconfig references the same packages (so tsc -b builds them first)', () => {
  const wrong: string[] = [];
  for (const w of all) {
    for (const n of w.named) if (!w.declared.includes(n.pkg)) wrong.push(`${n.file} imports ${n.pkg}, not in ${w.name}'s dependencies`);
    assert.deepEqual([...w.referenced].sort(), [...w.declared].sort(), `${w.name}: tsconfig references and package.json dependencies`);
  }
  assert.deepEqual(wrong, []);
});

test('the compiler is script + profiles -> bundle: it neither depends on nor imports the runner or the single-host package', () => {
  const compiler = all.find((w) => w.name === '@tapfleet/compiler')!;
  // The trace works: the compiler does name the packages it builds on.
  assert.ok(compiler.named.some((n) => n.pkg === '@tapfleet/schemas'));
  for (const pkg of ['@tapfleet/runner', '@tapfleet/local']) {
    assert.ok(!compiler.declared.includes(pkg), `services/compiler/package.json depends on ${pkg}`);
    assert.deepEqual(compiler.named.filter((n) => n.pkg === pkg).map((n) => n.file), [], `files of services/compiler importing ${pkg}`);
  }
});
