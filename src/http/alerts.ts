/**
 * `GET /api/v1/alerts`: what needs attention, firing first (low balance, runway, runway_critical, guard_blind, failed
 * actions, dead notifications), then recently resolved ones; each message rendered in `?locale=` (else the config's).
 */
import { z } from 'zod';
import { alertRows, deadDeliveriesByChannel, failedActionsSince } from '../db/alerts.js';
import { isoInTz } from '../money.js';
import { EVENT_SEVERITY, LOCALES, isOpaque, readEvent, render, type GuardEvent, type Locale, type OpaqueEvent, type Severity } from '../notify/index.js';
import { parseReasonCode } from '../notify/reasons.js';
import type { App, AppDeps } from './types.js';
import { errorResponses, reasonCodeSchema, type ReasonCodeJson } from './schemas.js';

const DAY = 86_400_000;
/** Resolved alerts stay on the panel this long. */
const RESOLVED_FOR = 7 * DAY;
/** A failed action stays firing this long (nothing clears it but time: the next tick decides again). */
const FAILED_FOR = DAY;
const MAX_RESOLVED = 10;

const severity = z.enum(['info', 'warning', 'critical']);
const alertItem = z.object({
  key: z.string().describe('stable identity: the dedup key, `action_failed:<journal id>` or `notify_dead:<channel>`'),
  type: z.string().describe('an event type (balance_low, runway_critical, guard_blind, ...), action_failed or notify_dead'),
  severity,
  state: z.enum(['firing', 'resolved']),
  since: z.string().describe('when it started firing'),
  resolved_at: z.string().nullable(),
  message: z.string().describe('one line in the requested locale'),
  reason_code: reasonCodeSchema.optional(),
});

/** One alert as the API shows it (before times become ISO strings). */
interface Alert {
  key: string;
  type: string;
  severity: Severity;
  state: 'firing' | 'resolved';
  since: number;
  resolvedAt: number | null;
  message: string;
  reasonCode?: ReasonCodeJson;
}

/** An event's one-line title in `ro.locale` (the subject without the mail prefix: the page says whose it is). */
function title(ev: GuardEvent | OpaqueEvent, ro: { locale: Locale; timezone: string }): string {
  return render(ev, ro).subject.replace(/^\[xgc-guard\] /, '');
}

const RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** Firing first (most severe, then newest), then resolved ones, newest first. */
function order(a: Alert, b: Alert): number {
  if (a.state !== b.state) return a.state === 'firing' ? -1 : 1;
  if (a.state === 'firing') return RANK[a.severity] - RANK[b.severity] || b.since - a.since;
  return (b.resolvedAt ?? 0) - (a.resolvedAt ?? 0);
}

/** A balance at or below ¥0 is critical whatever type carries it: the platform destroys containers. */
function severityOf(ev: GuardEvent | OpaqueEvent | null, type: string): Severity {
  const base: Severity = Object.hasOwn(EVENT_SEVERITY, type) ? EVENT_SEVERITY[type as keyof typeof EVENT_SEVERITY] : 'warning';
  const balance = ev && !isOpaque(ev) && 'balance' in ev.data ? ev.data.balance : null;
  return typeof balance === 'number' && balance <= 0 ? 'critical' : base;
}

function reasonCodeOf(ev: GuardEvent | OpaqueEvent | null): ReasonCodeJson | undefined {
  return ev && !isOpaque(ev) && 'reason_code' in ev.data ? ev.data.reason_code : undefined;
}

/** Registers GET /api/v1/alerts. */
export default async function alertsRoutes(app: App, opts: { deps: AppDeps }) {
  const { gdb, clock, config } = opts.deps;
  const tz = config.timezone;
  app.get(
    '/api/v1/alerts',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Firing alerts first, then recently resolved ones, with messages in the requested locale',
        querystring: z.strictObject({ locale: z.enum(['zh-CN', 'en']).optional().describe('default: the configured locale') }),
        response: { 200: z.object({ alerts: z.array(alertItem) }), ...errorResponses },
      },
    },
    async (req) => {
      const now = clock.now();
      const locale: Locale = req.query.locale ?? config.locale;
      const ro = { locale, timezone: tz };
      const db = gdb.db;
      const out: Alert[] = [];
      for (const r of alertRows(db, now - RESOLVED_FOR)) {
        const state = r.status === 'firing' ? 'firing' : 'resolved';
        // a firing alert shows its latest observation (the figure now); a resolved one its resolved notice
        const ev = state === 'firing' && r.latest ? readEvent(r.latest, { type: r.type, dedupKey: r.key }) : r.event ? readEvent(r.event.payload, r.event) : null;
        out.push({
          key: r.key,
          type: r.type,
          severity: severityOf(ev, r.type),
          state,
          since: r.firstAt,
          resolvedAt: state === 'resolved' ? r.lastSentAt : null,
          message: ev ? title(ev, ro) : r.type,
          reasonCode: reasonCodeOf(ev),
        });
      }
      for (const a of failedActionsSince(db, now - FAILED_FOR)) {
        const ev: GuardEvent = {
          type: 'action_failed',
          dedupKey: `action_failed:${a.id}`,
          data: { instance: { id: a.instanceId, name: a.instanceName || a.instanceId }, policy: a.policy, action: a.action, mode: a.mode === 'enforce' ? 'enforce' : 'dry_run', at: a.decidedAt, error: a.detail ?? '' },
        };
        out.push({ key: ev.dedupKey, type: 'action_failed', severity: 'warning', state: 'firing', since: a.decidedAt, resolvedAt: null, message: title(ev, ro), reasonCode: parseReasonCode(a.reasonCode) });
      }
      for (const d of deadDeliveriesByChannel(db)) {
        out.push({ key: `notify_dead:${d.channel}`, type: 'notify_dead', severity: 'warning', state: 'firing', since: d.firstAt, resolvedAt: null, message: LOCALES[locale].words.deadDeliveries(d.count, d.channel) });
      }
      out.sort(order);
      const firing = out.filter((a) => a.state === 'firing');
      const resolved = out.filter((a) => a.state === 'resolved').slice(0, MAX_RESOLVED);
      return {
        alerts: [...firing, ...resolved].map((a) => ({
          key: a.key,
          type: a.type,
          severity: a.severity,
          state: a.state,
          since: isoInTz(a.since, tz),
          resolved_at: a.resolvedAt === null ? null : isoInTz(a.resolvedAt, tz),
          message: a.message,
          ...(a.reasonCode ? { reason_code: a.reasonCode } : {}),
        })),
      };
    },
  );
}
