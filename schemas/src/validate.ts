import type { z } from 'zod/v3';

/** One problem found in a value, with the dotted path to the offending field. */
export interface SchemaIssue {
  path: string;
  message: string;
}

/**
 * Thrown when a value crossing a process boundary does not match its schema.
 * `code` is stable so callers can test for it; `issues` name each bad field.
 */
export class SchemaError extends Error {
  readonly code = 'TAPFLEET_SCHEMA_INVALID';
  constructor(
    readonly what: string,
    readonly issues: SchemaIssue[],
  ) {
    super(`invalid ${what}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
    this.name = 'SchemaError';
  }
}

/** Renders a zod issue path like `probes[2].attach.symbol`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

export function issuesOf(error: z.ZodError): SchemaIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}

/** Parses `value` or throws a SchemaError that names every offending field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new SchemaError(what, issuesOf(result.error));
  return result.data;
}
