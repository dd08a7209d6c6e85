/**
 * The demo tells the story the README promises, end to end in real time (accelerated clock): the forgotten box is
 * released, the training only its GPU shows is kept while it runs, the stopped box that holds its GPU is released,
 * and in the last hour before the platform's auto-destroy runway_critical goes out and the #keep training is
 * released at the last resort — nothing destroyed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startDemo, type RunningDemo } from '../../src/demo.js';

const MIN = 60_000;
let demo: RunningDemo | undefined;
afterAll(async () => {
  await demo?.close();
});

interface Act {
  at: string;
  instance_name: string;
  policy: string;
  action: string;
  state: string;
  reason?: string;
  detail?: string | null;
}

describe('the demo story', () => {
  it('releases the forgotten and the stopped-with-GPU boxes, keeps the SSH training while its GPU works, and releases #keep only at the last resort', async () => {
    // 100x: the last-resort window (30 simulated minutes before the debit that would empty the balance) is 18 s
    // of real time; at 150x its 12 s were missed in stress rounds (two suites on 2 cores), where a tick of this
    // worker can wait that long for CPU
    const speed = 100;
    // The story starts at 10:00 in Shanghai, whatever the hour the suite runs: started between about 01:00 and 02:00
    // there, the demo's nightly schedule (02:00, sd-*) released the stopped box before held-gpu did (CI at 01:16).
    const start = Date.UTC(2026, 11, 1, 2, 0);
    const said: string[] = [];
    demo = await startDemo({ port: 0, speed, seed: 5, say: (l) => said.push(l), log: pino({ level: 'silent' }), start });
    const t0 = Date.parse(((await (await fetch(`${demo.sim.url}/sim/clock`)).json()) as { now: string }).now);
    expect([t0 >= start, t0 - start < 10 * MIN]).toEqual([true, true]); // the simulator runs on the story's clock
    const get = async <T>(path: string) => (await (await fetch(`${demo!.url}${path}`)).json()) as T;
    const acts = async () => (await get<{ actions: Act[] }>('/api/v1/actions?limit=200')).actions;
    // ~190 simulated minutes at 100x is ~114 s; wait on the outcome, bounded far above it
    const deadline = Date.now() + 330_000;
    let seen: Act[] = [];
    while (Date.now() < deadline) {
      seen = await acts();
      if (seen.some((a) => a.policy === 'last-resort' && /sent|confirmed/.test(a.state))) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const released = (name: string) => seen.filter((a) => a.instance_name === name && a.action === 'release_gpu' && /sent|confirmed/.test(a.state));
    expect(released('sd-webui-evening')[0]).toMatchObject({ policy: 'idle-release' });
    expect(released('sd-stopped-gpu-kept')[0]).toMatchObject({ policy: 'held-gpu' });
    // the SSH training ran for 60 simulated minutes with its GPU at 97%: never released before that
    // (the message names the row's state and reason: a stress round once saw such a row ~42 minutes in)
    for (const a of seen.filter((x) => x.instance_name === 'train-over-ssh'))
      expect(Date.parse(a.at), `train-over-ssh ${a.policy} ${a.action} ${a.state} at ${a.at}: ${a.reason ?? ''} ${a.detail ?? ''}`).toBeGreaterThan(t0 + 60 * MIN);
    expect(released('train-lora #keep')).toEqual([expect.objectContaining({ policy: 'last-resort' })]);
    const events = (await get<{ events: Array<{ type: string }> }>('/api/v1/events?limit=200')).events.map((e) => e.type);
    expect(events).toContain('runway_critical');
    expect(events).not.toContain('instances_destroyed');
    const st = (await (await fetch(`${demo.sim.url}/sim/state`)).json()) as { balance: number; instances: Array<{ status: string }> };
    expect(st.instances.filter((i) => /destroy/.test(i.status))).toEqual([]);
    expect(st.balance).toBeGreaterThan(0);

    // one money story: the drop is a charge booked outside instances; the balance the demo announces is the one the
    // next balance alert states (or, after an hourly debit in between, the announced estimate); the spend card's
    // "not from instances" is that charge less what the platform has not debited yet (at most an hour of burn)
    const announced = /¥(\d+\.\d\d) spent outside instances: the balance fell to ¥(\d+\.\d\d) \(≈ ¥(\d+\.\d\d) once/;
    const k = said.findIndex((l) => announced.test(l));
    expect(k, said.join('\n')).toBeGreaterThanOrEqual(0);
    const [, charge, balance, afterDebit] = said[k].match(announced)!.map(Number);
    const alert = said.slice(k + 1).find((l) => /^\[[^\]]+\] balance_low\b/.test(l));
    const stated = Number(alert?.match(/¥(\d+\.\d\d)/)?.[1]);
    expect(stated === balance || Math.abs(stated - afterDebit) < 0.3, `announced ${said[k]}\nthen ${alert}`).toBe(true);
    const ledger = (await (await fetch(`${demo.sim.url}/sim/state`)).json()) as { charges: Array<{ kind: string; yuan: number }> };
    expect(ledger.charges).toEqual([expect.objectContaining({ kind: 'outside_instances', yuan: expect.closeTo(charge, 2) })]);
    const spend = await get<{ total: { estimated: number; observed: number } }>('/api/v1/spend?from=-30d&to=now&by=day');
    const gap = spend.total.observed - spend.total.estimated;
    expect(gap).toBeGreaterThan(charge - 12);
    expect(gap).toBeLessThanOrEqual(charge + 1);
  }, 400_000);
});
