/**
 * The waste nobody watches and the last hour before the platform destroys everything (issue #15), through the
 * simulator and a real SMTP server: a GPU held by a stopped instance is released; when only a #keep instance burns,
 * runway_critical is sent and repeated, and the #keep instance is released at last_resort so nothing is destroyed;
 * with last_resort off, the platform's auto-destroy is reported and nothing says "restored".
 */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { ParsedMail } from 'mailparser';
import { buildApp, type App } from '../../src/http/app.js';
import { mailEvents, startSmtp, type TestSmtp } from '../notify/helpers.js';
import { startHarness, type Harness } from '../helpers/guard.js';

const MIN = 60_000;
let h: Harness | undefined;
let app: App | undefined;
let smtp: TestSmtp | undefined;
afterEach(async () => {
  await app?.close();
  await h?.close();
  await smtp?.close();
  h = app = smtp = undefined;
});

const email = (port: number) => ({ email: { smtp_url: `smtp://127.0.0.1:${port}`, from: 'guard@example.com', to: ['me@example.com'] } });
/** whether the grouped email `m` holds a firing `type` event */
const holds = (m: ParsedMail, type: string) => mailEvents(m).includes(type);

async function startApp(hh: Harness): Promise<App> {
  const a = await buildApp({ gdb: hh.gdb, config: hh.config, clock: hh.clock, log: pino({ level: 'silent' }), runtime: { dbOpen: true, leader: true, jobsRunning: true, demo: false }, guard: hh.core.service });
  await a.ready();
  return a;
}

describe('a GPU held by a stopped instance', () => {
  it('is shown as still billed with its planned release, warned about, released after `after`, and then bills the disk rate', async () => {
    h = await startHarness({ locale: 'en', policies: [{ name: 'held-gpu', type: 'stopped_with_gpu', after: '30m', warn_before: '10m' }] });
    const id = await h.add({ name: 'sd-stopped', image: 'WebUI', status: 'shutdown', gpu_kept: true, gpu_count: 2 });
    app = await startApp(h);
    await h.step(MIN);
    const item = async () => (await app!.inject({ method: 'GET', url: '/api/v1/instances' })).json().instances.find((i: any) => i.id === id);
    const before = await item();
    expect(before).toMatchObject({ status: 'shutdown', stopped_gpu_rate: 3.18, billed_rate: 3.18, next_action: { policy: 'held-gpu', action: 'release_gpu', in: '30m' } });
    for (let i = 0; i < 20; i++) await h.step(MIN);
    expect(h.sim.world.instance(id)!.gpuUsed).toBe(2); // 20 minutes after it was first seen stopped: warned, not released
    const planned = h.gdb.sqlite.prepare("select count(*) n from outbox_events where type = 'action_planned'").get() as { n: number };
    expect(planned.n).toBeGreaterThan(0);
    for (let i = 0; i < 11; i++) await h.step(MIN);
    const inst = h.sim.world.instance(id)!;
    expect(inst.status).toBe('shutdown');
    expect(inst.gpuUsed).toBe(0);
    const rows = h.gdb.sqlite.prepare('select policy, action, state, reason_code from actions').all() as any[];
    expect(rows).toEqual([expect.objectContaining({ policy: 'held-gpu', action: 'release_gpu', state: expect.stringMatching(/sent|confirmed/) })]);
    expect(JSON.parse(rows[0].reason_code)).toMatchObject({ code: 'stopped_with_gpu.release' });
    await h.step(MIN);
    const after = await item();
    expect(after.stopped_gpu_rate).toBeNull();
    expect(after.billed_rate).toBeLessThan(0.01); // the disk rate
    expect(after.next_action).toBeNull();
  });
});

describe('the last hour before the platform destroys everything', () => {
  const runway = { name: 'runway', type: 'runway', warn_hours: 12, act_hours: 2, action: 'release_gpu' };

  it.each(['continuous', 'hourly'] as const)('only a #keep instance burns (%s debits): runway_critical on real SMTP with the ¥0 time, repeated, then the #keep instance is released at last_resort and nothing is destroyed', async (debit) => {
    smtp = await startSmtp();
    // ¥8 at ¥3.18/h: 2.5 h to ¥0. With hourly debits in arrears the balance only drops at each hour (8 -> 4.82 ->
    // 1.64 -> destroyed): the guard counts what accrued since the last debit, or the last resort would never come.
    h = await startHarness({ locale: 'en', notify: email(smtp.port), policies: [runway] }, { balance: 8, debit });
    const keep = await h.add({ name: 'train #keep', image: 'Jupyter', status: 'running', busy: true, gpu_count: 2 });
    const other = await h.add({ name: 'sd-off', image: 'WebUI', status: 'shutdown' });
    const sentAt: number[] = [];
    for (let t = 0; t < 150; t++) {
      await h.step(MIN);
      await h.notifier.drain(); // after each tick, as the daemon does
      const r = h.gdb.sqlite.prepare("select count(*) n from outbox_events where type = 'runway_critical' and reason != 'resolved'").get() as { n: number };
      while (sentAt.length < r.n) sentAt.push(t + 1);
      if (h.sim.world.instance(keep)!.gpuUsed === 0) break;
    }
    await h.notifier.drain();
    // released by the last resort, journaled as such; the disk survives, nothing was destroyed
    expect(h.sim.world.instance(keep)!.gpuUsed).toBe(0);
    const acts = h.gdb.sqlite.prepare('select policy, action, instance_id from actions').all();
    expect(acts).toEqual([{ policy: 'last-resort', action: 'release_gpu', instance_id: keep }]);
    for (let i = 0; i < 5; i++) await h.step(MIN);
    const st = await h.state();
    expect(st.instances.map((i: any) => i.status).sort()).toEqual(['shutdown', 'shutdown']);
    expect(st.instances.find((i: any) => i.id === other)).toBeDefined();
    // critical from when the runway fell under act_hours (~30 min in), every 30 min, then every 10 min in the last hour
    expect(sentAt[0]).toBeGreaterThanOrEqual(29);
    expect(sentAt[0]).toBeLessThanOrEqual(32);
    const gaps = sentAt.slice(1).map((t, k) => t - sentAt[k]);
    expect(gaps[0]).toBe(30);
    expect(gaps.every((g) => g >= 10 && g <= 30)).toBe(true);
    expect(gaps.slice(-2)).toEqual([10, 10]);
    expect(sentAt.length).toBeGreaterThanOrEqual(5);
    // the mails: the ¥0 time, what will be destroyed, how much to top up, when the last resort comes
    await h.notifier.drain();
    const crit = smtp.messages.filter((m) => holds(m, 'runway_critical'));
    expect(crit.length).toBeGreaterThanOrEqual(5);
    expect(crit[0].subject).toMatch(/Critical: the balance reaches ¥0 at \d{4}-\d\d-\d\d \d\d:\d\d .*2 instances would be destroyed/);
    expect(crit[0].text).toMatch(/Top up at least ¥\d+\.\d\d/);
    expect(crit[0].text).toMatch(/releases their GPUs at \d{4}-\d\d-\d\d \d\d:\d\d/);
    expect(crit[0].text).toContain('train #keep');
    expect(smtp.messages.filter((m) => holds(m, 'instances_destroyed'))).toEqual([]);
  });

  it('with last_resort off, the auto-destroy raises instances_destroyed, the balance alert stays firing and nothing says restored', async () => {
    smtp = await startSmtp();
    h = await startHarness(
      { locale: 'en', notify: email(smtp.port), policies: [{ ...runway, last_resort: 'off' }, { name: 'low', type: 'balance', below: [5] }] },
      { balance: 3, debit: 'continuous' },
    );
    app = await startApp(h);
    const keep = await h.add({ name: 'train #keep', image: 'Jupyter', status: 'running', busy: true, gpu_count: 2 });
    await h.add({ name: 'sd-off', image: 'WebUI', status: 'shutdown' });
    // ¥3 at ¥3.18/h: below ¥0 after ~57 min; then the platform destroys (and later drops) both instances
    for (let t = 0; t < 120; t++) {
      await h.step(MIN);
      await h.notifier.drain(); // after each tick, as the daemon does
    }
    expect(h.gdb.sqlite.prepare('select count(*) n from actions').get()).toEqual({ n: 0 });
    const st = await h.state();
    expect(st.balance).toBeLessThan(0);
    expect(st.instances.filter((i: any) => i.status !== 'destroyed')).toEqual([]);
    const destroyed = smtp.messages.filter((m) => holds(m, 'instances_destroyed'));
    expect(destroyed).toHaveLength(1);
    expect(destroyed[0].subject).toMatch(/Critical: 2 instances destroyed at a balance of -?¥/);
    expect(destroyed[0].text).toContain('train #keep');
    expect(destroyed[0].text).toContain(keep);
    // nothing resolved: neither the runway (its burn dropped through destruction) nor the balance
    const resolvedMail = smtp.messages.filter((m) => /resolved|restored|no longer/i.test(m.subject ?? ''));
    expect(resolvedMail.map((m) => m.subject)).toEqual([]);
    expect(h.gdb.sqlite.prepare("select count(*) n from outbox_events where reason = 'resolved'").get()).toEqual({ n: 0 });
    const firing = (h.gdb.sqlite.prepare("select dedup_key from alert_state where status = 'firing' order by dedup_key").all() as any[]).map((r) => r.dedup_key);
    expect(firing).toEqual(expect.arrayContaining(['balance_low:low', 'instances_destroyed', 'runway_warn:runway']));
    // a recharge restores the runway and clears the balance alert
    await h.ctl('/sim/balance', { balance: 50 });
    await h.step(MIN);
    expect(h.gdb.sqlite.prepare("select count(*) n from outbox_events where reason = 'resolved' and type in ('runway_warn', 'balance_low')").get()).toEqual({ n: 2 });
  });
});

describe('blind is loud', () => {
  it('/readyz answers 503 after blind_alert_after blind ticks and 200 again after recovery', async () => {
    h = await startHarness({ blind_alert_after: 3 });
    app = await startApp(h);
    await h.add({ name: 'sd-a', image: 'WebUI', status: 'running' });
    await h.step(MIN);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    await h.ctl('/sim/faults', { error_rate: 1 });
    await h.step(MIN);
    await h.step(MIN);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    await h.step(MIN);
    const r = await app.inject({ method: 'GET', url: '/readyz' });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ status: 'not_ready', blind_ticks: 3, reason: expect.stringMatching(/cannot see the account/) });
    await h.ctl('/sim/faults', { error_rate: 0 });
    await h.step(MIN);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});
