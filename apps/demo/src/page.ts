import { readFileSync } from 'node:fs';

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

/** Reads the page's files and returns a lookup by request path (`undefined` for any other path). */
export function loadPage(dir: URL = PUBLIC_DIR): (path: string) => PageFile | undefined {
  const byPath = new Map<string, PageFile>();
  for (const [path, [file, type]] of Object.entries(FILES)) {
    const body = readFileSync(new URL(file, dir));
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
