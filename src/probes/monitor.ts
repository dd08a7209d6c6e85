/**
 * Keeps probe state fresh beside the tick, never inside it: one `gpu` link per running instance streams
 * samples (judged over a rolling window and stored every `sample_every`), and the app probes (Jupyter,
 * ComfyUI, SD WebUI, heartbeat) are polled on their own cadence with bounded concurrency and per-instance
 * timeouts. The tick only tells the monitor which instances run and reads the stored state; the executor asks
 * the monitor for a fresh re-check right before acting.
 */
import { readFileSync } from 'node:fs';
import { realMs, type Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import type { InstanceAccess } from '../xgc/types.js';
import { GpuLink, hasSshEndpoint, type GpuLinkState } from './gpu-link.js';
import { judgeGpuWindow, type BusyEvidence, type GpuSample, type GpuThresholds } from './gpu-signals.js';
import { unknownResult } from './http.js';
import { loadProbeState, persistProbeResults, runProbes, type ProbeOptions, type ProbeResults, type StoredProbeAnswer } from './runner.js';
import type { ReasonCode } from '../notify/reasons.js';
import type { ProbeLogger, ProbeResult } from './types.js';

/** Options of the `gpu` probe (durations in ms). */
export interface GpuProbeOptions extends GpuThresholds {
  enabled: boolean;
  sampleEveryMs: number;
  connectTimeoutMs: number;
  /** a GPU answer older than this is unknown */
  staleAfterMs: number;
  privateKeyFile?: string;
  /** SSH handshakes in flight at once */
  connectConcurrency: number;
}

/** Everything the monitor needs from the config. */
export interface MonitorOptions {
  gpu: GpuProbeOptions;
  /** the polled probes (jupyter, comfyui, sdwebui, heartbeat) */
  apps: ProbeOptions;
  /** how often the polled probes run */
  appIntervalMs: number;
  /** polled probe runs in flight at once */
  concurrency: number;
}

/** Dependencies of the monitor. */
export interface MonitorDeps {
  db: Db;
  clock: Clock;
  log?: ProbeLogger;
  options: MonitorOptions;
}

/** What the executor's re-check found. */
export interface Recheck {
  busy: boolean;
  detail: string;
  /** whether a GPU sample fresh enough to act on was seen (within two sample periods) */
  gpuFresh: boolean;
}

interface Target {
  access: InstanceAccess;
  link: GpuLink | null;
  samples: GpuSample[];
  lastGpuAt: number | null;
  /** the newest busy sample and when it was seen stopped (see `judgeGpuWindow`) */
  lastBusy: BusyEvidence | null;
  watchingSince: number;
  /**
   * The last idle answer stored for this instance before this target existed (a previous daemon's): its idle
   * `since` carries over when this link streams soon enough after it (see `resumeWatching`).
   */
  stored: { since: number; seenAt: number } | null;
  /** whether the current connection has delivered its first GPU sample (and `resumeWatching` has run) */
  resumed: boolean;
  /**
   * Since when the GPU has not been seen (the first unknown answer of this stretch), null while it is seen. An
   * unknown answer carries it as its `since`, so a warning given in one unseen stretch never counts for the next.
   */
  unseenSince: number | null;
  state: GpuLinkState;
}

/** A counting semaphore for SSH handshakes. */
function semaphore(n: number): () => Promise<() => void> {
  let free = n;
  const waiting: Array<() => void> = [];
  return () =>
    new Promise((resolve) => {
      const grant = () => {
        let done = false;
        resolve(() => {
          if (done) return;
          done = true;
          free++;
          waiting.shift()?.();
        });
      };
      if (free > 0) {
        free--;
        grant();
      } else waiting.push(() => (free--, grant()));
    });
}

/** The probe monitor of one daemon. */
export class ProbeMonitor {
  private targets = new Map<string, Target>();
  /** instances this monitor stopped watching (stopped, gone or moved): no stored answer carries over to them */
  private dropped = new Set<string>();
  /** settle() calls waiting for the next GPU sample */
  private waiters: Array<() => void> = [];
  private timers: NodeJS.Timeout[] = [];
  private polling: Promise<void> | null = null;
  private readonly acquire: () => Promise<() => void>;
  private privateKey: Buffer | undefined;
  private keyError: string | null = null;

  constructor(private readonly deps: MonitorDeps) {
    const g = deps.options.gpu;
    this.acquire = semaphore(Math.max(1, g.connectConcurrency));
    if (g.enabled && g.privateKeyFile) {
      try {
        this.privateKey = readFileSync(g.privateKeyFile);
      } catch {
        this.keyError = `cannot read probes.gpu.private_key_file ${g.privateKeyFile}`;
        deps.log?.warn({ file: g.privateKeyFile }, this.keyError);
      }
    }
  }

  /** The running instances to watch: new ones get a link, ones that stopped running lose theirs. */
  setTargets(running: InstanceAccess[]): void {
    const now = this.deps.clock.now();
    const seen = new Set<string>();
    const added: InstanceAccess[] = [];
    for (const a of running) {
      seen.add(a.id);
      const t = this.targets.get(a.id);
      if (t && sameEndpoint(t.access, a)) {
        t.access = a;
        continue;
      }
      if (t) this.drop(a.id);
      added.push(a);
    }
    // new targets (all of them right after a restart): the GPU answers stored before, in one read
    // (not for one this monitor watched and dropped: its stored answer is from before a stop this daemon saw)
    const stored = added.length && this.deps.options.gpu.enabled ? loadProbeState(this.deps.db, added.map((a) => a.id)) : new Map<string, Record<string, StoredProbeAnswer>>();
    for (const a of added) this.add(a, now, this.dropped.has(a.id) ? undefined : stored.get(a.id)?.gpu);
    for (const id of [...this.targets.keys()]) if (!seen.has(id)) this.drop(id);
  }

  /**
   * At the first GPU sample of a connection (taken at `at`): a new stretch of watching, since what happened in the gap was not seen;
   * unless the gap since the GPU was last seen is no longer than `stale_after`, the same gap an answer may stand
   * unverified: then the earlier stretch goes on (its busy samples and idle `since` still count). Without this
   * every reconnect and every daemon restart would start `idle_for` over, and a guard restarted more often than
   * `idle_for` would never release. The last sample before a stored answer may be up to `sample_every` older
   * than the answer, so that much is taken off the allowed gap.
   */
  private resumeWatching(t: Target, at: number): void {
    const g = this.deps.options.gpu;
    if (t.lastGpuAt !== null) {
      if (at - t.lastGpuAt > g.staleAfterMs) t.watchingSince = at;
      return;
    }
    const prior = t.stored;
    t.stored = null;
    t.watchingSince = prior && at - (prior.seenAt - g.sampleEveryMs) <= g.staleAfterMs ? Math.min(prior.since, at) : at;
  }

  private add(a: InstanceAccess, now: number, stored?: StoredProbeAnswer): void {
    const g = this.deps.options.gpu;
    const carried = stored && stored.verdict === 'idle' && stored.since !== null ? { since: stored.since, seenAt: stored.checkedAt } : null;
    const t: Target = { access: a, link: null, samples: [], lastGpuAt: null, lastBusy: null, watchingSince: now, stored: carried, resumed: false, unseenSince: null, state: { state: 'connecting' } };
    this.targets.set(a.id, t);
    if (!g.enabled) return;
    if (this.keyError) {
      t.state = { state: 'down', why: 'no_credentials', detail: this.keyError, code: { code: 'gpu.down_no_credentials', params: {} } };
      return;
    }
    t.link = new GpuLink(
      a,
      { sampleEveryMs: g.sampleEveryMs, connectTimeoutMs: g.connectTimeoutMs, privateKey: this.privateKey, backoffBaseMs: 1_000, backoffCapMs: 60_000 },
      {
        db: this.deps.db,
        clock: this.deps.clock,
        log: this.deps.log,
        acquire: this.acquire,
        onState: (s) => {
          t.state = s;
          // a new connection: its first sample decides whether the earlier stretch of watching goes on
          if (s.state !== 'streaming') t.resumed = false;
        },
        onSample: (s) => this.take(t, s),
      },
    );
    t.link.start();
  }

  private take(t: Target, s: GpuSample): void {
    t.samples.push(s);
    if (s.gpus && !t.resumed) {
      this.resumeWatching(t, s.at);
      t.resumed = true;
    }
    if (s.gpus) {
      t.lastGpuAt = s.at;
      for (const w of this.waiters.splice(0)) w();
    }
    const keep = Math.max(this.deps.options.gpu.windowMs, this.deps.options.gpu.sampleEveryMs * 3) + 1_000;
    while (t.samples.length > 0 && s.at - t.samples[0].at > keep) t.samples.shift();
    if (t.samples.length > 512) t.samples.splice(0, t.samples.length - 512);
  }

  private drop(id: string): void {
    this.dropped.add(id);
    this.targets.get(id)?.link?.stop();
    this.targets.delete(id);
  }

  /** The `gpu` answer for an instance at `now` (null when the probe is off or the instance is not watched). */
  gpuAnswer(id: string, now: number): ProbeResult | null {
    const g = this.deps.options.gpu;
    const t = this.targets.get(id);
    if (!g.enabled || !t) return null;
    const answer = this.judge(t, now);
    if (answer.verdict !== 'unknown') t.unseenSince = null;
    else answer.since = t.unseenSince = Math.min(t.unseenSince ?? now, now);
    return answer;
  }

  private judge(t: Target, now: number): ProbeResult {
    const g = this.deps.options.gpu;
    const notSeen =
      t.state.state === 'down' ? { text: t.state.detail, code: t.state.code } : t.state.state === 'connecting' ? { text: 'connecting over SSH', code: { code: 'gpu.connecting', params: {} } } : null;
    const unseen = (text: string, codes: ReasonCode[]) => unknownResult(`GPU not seen: ${text}`, undefined, { code: 'gpu.not_seen', params: {}, details: codes });
    if (t.lastGpuAt === null) return notSeen ? unseen(notSeen.text, [notSeen.code]) : unseen('no sample yet', [{ code: 'gpu.no_sample', params: {} }]);
    const age = now - t.lastGpuAt;
    if (age > g.staleAfterMs) {
      const stale: ReasonCode = { code: 'gpu.stale', params: { age_ms: age } };
      return unseen(`last sample ${Math.round(age / 1000)}s ago${notSeen ? ` (${notSeen.text})` : ''}`, notSeen ? [stale, notSeen.code] : [stale]);
    }
    const { lastBusy, ...answer } = judgeGpuWindow(t.samples, now, g, { lastBusy: t.lastBusy, watchingSince: t.watchingSince });
    t.lastBusy = lastBusy;
    return answer.verdict === 'unknown' ? unseen(answer.detail, answer.code ? [answer.code] : []) : answer;
  }

  /** Store the `gpu` answer of every watched instance (one transaction; history only on verdict changes). */
  flushGpu(): void {
    if (!this.deps.options.gpu.enabled) return;
    const now = this.deps.clock.now();
    const results: ProbeResults = new Map();
    for (const id of this.targets.keys()) {
      const a = this.gpuAnswer(id, now);
      if (a) results.set(id, { gpu: a });
    }
    if (results.size) persistProbeResults(this.deps.db, results, now);
  }

  /** Run the polled probes over the watched instances once and store their answers (single-flight). */
  pollApps(): Promise<void> {
    if (this.polling) return this.polling;
    const round = async () => {
      const targets = [...this.targets.values()].map((t) => t.access);
      if (targets.length === 0) return;
      const { db, clock, log, options } = this.deps;
      const res = await runProbes(targets, options.apps, { db, clock, log, concurrency: options.concurrency });
      // instances that stopped while we polled are not written back
      for (const id of [...res.keys()]) if (!this.targets.has(id)) res.delete(id);
      persistProbeResults(db, res, clock.now());
    };
    const p = round().finally(() => {
      if (this.polling === p) this.polling = null;
    });
    this.polling = p;
    return p;
  }

  /** Start the cadences: GPU answers stored every `sample_every`, polled probes every `appIntervalMs`. */
  start(): void {
    const o = this.deps.options;
    const every = (ms: number, fn: () => unknown) => {
      const t = setInterval(() => {
        try {
          void Promise.resolve(fn()).catch((err) => this.deps.log?.warn({ err: String(err) }, 'probe round failed'));
        } catch (err) {
          this.deps.log?.warn({ err: String(err) }, 'probe round failed');
        }
      }, realMs(this.deps.clock, ms));
      t.unref?.();
      this.timers.push(t);
    };
    if (o.gpu.enabled) every(o.gpu.sampleEveryMs, () => this.flushGpu());
    every(o.appIntervalMs, () => this.pollApps());
  }

  /** Stop the cadences and close every SSH connection (waits for a poll in flight). */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const id of [...this.targets.keys()]) this.drop(id);
    await this.polling;
  }

  /**
   * Wait (at most `timeoutMs`, a timer: the I/O it waits for runs in real time, whatever the clock says) until every
   * link that can stream has a GPU sample younger than one sample period (the one due by now: the stream prints
   * once a period), after asking each for a CPU/network/login reading. For stepped clocks (tests, benchmarks) and
   * one-shot commands; the daemon never waits on this. True when every such link had its sample, false on timeout.
   */
  async settle(timeoutMs = 3_000): Promise<boolean> {
    const now = this.deps.clock.now();
    const due = now - this.deps.options.gpu.sampleEveryMs;
    let expired = false;
    const deadline = setTimeout(() => (expired = true), timeoutMs);
    const pending = () => [...this.targets.values()].filter((t) => t.link && t.state.state !== 'down' && (t.lastGpuAt === null || t.lastGpuAt <= due));
    try {
      await Promise.all([...this.targets.values()].flatMap((t) => (t.link ? [t.link.sampleNow()] : [])));
      while (pending().length > 0 && !expired) {
        // wake on the next GPU sample, or re-check after a moment (a link may have gone down meanwhile)
        await new Promise<void>((r) => {
          const t = setTimeout(r, 50);
          this.waiters.push(() => (clearTimeout(t), r()));
        });
      }
      return pending().length === 0;
    } finally {
      clearTimeout(deadline);
    }
  }

  /**
   * Right before acting on an instance: run its polled probes live (only `only`, when given) and judge its GPU
   * now. Busy from any source wins; `gpuFresh` tells whether the GPU was seen within two sample periods.
   */
  async recheck(access: InstanceAccess, only?: string[]): Promise<Recheck> {
    const { db, clock, log, options } = this.deps;
    const apps = only ? (Object.fromEntries(Object.entries(options.apps).filter(([n]) => only.includes(n))) as ProbeOptions) : options.apps;
    const res = await runProbes([access], apps, { db, clock, log, concurrency: 4 });
    const answers: Record<string, ProbeResult> = { ...(res.get(access.id) ?? {}) };
    const t = this.targets.get(access.id);
    if (t?.link) await t.link.sampleNow();
    const now = clock.now();
    const gpu = this.gpuAnswer(access.id, now);
    if (gpu && (!only || only.includes('gpu'))) answers.gpu = gpu;
    const gpuFresh = t !== undefined && t.lastGpuAt !== null && now - t.lastGpuAt <= 2 * options.gpu.sampleEveryMs;
    const busy = Object.entries(answers).filter(([, r]) => r.verdict === 'busy');
    return { busy: busy.length > 0, detail: busy.map(([n, r]) => `${n}: ${r.detail}`).join('; '), gpuFresh };
  }

  /** Counts for logs and metrics: watched instances, links streaming, links down by reason, sample ages. */
  status(now = this.deps.clock.now()): { watched: number; streaming: number; down: Record<string, number>; sampleAgesMs: number[] } {
    const down: Record<string, number> = {};
    let streaming = 0;
    const ages: number[] = [];
    for (const t of this.targets.values()) {
      if (t.state.state === 'streaming') streaming++;
      if (t.state.state === 'down') down[t.state.why] = (down[t.state.why] ?? 0) + 1;
      if (t.lastGpuAt !== null) ages.push(now - t.lastGpuAt);
    }
    return { watched: this.targets.size, streaming, down, sampleAgesMs: ages };
  }

  /** Why the GPU of an instance cannot be seen (null when it can, or the probe is off). */
  gpuDownReason(id: string): string | null {
    const t = this.targets.get(id);
    if (!t?.link) return null;
    return t.state.state === 'down' ? t.state.why : null;
  }
}

/** Whether two accesses reach the same SSH endpoint with the same credentials (else the link is rebuilt). */
function sameEndpoint(a: InstanceAccess, b: InstanceAccess): boolean {
  return a.sshHost === b.sshHost && a.sshPort === b.sshPort && a.sshUser === b.sshUser && a.password === b.password && hasSshEndpoint(a) === hasSshEndpoint(b);
}
