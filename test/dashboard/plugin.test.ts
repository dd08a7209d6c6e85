import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dashboardRoutes, { PUBLIC_DIR, REASONS_JS_CANDIDATES } from '../../src/dashboard/plugin.js';

const uplotDir = dirname(createRequire(import.meta.url).resolve('uplot/package.json'));

describe('dashboard plugin', () => {
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    app = Fastify();
    await app.register(dashboardRoutes, {});
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
  });

  it('serves the page at / as uncached HTML under a strict content security policy', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).toBe(readFileSync(resolve(PUBLIC_DIR, 'index.html'), 'utf8'));
    expect(html).toContain('src="/assets/app.js"');
    expect(html).toContain('href="/assets/uplot.css"');
  });

  it('page has no inline scripts, inline handlers or third-party origins', async () => {
    const html = await (await fetch(`${base}/`)).text();
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
      expect(m[1]).toMatch(/\bsrc="\/assets\//);
      expect(m[2].trim()).toBe('');
    }
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/\bstyle\s*=/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
  });

  it('serves app.js and app.css from public/ with their content types', async () => {
    const js = await fetch(`${base}/assets/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe(readFileSync(resolve(PUBLIC_DIR, 'app.js'), 'utf8'));
    const css = await fetch(`${base}/assets/app.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).toBe(readFileSync(resolve(PUBLIC_DIR, 'app.css'), 'utf8'));
  });

  it('serves every ES module the page imports, from public/, each as JavaScript', async () => {
    const html = await (await fetch(`${base}/`)).text();
    expect(html).toContain('<script type="module" src="/assets/app.js"></script>');
    const seen = new Set<string>();
    const queue = ['app.js'];
    while (queue.length) {
      const name = queue.shift()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const res = await fetch(`${base}/assets/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      const text = await res.text();
      for (const m of text.matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)) {
        // Only sibling modules of this origin: no bare specifiers (there is no bundler), no other origins.
        expect(m[1], `${name} imports ${m[1]}`).toMatch(/^\.\/[a-z0-9-]+\.js$/);
        queue.push(m[1].slice(2));
      }
    }
    expect([...seen].sort()).toEqual(['api.js', 'app.js', 'cards.js', 'chart.js', 'dom.js', 'format.js', 'i18n.js', 'reasons.js', 'state.js', 'tables.js']);
  });

  it('serves the compiled reason catalog at /assets/reasons.js, without its source-map comment', async () => {
    const compiled = REASONS_JS_CANDIDATES.find((p) => existsSync(p));
    expect(compiled, 'dist/notify/reasons.js is missing: run npm run build').toBeDefined();
    const text = await (await fetch(`${base}/assets/reasons.js`)).text();
    expect(text).toContain('export function formatReason');
    expect(text).toContain("'idle.release'");
    expect(text).not.toContain('sourceMappingURL');
    expect(text).not.toMatch(/^import\s/m);
  });

  it("writes the configured locale into the page's lang, so the token prompt speaks it before login", async () => {
    const zh = Fastify();
    await zh.register(dashboardRoutes, { locale: 'zh-CN' });
    const res = await zh.inject({ url: '/' });
    expect(res.body).toContain('<html lang="zh-CN">');
    expect(res.body.replace('<html lang="zh-CN">', '<html lang="en">')).toBe(readFileSync(resolve(PUBLIC_DIR, 'index.html'), 'utf8'));
    await zh.close();
  });

  it('serves the installed uPlot build locally at /assets/uplot.js and /assets/uplot.css', async () => {
    const js = await fetch(`${base}/assets/uplot.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(Buffer.from(await js.arrayBuffer()).equals(readFileSync(resolve(uplotDir, 'dist', 'uPlot.iife.min.js')))).toBe(true);
    const css = await fetch(`${base}/assets/uplot.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(Buffer.from(await css.arrayBuffer()).equals(readFileSync(resolve(uplotDir, 'dist', 'uPlot.min.css')))).toBe(true);
  });

  it('answers a matching If-None-Match with 304 and no body', async () => {
    const first = await fetch(`${base}/assets/app.js`);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await fetch(`${base}/assets/app.js`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  it('serves nothing else from public/ or the package', async () => {
    for (const path of ['/assets/index.html', '/assets/../package.json', '/public/app.js', '/assets/uPlot.iife.min.js']) {
      expect((await fetch(`${base}${path}`)).status).toBe(404);
    }
  });
});
