/**
 * Prometheus metrics on a per-app Registry (never the global one), by Prometheus conventions: base units
 * (seconds, yuan), counters that only ever go up, series that never drop.
 *
 * Counters: tick duration, cloud API requests and errors are incremented where they happen. Estimated spend and
 * savings are totals the core reads from SQLite at each scrape (`src/db/metrics.ts`); this module only advances each
 * counter to its total, never backwards. Action transitions are counted once each as the journal shows them (after
 * each tick, and at a scrape), from rows that are new or still moving. On start every counter continues from the
 * database, so a restart does not drop the values to zero. Gauges (balance, burn rate, runway, instances by status, last success, blind,
 * outbox) are read at each scrape.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from '../db/open.js';
import { balanceNow } from '../db/balance.js';
import { instanceSeries, instancesByStatus, lastBalance, lastSuccessAt, lastTickOutcome, journalRowsSince, journalSeed, savedByPolicy, spendByInstance, type JournalRow } from '../db/metrics.js';
import { burnRate } from '../db/spend.js';
import { outboxDepth } from '../notify/index.js';

/** Default process metrics that promtool flags (gauges named `_total`); dropped so the text lints clean. */
const LINT_DIRTY_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** What the counters show, per label set: they only go up, to the totals the database holds. */
interface Shown {
  /** the journal rows counted so far: every row up to this id, and the rows that may still move with their counted states */
  actionsMaxId: number;
  openActions: Map<number, Set<string>>;
  /** per instance: the name label in use and the value shown */
  spend: Map<string, { name: string; value: number }>;
  saved: Map<string, number>;
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
  shown: Shown;
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
    shown: { actionsMaxId: 0, openActions: new Map(), spend: new Map(), saved: new Map(), statuses: new Set() },
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
  const st = m.shown;
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
 * How long an instance's spend series stays after it is gone: without an end, every instance that ever came and
 * went keeps a series.
 */
export const SPEND_SERIES_AFTER_GONE_MS = 86_400_000;

/** Advance per-instance spend to what SQLite holds; see SPEND_SERIES_AFTER_GONE_MS. */
function syncSpend(m: Metrics, db: Db, now: number): void {
  const shownAll = m.shown.spend;
  const known = instanceSeries(db);
  for (const [id, total] of spendByInstance(db, now)) {
    const inst = known.get(id);
    const name = inst?.name ?? '';
    const shown = shownAll.get(id);
    if (inst?.goneAt != null && now - inst.goneAt > SPEND_SERIES_AFTER_GONE_MS) {
      // gone for more than a day: its series ends (Prometheus keeps what it scraped); listed again, it continues
      if (shown) {
        m.estimatedSpend.remove({ instance: id, name: shown.name });
        shownAll.delete(id);
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
      shownAll.set(id, { name, value: total });
    }
  }
}

/** Advance savings by policy to what the journal says now (a boot found later never takes back what was shown). */
function syncSavings(m: Metrics, db: Db, now: number): void {
  for (const [policy, total] of savedByPolicy(db, now)) {
    const before = m.shown.saved.get(policy) ?? 0;
    if (total > before) {
      m.saved.inc({ policy }, total - before);
      m.shown.saved.set(policy, total);
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
  // the runway as the runway policy and the dashboard reckon it (the balance model's estimate ≈ now)
  const fig = balanceNow(db, now);
  m.runway.set(fig === null ? NaN : fig.runwayHours * 3600);

  const now_ = new Map(instancesByStatus(db).map((r) => [r.status, r.n]));
  for (const s of now_.keys()) m.shown.statuses.add(s);
  for (const s of m.shown.statuses) m.instances.set({ status: s }, now_.get(s) ?? 0);

  m.blind.set(lastTickOutcome(db) === 'blind' ? 1 : 0);
  const ok = lastSuccessAt(db);
  m.lastSuccess.set(ok === null ? 0 : ok / 1000);

  const depth = outboxDepth(db);
  m.outboxDepth.set({ state: 'pending' }, depth.pending);
  m.outboxDepth.set({ state: 'dead' }, depth.dead);
}
