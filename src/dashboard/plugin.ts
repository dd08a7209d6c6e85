/**
 * The dashboard: `GET /` and its static assets, read once at registration from `public/` and from the
 * installed `uplot` package (served locally, never from a CDN). No build step: plain ES modules.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** Strict policy: scripts and styles only from this origin, no inline code, API calls to this origin only. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** `public/` at the repo root, from `src/dashboard/` (vitest) as from `dist/dashboard/` (built). */
export const PUBLIC_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'public');

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function asset(path: string, type: string): Asset {
  const body = readFileSync(path);
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** Fastify plugin serving the dashboard page (`GET /`) and `/assets/{app.js,app.css,uplot.js,uplot.css}`. */
export default async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const uplotDir = dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
  const files: Record<string, Asset> = {
    '/': asset(resolve(PUBLIC_DIR, 'index.html'), 'text/html; charset=utf-8'),
    '/assets/app.js': asset(resolve(PUBLIC_DIR, 'app.js'), 'text/javascript; charset=utf-8'),
    '/assets/app.css': asset(resolve(PUBLIC_DIR, 'app.css'), 'text/css; charset=utf-8'),
    '/assets/uplot.js': asset(resolve(uplotDir, 'dist', 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'),
    '/assets/uplot.css': asset(resolve(uplotDir, 'dist', 'uPlot.min.css'), 'text/css; charset=utf-8'),
  };

  for (const [url, file] of Object.entries(files)) {
    app.get(url, async (req, reply) => {
      reply
        .header('content-type', file.type)
        // Unversioned URLs: always revalidate; the ETag makes that a cheap 304.
        .header('cache-control', 'no-cache')
        .header('etag', file.etag)
        .header('content-security-policy', DASHBOARD_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer');
      if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
      return reply.send(file.body);
    });
  }
}
