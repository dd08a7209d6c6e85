/**
 * `xgc-guard demo`: the simulator with a realistic mix of instances and the daemon in enforce mode, on one
 * accelerated clock (the injected clock both share), with a temporary database and the dashboard on loopback.
 * Within two minutes of real time a newcomer sees an idle instance released, its savings, and a low-balance warning;
 * a few simulated minutes in, a `morning` schedule wakes the released `sd-archive` (a scheduled wake, src/wake/);
 * a training run that only the GPU shows (97%, Jupyter idle) kept until it ends; a stopped instance that still holds
 * its GPU released; and, after about three minutes, the last hour before the platform's auto-destroy: only a #keep
 * training burns, runway_critical goes out, and the #keep instance is released at the last resort.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gt } from 'drizzle-orm';
import pino, { type Logger } from 'pino';
import { ScaledClock, systemClock } from './clock.js';
import { parseConfig } from './config/load.js';
import { outboxEvents } from './db/schema.js';
import { startDaemon, type Daemon } from './main.js';
import { startSimulator, type RunningSim } from './sim/index.js';
import { formatTime } from './notify/format.js';
import { localParts } from './money.js';
import { readEvent, render } from './notify/index.js';

/** Options of the demo. */
export interface DemoOptions {
  /** HTTP port on 127.0.0.1 (default 8080; 0 = a free port) */
  port?: number;
  /** simulated seconds per real second (default 60: a simulated hour per real minute) */
  speed?: number;
  seed?: number;
  /** no console narration */
  quiet?: boolean;
  /** where the narration goes (default: the console, unless `quiet`) */
  say?: (line: string) => void;
  log?: Logger;
  /** play the story's last hour: at 100 simulated minutes a charge outside instances leaves ¥6 after the hour's debit (default true) */
  lastHour?: boolean;
  /** the simulated time the story starts at (ms since the epoch; default now) */
  start?: number;
}

/** A running demo. */
export interface RunningDemo {
  url: string;
  sim: RunningSim;
  daemon: Daemon;
  close(): Promise<void>;
}

const MIN = 60_000;
const HOUR = 60 * MIN;
/** The demo's last hour starts with the first hourly debit at least this many simulated minutes in. */
const LAST_HOUR_AFTER_MIN = 100;

/** The demo's policies: short enough to show results within minutes at 60x. */
export const DEMO_CONFIG = {
  dry_run: false,
  snapshot: { every: '*/2 * * * * *' },
  limits: { max_actions_per_tick: 5, max_actions_per_hour: 20, cooldown_after_boot: '30m' },
  policies: [
    { name: 'idle-release', type: 'idle', idle_for: '20m', min_uptime: '5m', warn_before: '10m' },
    { name: 'nightly', type: 'schedule', cron: '0 2 * * *', warn_before: '30m', match: { name: 'sd-*' } },
    { name: 'runaway', type: 'max_runtime', max: '12h', warn_before: '30m' },
    { name: 'low-balance', type: 'balance', below: [100, 30], repeat: '6h' },
    { name: 'held-gpu', type: 'stopped_with_gpu', after: '30m', warn_before: '10m' },
    { name: 'runway', type: 'runway', warn_hours: 12, act_hours: 2, last_resort: '30m' },
    { name: 'daily-cap', type: 'budget', per: 'day', limit: 80 },
  ],
};

/** Simulated minutes after the start at which the demo's `morning` schedule wakes `sd-archive`. */
export const DEMO_WAKE_AFTER_MIN = 8;

/** A daily cron at the wall-clock minute `at` falls on in `tz` (`"58 9 * * *"`). */
function dailyCronAt(at: number, tz: string): string {
  const p = localParts(at, tz);
  return `${p.mi} ${p.h} * * *`;
}

/** Start the demo. */
export async function startDemo(opts: DemoOptions = {}): Promise<RunningDemo> {
  const speed = opts.speed ?? 60;
  const say = opts.say ?? (opts.quiet ? () => {} : (s: string) => console.log(s));
  const clock = new ScaledClock(systemClock, speed, opts.start);
  const token = 'demo-token';
  const sim = await startSimulator({ token, instances: 0, clock, seed: opts.seed ?? 42, balance: 104 });
  const w = sim.world;
  // A realistic mix: a forgotten SD WebUI, a ComfyUI box in use, a training run (#keep), a batch that finishes soon,
  // a training started over SSH that only its GPU shows (Jupyter sees no kernel), a box stopped with its GPU kept.
  const forgotten = w.addInstance({ name: 'sd-webui-evening', image: 'WebUI', status: 'running', busy: false }).id;
  const flux = w.addInstance({ name: 'comfyui-flux', image: 'ComfyUI', status: 'running', busy: true, gpuModel: 'NVIDIA GeForce RTX 4090' }).id;
  const lora = w.addInstance({ name: 'train-lora #keep', image: 'Jupyter', status: 'running', busy: true, gpuCount: 2 }).id;
  w.configure(lora, { autoShutdown: 1, autoShutdownAction: 1 }); // the platform's own 4 h auto-shutdown, left on
  const batch = w.addInstance({ name: 'comfyui-batch', image: 'ComfyUI', status: 'running', busy: true }).id;
  const ssh = w.addInstance({ name: 'train-over-ssh', image: 'Jupyter', status: 'running', busy: false, gpuUtil: 97 }).id;
  w.addInstance({ name: 'sd-stopped-gpu-kept', image: 'WebUI', status: 'shutdown', gpuKept: true });
  w.addInstance({ name: 'sd-archive', image: 'WebUI', status: 'shutdown' });
  const t0 = clock.now();
  // the simulator debits on the hour (in simulated time)
  const lastHourAt = Math.ceil((t0 + LAST_HOUR_AFTER_MIN * MIN) / HOUR) * HOUR - t0;
  const script: Array<[number, () => void]> = [
    [25 * MIN, () => w.setActivity(batch, false)],
    [60 * MIN, () => w.setActivity(ssh, false, 0)],
  ];
  if (opts.lastHour !== false)
    script.push([
      lastHourAt,
      () => {
        // the last hour: the user releases the ComfyUI box, and money spent outside instances (a charge the platform
        // books apart from them) leaves ¥6 with only #keep burning. It is booked with the hourly debit that falls at
        // this minute: the guard sees one drop and counts the unbilled hour from it. A charge between two debits would
        // look like a debit to the guard (the balance is all it sees) and make its "≈ now" miss up to an hour of burn.
        w.sync();
        if (w.instance(flux)?.status === 'running') w.releaseGpu(flux);
        const undebited = w.undebited;
        const charge = w.balance - (6 + undebited);
        if (charge > 0) w.chargeOutside(charge, 'spent outside instances (demo)');
        say(
          `[${formatTime(clock.now(), 'Asia/Shanghai')}] (demo) ¥${charge.toFixed(2)} spent outside instances: the balance fell to ¥${w.balance.toFixed(2)} ` +
            `(≈ ¥${(w.balance - undebited).toFixed(2)} once this hour's ¥${undebited.toFixed(2)} is debited) and only "train-lora #keep" still burns: ` +
            `watch runway_critical, then the last-resort release`,
        );
      },
    ]);
  const scriptTimer = setInterval(() => {
    while (script.length && clock.now() - t0 >= script[0][0]) script.shift()![1]();
  }, 500);

  const dir = mkdtempSync(join(tmpdir(), 'xgc-guard-demo-'));
  const tz = 'Asia/Shanghai';
  const wakeAt = Math.ceil((t0 + DEMO_WAKE_AFTER_MIN * MIN) / MIN) * MIN;
  const config = parseConfig({
    ...DEMO_CONFIG,
    timezone: tz,
    // a scheduled wake a few simulated minutes in: boots the released sd-archive (through a GPU shortage if any)
    policies: [...DEMO_CONFIG.policies, { name: 'morning', type: 'schedule', cron: dailyCronAt(wakeAt, tz), action: 'boot', match: { name: 'sd-archive' } }],
    xgc: { base_url: sim.url, token, retries: 1 },
    db: { path: join(dir, 'guard.db') },
    http: { host: '127.0.0.1', port: opts.port ?? 8080 },
    probes: { heartbeat: { enabled: false } },
  });
  const log = opts.log ?? pino({ level: process.env.GUARD_LOG_LEVEL ?? 'warn' });
  let daemon: Daemon;
  try {
    daemon = await startDaemon({ config, log, clock, demo: true, notifyIntervalMs: 2_000 });
  } catch (e) {
    clearInterval(scriptTimer);
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const url = daemon.url!;
  // Narrate what the guard does (the outbox events), so the terminal tells the story too.
  let lastEvent = 0;
  const narrate = setInterval(() => {
    const evs = daemon.gdb.db.select().from(outboxEvents).where(gt(outboxEvents.id, lastEvent)).all();
    for (const e of evs) {
      lastEvent = e.id;
      const subject = render(readEvent(e.payload, e), { locale: 'en', timezone: config.timezone }).subject;
      say(`[${formatTime(clock.now(), config.timezone)}] ${e.type}${e.reason !== 'first' ? ` (${e.reason})` : ''}: ${subject}`);
    }
  }, 1_000);
  say(`xgc-guard demo: simulator at ${sim.url} running ${speed}x (one simulated hour per ${Math.round(3600 / speed)} s).`);
  say(`Dashboard: ${url}/   (API: ${url}/api/v1/instances, docs: ${url}/docs)`);
  say(`Watch "${w.instance(forgotten)?.name ?? 'sd-webui-evening'}" get released after 20 simulated idle minutes, and the balance warning;`);
  say(`"train-over-ssh" kept while its GPU is at 97% (its Jupyter sees nothing), "sd-stopped-gpu-kept" released after 30 stopped minutes,`);
  say(`and from about ${Math.round((lastHourAt / MIN) * 60 / speed)} s on the last hour before the platform's auto-destroy.`);
  say(`At ${formatTime(wakeAt, tz)} the "morning" schedule wakes the released "sd-archive" (a scheduled wake; also: xgc-guard wake sd-archive --url ${url}). Ctrl-C to stop.`);
  let closed = false;
  return {
    url,
    sim,
    daemon,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(narrate);
      clearInterval(scriptTimer);
      await daemon.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
