/**
 * `tune-check`: does `tune` tell the truth on the bundled traces? One effectiveness replay with the guard's configured
 * window keeps its database; `tune` over it gives a figure per window. The configured window's figure is compared
 * with what the guard reported saved on that replay (and the simulator's ledger for the same stretches); each other
 * window's with a guard replay run with that window (its reported savings, and the ground truth: the reference
 * run's bill minus its bill).
 */
import { formatDuration } from '../config/duration.js';
import { tunePolicy, tuneReport } from '../tune.js';
import { defaultEffectivenessConfig, replay } from './effectiveness.js';
import type { Trace } from './trace.js';

/** One window's row of the comparison. */
export interface TuneCheckRow {
  trace: string;
  idle_for: string;
  current: boolean;
  /** tune's figure over the configured window's recording */
  tune_saved: number;
  /** tune's more_than_current_yuan: the change from the configured window against the recording */
  tune_more: number;
  tune_interruptions: number;
  /** the guard replay run with this window: its own savings report, the ledger over the same stretches, and the truth */
  replay_reported: number;
  replay_ledger: number;
  replay_true: number;
  replay_disruptions: number;
  /** (tune - replay_reported) / replay_reported */
  error: number | null;
}

/** The effectiveness config with the idle policy's window set to `idleFor`. */
function withWindow(config: Record<string, unknown>, idleFor: string): Record<string, unknown> {
  const policies = (config.policies as Array<Record<string, unknown>>).map((p) => (p.type === 'idle' ? { ...p, idle_for: idleFor } : p));
  return { ...config, policies };
}

/** Run the comparison on one trace: the configured window (the effectiveness default, 30m) and `others`. */
export async function tuneCheck(trace: Trace, others: string[], say: (s: string) => void = () => {}): Promise<TuneCheckRow[]> {
  const config = defaultEffectivenessConfig();
  const reference = await replay(trace, { kind: 'reference' });
  say(`${trace.name}: reference billed ¥${reference.billed.toFixed(2)}`);
  let tuned: ReturnType<typeof tuneReport> | undefined;
  const cur = await replay(trace, {
    kind: 'guard',
    config,
    inspect(h, start, end) {
      const policy = tunePolicy(h.config, undefined, '--policy');
      const windows = others.map((w) => withWindowMs(w));
      tuned = tuneReport(h.gdb.db, h.config, { from: start, to: end, now: end, windows, policy });
    },
  });
  if (!tuned) throw new Error('the replay did not reach its end');
  const rows: TuneCheckRow[] = [];
  const row = (idleFor: number, o: Awaited<ReturnType<typeof replay>>): TuneCheckRow => {
    const t = tuned!.rows.find((r) => r.idle_for_s * 1000 === idleFor)!;
    const reported = o.reportedSaved ?? 0;
    return {
      trace: trace.name,
      idle_for: formatDuration(idleFor),
      current: t.current,
      tune_saved: t.saved_yuan,
      tune_more: t.more_than_current_yuan,
      tune_interruptions: t.interruptions,
      replay_reported: Math.round(reported * 10_000) / 10_000,
      replay_ledger: Math.round((o.ledgerSaved ?? 0) * 10_000) / 10_000,
      replay_true: Math.round((reference.billed - o.billed) * 10_000) / 10_000,
      replay_disruptions: o.disruptions,
      error: reported > 0 ? Math.round(((t.saved_yuan - reported) / reported) * 100_000) / 100_000 : null,
    };
  };
  const current = tuned.rows.find((r) => r.current)!;
  rows.push(row(current.idle_for_s * 1000, cur));
  say(`${trace.name}: ${current.idle_for} tune ¥${current.saved_yuan} vs reported ¥${cur.reportedSaved}`);
  for (const w of others) {
    const ms = withWindowMs(w);
    if (ms === current.idle_for_s * 1000) continue;
    const o = await replay(trace, { kind: 'guard', config: withWindow(config, w) });
    rows.push(row(ms, o));
    say(`${trace.name}: ${w} tune ¥${rows.at(-1)!.tune_saved} vs reported ¥${o.reportedSaved}, true ¥${rows.at(-1)!.replay_true}`);
  }
  return rows;
}

/** A window like `15m` in ms (the bench's own inputs: an error names the flag). */
function withWindowMs(w: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(w);
  if (!m) throw new Error(`--windows: "${w}" is not a duration like 15m`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
}
