/**
 * Which facts each event type shows, the same in every locale: rows of (label key, value formatted by the
 * locale's formatter) and an optional table. Labels are translated by the locale's `labels`.
 */
import type { EventData, EventType } from './events.js';
import type { Fmt, Label } from './templates/types.js';

/** One fact: a label key and its formatted value. */
export type FactRow = readonly [Label, string];

/** The facts of one message. */
export interface FactSheet {
  facts: FactRow[];
  table?: { head: Label[]; rows: string[][] };
}

/** The fact sheet of one event type. */
export type SheetOf<T extends EventType> = (d: EventData<T>, f: Fmt, resolved: boolean) => FactSheet;

type Maybe = FactRow | false | undefined | null;
const rows = (...r: Maybe[]): FactRow[] => r.filter((x): x is FactRow => Boolean(x));
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

type InstanceRef = { id: string; name: string; gpu_model?: string; gpu_count?: number; price_per_hour?: number };

function instanceRows(i: InstanceRef | undefined, f: Fmt): FactRow[] {
  if (!i) return [];
  return rows(['instance', f.instance(i)], !!i.gpu_model && ['gpu', f.gpu(i.gpu_model, i.gpu_count)], isNum(i.price_per_hour) && ['price', f.rate(i.price_per_hour)]);
}

function policyRows(d: { policy?: string; reason?: string; reason_code?: Parameters<Fmt['reason']>[1] }, f: Fmt): FactRow[] {
  const reason = f.reason(d.reason, d.reason_code);
  return rows(!!d.policy && ['policy', d.policy], !!reason && ['reason', reason]);
}

/** The balance model's rows: the observed balance, when it was observed, and ≈ now when it differs (an estimate). */
function balanceRows(d: { balance: number | null; observed_at?: number | null; estimate?: number | null }, f: Fmt): FactRow[] {
  return rows(['balance', f.money(d.balance)], isNum(d.observed_at) && ['observed_at', f.time(d.observed_at)], isNum(d.estimate) && d.estimate !== d.balance && ['estimate_now', `≈ ${f.money(d.estimate)}`]);
}

const actionSheet = (d: EventData<'action_failed'> | EventData<'action_aborted'>, f: Fmt): FactSheet => ({
  facts: [...instanceRows(d.instance, f), ...policyRows(d, f), ['error', d.error]],
});

const runwaySheet = (d: EventData<'runway_warn'> | EventData<'runway_act'>, f: Fmt, resolved: boolean): FactSheet => ({
  facts: resolved
    ? [...balanceRows(d, f), ...rows(['runway', f.hours(d.hours_left)], !!d.policy && ['policy', d.policy])]
    : [
        ...('instance' in d ? instanceRows(d.instance, f) : []),
        ...balanceRows(d, f),
        ...rows(['runway', f.hours(d.hours_left)], isNum(d.burn_per_hour) && ['burn', f.rate(d.burn_per_hour)], isNum(d.empty_at) && ['empty_at', f.time(d.empty_at)]),
        ...policyRows(d, f),
      ],
});

/** Fact sheets per event type (the mapped type makes one mandatory for each). */
export const FACTS: { [T in EventType]: SheetOf<T> } = {
  action_planned: (d, f) => ({
    facts: [...instanceRows(d.instance, f), ...policyRows(d, f), ['planned_at', f.time(d.planned_at)], ...rows(isNum(d.saving_per_hour) && ['saving', f.rate(d.saving_per_hour)])],
  }),
  action_taken: (d, f) => ({
    facts: [
      ...instanceRows(d.instance, f),
      ...policyRows(d, f),
      ['at', f.time(d.at)],
      ...rows(isNum(d.saving_per_hour) && [d.mode === 'dry_run' ? 'would_save' : 'saving', f.rate(d.saving_per_hour)]),
    ],
  }),
  action_failed: actionSheet,
  action_aborted: actionSheet,
  balance_low: (d, f) => ({
    facts: [
      ...balanceRows(d, f),
      ...rows(
        ['threshold', f.money(d.threshold)],
        isNum(d.burn_per_hour) && ['burn', f.rate(d.burn_per_hour)],
        isNum(d.hours_left) && ['runway', f.hours(d.hours_left)],
        isNum(d.top_up) && isNum(d.top_up_hours) && ['top_up', `${f.money(d.top_up)} (${f.hours(d.top_up_hours)})`],
        !!d.policy && ['policy', d.policy],
      ),
    ],
  }),
  runway_warn: runwaySheet,
  runway_act: runwaySheet,
  runway_critical: (d, f, resolved) => ({
    facts: resolved
      ? [...balanceRows(d, f), ...rows(!!d.policy && ['policy', d.policy])]
      : [
          ...balanceRows(d, f),
          ...rows(
            ['runway', f.hours(d.hours_left)],
            isNum(d.burn_per_hour) && ['burn', f.rate(d.burn_per_hour)],
            ['empty_at', f.time(d.empty_at)],
            ['top_up', f.money(d.top_up)],
            isNum(d.last_resort_at) && ['last_resort_at', f.time(d.last_resort_at)],
          ),
          ...policyRows(d, f),
        ],
    table: resolved
      ? undefined
      : {
          head: ['instance', 'gpu', 'price', 'status'],
          rows: d.instances.map((i) => [f.instance(i), i.gpu_model ? f.gpu(i.gpu_model, i.gpu_count) : '—', isNum(i.price_per_hour) ? f.rate(i.price_per_hour) : '—', i.status ?? '—']),
        },
  }),
  instances_destroyed: (d, f) => ({
    facts: [['balance', f.money(d.balance)]],
    table: {
      head: ['instance', 'gpu', 'last_status', 'last_seen'],
      rows: d.instances.map((i) => [f.instance(i), i.gpu_model ? f.gpu(i.gpu_model, i.gpu_count) : '—', i.last_status, isNum(i.last_seen_at) ? f.time(i.last_seen_at) : '—']),
    },
  }),
  budget_exceeded: (d, f) => ({ facts: [['spent', f.money(d.spent)], ['limit', f.money(d.limit)], ...policyRows(d, f)] }),
  guard_blind: (d, f) => ({ facts: rows(isNum(d.since) && ['since', f.time(d.since)], !!d.error && ['error', d.error]) }),
  guard_recovered: (d, f) => ({ facts: rows(isNum(d.firing_since) && ['blind_since', f.time(d.firing_since)]) }),
  wake_done: (d, f) => ({
    facts: rows(
      ['instance', f.instance(d.instance)],
      ['gpu', d.gpu_count === 0 ? f.noGpu : f.gpu(d.gpu_model, d.gpu_count)],
      ['waited', f.duration(d.waited_ms)],
      ['tries', String(d.tries)],
      !!d.web_url && ['web_url', f.url(d.web_url)],
      !!d.policy && ['policy', d.policy],
    ),
  }),
  wake_failed: (d, f) => ({
    facts: rows(
      ['instance', f.instance(d.instance)],
      d.gpu_models.length > 0 && ['gpu_models', `${d.gpu_models.join(' / ')}${d.gpu_count > 1 ? ` × ${d.gpu_count}` : ''}`],
      ['waited', f.duration(d.waited_ms)],
      ['tries', String(d.tries)],
      ['error', d.error],
      !!d.policy && ['policy', d.policy],
    ),
  }),
  daily_digest: (d, f) => ({
    facts: rows(
      ['estimated_spend', f.money(d.estimated)],
      ['observed_spend', f.money(d.observed)],
      ['saved', f.money(d.saved)],
      !!d.recharged && ['recharged', f.money(d.recharged)],
      ['balance', f.money(d.balance)],
      ['runway', f.hours(d.runway_hours)],
      isNum(d.actions) && ['actions', String(d.actions)],
    ),
    table: d.top_instances.length
      ? { head: ['instance', 'gpu', 'estimated'], rows: d.top_instances.map((t) => [f.instance(t), t.gpu_model || '—', f.money(t.estimated)]) }
      : undefined,
  }),
};
