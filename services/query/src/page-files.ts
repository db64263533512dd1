import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page's own files (no build step: plain ES modules and CSS, next to this package's src/). */
const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'web');

/** The CLI's number formatting (format.ts), compiled to a plain ES module with no imports: one `durationText` for both. */
const FORMAT = join(dirname(fileURLToPath(import.meta.url)), 'format.js');

/** ECharts' browser build from node_modules, found through its package entry (its exports hide dist/). */
const ECHARTS = join(dirname(createRequire(import.meta.url).resolve('echarts')), 'echarts.min.js');

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: join(WEB_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: join(WEB_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/views.js': { file: join(WEB_DIR, 'views.js'), type: 'text/javascript; charset=utf-8' },
  '/charts.js': { file: join(WEB_DIR, 'charts.js'), type: 'text/javascript; charset=utf-8' },
  '/format.js': { file: FORMAT, type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: join(WEB_DIR, 'app.css'), type: 'text/css; charset=utf-8' },
  '/vendor/echarts.min.js': { file: ECHARTS, type: 'text/javascript; charset=utf-8' },
};

/**
 * Serves the web page's files (read once, kept in memory). The files hold no data: the page
 * calls the API with the viewer's token, so they need none themselves.
 */
export function pageFiles(): (req: IncomingMessage, res: ServerResponse) => boolean {
  const cache = new Map<string, Buffer>();
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const entry = FILES[path];
    if (!entry || req.method !== 'GET') return false;
    let body = cache.get(path);
    if (!body) cache.set(path, (body = readFileSync(entry.file)));
    res.writeHead(200, { 'content-type': entry.type, 'content-length': body.length, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    res.end(body);
    return true;
  };
}
