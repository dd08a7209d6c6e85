import { afterEach, describe, expect, it } from 'vitest';
import { runDigest, digestData } from '../../src/jobs/digest.js';
import { balanceNow } from '../../src/db/balance.js';
import { startHarness, T0, type Harness } from '../helpers/guard.js';
import { startSmtp, type TestSmtp } from '../notify/helpers.js';

let h: Harness | undefined;
let smtp: TestSmtp | undefined;
afterEach(async () => {
  await h?.close();
  await smtp?.close();
  h = smtp = undefined;
});

describe('daily digest', () => {
  it("mails yesterday's estimated and observed spend, balance, runway and top instances, once per day", async () => {
    smtp = await startSmtp();
    h = await startHarness({
      locale: 'en',
      timezone: 'UTC',
      notify: { email: { smtp_url: `smtp://127.0.0.1:${smtp.port}`, from: 'guard@example.com', to: ['me@example.com'] }, digest: { enabled: true } },
      probes: { jupyter: { enabled: false }, comfyui: { enabled: false }, sdwebui: { enabled: false } },
    });
    await h.add({ name: 'big-box', status: 'running', gpu_count: 2 });
    await h.add({ name: 'small-box', status: 'running' });
    for (let i = 0; i < 24 * 6 + 15; i++) await h.step(10 * 60_000); // through day 1 into day 2 09:30 UTC
    const d = digestData(h.gdb.db, h.clock.now(), 'UTC');
    // the balance model of every surface: the observed balance, the runway from the estimate (half an hour unbilled)
    const fig = balanceNow(h.gdb.db, h.clock.now())!;
    expect(fig.unbilled).toBeGreaterThan(1);
    expect(d.balance).toBe(fig.observed);
    expect(d.runway_hours).toBeCloseTo(fig.runwayHours, 3);
    expect(d.day).toBe(new Date(T0).toISOString().slice(0, 10));
    expect(d.estimated).toBeCloseTo((24 - 1 / 6) * (2 * 1.59 + 1.59), 1);
    expect(d.top_instances[0].name).toBe('big-box');
    expect(runDigest(h.gdb.db, h.clock.now(), 'UTC', h.notifier.channelNames()).sent).toBe(true);
    expect(runDigest(h.gdb.db, h.clock.now(), 'UTC', h.notifier.channelNames()).sent).toBe(false);
    await h.notifier.drain();
    const mails = smtp.messages.filter((m) => /digest|daily/i.test(m.subject ?? ''));
    expect(mails).toHaveLength(1);
    expect(mails[0].text).toContain('big-box');
    expect(mails[0].text).toMatch(/¥\d+\.\d\d/);
  }, 240_000);
});
