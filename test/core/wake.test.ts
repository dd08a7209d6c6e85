import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, T0, type Harness } from '../helpers/guard.js';
import { startSmtp, type TestSmtp } from '../notify/helpers.js';
import { estimatedByInstance } from '../../src/db/spend.js';

const MIN = 60_000;
const H = 60 * MIN;

let h: Harness | undefined;
let smtp: TestSmtp | undefined;
afterEach(async () => {
  await h?.close();
  await smtp?.close();
  h = undefined;
  smtp = undefined;
});

const simInst = async (h: Harness, id: string) => (await h.state()).instances.find((i: any) => i.id === id);
const wakeRows = (h: Harness) => h.gdb.sqlite.prepare('select * from wakes order by action_id').all() as any[];
const tries = (h: Harness, id?: number) =>
  h.gdb.sqlite.prepare(`select n, at, gpu_model, gpu_count, outcome from wake_tries ${id ? 'where action_id = ?' : ''} order by id`).all(...(id ? [id] : [])) as any[];
const journal = (h: Harness) => h.gdb.sqlite.prepare('select id, decision_key, instance_id, policy, action, mode, state, reason, detail from actions order by id').all() as any[];
const outbox = (h: Harness, type?: string) =>
  (h.gdb.sqlite.prepare('select type, payload from outbox_events order by id').all() as any[]).filter((r) => !type || r.type === type).map((r) => ({ type: r.type, data: JSON.parse(r.payload).data }));

async function until(h: Harness, cond: () => Promise<boolean> | boolean, stepMs = MIN, max = 200): Promise<number> {
  for (let i = 0; i < max; i++) {
    if (await cond()) return i;
    await h.step(stepMs);
  }
  throw new Error('condition not reached');
}

async function withSmtp(raw: Record<string, any>, opts: { balance?: number } = {}): Promise<Harness> {
  smtp = await startSmtp();
  return startHarness({ ...raw, notify: { email: { smtp_url: `smtp://127.0.0.1:${smtp.port}`, from: 'guard@example.com', to: ['me@example.com'] } } }, opts);
}

describe('scheduled wake', () => {
  it('boots a released instance at its cron minute in the configured time zone, and not again that day', async () => {
    // 08:50 Asia/Shanghai is 00:50 UTC; read as UTC it would be 08:50Z, which the hourly steps below pass through
    h = await startHarness({ timezone: 'Asia/Shanghai', policies: [{ name: 'morning', type: 'schedule', cron: '50 8 * * *', action: 'boot', match: { name: 'sd-*' } }] });
    const id = await h.add({ name: 'sd-morning', image: 'WebUI', status: 'shutdown' });
    const other = await h.add({ name: 'train-x', image: 'Jupyter', status: 'shutdown' });
    for (let m = 0; m < 49; m++) await h.step(MIN);
    expect((await simInst(h, id)).status).toBe('shutdown');
    expect(journal(h)).toHaveLength(0);
    await h.step(MIN); // 00:50Z = 08:50 +08:00
    expect(h.clock.now()).toBe(T0 + 50 * MIN);
    expect((await simInst(h, id)).status).toBe('booting');
    expect((await simInst(h, other)).status).toBe('shutdown'); // not matched
    await h.step(MIN);
    expect((await simInst(h, id)).status).toBe('running');
    expect(wakeRows(h)).toMatchObject([{ instance_id: id, policy: 'morning', state: 'done', tries: 1 }]);
    expect(journal(h)).toMatchObject([{ policy: 'morning', action: 'boot', mode: 'enforce', state: 'confirmed', decision_key: `morning:${id}:${T0 + 50 * MIN}` }]);
    // the user releases it again within the catch-up hour: the same firing never boots it twice
    await h.core.client.shutdownReleaseGpu(id);
    for (let m = 0; m < 60; m++) await h.step(MIN);
    expect((await simInst(h, id)).status).toBe('shutdown');
    for (let hr = 0; hr < 22; hr++) await h.step(H); // through 08:50Z (a wrong time zone would fire here)
    expect((await simInst(h, id)).status).toBe('shutdown');
    expect(journal(h)).toHaveLength(1);
    // positive control: the next morning boots it again
    await until(h, async () => (await simInst(h!, id)).status !== 'shutdown');
    const p = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit' }).format(new Date(h.clock.now()));
    expect(p).toBe('08:50');
    expect(journal(h)).toHaveLength(2);
  });

  it('a woken instance is not released before cooldown_after_boot, and its idle clock starts at the boot', async () => {
    h = await startHarness({
      limits: { cooldown_after_boot: '30m' },
      policies: [
        { name: 'morning', type: 'schedule', cron: '50 8 * * *', action: 'boot' },
        { name: 'idle', type: 'idle', idle_for: '10m', min_uptime: '1m', probes: ['jupyter'] },
      ],
      probes: { heartbeat: { enabled: false }, gpu: { enabled: false } },
    });
    const id = await h.add({ name: 'nb', image: 'Jupyter', status: 'shutdown', busy: false });
    await until(h, async () => (await simInst(h!, id)).status === 'running');
    const runningAt = h.clock.now();
    // idle from the start, idle_for 10m: only the cooldown (30m from the boot) holds the release back
    await until(h, async () => (await simInst(h!, id)).status !== 'running');
    const released = journal(h).find((j) => j.action === 'release_gpu');
    expect(released).toMatchObject({ policy: 'idle' });
    const sentAt = (h.gdb.sqlite.prepare('select sent_at from actions where id = ?').get(released.id) as any).sent_at;
    const bootSent = (h.gdb.sqlite.prepare("select sent_at from actions where action = 'boot'").get() as any).sent_at;
    expect(sentAt - bootSent).toBeGreaterThanOrEqual(30 * MIN);
    // the GPU is not seen here (no gpu probe): the idle policy warns first (15 m), so the release follows the
    // cooldown by that lead; the idle stretch it acted on started at the boot, not before
    expect(sentAt - bootSent).toBeLessThan(48 * MIN);
    const idleMin = Number(/^idle (\d+)m/.exec(released.reason ?? '')?.[1]);
    expect(idleMin).toBeGreaterThan(30);
    expect(idleMin * MIN).toBeLessThanOrEqual(sentAt - runningAt + MIN);
  });

  it('a boot policy skips an instance shut down after its minute (the user stopped it on purpose)', async () => {
    h = await startHarness({ policies: [{ name: 'morning', type: 'schedule', cron: '50 8 * * *', action: 'boot', catch_up: '1h' }] });
    const id = await h.add({ name: 'sd-late', image: 'WebUI', status: 'running' });
    for (let m = 0; m < 55; m++) await h.step(MIN);
    await h.core.client.shutdownReleaseGpu(id); // at 08:55, after the 08:50 firing
    for (let m = 0; m < 50; m++) await h.step(MIN);
    expect((await simInst(h, id)).status).toBe('shutdown');
    expect(journal(h).filter((j) => j.action === 'boot')).toHaveLength(0);
  });
});

describe('wake through a GPU shortage', () => {
  it('retries with backoff, falls back to the second model, runs, and sends exactly one notification', async () => {
    h = await withSmtp({});
    const id = await h.add({ name: 'sd-short', image: 'WebUI', gpu_model: 'RTX 4090 D', status: 'shutdown' });
    await h.step(MIN);
    await h.ctl('/sim/gpu-pool', { 'RTX 4090 D': 0, 'RTX 4090': 0 });
    const w = await h.core.waker.wakeNow(id, { gpuModels: ['NVIDIA GeForce RTX 4090 D', 'RTX 4090'] }, 'test');
    await h.core.waker.idle();
    const t0 = h.clock.now();
    expect(tries(h).map((t) => [t.gpu_model, t.outcome])).toEqual([
      ['NVIDIA GeForce RTX 4090 D', 'shortage'],
      ['NVIDIA GeForce RTX 4090', 'shortage'],
    ]);
    expect(tries(h)[0].gpu_count).toBe(1);
    // nothing before the first retry (1m), then a second round; then 2m
    await h.step(30_000);
    expect(tries(h)).toHaveLength(2);
    await h.step(30_000);
    expect(tries(h)).toHaveLength(4);
    await h.step(MIN);
    expect(tries(h)).toHaveLength(4);
    await h.ctl('/sim/gpu-pool', { 'RTX 4090': 1 });
    await h.step(MIN); // t0 + 3m: third round: 4090 D still short, 4090 free
    expect(tries(h).slice(4).map((t) => [t.gpu_model, t.outcome])).toEqual([
      ['NVIDIA GeForce RTX 4090 D', 'shortage'],
      ['NVIDIA GeForce RTX 4090', 'sent'],
    ]);
    expect(wakeRows(h)[0]).toMatchObject({ state: 'booting', tries: 6 });
    await until(h, () => wakeRows(h!)[0].state === 'done');
    const s = await simInst(h, id);
    expect(s).toMatchObject({ status: 'running', gpu_model: 'RTX 4090', gpu_used: 1 });
    expect(journal(h)).toMatchObject([{ id: w.actionId, policy: 'wake', action: 'boot', state: 'confirmed', mode: 'enforce' }]);
    const done = outbox(h, 'wake_done');
    expect(done).toHaveLength(1);
    expect(done[0].data).toMatchObject({ gpu_model: 'RTX 4090', gpu_count: 1, tries: 6, instance: { id, name: 'sd-short' } });
    expect(done[0].data.waited_ms).toBeGreaterThanOrEqual(h.clock.now() - t0 - MIN);
    expect(done[0].data.web_url).toMatch(new RegExp(`/c/${id}-7860$`));
    for (let m = 0; m < 10; m++) await h.step(MIN);
    await h.notifier.drain();
    expect(smtp!.messages).toHaveLength(1);
    const mail = smtp!.messages[0];
    expect(mail.subject).toMatch(/sd-short/);
    expect(mail.subject).toMatch(/RTX 4090/);
    const truth = (await h.state()).instances.find((i: any) => i.id === id);
    expect(mail.text).not.toContain(truth.jupyter_token);
    expect(mail.text).not.toContain(truth.password);
    expect(outbox(h)).toHaveLength(1);
  });

  it('gives up at give_up_after with exactly one notification', async () => {
    h = await withSmtp({ wake: { give_up_after: '30m' } });
    const id = await h.add({ name: 'sd-never', image: 'WebUI', gpu_model: 'RTX 4090 D', status: 'shutdown' });
    await h.step(MIN);
    await h.ctl('/sim/gpu-pool', { 'RTX 4090 D': 0 });
    const start = h.clock.now();
    await h.core.waker.wakeNow(id, {}, 'test');
    await h.core.waker.idle();
    for (let m = 0; m < 40; m++) await h.step(MIN);
    // one model: tries at 0, 1, 3, 7, 15, 25 minutes (waits 1, 2, 4, 8, 10 capped), gave up at 30
    expect(tries(h).map((t) => (t.at - start) / MIN)).toEqual([0, 1, 3, 7, 15, 25]);
    const w = wakeRows(h)[0];
    expect(w).toMatchObject({ state: 'gave_up', tries: 6 });
    expect(w.finished_at - start).toBe(30 * MIN);
    expect(journal(h)[0]).toMatchObject({ state: 'failed' });
    expect((await simInst(h, id)).status).toBe('shutdown');
    await h.notifier.drain();
    const failed = outbox(h, 'wake_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0].data).toMatchObject({ gpu_models: ['RTX 4090 D'], gpu_count: 1, tries: 6, waited_ms: 30 * MIN });
    expect(outbox(h)).toHaveLength(1);
    expect(smtp!.messages).toHaveLength(1);
    expect(smtp!.messages[0].subject).toMatch(/sd-never/);
  });

  it('boots data-only with gpu_count 0: running without a GPU, never billed or counted as a GPU', async () => {
    h = await startHarness({});
    const id = await h.add({ name: 'sd-files', image: 'WebUI', gpu_model: 'RTX 4090 D', status: 'shutdown' });
    await h.step(MIN);
    await h.ctl('/sim/gpu-pool', { 'RTX 4090 D': 0, 'RTX 4090': 0 }); // no GPU needed
    await h.core.waker.wakeNow(id, { gpuCount: 0 }, 'test');
    await h.core.waker.idle();
    expect(tries(h)).toMatchObject([{ gpu_model: null, gpu_count: 0, outcome: 'sent' }]);
    await until(h, () => wakeRows(h!)[0].state === 'done');
    const s = await simInst(h, id);
    expect(s).toMatchObject({ status: 'running', gpu_used: 0 });
    const done = outbox(h, 'wake_done');
    expect(done).toHaveLength(1);
    expect(done[0].data.gpu_count).toBe(0);
    expect(done[0].data.gpu_model).toBeUndefined();
    // the guard records it as holding no GPU: the open interval is not GPU-billed
    const iv = h.gdb.sqlite.prepare('select status, gpu_kept, gpu_count, rate from intervals where instance_id = ? and to_ts is null').get(id) as any;
    expect(iv).toMatchObject({ status: 'running', gpu_kept: 0, gpu_count: 0 });
    // billed at the CPU-only price the list reports (the simulator's guess), never a GPU's
    expect(iv.rate).toBe(s.price_per_hour);
    expect(iv.rate).toBeLessThan(0.2);
    const before = s.billed;
    const from = h.clock.now();
    for (let m = 0; m < 60; m++) await h.step(MIN);
    const billed = (await simInst(h, id)).billed - before;
    const estimated = estimatedByInstance(h.gdb.db, from, h.clock.now()).get(id) ?? 0;
    expect(estimated).toBeCloseTo(billed, 3);
    const st = h.gdb.sqlite.prepare('select billed_since from instances where id = ?').get(id) as any;
    expect(st.billed_since).toBeNull();
  });
});

describe('money-aware wake', () => {
  const runway = { name: 'runway', type: 'runway', warn_hours: 6, act_hours: 2, action: 'release_gpu' };

  it('refuses an on-demand wake that would put the runway under act_hours, saying how much to top up', async () => {
    h = await startHarness({ policies: [runway] }, { balance: 3 });
    const id = await h.add({ name: 'sd-poor', image: 'WebUI', gpu_model: 'RTX 4090 D', status: 'shutdown' });
    await h.step(MIN);
    // ¥3 at ¥1.59/h (+ the disk) lasts under 2 h
    const err = await h.core.waker.wakeNow(id, {}, 'test').then(
      () => null,
      (e) => e,
    );
    expect(err?.code).toBe('wake_refused');
    expect(err.status).toBe(409);
    expect(err.message).toMatch(/under act_hours 2h of the runway policy "runway"/);
    expect(err.message).toMatch(/top up at least ¥0\.1\d/);
    expect(err.topUp).toBeGreaterThan(0.15);
    expect(err.topUp).toBeLessThan(0.2);
    expect(wakeRows(h)).toMatchObject([{ state: 'refused' }]);
    expect(journal(h)).toMatchObject([{ action: 'boot', state: 'aborted' }]);
    expect(tries(h)).toHaveLength(0);
    expect((await simInst(h, id)).status).toBe('shutdown');
    // positive control: with more money the same wake boots
    await h.ctl('/sim/balance', { balance: 50 });
    await h.step(MIN);
    await h.core.waker.wakeNow(id, {}, 'test');
    await h.core.waker.idle();
    expect((await simInst(h, id)).status).toBe('booting');
  });

  it('a scheduled wake on a short runway skips with the reason journaled', async () => {
    h = await startHarness({ policies: [runway, { name: 'morning', type: 'schedule', cron: '50 8 * * *', action: 'boot' }] }, { balance: 3 });
    const id = await h.add({ name: 'sd-poor', image: 'WebUI', gpu_model: 'RTX 4090 D', status: 'shutdown' });
    for (let m = 0; m < 60; m++) await h.step(MIN);
    expect((await simInst(h, id)).status).toBe('shutdown');
    const j = journal(h);
    expect(j).toHaveLength(1);
    expect(j[0]).toMatchObject({ policy: 'morning', action: 'boot', state: 'aborted' });
    expect(j[0].detail).toMatch(/wake refused: .* top up at least ¥/);
    expect(outbox(h, 'wake_failed')).toHaveLength(1);
  });

  it('a data-only wake passes where a GPU wake is refused', async () => {
    h = await startHarness({ policies: [runway] }, { balance: 3 });
    const id = await h.add({ name: 'sd-poor', image: 'WebUI', gpu_model: 'RTX 4090 D', status: 'shutdown' });
    await h.step(MIN);
    await h.core.waker.wakeNow(id, { gpuCount: 0 }, 'test');
    await h.core.waker.idle();
    expect((await simInst(h, id)).status).toBe('booting');
  });
});

describe('wake rails', () => {
  it('dry-run journals a scheduled wake and sends nothing', async () => {
    h = await startHarness({ dry_run: true, policies: [{ name: 'morning', type: 'schedule', cron: '50 8 * * *', action: 'boot' }] });
    const id = await h.add({ name: 'sd-dry', image: 'WebUI', status: 'shutdown' });
    for (let m = 0; m < 55; m++) await h.step(MIN);
    expect((await simInst(h, id)).status).toBe('shutdown');
    expect(journal(h)).toMatchObject([{ mode: 'dry_run', state: 'decided', action: 'boot' }]);
    expect(tries(h)).toHaveLength(0);
  });

  it('max_actions_per_tick holds a second scheduled wake to the next tick', async () => {
    h = await startHarness({ limits: { max_actions_per_tick: 1 }, policies: [{ name: 'morning', type: 'schedule', cron: '50 8 * * *', action: 'boot' }] });
    const a = await h.add({ name: 'a', image: 'WebUI', status: 'shutdown' });
    const b = await h.add({ name: 'b', image: 'WebUI', status: 'shutdown' });
    for (let m = 0; m < 50; m++) await h.step(MIN);
    const booting = async () => [(await simInst(h!, a)).status, (await simInst(h!, b)).status].filter((s) => s !== 'shutdown').length;
    expect(await booting()).toBe(1);
    await h.step(MIN);
    expect(await booting()).toBe(2);
  });
});
