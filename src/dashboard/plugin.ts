/**
 * The dashboard: `GET /` and its static assets, read once at registration from `public/` (the page and its ES
 * modules), from the compiled reason catalog (`notify/reasons.js`, so the page renders reason codes in its locale)
 * and from the installed `uplot` package (served locally, never from a CDN). No build step: plain ES modules.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

/**
 * Where the compiled reason catalog is: next to this module's compiled sibling (running from `dist/`), else in the
 * repo's `dist/` (running from sources under vitest, after `npm run build`).
 */
export const REASONS_JS_CANDIDATES = [
  resolve(dirname(fileURLToPath(import.meta.url)), '..', 'notify', 'reasons.js'),
  resolve(PUBLIC_DIR, '..', 'dist', 'notify', 'reasons.js'),
];

/** Served when no compiled catalog exists: every reason falls back to the server's English text. */
const NO_CATALOG = 'export const REASONS = {};\nexport function formatReason() { return undefined; }\n';

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function asset(body: Buffer | string, type: string): Asset {
  const buf = Buffer.from(body);
  return { body: buf, type, etag: `"${createHash('sha256').update(buf).digest('base64url').slice(0, 22)}"` };
}

/** Options: the configured locale, written into the page's `lang` so the token prompt speaks it before login. */
export interface DashboardOptions {
  locale?: 'zh-CN' | 'en';
}

/**
 * Fastify plugin serving the dashboard page (`GET /`), every `*.js` / `*.css` module of `public/` at `/assets/NAME`,
 * the reason catalog at `/assets/reasons.js` and uPlot at `/assets/uplot.{js,css}`.
 */
export default async function dashboardRoutes(app: FastifyInstance, opts: DashboardOptions = {}): Promise<void> {
  const uplotDir = dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
  const html = readFileSync(resolve(PUBLIC_DIR, 'index.html'), 'utf8').replace('<html lang="en">', `<html lang="${opts.locale ?? 'en'}">`);
  const files: Record<string, Asset> = { '/': asset(html, 'text/html; charset=utf-8') };
  for (const name of readdirSync(PUBLIC_DIR).sort()) {
    if (/^[a-z0-9-]+\.js$/.test(name)) files[`/assets/${name}`] = asset(readFileSync(resolve(PUBLIC_DIR, name)), JS);
    else if (/^[a-z0-9-]+\.css$/.test(name)) files[`/assets/${name}`] = asset(readFileSync(resolve(PUBLIC_DIR, name)), CSS);
  }
  const catalog = REASONS_JS_CANDIDATES.find((p) => existsSync(p));
  if (!catalog) app.log.warn({ looked: REASONS_JS_CANDIDATES }, 'dashboard: no compiled reason catalog (run npm run build); reasons show in English');
  // The compiled module imports nothing; its source-map comment would point at a URL that is not served.
  files['/assets/reasons.js'] = asset(catalog ? readFileSync(catalog, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '') : NO_CATALOG, JS);
  files['/assets/uplot.js'] = asset(readFileSync(resolve(uplotDir, 'dist', 'uPlot.iife.min.js')), JS);
  files['/assets/uplot.css'] = asset(readFileSync(resolve(uplotDir, 'dist', 'uPlot.min.css')), CSS);

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
