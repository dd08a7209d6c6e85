/**
 * The daemon's heartbeat in its log: one info line per tick when something changed (instances by status,
 * burn rate, balance outcome, decisions, action results), and a summary line every `log.summary_every`
 * (default 15 min) otherwise, so `docker logs` always shows the guard alive. Fed by each tick's result;
 * times are the ticks' own (injected clock), never the wall clock.
 */
import type { Logger } from 'pino';
import { billedRate } from '../money.js';
import type { TickResult } from './tick.js';
import { byCodeUnit } from '../order.js';

/** What one line reports. */
interface View {
  /** false until a tick has observed the account */
  seen: boolean;
  outcome: TickResult['outcome'];
  instances: Record<string, number>;
  burn: number;
  balance: number | null;
  decisions: number;
  actions: Record<string, number>;
}

const yuan = (v: number) => `¥${v.toFixed(2)}`;
const counts = (m: Record<string, number>) =>
  Object.entries(m)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');

function viewOf(r: TickResult, last: View | null): View {
  const instances: Record<string, number> = {};
  let burn = 0;
  for (const i of r.observed?.instances ?? []) {
    instances[i.status] = (instances[i.status] ?? 0) + 1;
    burn += billedRate(i);
  }
  const sorted = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).sort(([a], [b]) => byCodeUnit(a, b)));
  const actions: Record<string, number> = {};
  for (const a of r.acted) actions[a.state] = (actions[a.state] ?? 0) + 1;
  // a blind or standby tick saw nothing: keep the last picture rather than report an empty account
  if (!r.observed && last) return { ...last, outcome: r.outcome, decisions: r.decisions, actions: sorted(actions) };
  return { seen: !!r.observed, outcome: r.outcome, instances: sorted(instances), burn: Math.round(burn * 1e4) / 1e4, balance: r.observed?.balance ?? null, decisions: r.decisions, actions: sorted(actions) };
}

function sameState(a: View, b: View): boolean {
  return a.outcome === b.outcome && a.burn === b.burn && a.decisions === b.decisions && JSON.stringify(a.instances) === JSON.stringify(b.instances);
}

function describe(v: View): string {
  if (!v.seen) return 'nothing observed yet';
  const parts = [Object.keys(v.instances).length ? counts(v.instances) : 'no instances', `burn ${yuan(v.burn)}/h`];
  if (v.balance !== null) parts.push(`balance ${yuan(v.balance)}`);
  parts.push(`${v.decisions} decision${v.decisions === 1 ? '' : 's'}`);
  if (Object.keys(v.actions).length) parts.push(`actions: ${counts(v.actions)}`);
  return parts.join('; ');
}

/** Options of the tick log. */
export interface TickLogOptions {
  log: Logger;
  /** ms between summary lines while nothing changes; 0 = never */
  summaryEveryMs: number;
}

/** A tick-result consumer that logs changes at once and a summary every `summaryEveryMs` otherwise. */
export function createTickLog(opts: TickLogOptions): (r: TickResult) => void {
  let last: View | null = null;
  let lastLineAt: number | null = null;
  let quiet = { ticks: 0, ok: 0, blind: 0, standby: 0 };
  return (r) => {
    const v = viewOf(r, last);
    quiet.ticks++;
    quiet[r.outcome]++;
    const changed = last === null || !sameState(v, last) || r.acted.length > 0;
    const due = opts.summaryEveryMs > 0 && lastLineAt !== null && r.at - lastLineAt >= opts.summaryEveryMs;
    last = v;
    if (!changed && !due) return;
    const fields = {
      outcome: v.outcome,
      instances: v.instances,
      burn_yuan_per_hour: v.burn,
      balance_yuan: v.balance,
      decisions: v.decisions,
      actions: v.actions,
      api_calls: r.apiCalls,
      duration_ms: r.durationMs,
      ...(changed ? {} : { ticks: quiet.ticks, ticks_ok: quiet.ok, ticks_blind: quiet.blind, ticks_standby: quiet.standby }),
    };
    const prefix = r.outcome === 'ok' ? 'tick' : `tick (${r.outcome})`;
    if (changed) opts.log.info(fields, `${prefix}: ${describe(v)}`);
    else opts.log.info(fields, `guard alive: ${quiet.ticks} ticks since the last line, nothing changed; ${describe(v)}`);
    lastLineAt = r.at;
    quiet = { ticks: 0, ok: 0, blind: 0, standby: 0 };
  };
}
