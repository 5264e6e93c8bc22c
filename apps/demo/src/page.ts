import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** One file of the chat page, read once at start-up. */
export interface PageFile {
  body: Buffer;
  headers: Record<string, string>;
}

/** The folder the page lives in: `apps/demo/public/`, from `src/` (tests) and `dist/` (`npm start`) alike. */
export const PUBLIC_DIR = new URL('../public/', import.meta.url);

/** Only this origin: no inline script or style, no external resource, no framing. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const FILES: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
  '/favicon.svg': ['favicon.svg', 'image/svg+xml'],
  '/favicon.ico': ['favicon.svg', 'image/svg+xml'],
};

/** The chart library, served from its npm package as it was installed (no copy, no CDN). */
const VENDOR: Record<string, [module: string, type: string]> = {
  '/vendor/uPlot.iife.min.js': ['uplot/dist/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
  '/vendor/uPlot.min.css': ['uplot/dist/uPlot.min.css', 'text/css; charset=utf-8'],
};

/** Reads the page's files and returns a lookup by request path (`undefined` for any other path). */
export function loadPage(dir: URL = PUBLIC_DIR): (path: string) => PageFile | undefined {
  const byPath = new Map<string, PageFile>();
  const resolve = createRequire(import.meta.url).resolve;
  const files = [
    ...Object.entries(FILES).map(([path, [file, type]]) => [path, new URL(file, dir), type] as const),
    ...Object.entries(VENDOR).map(([path, [module, type]]) => [path, resolve(module), type] as const),
  ];
  for (const [path, file, type] of files) {
    const body = readFileSync(file);
    byPath.set(path, {
      body,
      headers: {
        'content-type': type,
        'content-security-policy': PAGE_CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-cache',
      },
    });
  }
  return (path) => byPath.get(path);
}
