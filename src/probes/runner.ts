/**
 * Runs the enabled probes over running instances with a concurrency limit and a timeout per probe,
 * and stores only what matters: the last answer per (instance, probe) and verdict changes. Never secrets.
 */
import { allRows, changeCounter, changeCounterInTransaction, rawClient, runRaw } from '../db/prepared.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import type { InstanceAccess } from '../xgc/types.js';
import type { ComfyUiProbeOptions } from './comfyui.js';
import type { HeartbeatProbeOptions } from './heartbeat.js';
import { describeError, errorPhrase } from './http.js';
import type { JupyterProbeOptions } from './jupyter.js';
import { probeRegistry, type ProbeRegistry } from './registry.js';
import type { SdWebUiProbeOptions } from './sdwebui.js';
import { parseReasonCode, type ReasonCode } from '../notify/reasons.js';
import type { ProbeContext, ProbeDefinition, ProbeLogger, ProbeResult, Verdict } from './types.js';

/** `enabled` switch of each probe's options (missing = enabled when the entry is present). */
export interface ProbeSwitch {
  enabled?: boolean;
}

/** Options of every polled probe, keyed by name; a probe runs when its entry is present and not `enabled: false`. */
export interface ProbeOptions {
  jupyter?: ProbeSwitch & Partial<JupyterProbeOptions>;
  comfyui?: ProbeSwitch & Partial<ComfyUiProbeOptions>;
  sdwebui?: ProbeSwitch & Partial<SdWebUiProbeOptions>;
  heartbeat?: ProbeSwitch & Partial<HeartbeatProbeOptions>;
}

/** The polled probes' defaults (the streaming `gpu` probe lives in monitor.ts). */
export const DEFAULT_PROBE_OPTIONS: ProbeOptions = {
  jupyter: { enabled: true },
  comfyui: { enabled: true },
  sdwebui: { enabled: true },
  heartbeat: { enabled: true },
};

/** Dependencies of {@link runProbes}. */
export interface RunProbesDeps {
  db: Db;
  clock: Clock;
  log?: ProbeLogger;
  /** Probe runs in flight at once, over all instances (default 8). */
  concurrency?: number;
  /** Registry to build probes from (default: the built-in one). */
  registry?: ProbeRegistry;
}

/** Results of one round: instance id -> probe name -> answer. Probes that do not apply to an instance are absent. */
export type ProbeResults = Map<string, Record<string, ProbeResult>>;

/** Build the enabled probes from their options; throws UnknownProbeError for a name not in the registry. */
export function buildProbes(enabled: ProbeOptions, registry: ProbeRegistry = probeRegistry): ProbeDefinition[] {
  const out: ProbeDefinition[] = [];
  for (const [name, raw] of Object.entries(enabled) as [string, (ProbeSwitch & Record<string, unknown>) | undefined][]) {
    const kind = registry.get(name);
    if (!raw || raw.enabled === false) continue;
    const { enabled: _ignored, ...options } = raw;
    out.push(kind.create(options));
  }
  return out;
}

const MAX_DETAIL = 500;

/** Replace any secret of the instance that slipped into a detail, and cap its length. */
function scrub(detail: string, access: InstanceAccess): string {
  let d = String(detail ?? '');
  for (const secret of [access.password, access.jupyterToken]) {
    if (secret && secret.length >= 4) d = d.split(secret).join('***');
  }
  return d.length > MAX_DETAIL ? d.slice(0, MAX_DETAIL - 1) + '…' : d;
}

/** A reason code with every string parameter scrubbed like the detail (recursively through `details`). */
function scrubCode(code: ReasonCode, access: InstanceAccess): ReasonCode {
  const params: ReasonCode['params'] = {};
  for (const [k, v] of Object.entries(code.params ?? {})) params[k] = typeof v === 'string' ? scrub(v, access) : v;
  const out: ReasonCode = { code: String(code.code), params };
  if (code.details) out.details = code.details.map((d) => scrubCode(d, access));
  return out;
}

function sanitize(result: ProbeResult, access: InstanceAccess): ProbeResult {
  const verdict: Verdict = result.verdict === 'busy' || result.verdict === 'idle' ? result.verdict : 'unknown';
  const out: ProbeResult = { verdict, detail: scrub(result.detail, access) };
  if (result.code) out.code = scrubCode(result.code, access);
  if (typeof result.since === 'number' && Number.isFinite(result.since)) out.since = result.since;
  if (result.metrics) {
    const m: Record<string, number> = {};
    for (const [k, v] of Object.entries(result.metrics)) if (typeof v === 'number' && Number.isFinite(v)) m[k] = v;
    out.metrics = m;
  }
  return out;
}

/** Run one probe on one instance within its timeout; never rejects. */
async function runOne(
  probe: ProbeDefinition,
  access: InstanceAccess,
  timeoutMs: number,
  deps: RunProbesDeps,
): Promise<ProbeResult> {
  const controller = new AbortController();
  const ctx: ProbeContext = { now: deps.clock.now(), clock: deps.clock, timeoutMs, db: deps.db, log: deps.log, signal: controller.signal };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ verdict: 'unknown', detail: `timed out after ${timeoutMs} ms`, code: { code: 'probe.timeout', params: { probe: probe.name, timeout_ms: timeoutMs } } }),
      timeoutMs,
    );
  });
  try {
    const result = await Promise.race([probe.run(access, ctx), timeout]);
    return sanitize(result, access);
  } catch (err) {
    deps.log?.warn({ instanceId: access.id, probe: probe.name, error: describeError(err) }, 'probe failed');
    return sanitize({ verdict: 'unknown', detail: `probe failed: ${describeError(err)}`, code: { code: 'probe.failed', params: { probe: probe.name, error: errorPhrase(err) } } }, access);
  } finally {
    clearTimeout(timer);
    controller.abort(); // stop whatever the probe still has in flight
  }
}

/**
 * Probe `targets` (running instances) with the enabled probes. Each (instance, probe) run is bounded by the
 * probe's timeout; failures and timeouts become `unknown`. At most `concurrency` runs are in flight at once.
 */
export async function runProbes(targets: InstanceAccess[], enabled: ProbeOptions, deps: RunProbesDeps): Promise<ProbeResults> {
  const probes = buildProbes(enabled, deps.registry ?? probeRegistry);
  const timeouts = new Map<string, number>();
  for (const p of probes) {
    const t = (enabled as Record<string, { timeoutMs?: number } | undefined>)[p.name]?.timeoutMs;
    timeouts.set(p.name, typeof t === 'number' && t > 0 ? t : p.defaultTimeoutMs);
  }
  const results: ProbeResults = new Map();
  const tasks: { access: InstanceAccess; probe: ProbeDefinition }[] = [];
  for (const access of targets) {
    results.set(access.id, {});
    for (const probe of probes) if (probe.appliesTo(access)) tasks.push({ access, probe });
  }
  const limit = Math.max(1, Math.floor(deps.concurrency ?? 8));
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const { access, probe } = tasks[next++];
      const result = await runOne(probe, access, timeouts.get(probe.name)!, deps);
      results.get(access.id)![probe.name] = result;
      deps.log?.debug({ instanceId: access.id, probe: probe.name, verdict: result.verdict, detail: result.detail }, 'probe answered');
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** A stored last answer of a probe. `since` is when the current verdict began. */
export interface StoredProbeAnswer {
  verdict: Verdict;
  since: number;
  detail: string;
  code?: ReasonCode;
  metrics?: Record<string, number>;
  checkedAt: number;
}

const UPSERT_STATE = `insert into probe_state (instance_id, probe, verdict, since, detail, detail_code, metrics, checked_at) values (?, ?, ?, ?, ?, ?, ?, ?)
  on conflict (instance_id, probe) do update set verdict = excluded.verdict, since = excluded.since, detail = excluded.detail, detail_code = excluded.detail_code, metrics = excluded.metrics, checked_at = excluded.checked_at`;
const INSERT_CHANGE = 'insert into probe_changes (instance_id, probe, verdict, at, detail, detail_code) values (?, ?, ?, ?, ?, ?)';

/**
 * Store a round's answers in one transaction: upsert `probe_state` (keeping `since` while the verdict is
 * unchanged; an idle answer's own `since` wins), and add a `probe_changes` row only when the verdict changed.
 * The previous answers are read in one query and the rows written through prepared statements: a round at scale
 * is over a thousand answers per tick. The connection's copy of the answers (see `loadProbeState`) takes what was
 * written once it is committed. Returns how many verdict changes were recorded.
 */
export function persistProbeResults(db: Db, results: ProbeResults, now: number): number {
  let changes = 0;
  const ids = [...results.keys()];
  const client = rawClient(db);
  // inside a caller's transaction the writes may yet be rolled back: the copy is left to the counter then
  const keep = client !== null && !client.inTransaction;
  const written: StateRow[] = [];
  let counter: { to: number } | null = null;
  db.transaction(() => {
    // the previous answers as this transaction sees them: from the copy brought to the counter read here
    const from = keep ? changeCounterInTransaction(db, 'probe_state') : null;
    const before = from === null ? readState(db, ids) : keptState(db, client!, from, ids);
    for (const [instanceId, byProbe] of results) {
      for (const [probe, r] of Object.entries(byProbe)) {
        const prev = before.get(instanceId)?.[probe];
        const changed = !prev || prev.verdict !== r.verdict;
        let since: number;
        if (r.verdict === 'idle' && r.since !== undefined) since = Math.min(r.since, now);
        else since = changed || !prev ? now : prev.since;
        const detailCode = r.code ? JSON.stringify(r.code) : null;
        const row: StateRow = [instanceId, probe, r.verdict, since, r.detail, detailCode, r.metrics ? JSON.stringify(r.metrics) : null, now];
        runRaw(db, UPSERT_STATE, row);
        if (keep) written.push(row);
        if (changed) {
          runRaw(db, INSERT_CHANGE, [instanceId, probe, r.verdict, now, r.detail, detailCode]);
          changes++;
        }
      }
    }
    if (keep) counter = { to: changeCounterInTransaction(db, 'probe_state') };
  });
  // committed: the copy stood at `from` and holds every written instance (keptState above), nothing ran since
  if (keep && counter) keepWritten(client!, counter, written);
  return changes;
}

const STATE_COLUMNS = 'select instance_id, probe, verdict, since, detail, detail_code, metrics, checked_at from probe_state';
// one JSON array parameter instead of one placeholder per id: prepared once, whatever the number of instances
const STATE_OF = `${STATE_COLUMNS} where instance_id in (select value from json_each(?))`;
type StateRow = [string, string, string, number, string, string | null, string | null, number];
type StoredAnswers = Readonly<Record<string, Readonly<StoredProbeAnswer>>>;

function answerOf([, , verdict, since, detail, detailCode, metrics, checkedAt]: StateRow): Readonly<StoredProbeAnswer> {
  const answer: StoredProbeAnswer = { verdict: verdict as Verdict, since, detail, checkedAt };
  if (metrics) answer.metrics = JSON.parse(metrics) as Record<string, number>;
  const code = parseReasonCode(detailCode);
  if (code) answer.code = code;
  return Object.freeze(answer);
}

function readState(db: Db, instanceIds?: string[]): Map<string, StoredAnswers> {
  const out = new Map<string, Record<string, Readonly<StoredProbeAnswer>>>();
  const rows = instanceIds ? allRows<StateRow>(db, STATE_OF, [JSON.stringify(instanceIds)]) : allRows<StateRow>(db, STATE_COLUMNS, []);
  for (const row of rows) {
    let rec = out.get(row[0]);
    if (!rec) out.set(row[0], (rec = {}));
    rec[row[1]] = answerOf(row);
  }
  for (const rec of out.values()) Object.freeze(rec);
  return out;
}

/**
 * One connection's copy of `probe_state`, valid while its counter (migration 0009) stands at `version`: per
 * instance every stored answer, or null for none. The probe monitor writes a thousand answers every few seconds
 * and every view of the instance list reads them all back; this connection's own writes keep the copy, any other
 * change (another process, a job that prunes) empties it.
 */
interface StateCopy {
  version: number;
  byInstance: Map<string, StoredAnswers | null>;
  /** the most instances one read asked for since the copy began (bounds what it keeps of instances gone) */
  widest: number;
}

const copies = new WeakMap<object, StateCopy>();

function keepWritten(client: object, counter: { to: number }, written: StateRow[]): void {
  const copy = copies.get(client)!;
  const changed = new Map<string, Record<string, Readonly<StoredProbeAnswer>>>();
  for (const row of written) {
    let rec = changed.get(row[0]);
    if (!rec) changed.set(row[0], (rec = { ...copy.byInstance.get(row[0]) }));
    rec[row[1]] = answerOf(row);
  }
  // in the order a read gives (by probe name), whichever probe answered first
  for (const [id, rec] of changed) copy.byInstance.set(id, Object.freeze(Object.fromEntries(Object.entries(rec).sort(([a], [b]) => (a < b ? -1 : 1)))));
  copy.version = counter.to;
}

/**
 * The stored last answers, instance id -> probe name -> answer (all instances, or only `instanceIds`). The answers
 * are frozen and may be shared between calls: what a connection read or wrote is kept while nothing else wrote.
 */
export function loadProbeState(db: Db, instanceIds?: string[]): Map<string, StoredAnswers> {
  if (instanceIds && instanceIds.length === 0) return new Map();
  const client = rawClient(db);
  const version = instanceIds ? changeCounter(db, 'probe_state') : null;
  if (!instanceIds || !client || version === null) return readState(db, instanceIds);
  return keptState(db, client, version, instanceIds);
}

/** How many instances the copy of `db`'s connection holds (answers or "none"): for tests and diagnostics. */
export function keptInstanceCount(db: Db): number {
  const client = rawClient(db);
  return (client && copies.get(client)?.byInstance.size) ?? 0;
}

/** The answers of `instanceIds` from the connection's copy, brought to `version` (the counter as the reader sees it). */
function keptState(db: Db, client: object, version: number, instanceIds: string[]): Map<string, StoredAnswers> {
  let copy = copies.get(client);
  if (!copy || copy.version !== version || copy.byInstance.size > 2 * Math.max(copy.widest, instanceIds.length) + 64) {
    copies.set(client, (copy = { version, byInstance: new Map(), widest: 0 }));
  }
  copy.widest = Math.max(copy.widest, instanceIds.length);
  const held = copy.byInstance;
  const missing = instanceIds.filter((id) => !held.has(id));
  if (missing.length) {
    const read = readState(db, missing);
    for (const id of missing) held.set(id, read.get(id) ?? null);
  }
  const out = new Map<string, StoredAnswers>();
  for (const id of instanceIds) {
    const rec = held.get(id);
    if (rec) out.set(id, rec);
  }
  return out;
}
