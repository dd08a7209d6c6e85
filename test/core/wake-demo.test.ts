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
    demo = await startDemo({ port: 0, speed: 600, seed: 7, quiet: true, log: pino({ level: 'silent' }) });
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
  });
});
