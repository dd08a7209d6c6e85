/**
 * The money moment (issue 39), through the simulator, real ticks, the HTTP API and a real SMTP server: one balance
 * drop that makes the runway policy release a GPU reaches the mailbox as at most two messages (announce before
 * result), the alerts resolve when their condition is gone, and a firing alert states the figure now.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { buildApp, type App } from '../../src/http/app.js';
import { money } from '../../src/notify/index.js';
import { mailEvents, startSmtp, type TestSmtp } from './helpers.js';
import { startHarness, type Harness } from '../helpers/guard.js';

const TICK = 4_000;
let h: Harness | undefined;
let app: App | undefined;
let smtp: TestSmtp | undefined;
afterEach(async () => {
  await app?.close();
  await h?.close();
  await smtp?.close();
  h = app = smtp = undefined;
});

interface Alert {
  key: string;
  type: string;
  state: 'firing' | 'resolved';
  since: string;
  message: string;
}

describe('the money moment: one balance drop, a runway release, a further fall, a top-up', () => {
  it.each(['en', 'zh-CN'] as const)('%s: at most 2 messages in 12 s, announce before result; alerts resolve and state the balance now', async (locale) => {
    smtp = await startSmtp();
    h = await startHarness(
      {
        locale,
        // money policies need no probe: none runs, so each tick is the money path alone
        probes: { gpu: { enabled: false }, jupyter: { enabled: false }, comfyui: { enabled: false }, sdwebui: { enabled: false }, heartbeat: { enabled: false } },
        notify: { email: { smtp_url: `smtp://127.0.0.1:${smtp.port}`, from: 'guard@example.com', to: ['me@example.com'] } },
        policies: [
          { name: 'runway', type: 'runway', warn_hours: 12, act_hours: 2, action: 'release_gpu' },
          { name: 'low', type: 'balance', below: [10] },
        ],
      },
      { balance: 1000, debit: 'continuous' },
    );
    app = await buildApp({ gdb: h.gdb, config: h.config, clock: h.clock, log: pino({ level: 'silent' }), runtime: { dbOpen: true, leader: true, jobsRunning: true, demo: false }, guard: h.core.service });
    await app.ready();
    const alerts = async () => ((await app!.inject({ url: `/api/v1/alerts?locale=${locale}` })).json() as { alerts: Alert[] }).alerts;
    const firing = async (type: string) => (await alerts()).filter((a) => a.type === type && a.state === 'firing');
    /** one tick, then the drain the daemon runs after each tick */
    const tick = async () => {
      await h!.step(TICK);
      await h!.notifier.drain();
    };

    const big = await h.add({ name: 'train-big', image: 'Jupyter', status: 'running', busy: true, gpu_count: 2 });
    const small = await h.add({ name: 'sd-small', image: 'WebUI', status: 'running', busy: true });
    await tick();
    expect(smtp.messages).toEqual([]);

    // one drop: ¥6 at about ¥4.8/h is ~1.3 h of runway (< act_hours 2) and below the ¥10 threshold
    await h.ctl('/sim/balance', { balance: 6 });
    for (let t = 0; t < 12_000 / TICK; t++) await tick();
    expect(smtp.messages.length, smtp.messages.map((m) => m.subject).join('\n')).toBeGreaterThanOrEqual(1);
    expect(smtp.messages.length, smtp.messages.map((m) => m.subject).join('\n')).toBeLessThanOrEqual(2);
    const first = smtp.messages[0];
    expect(mailEvents(first)).toEqual(expect.arrayContaining(['balance_low', 'runway_warn', 'runway_act', 'action_taken']));
    const types = mailEvents(first);
    expect(types.indexOf('runway_act')).toBeLessThan(types.indexOf('action_taken')); // announce before result
    // the ¥3.18/h instance went first, and alone
    expect(h.gdb.sqlite.prepare('select instance_id, policy, action from actions').all()).toEqual([{ instance_id: big, policy: 'runway', action: 'release_gpu' }]);
    expect(h.sim.world.instance(small)!.status).toBe('running');
    // the low-balance part: burn rate, runway, and the top-up that covers warn_hours
    const text = first.text ?? '';
    expect(text).toMatch(locale === 'en' ? /it lasts about [\d.]+ h; top up ¥[\d,.]+ to cover 12\.0 h/ : /约可使用 [\d.]+ 小时；充值 ¥[\d,.]+ 可维持 12\.0 小时/);

    // once the release is done (the GPU let go) the runway is restored: runway_act resolved, not firing
    for (let t = 0; t < 50 && h.sim.world.instance(big)!.gpuUsed > 0; t++) await tick();
    expect(h.sim.world.instance(big)!.gpuUsed).toBe(0);
    await tick();
    expect(await firing('runway_act')).toEqual([]);
    expect((await alerts()).some((a) => a.type === 'runway_act' && a.state === 'resolved')).toBe(true);

    // a further fall below the threshold: no new mail (same threshold), but the firing alert states the balance now
    const lowSince = (await firing('balance_low'))[0].since;
    await h.ctl('/sim/balance', { balance: 4.5 });
    await tick();
    const now = ((await app.inject({ url: '/api/v1/balance' })).json() as { balance: number }).balance;
    expect(now).toBeLessThan(4.5);
    const low = await firing('balance_low');
    expect(low).toHaveLength(1);
    expect(low[0].message).toContain(money(now));
    expect(low[0].since).toBe(lowSince); // still the same condition, since the first drop

    // a top-up: no runway or balance alert is firing
    await h.ctl('/sim/balance', { balance: 5000 });
    await tick();
    const left = (await alerts()).filter((a) => a.state === 'firing' && /^(runway_|balance_low)/.test(a.type));
    expect(left).toEqual([]);
  }, 60_000);
});
