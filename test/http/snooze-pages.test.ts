import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { ManualClock } from '../../src/clock.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import dashboardRoutes from '../../src/dashboard/plugin.js';
import snoozeRoutes from '../../src/http/snooze.js';
import { makeSnoozeLinks } from '../../src/notify/index.js';

const NOW = Date.UTC(2026, 10, 25, 17, 30); // 01:30 in Shanghai
const PLANNED = NOW + 30 * 60_000; // 02:00

describe('snooze pages link back to the dashboard and say what the first click did', () => {
  const servers: FastifyInstance[] = [];
  const clock = new ManualClock(NOW);
  let g: GuardDb;
  beforeAll(() => {
    g = openDb(':memory:');
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    g?.close();
  });

  /** The snooze routes and the dashboard on one real server, as the daemon serves them. */
  async function serve(locale: 'en' | 'zh-CN'): Promise<string> {
    const app = Fastify({ logger: false });
    await app.register(snoozeRoutes, { db: g.db, clock, locale, timezone: 'Asia/Shanghai' });
    await app.register(dashboardRoutes, { locale });
    servers.push(app);
    return app.listen({ host: '127.0.0.1', port: 0 });
  }
  const links = (url: string, instanceId: string) =>
    makeSnoozeLinks(g.db, { instanceId, instanceName: 'sd-main', policy: 'nightly', plannedAt: PLANNED }, { publicUrl: url, now: clock.now(), ttlMs: 3_600_000 });
  const post = (url: string, link: string, choice: string) =>
    fetch(`${url}/snooze`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ t: new URL(link).searchParams.get('t')!, choice }).toString() });
  /** The page's dashboard link, resolved against the page's own URL. */
  const dashboardLink = (html: string, pageUrl: string) => new URL(/<a href="([^"]+)"[^>]*>(?:Open the dashboard|打开控制台)<\/a>/.exec(html)![1]!, pageUrl).href;

  it('the confirm page says opening it changed nothing; a second use says what the first click did; every page reaches the dashboard', async () => {
    const url = await serve('en');
    const l = links(url, 'ins-en');
    const confirm = await fetch(l.h1);
    const confirmHtml = await confirm.text();
    expect(confirm.status).toBe(200);
    expect(confirmHtml).toContain('Opening this link changed nothing yet: choose below.');

    const first = await post(url, l.h1, 'h2');
    const done = await first.text();
    expect(first.status).toBe(200);
    expect(done).toContain('Done. Policy &quot;nightly&quot; will leave instance sd-main (ins-en) alone until 2026-11-26 03:30');

    clock.advance(5 * 60_000);
    for (const again of [await fetch(l.skip), await post(url, l.h1, 'h1')]) {
      expect(again.status).toBe(410);
      expect(await again.text()).toContain('This link was already used (2026-11-26 01:30 (Asia/Shanghai)): that first click snoozed policy &quot;nightly&quot; for instance sd-main (ins-en) until 2026-11-26 03:30');
    }

    for (const [html, pageUrl] of [[confirmHtml, l.h1], [done, `${url}/snooze`]] as const) {
      const target = dashboardLink(html, pageUrl);
      expect(target).toBe(`${url}/`);
      const dash = await fetch(target);
      expect(dash.status).toBe(200);
      expect(await dash.text()).toContain('id="locale-toggle"');
    }
  });

  it('speaks zh-CN when the guard does', async () => {
    const url = await serve('zh-CN');
    const l = links(url, 'ins-zh');
    expect(await (await fetch(l.h1)).text()).toContain('打开此链接尚未做任何更改');
    expect((await post(url, l.h1, 'h1')).status).toBe(200);
    const again = await (await fetch(l.h1)).text();
    expect(again).toContain('第一次点击已让策略「nightly」暂缓处理实例 sd-main（ins-zh），直到');
    expect(dashboardLink(again, l.h1)).toBe(`${url}/`);
  });
});
