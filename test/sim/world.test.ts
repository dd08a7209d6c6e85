import { describe, expect, it } from 'vitest';
import { SimError, SimWorld, simState, type SimInstance } from '../../src/sim/index.js';

const H = 3_600_000;
const S = 1000;
const T0 = Date.UTC(2025, 0, 6, 0, 0, 0); // a whole hour
const COMFY_IMAGE = 'decbfd43-8963-434a-a42d-9df6ee0bae0f';
const DUR = { deploy: 60, boot: 20, shutdown: 10, release: 15, destroy: 10, gone: 60 };

function world(extra: Partial<ConstructorParameters<typeof SimWorld>[0]> = {}): SimWorld {
  return new SimWorld({ start: T0, seed: 7, balance: 1000, durations: DUR, ...extra });
}

function errorOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (e instanceof SimError) return e.msg;
    throw e;
  }
}

type StartState =
  | 'running'
  | 'shutdown_kept'
  | 'shutdown_released'
  | 'deploying'
  | 'booting'
  | 'shutting_down'
  | 'destroying'
  | 'destroyed'
  | 'freeze';

function make(w: SimWorld, s: StartState): string {
  switch (s) {
    case 'running':
      return w.addInstance({ name: 'r' }).id;
    case 'shutdown_kept':
      return w.addInstance({ name: 'k', status: 'shutdown', gpuKept: true }).id;
    case 'shutdown_released':
      return w.addInstance({ name: 'x', status: 'shutdown' }).id;
    case 'deploying':
      return w.deploy({ gpuModel: 'NVIDIA GeForce RTX 4090 D', gpuCount: 1, image: COMFY_IMAGE });
    case 'booting': {
      const id = w.addInstance({ name: 'b', status: 'shutdown' }).id;
      w.boot(id);
      return id;
    }
    case 'shutting_down': {
      const id = w.addInstance({ name: 's' }).id;
      w.shutdown(id);
      return id;
    }
    case 'destroying': {
      const id = w.addInstance({ name: 'd' }).id;
      w.destroy(id);
      return id;
    }
    case 'destroyed': {
      const id = w.addInstance({ name: 'dd' }).id;
      w.destroy(id);
      w.advanceTo(w.now + DUR.destroy * S);
      return id;
    }
    case 'freeze': {
      const id = w.addInstance({ name: 'f' }).id;
      w.forceStatus(id, 'freeze');
      return id;
    }
  }
}

type Action = 'shutdown' | 'release' | 'boot' | 'destroy' | 'shutdown_destroy';
const WRONG = '实例当前状态不支持该操作';
// [start, action, status right after | error message, status after an hour ('gone' = dropped from the list), gpu_used then]
const TABLE: Array<[StartState, Action, string, string, number]> = [
  ['running', 'shutdown', 'shutting_down', 'shutdown', 1],
  ['running', 'release', 'shutting_down', 'shutdown', 0],
  ['running', 'boot', WRONG, 'running', 1],
  ['running', 'destroy', 'destroying', 'gone', 0],
  ['running', 'shutdown_destroy', 'shutting_down', 'gone', 0],
  ['shutdown_kept', 'shutdown', WRONG, 'shutdown', 1],
  ['shutdown_kept', 'release', 'shutting_down', 'shutdown', 0],
  ['shutdown_kept', 'boot', 'booting', 'running', 1],
  ['shutdown_kept', 'destroy', 'destroying', 'gone', 0],
  ['shutdown_kept', 'shutdown_destroy', 'destroying', 'gone', 0],
  ['shutdown_released', 'shutdown', WRONG, 'shutdown', 0],
  ['shutdown_released', 'release', WRONG, 'shutdown', 0],
  ['shutdown_released', 'boot', 'booting', 'running', 1],
  ['shutdown_released', 'destroy', 'destroying', 'gone', 0],
  ['shutdown_released', 'shutdown_destroy', 'destroying', 'gone', 0],
  ['freeze', 'shutdown', WRONG, 'freeze', 0],
  ['freeze', 'release', WRONG, 'freeze', 0],
  ['freeze', 'boot', WRONG, 'freeze', 0],
  ['freeze', 'destroy', 'destroying', 'gone', 0],
  ['freeze', 'shutdown_destroy', 'destroying', 'gone', 0],
];
for (const s of ['deploying', 'booting', 'shutting_down', 'destroying', 'destroyed'] as const) {
  const after: Record<string, [string, number]> = {
    deploying: ['running', 1],
    booting: ['running', 1],
    shutting_down: ['shutdown', 1],
    destroying: ['gone', 0],
    destroyed: ['gone', 0],
  };
  for (const a of ['shutdown', 'release', 'boot', 'destroy', 'shutdown_destroy'] as const) {
    TABLE.push([s, a, WRONG, after[s][0], after[s][1]]);
  }
}

function act(w: SimWorld, a: Action, id: string): void {
  if (a === 'shutdown') w.shutdown(id);
  else if (a === 'release') w.releaseGpu(id);
  else if (a === 'boot') w.boot(id);
  else if (a === 'destroy') w.destroy(id);
  else w.shutdownDestroy(id);
}

describe('SimWorld state machine', () => {
  it.each(TABLE)('from %s, %s gives %s and later %s (gpu_used %i)', (start, action, now, later, gpu) => {
    const w = world();
    const id = make(w, start);
    const err = errorOf(() => act(w, action, id));
    const inst = w.instance(id)!;
    if (now.startsWith('实例')) expect(err).toBe(now);
    else {
      expect(err).toBeNull();
      expect(inst.status).toBe(now);
    }
    w.advanceTo(w.now + H);
    if (later === 'gone') {
      expect(inst.gone).toBe(true);
      expect(w.listed().map((i) => i.id)).not.toContain(id);
      expect(errorOf(() => w.get(id))).toBe('实例不存在');
    } else {
      expect(inst.status).toBe(later);
      expect(inst.gpuUsed).toBe(gpu);
    }
  });

  it('a deployed instance is deploying (access details hidden) until the deploy duration has passed', () => {
    const w = world();
    const id = w.deploy({ gpuModel: 'NVIDIA GeForce RTX 4090', gpuCount: 2, image: COMFY_IMAGE, name: 'new' });
    expect(id).toMatch(/^[a-z0-9]{16}$/);
    w.advanceTo(T0 + 59 * S);
    expect(w.instance(id)!.status).toBe('deploying');
    expect(w.instance(id)!.everRunning).toBe(false);
    w.advanceTo(T0 + 60 * S);
    expect(w.instance(id)!.status).toBe('running');
    expect(w.instance(id)!.everRunning).toBe(true);
  });

  it('a destroyed instance stays listed as destroyed for the linger time, then is gone', () => {
    const w = world();
    const id = w.addInstance({ name: 'a' }).id;
    w.destroy(id);
    w.advanceTo(T0 + DUR.destroy * S);
    expect(w.get(id).status).toBe('destroyed');
    w.advanceTo(T0 + (DUR.destroy + DUR.gone) * S);
    expect(errorOf(() => w.get(id))).toBe('实例不存在');
  });

  it('deploy and boot fail with 可用GPU不足 when the pool is empty, and released GPUs return to the pool', () => {
    const w = world({ gpuPool: 2 });
    const a = w.deploy({ gpuModel: 'NVIDIA GeForce RTX 4090 D', gpuCount: 2, image: COMFY_IMAGE });
    expect(errorOf(() => w.deploy({ gpuModel: 'NVIDIA GeForce RTX 4090 D', gpuCount: 1, image: COMFY_IMAGE }))).toBe(
      '可用GPU不足',
    );
    const b = w.addInstance({ name: 'parked', status: 'shutdown' }).id;
    expect(errorOf(() => w.boot(b))).toBe('可用GPU不足');
    w.advanceTo(T0 + 60 * S);
    w.releaseGpu(a);
    expect(w.gpuFree).toBe(0); // still shutting_down
    w.advanceTo(w.now + DUR.release * S);
    expect(w.gpuFree).toBe(2);
    expect(errorOf(() => w.boot(b))).toBeNull();
    expect(w.gpuFree).toBe(1);
  });

  it('boot of a released instance may change GPU model and count, which changes price_per_hour', () => {
    const w = world();
    const id = w.addInstance({ name: 'p', status: 'shutdown' }).id;
    w.boot(id, { gpuModel: 'NVIDIA GeForce RTX 4090 48G', gpuCount: 3 });
    const inst = w.instance(id)!;
    expect(inst.gpuModel.short).toBe('RTX 4090 48G');
    expect(w.priceOf(inst)).toBe(7.77);
    expect(errorOf(() => w.deploy({ gpuModel: 'NVIDIA A100', gpuCount: 1, image: COMFY_IMAGE }))).toBe('参数错误: gpu_model');
  });

  it('forced transient statuses finish on their own (saving_image -> shutdown, replacing_image -> running, freezing -> freeze)', () => {
    const w = world();
    const a = w.addInstance({ name: 'a', status: 'shutdown' }).id;
    const b = w.addInstance({ name: 'b' }).id;
    const c = w.addInstance({ name: 'c' }).id;
    w.forceStatus(a, 'saving_image');
    w.forceStatus(b, 'replacing_image');
    w.forceStatus(c, 'freezing');
    expect([a, b, c].map((id) => w.instance(id)!.status)).toEqual(['saving_image', 'replacing_image', 'freezing']);
    w.advanceTo(T0 + H);
    expect([a, b, c].map((id) => w.instance(id)!.status)).toEqual(['shutdown', 'running', 'freeze']);
  });
});

// ----------------------------------------------------------------------------- billing

interface Script {
  w: SimWorld;
  ids: { a: string; b: string; c: string };
}

/** A scripted week; `step` = ms between advances (0 = jump straight to each action time). */
function runWeek(step: number): Script {
  const w = world({ balance: 1000 });
  const a = w.addInstance({ name: 'a', gpuModel: 'RTX 4090 D' }).id;
  const b = w.deploy({ gpuModel: 'NVIDIA GeForce RTX 4090', gpuCount: 2, image: COMFY_IMAGE });
  const c = w.addInstance({ name: 'c', status: 'shutdown' }).id;
  const go = (t: number) => {
    if (step > 0) for (let x = w.now + step; x < t; x += step) w.advanceTo(x);
    w.advanceTo(t);
  };
  go(T0 + 10 * H);
  w.releaseGpu(a);
  go(T0 + 20 * H);
  w.shutdown(b);
  go(T0 + 30 * H);
  w.boot(a);
  go(T0 + 40 * H);
  w.setBalance(w.balance + 500);
  go(T0 + 50 * H);
  w.destroy(b);
  go(T0 + 60 * H);
  w.boot(c, { gpuModel: 'NVIDIA GeForce RTX 4090 D 48G', gpuCount: 2 });
  go(T0 + 168 * H);
  return { w, ids: { a, b, c } };
}

const hours = (ms: number) => ms / H;
// a released instance pays for its USED disk: the control API's Jupyter image (Miniconda3 CUDA 12.2) uses 10 GB
const JUPYTER_RETAIN = 10 * 0.00003;
const closedForm = {
  // running 10h + 15 s shutting_down at 1.59; released 20h - 15 s at 0.0003 (10 GB used); booting+running 138h at 1.59
  a: 1.59 * hours(10 * H + 15 * S) + JUPYTER_RETAIN * hours(20 * H - 15 * S) + 1.59 * 138,
  // deploying 60 s unbilled; running/shutting_down/shutdown-with-GPU at 3.78 until destroy at 50h; destroying unbilled
  b: 3.78 * hours(50 * H - 60 * S),
  // released 60h at 0.0003; booted with 2 x 48G (2 x 2.29) for 108h
  c: JUPYTER_RETAIN * 60 + 4.58 * 108,
};

describe('SimWorld billing', () => {
  it('a scripted week bills each instance exactly the closed form, and the hourly debits add up to it', () => {
    const { w, ids } = runWeek(0);
    const billed = (id: string) => w.billedOf(w.instance(id)!);
    expect(billed(ids.a)).toBeCloseTo(closedForm.a, 9);
    expect(billed(ids.b)).toBeCloseTo(closedForm.b, 9);
    expect(billed(ids.c)).toBeCloseTo(closedForm.c, 9);
    const total = closedForm.a + closedForm.b + closedForm.c;
    expect(w.debitedTotal).toBeCloseTo(total, 9); // 168h is a whole hour: everything debited
    expect(w.rechargedTotal).toBeCloseTo(500, 9);
    expect(w.balance).toBeCloseTo(1500 - total, 9);
    const s = simState(w) as { instances: Array<{ id: string; billed: number; gone: boolean }> };
    expect(s.instances.find((i) => i.id === ids.b)).toMatchObject({ gone: true });
    expect(s.instances.find((i) => i.id === ids.a)!.billed).toBeCloseTo(closedForm.a, 9);
  });

  it('one big jump gives exactly the same ledger as many small steps', () => {
    const jump = runWeek(0);
    const small = runWeek(37_000); // 37 s steps, not aligned with the hour
    for (const k of ['a', 'b', 'c'] as const) {
      expect(small.w.billedOf(small.w.instance(small.ids[k])!)).toBe(jump.w.billedOf(jump.w.instance(jump.ids[k])!));
    }
    expect(small.w.balance).toBe(jump.w.balance);
  });

  it('debits hourly in arrears: between whole hours the balance does not move', () => {
    const w = world({ balance: 100 });
    w.advanceTo(T0 + 1800 * S); // half past
    const id = w.addInstance({ name: 'a', gpuModel: 'RTX 4090' }).id;
    w.advanceTo(T0 + H - 1);
    expect(w.balance).toBe(100);
    w.advanceTo(T0 + H);
    expect(w.balance).toBeCloseTo(100 - 1.89 / 2, 12);
    w.advanceTo(T0 + H + 1800 * S);
    expect(w.balance).toBeCloseTo(100 - 1.89 / 2, 12);
    expect(w.billedOf(w.instance(id)!)).toBeCloseTo(1.89, 12);
  });

  it('continuous debit mode debits on every advance', () => {
    const w = world({ balance: 100, debit: 'continuous' });
    w.addInstance({ name: 'a', gpuModel: 'RTX 4090 D' });
    w.advanceTo(T0 + 600 * S);
    expect(w.balance).toBeCloseTo(100 - 1.59 / 6, 10);
  });

  it('a negative balance auto-destroys every live instance and billing stops', () => {
    const w = world({ balance: 2 });
    const run = w.addInstance({ name: 'run', gpuModel: 'RTX 4090' }).id;
    const parked = w.addInstance({ name: 'parked', status: 'shutdown' }).id;
    w.advanceTo(T0 + H);
    expect(w.balance).toBeGreaterThan(0);
    expect(w.instance(run)!.status).toBe('running');
    w.advanceTo(T0 + 2 * H);
    expect(w.balance).toBeLessThan(0);
    for (const id of [run, parked]) {
      expect(w.instance(id)!.status).toBe('destroying');
      expect(w.instance(id)!.autoDestroyed).toBe(true);
    }
    w.advanceTo(T0 + 2 * H + DUR.destroy * S);
    expect(w.instance(run)!.status).toBe('destroyed');
    const billedAt2h = 1.89 * 2 + JUPYTER_RETAIN * 2;
    w.advanceTo(T0 + 5 * H);
    expect(w.billedOf(w.instance(run)!) + w.billedOf(w.instance(parked)!)).toBeCloseTo(billedAt2h, 10);
    expect(w.balance).toBeCloseTo(2 - billedAt2h, 10);
    expect(errorOf(() => w.deploy({ gpuModel: 'NVIDIA GeForce RTX 4090', gpuCount: 1, image: COMFY_IMAGE }))).toBe('余额不足');
    const s = simState(w) as { instances: Array<{ id: string; auto_destroyed: boolean }> };
    expect(s.instances.find((i) => i.id === run)!.auto_destroyed).toBe(true);
  });

  it('in continuous mode the auto-destroy happens the millisecond the balance crosses zero', () => {
    const w = world({ balance: 1, debit: 'continuous' });
    const id = w.addInstance({ name: 'a', gpuModel: 'RTX 4090 D' }).id;
    w.advanceTo(T0 + 2 * H);
    const inst: SimInstance = w.instance(id)!;
    expect(inst.autoDestroyed).toBe(true);
    const crossing = T0 + Math.floor((1 / 1.59) * H) + 1;
    expect(w.billedOf(inst)).toBeCloseTo((1.59 * (crossing - T0)) / H, 10);
    expect(w.balance).toBeLessThan(0);
    expect(w.balance).toBeGreaterThan(-1e-6);
  });

  it('setting the balance negative destroys at once; raising it counts as a recharge', () => {
    const w = world({ balance: 50 });
    const id = w.addInstance({ name: 'a' }).id;
    w.setBalance(80);
    expect(w.rechargedTotal).toBe(30);
    w.setBalance(-1);
    expect(w.rechargedTotal).toBe(30);
    expect(w.instance(id)!.status).toBe('destroying');
  });
});

describe('machine meters follow the kind of work', () => {
  const script = (w: SimWorld, id: string, step: number) => {
    const at = (s: number, f: () => void) => {
      for (let t = w.now; t < T0 + s * S; t = Math.min(t + step, T0 + s * S)) w.advanceTo(Math.min(t + step, T0 + s * S));
      f();
    };
    at(100, () => w.setActivity(id, true, undefined, 'cpu'));
    at(700, () => w.setActivity(id, true, 90, 'background'));
    at(2000, () => w.setActivity(id, false));
    at(5000, () => undefined);
  };

  it('one jump gives the same load average and byte counters as many small steps', () => {
    const runs = [3_600_000, 7_000, 1_000].map((step) => {
      const w = world();
      const id = w.addInstance({ name: 'm' }).id;
      script(w, id, step);
      return (simState(w) as any).instances[0].machine;
    });
    for (const m of runs.slice(1)) {
      expect(m.load).toEqual(runs[0].load);
      expect(Math.abs(m.net.rx_bytes - runs[0].net.rx_bytes)).toBeLessThanOrEqual(1);
    }
    expect(runs[0].net.rx_bytes).toBeGreaterThan(600 * 60_000_000); // ten minutes of a download
  });

  it.each([
    ['app', [95, 0], true],
    ['background', [95, 95], false],
    ['cpu', [0, 0], false],
    ['interactive', [0, 0], false],
  ] as const)('%s work: GPU utilisation %j, apps busy %s', (kind, utils, app) => {
    const w = world();
    const id = w.addInstance({ name: 'k', gpuCount: 2 }).id;
    w.setActivity(id, true, undefined, kind);
    const t = (simState(w) as any).instances[0];
    expect(t.machine.gpus.map((g: any) => g.util)).toEqual(utils);
    expect(t).toMatchObject({ busy: true, kind, app_busy: app });
  });

  it('rejects an unknown kind and an out-of-range gpu_util by name', () => {
    const w = world();
    const id = w.addInstance({ name: 'k' }).id;
    expect(errorOf(() => w.setActivity(id, true, undefined, 'mining'))).toMatch(/^kind must be one of app, background, cpu, interactive/);
    expect(errorOf(() => w.setActivity(id, true, 140))).toMatch(/^gpu_util must be/);
  });
});
