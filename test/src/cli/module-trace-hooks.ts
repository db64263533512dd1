/** Loader hooks of module-trace.ts: they run on the loader's own thread, so they write the file themselves. */
import { appendFileSync } from 'node:fs';
import type { InitializeHook, ResolveHook } from 'node:module';

let out = '';

export const initialize: InitializeHook<{ out: string }> = (data) => {
  out = data.out;
};

export const resolve: ResolveHook = async (specifier, context, next) => {
  const r = await next(specifier, context);
  appendFileSync(out, `esm ${r.url}\n`);
  return r;
};
