/**
 * Prometheus metrics on a per-app Registry (never the global one), by Prometheus conventions: base units
 * (seconds, yuan), counters that only ever go up, series that never drop.
 *
 * Counters: tick duration, cloud API requests and errors are incremented where they happen. Action
 * transitions are counted once each as the journal shows them (after each tick, and at a scrape), reading only
 * journal rows that are new or still moving; spend and savings advance by what accrued since the last look,
 * never backwards. On start every counter is seeded from the database, so a restart continues the values
 * instead of dropping them to zero. Gauges (balance, burn rate, runway, instances by status, last success,
 * blind, outbox) are read at each scrape from a few aggregates in `src/db/metrics.ts`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from '../db/open.js';
import { firstSentAt, instanceSeries, instancesByStatus, intervalRowsSince, journalSeed, spendSeed, journalRowsSince, lastBalance, lastSuccessAt, lastTickOutcome, type IntervalRow, type JournalRow } from '../db/metrics.js';
import { SAVINGS_CAP_MS, savingStretches } from '../db/savings.js';
import { burnRate } from '../db/spend.js';
import { accrued } from '../money.js';
import { outboxDepth } from '../notify/index.js';

/** Default process metrics that promtool flags (gauges named `_total`); dropped so the text lints clean. */
const LINT_DIRTY_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Where the incremental counters stand (watermarks, rows still moving, what was last shown). */
interface CounterState {
  actionsMaxId: number;
  /** journal rows that can still change state -> the states already counted */
  openActions: Map<number, Set<string>>;
  intervalsMaxId: number;
  openIntervals: Map<number, IntervalRow>;
  /** yuan of closed intervals per instance */
  closedSpend: Map<string, number>;
  /** per instance: the name label in use and the value shown */
  spendShown: Map<string, { name: string; value: number }>;
  /** savings of releases sent before this time can no longer change (capped) */
  settledBefore: number;
  settledSaved: Map<string, number>;
  savedShown: Map<string, number>;
  /** instance statuses ever reported (kept at 0 when none are left) */
  statuses: Set<string>;
}

/** The metrics of one app. */
export interface Metrics {
  registry: Registry;
  /** seconds per tick (observe in the tick job) */
  tickDuration: Histogram<'outcome'>;
  /** cloud API calls by endpoint and result (ok | error class) */
  apiRequests: Counter<'endpoint' | 'result'>;
  /** cloud API errors by class */
  apiErrors: Counter<'class'>;
  /** journal transitions: rows that entered `state`, by policy, action and mode */
  actionsTotal: Counter<'policy' | 'action' | 'mode' | 'state'>;
  /** 1 when the last tick was blind, else 0 */
  blind: Gauge;
  balance: Gauge;
  burnRate: Gauge;
  runway: Gauge;
  instances: Gauge<'status'>;
  estimatedSpend: Counter<'instance' | 'name'>;
  saved: Counter<'policy'>;
  lastSuccess: Gauge;
  outboxDepth: Gauge<'state'>;
  state: CounterState;
}

/** Create a fresh registry with every xgc-guard metric and the default process metrics. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of LINT_DIRTY_DEFAULTS) registry.removeSingleMetric(name);
  const r = [registry];
  return {
    registry,
    tickDuration: new Histogram({
      name: 'xgc_guard_tick_duration_seconds',
      help: 'Duration of one observe/record/probe/decide/act tick.',
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: r,
    }),
    apiRequests: new Counter({ name: 'xgc_guard_cloud_api_requests_total', help: 'Requests to the XianGong Open API by endpoint and result.', labelNames: ['endpoint', 'result'], registers: r }),
    apiErrors: new Counter({ name: 'xgc_guard_cloud_api_errors_total', help: 'Failed XianGong Open API requests by error class.', labelNames: ['class'], registers: r }),
    actionsTotal: new Counter({
      name: 'xgc_guard_actions_total',
      help: 'Action journal transitions: rows that entered a state (deferred, decided, sent, confirmed, failed, aborted), by policy, action and mode.',
      labelNames: ['policy', 'action', 'mode', 'state'],
      registers: r,
    }),
    blind: new Gauge({ name: 'xgc_guard_blind', help: '1 when the last tick could not observe the account (blind), else 0.', registers: r }),
    balance: new Gauge({ name: 'xgc_guard_balance_yuan', help: 'Last observed account balance in yuan (NaN before the first one).', registers: r }),
    burnRate: new Gauge({ name: 'xgc_guard_burn_rate_yuan_per_hour', help: 'Sum of the billed rates of all instances now (yuan per hour).', registers: r }),
    runway: new Gauge({
      name: 'xgc_guard_runway_seconds',
      help: 'Seconds until the balance reaches zero at the current burn rate (+Inf when nothing burns, NaN before the first balance).',
      registers: r,
    }),
    instances: new Gauge({ name: 'xgc_guard_instances', help: 'Known instances by status.', labelNames: ['status'], registers: r }),
    estimatedSpend: new Counter({
      name: 'xgc_guard_estimated_spend_yuan_total',
      help: 'Estimated spend per instance since first seen (status intervals x rates), in yuan.',
      labelNames: ['instance', 'name'],
      registers: r,
    }),
    saved: new Counter({ name: 'xgc_guard_saved_yuan_total', help: 'Yuan saved by the GPUs the guard released (until booted again, capped at 7 days each), by policy.', labelNames: ['policy'], registers: r }),
    lastSuccess: new Gauge({ name: 'xgc_guard_last_success_timestamp_seconds', help: 'Unix time of the last successful tick (0 before the first).', registers: r }),
    outboxDepth: new Gauge({ name: 'xgc_guard_outbox_depth', help: 'Notification deliveries waiting (pending) or given up (dead).', labelNames: ['state'], registers: r }),
    state: {
      actionsMaxId: 0,
      openActions: new Map(),
      intervalsMaxId: 0,
      openIntervals: new Map(),
      closedSpend: new Map(),
      spendShown: new Map(),
      settledBefore: 0,
      settledSaved: new Map(),
      savedShown: new Map(),
      statuses: new Set(),
    },
  };
}

/** The states a journal row has entered, as far as its current state tells. */
function entered(r: JournalRow): string[] {
  switch (r.state) {
    case 'deferred':
    case 'decided':
      return [r.state];
    case 'sent':
      return ['decided', 'sent'];
    case 'confirmed':
      return r.sentAt !== null ? ['decided', 'sent', 'confirmed'] : ['decided', 'confirmed'];
    default:
      return ['decided', r.state];
  }
}

/** Whether a journal row may still change state (deferred, sent, or an enforce decision in flight). */
const moving = (r: JournalRow) => r.state === 'deferred' || r.state === 'sent' || (r.state === 'decided' && r.mode === 'enforce');

/** Count each journal transition once: new rows and rows that were still moving. */
export function syncActionCounters(m: Metrics, db: Db): void {
  const st = m.state;
  if (st.actionsMaxId === 0) {
    // the first sync of this process: the journal so far counted in groups, not row by row
    const seed = journalSeed(db);
    for (const { row, n } of seed.groups) for (const s of entered({ id: 0, ...row })) m.actionsTotal.inc({ policy: row.policy, action: row.action, mode: row.mode, state: s }, n);
    for (const r of seed.moving) st.openActions.set(r.id, new Set(entered(r)));
    st.actionsMaxId = seed.throughId;
  }
  for (const r of journalRowsSince(db, st.actionsMaxId, [...st.openActions.keys()])) {
    const counted = st.openActions.get(r.id) ?? new Set<string>();
    for (const s of entered(r))
      if (!counted.has(s)) {
        m.actionsTotal.inc({ policy: r.policy, action: r.action, mode: r.mode, state: s });
        counted.add(s);
      }
    if (moving(r)) st.openActions.set(r.id, counted);
    else st.openActions.delete(r.id);
    st.actionsMaxId = Math.max(st.actionsMaxId, r.id);
  }
}

/**
 * How long an instance's spend series stays after it is gone. Without an end, a year of instances that came and
 * went made 8,098 series and an 849 KB scrape at 1,000 listed instances (bench/RESULTS.md).
 */
export const SPEND_SERIES_AFTER_GONE_MS = 86_400_000;

/** Advance per-instance spend: closed intervals are summed once, open ones accrue up to `now`; see SPEND_SERIES_AFTER_GONE_MS. */
function syncSpend(m: Metrics, db: Db, now: number): void {
  const st = m.state;
  if (st.intervalsMaxId === 0) {
    // the first sync of this process: the history so far in one aggregate, not row by row
    const seed = spendSeed(db);
    st.intervalsMaxId = seed.throughId;
    for (const [id, v] of seed.closed) st.closedSpend.set(id, (st.closedSpend.get(id) ?? 0) + v);
    for (const r of seed.open) st.openIntervals.set(r.id, r);
  }
  for (const r of intervalRowsSince(db, st.intervalsMaxId, [...st.openIntervals.keys()])) {
    st.intervalsMaxId = Math.max(st.intervalsMaxId, r.id);
    if (r.to === null) st.openIntervals.set(r.id, r);
    else {
      st.openIntervals.delete(r.id);
      st.closedSpend.set(r.instanceId, (st.closedSpend.get(r.instanceId) ?? 0) + accrued(r.rate, r.from, r.to, -Infinity, Infinity));
    }
  }
  const totals = new Map(st.closedSpend);
  for (const r of st.openIntervals.values()) totals.set(r.instanceId, (totals.get(r.instanceId) ?? 0) + accrued(r.rate, r.from, Math.max(now, r.from), -Infinity, Infinity));
  const known = instanceSeries(db);
  for (const [id, total] of totals) {
    const inst = known.get(id);
    const name = inst?.name ?? '';
    const shown = st.spendShown.get(id);
    if (inst?.goneAt != null && now - inst.goneAt > SPEND_SERIES_AFTER_GONE_MS) {
      // gone for more than a day: its series ends (Prometheus keeps what it scraped); listed again, it continues
      if (shown) {
        m.estimatedSpend.remove({ instance: id, name: shown.name });
        st.spendShown.delete(id);
      }
      continue;
    }
    if (shown && shown.name !== name) {
      // a renamed instance continues under its new name (the old series ends; sum by (instance) stays right)
      m.estimatedSpend.remove({ instance: id, name: shown.name });
      m.estimatedSpend.inc({ instance: id, name }, shown.value);
      shown.name = name;
    }
    const before = shown?.value ?? 0;
    if (total > before) {
      m.estimatedSpend.inc({ instance: id, name }, total - before);
      st.spendShown.set(id, { name, value: total });
    }
  }
}

const SETTLE_SLICE_MS = 30 * 86_400_000;

/** Advance savings by policy: releases older than the cap are settled once, recent ones accrue up to `now`. */
function syncSavings(m: Metrics, db: Db, now: number): void {
  const st = m.state;
  const settleTo = now - SAVINGS_CAP_MS;
  if (settleTo > st.settledBefore) {
    // Stretches that began in [settledBefore, settleTo) have ended (by the cap at the latest): sum them once. Each
    // is read as one overlapping its own slice and kept by where it began, so none is counted twice or dropped (a
    // short one ended by a boot included). A fresh process settles the whole journal here, in 30-day slices.
    const first = st.settledBefore === 0 ? Math.min(firstSentAt(db) ?? settleTo, settleTo) : st.settledBefore;
    for (let a = first; a < settleTo; a += SETTLE_SLICE_MS) {
      const b = Math.min(settleTo, a + SETTLE_SLICE_MS);
      for (const s of savingStretches(db, now, undefined, { from: a, to: b }))
        if (s.start >= a && s.start < b) st.settledSaved.set(s.policy, (st.settledSaved.get(s.policy) ?? 0) + accrued(s.ratePerHour, s.start, s.end, -Infinity, Infinity));
    }
    st.settledBefore = settleTo;
  }
  const totals = new Map(st.settledSaved);
  // the stretches not settled yet, also those a boot already ended (they count what they saved, not 0)
  for (const s of savingStretches(db, now, undefined, { from: settleTo, to: now + 1 }))
    if (s.start >= settleTo) totals.set(s.policy, (totals.get(s.policy) ?? 0) + accrued(s.ratePerHour, s.start, s.end, -Infinity, Infinity));
  for (const [policy, total] of totals) {
    const before = st.savedShown.get(policy) ?? 0;
    if (total > before) {
      m.saved.inc({ policy }, total - before);
      st.savedShown.set(policy, total);
    }
  }
}

/** Bring every metric up to date as of `now`: counters advance, gauges are read. */
export function refreshFromDb(m: Metrics, db: Db, now: number): void {
  syncActionCounters(m, db);
  syncSpend(m, db, now);
  syncSavings(m, db, now);

  const balance = lastBalance(db);
  const burn = burnRate(db);
  m.burnRate.set(burn);
  // Unknown balance: NaN; nothing burning: +Inf seconds of runway (never a misleading 0).
  m.balance.set(balance ?? NaN);
  m.runway.set(balance === null ? NaN : burn > 0 ? Math.max(0, (balance / burn) * 3600) : Infinity);

  const now_ = new Map(instancesByStatus(db).map((r) => [r.status, r.n]));
  for (const s of now_.keys()) m.state.statuses.add(s);
  for (const s of m.state.statuses) m.instances.set({ status: s }, now_.get(s) ?? 0);

  m.blind.set(lastTickOutcome(db) === 'blind' ? 1 : 0);
  const ok = lastSuccessAt(db);
  m.lastSuccess.set(ok === null ? 0 : ok / 1000);

  const depth = outboxDepth(db);
  m.outboxDepth.set({ state: 'pending' }, depth.pending);
  m.outboxDepth.set({ state: 'dead' }, depth.dead);
}
