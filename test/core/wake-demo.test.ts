import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startDemo, type RunningDemo } from '../../src/demo.js';

let demo: RunningDemo | undefined;
afterEach(async () => {
  await demo?.close();
  demo = undefined;
});

describe('the demo', () => {
  it('shows one scheduled wake: the morning schedule boots the released sd-archive a few simulated minutes in', async () => {
    const said: string[] = [];
    demo = await startDemo({ port: 0, speed: 600, seed: 7, say: (l) => said.push(l), log: pino({ level: 'silent' }) });
    const db = demo.daemon.gdb.sqlite;
    const archive = demo.sim.world.all().find((i) => i.name === 'sd-archive')!;
    expect(archive.status).toBe('shutdown');
    let w: any;
    for (let i = 0; i < 600 && w?.state !== 'done'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      w = db.prepare('select * from wakes').get();
    }
    expect(w).toMatchObject({ policy: 'morning', instance_name: 'sd-archive', state: 'done', tries: 1 });
    expect(demo.sim.world.instance(archive.id)!.status).toBe('running');
    expect(db.prepare("select count(*) n from outbox_events where type = 'wake_done'").get()).toEqual({ n: 1 });
    expect(db.prepare("select count(*) n from wakes").get()).toEqual({ n: 1 });

    // at 120 simulated minutes (12 s at 600x) the balance drop is a charge the simulator books outside instances,
    // and the demo announces the balance it left
    const announced = /¥(\d+\.\d\d) spent outside instances: the balance fell to ¥(\d+\.\d\d) \(≈ ¥(\d+\.\d\d) once this hour's ¥(\d+\.\d\d) is debited\)/;
    await expect.poll(() => said.find((l) => announced.test(l)), { timeout: 60_000, interval: 100 }).toBeDefined();
    const [, charge, balance, afterDebit, hour] = said.find((l) => announced.test(l))!.match(announced)!.map(Number);
    expect(afterDebit).toBeCloseTo(6, 2);
    expect(balance).toBeCloseTo(afterDebit + hour, 1);
    const st = (await (await fetch(`${demo.sim.url}/sim/state`)).json()) as { balance: number; charges: Array<{ kind: string; yuan: number }> };
    expect(st.charges).toEqual([expect.objectContaining({ kind: 'outside_instances' })]);
    expect(st.charges[0].yuan).toBeCloseTo(charge, 2);
    // the balance the account holds is the announced one, or (after an hourly debit since) about the announced estimate
    if (Math.abs(st.balance - balance) >= 0.005) expect(Math.abs(st.balance - afterDebit)).toBeLessThan(0.3);
  });
});
