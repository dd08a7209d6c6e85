import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { ManualClock } from '../../src/clock.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { overrides } from '../../src/db/schema.js';
import snoozeRoutes from '../../src/http/snooze.js';
import { makeSnoozeLinks, Notifier, raise } from '../../src/notify/index.js';
import { sampleInstance, silentLog, startSmtp, type TestSmtp } from './helpers.js';

const NOW = Date.UTC(2026, 10, 25, 17, 30); // 01:30 in Shanghai
const PLANNED = NOW + 30 * 60_000; // 02:00

describe('email with snooze links, against a real SMTP server and the snooze routes', () => {
  let smtp: TestSmtp;
  let g: GuardDb;
  let app: FastifyInstance;
  let publicUrl: string;
  const clock = new ManualClock(NOW);

  beforeAll(async () => {
    smtp = await startSmtp();
    g = openDb(':memory:');
    app = Fastify({ logger: false });
    await app.register(snoozeRoutes, { db: g.db, clock, locale: 'en', timezone: 'Asia/Shanghai' });
    publicUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await smtp?.close();
    g?.close();
  });

  const post = (token: string, choice: string) =>
    fetch(`${publicUrl}/snooze`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ t: token, choice }).toString() });
  const tokenOf = (url: string) => new URL(url).searchParams.get('t')!;

  it('an action_planned email carries instance, saving per hour and a snooze link that works once', async () => {
    const notifier = new Notifier({
      db: g.db,
      clock,
      log: silentLog,
      config: { email: { smtp_url: `smtp://127.0.0.1:${smtp.port}`, from: 'guard@example.com', to: ['me@example.com'] } },
      locale: 'en',
      timezone: 'Asia/Shanghai',
      publicUrl,
    });
    raise(
      g.db,
      { type: 'action_planned', dedupKey: 'planned:nightly:ins-7f3a', fingerprint: String(PLANNED), data: { instance: sampleInstance, policy: 'nightly', reason: 'schedule 0 2 * * *', action: 'release_gpu', planned_at: PLANNED, saving_per_hour: 1.5899 } },
      { now: clock.now(), channels: notifier.channelNames() },
    );
    expect(await notifier.drain()).toEqual({ sent: 1, failed: 0 });
    await notifier.stop();

    expect(smtp.messages).toHaveLength(1);
    const mail = smtp.messages[0]!;
    expect(mail.subject).toContain('sd-main');
    expect(mail.subject).toContain('2026-11-26 02:00 (Asia/Shanghai)');
    expect(mail.text).toContain('sd-main (ins-7f3a)');
    expect(mail.text).toContain('Estimated saving: ¥1.59/h');
    expect(mail.html).toContain('¥1.59/h');
    expect(mail.text).toContain('snooze with a link below');
    const links = [...mail.text!.matchAll(/(http:\/\/127\.0\.0\.1:\d+\/snooze\?t=[\w.-]+)/g)].map((m) => m[1]!);
    expect(links).toHaveLength(3);
    expect(mail.html).toContain(`href="${links[0]}"`);

    // following the link shows a confirm page and changes nothing
    const page = await fetch(links[0]!);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('sd-main');
    expect(html).toContain('Snooze 1 hour');
    expect(html).toContain('<form method="post"');
    expect(g.db.select().from(overrides).all()).toHaveLength(0);

    // its POST creates the override
    const done = await post(tokenOf(links[0]!), 'h1');
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('2026-11-26 02:30 (Asia/Shanghai)');
    const rows = g.db.select().from(overrides).all();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      instanceId: 'ins-7f3a',
      kind: 'snooze',
      policies: '["nightly"]',
      until: NOW + 3_600_000,
      who: 'email link',
      reason: 'snoozed from notification link',
      createdAt: NOW,
      revokedAt: null,
    });

    // second use (any of the three links) says used
    const again = await fetch(links[2]!);
    expect(again.status).toBe(410);
    expect(await again.text()).toContain('already used');
    expect((await post(tokenOf(links[1]!), 'h2')).status).toBe(410);
    expect(g.db.select().from(overrides).all()).toHaveLength(1);
  });

  it('a tampered link is rejected with 400 and no stack trace', async () => {
    const l = makeSnoozeLinks(g.db, { instanceId: 'ins-other', instanceName: 'x', policy: 'nightly', plannedAt: PLANNED }, { publicUrl, now: clock.now(), ttlMs: 3_600_000 });
    const t = tokenOf(l.h1);
    const [body, sig] = t.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    const forged = `${Buffer.from(JSON.stringify({ ...claims, i: 'ins-victim' })).toString('base64url')}.${sig}`;
    for (const bad of [forged, `${body}.${sig.slice(0, -2)}AA`, 'garbage', '']) {
      const r = await fetch(`${publicUrl}/snooze?t=${encodeURIComponent(bad)}`);
      expect(r.status).toBe(400);
      const text = await r.text();
      expect(text).toContain('not valid');
      expect(text).not.toMatch(/at .*\.(ts|js):\d+/);
    }
    expect((await post(forged, 'h2')).status).toBe(400);
    expect(g.db.select().from(overrides).all().filter((o) => o.instanceId === 'ins-victim')).toHaveLength(0);
  });

  it('an expired link says expired (410) and creates nothing', async () => {
    const l = makeSnoozeLinks(g.db, { instanceId: 'ins-late', instanceName: 'late', policy: 'nightly', plannedAt: PLANNED }, { publicUrl, now: clock.now(), ttlMs: 10 * 60_000 });
    clock.advance(11 * 60_000);
    const r = await fetch(l.skip);
    expect(r.status).toBe(410);
    expect(await r.text()).toContain('expired');
    expect((await post(tokenOf(l.skip), 'skip')).status).toBe(410);
    expect(g.db.select().from(overrides).all().filter((o) => o.instanceId === 'ins-late')).toHaveLength(0);
  });

  it('"skip this time" snoozes until the planned time plus a small margin, in a zh-CN page', async () => {
    const zhApp = Fastify({ logger: false });
    await zhApp.register(snoozeRoutes, { db: g.db, clock, locale: 'zh-CN', timezone: 'Asia/Shanghai' });
    const zhUrl = await zhApp.listen({ host: '127.0.0.1', port: 0 });
    try {
      const planned = clock.now() + 45 * 60_000;
      const l = makeSnoozeLinks(g.db, { instanceId: 'ins-skip', instanceName: 'comfy', policy: 'nightly', plannedAt: planned }, { publicUrl: zhUrl, now: clock.now(), ttlMs: 3_600_000 });
      const page = await (await fetch(l.skip)).text();
      expect(page).toContain('跳过本次');
      expect(page).toContain('comfy');
      const r = await fetch(`${zhUrl}/snooze`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ t: tokenOf(l.skip), choice: 'skip' }).toString() });
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('已完成');
      const row = g.db.select().from(overrides).all().find((o) => o.instanceId === 'ins-skip');
      expect(row?.until).toBe(planned + 10 * 60_000);
    } finally {
      await zhApp.close();
    }
  });
});
