/** `GET /api/v1/instances`: current instances with cost today, idle verdicts, overrides and the next planned action. */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { formatDuration } from '../config/duration.js';
import { listedInstances, openRates, todayEstimated } from '../db/instances.js';
import { isoInTz, round4 } from '../money.js';
import type { App, AppDeps } from './types.js';
import type { IdleInfo, NextAction } from '../policies/types.js';
import { activeOverrides, overrideToJson } from '../db/overrides.js';
import { overrideMatches } from '../policies/selector.js';
import { errorResponses, overrideSchema, reasonCodeSchema, type ReasonCodeJson } from './schemas.js';
import type { ReasonCode } from '../notify/reasons.js';
import { latestWakes } from '../wake/view.js';

const verdict = z.enum(['busy', 'idle', 'unknown']);
const instanceItem = z.object({
  id: z.string(),
  name: z.string(),
  status: z.string(),
  gpu_model: z.string(),
  gpu_count: z.number().int(),
  price_per_hour: z.number(),
  billed_rate: z.number().describe('yuan per hour billed right now'),
  today_estimated: z.number().describe('estimated cost since local midnight'),
  stopped_gpu_rate: z.number().nullable().describe('shut down but still holding its GPU: yuan per hour still billed (null otherwise)'),
  last_seen: z.string().describe('when the last successful observation listed it'),
  idle: z.object({
    verdict,
    since: z.string().nullable(),
    probes: z.record(z.string(), z.object({ verdict, since: z.string().nullable(), detail: z.string(), code: reasonCodeSchema.nullable(), checked_at: z.string().nullable() })),
  }),
  overrides: z.array(overrideSchema),
  next_action: z
    .object({
      policy: z.string(),
      action: z.string(),
      at: z.string().nullable(),
      in: z.string().nullable(),
      reason: z.string(),
      reason_code: reasonCodeSchema.nullable(),
      held_by: z
        .object({ kind: z.enum(['snooze', 'exempt', 'cooldown']), until: z.string(), override_id: z.number().int().nullable() })
        .nullable()
        .describe('what holds the action back until `until`; the action follows once it ends'),
    })
    .nullable(),
  wake: z
    .object({
      id: z.number().int().describe('the journal id'),
      state: z.enum(['waiting', 'booting', 'done', 'gave_up', 'refused']),
      tries: z.number().int(),
      waiting_for: z.string().nullable().describe('the GPU model the next try asks for, while waiting'),
      since: z.string().describe('when the wake was requested'),
    })
    .nullable()
    .describe('the latest wake of this instance, in progress or finished within the last hour'),
});

/** A reason code as the schema has it: only its code, parameters and details, whatever else the object carries. */
function reasonJson(rc: ReasonCode): ReasonCodeJson {
  return rc.details === undefined ? { code: rc.code, params: rc.params } : { code: rc.code, params: rc.params, details: rc.details.map(reasonJson) };
}

/** The answer of GET /api/v1/instances (also the OpenAPI document's). */
export const instancesAnswer = z.object({ instances: z.array(instanceItem) });

/** Registers GET /api/v1/instances. */
export default async function instanceRoutes(app: App, opts: { deps: AppDeps }) {
  const { gdb, clock, config, guard } = opts.deps;
  const tz = config.timezone;
  type ProbesJson = z.infer<typeof instanceItem>['idle']['probes'];
  const probesJson = (probes: IdleInfo['probes'], iso: (t: number | null) => string | null): ProbesJson =>
    Object.fromEntries(Object.entries(probes).map(([k, p]) => [k, { verdict: p.verdict, since: iso(p.since), detail: p.detail, code: p.code ? reasonJson(p.code) : null, checked_at: iso(p.checkedAt ?? null) }]));
  // A fresh stored answer reaches this route as the same frozen record from one request to the next (see
  // `storedProbeViews`) until its probe stores a new one: its JSON is written once per record. A stale answer is a new
  // object each time, written anew.
  const probesText = new WeakMap<object, string>();
  const answerBytes = new KeptBytes();
  const probesOf = (probes: IdleInfo['probes'], iso: (t: number | null) => string | null): string => {
    const frozen = Object.isFrozen(probes);
    let j = frozen ? probesText.get(probes) : undefined;
    if (j === undefined) {
      j = JSON.stringify(probesJson(probes, iso));
      if (frozen) probesText.set(probes, j);
    }
    return j;
  };

  app.get(
    '/api/v1/instances',
    {
      schema: { tags: ['instances'], summary: 'Current instances: cost today, idle verdicts, overrides, next planned action', response: { 200: instancesAnswer, ...errorResponses } },
    },
    // Every field is copied here by name (reason codes through reasonJson), so the answer is its schema's shape
    // already and is sent as bytes (fastify serializes no Buffer): the tests parse it and expect it unchanged.
    async (_req, reply) => {
      const now = clock.now();
      const db = gdb.db;
      // Most times repeat across the list (every instance's last sighting, probes checked together): each is written once.
      const isoSeen = new Map<number, string>();
      const iso = (t: number | null) => {
        if (t === null) return null;
        let s = isoSeen.get(t);
        if (s === undefined) isoSeen.set(t, (s = isoInTz(t, tz)));
        return s;
      };
      const rows = listedInstances(db);
      const rates = openRates(db);
      const today = todayEstimated(db, now, tz);
      const ovs = activeOverrides(db, now);
      const { idle, next }: { idle: Map<string, IdleInfo>; next: Map<string, NextAction | null> } = guard?.instanceViews(now) ?? { idle: new Map(), next: new Map() };
      const wakes = latestWakes(db, now, tz);
      const fragments: string[] = [];
      const items = rows.map((r) => {
          const i = idle.get(r.id);
          const n = next.get(r.id) ?? null;
          return {
            id: r.id,
            name: r.name,
            status: r.status,
            gpu_model: r.gpuModel,
            gpu_count: r.gpuCount,
            price_per_hour: r.pricePerHour,
            billed_rate: round4(rates.get(r.id) ?? 0),
            today_estimated: round4(today.get(r.id) ?? 0),
            stopped_gpu_rate: r.status === 'shutdown' && r.gpuCount > 0 ? round4(rates.get(r.id) ?? r.pricePerHour) : null,
            last_seen: iso(r.lastSeen)!,
            idle: { verdict: i?.verdict ?? 'unknown', since: i ? iso(i.since) : null, probes: slot(fragments, i ? probesOf(i.probes, iso) : '{}') },
            overrides: ovs.filter((o) => overrideMatches(o, r, o.policies?.[0] ?? '*')).map((o) => overrideToJson(o, now, tz)),
            next_action: n ? { policy: n.policy, action: n.action, at: iso(n.at), in: n.at === null ? null : formatDuration(Math.max(0, n.at - now)), reason: n.reason, reason_code: n.reasonCode ? reasonJson(n.reasonCode) : null, held_by: n.heldBy ? { kind: n.heldBy.kind, until: iso(n.heldBy.until)!, override_id: n.heldBy.overrideId ?? null } : null } : null,
            wake: wakes.get(r.id) ?? null,
          } satisfies z.infer<typeof instanceItem>;
        });
      // The bytes of this answer's JSON go out in a buffer kept for the next answer once this one is sent.
      const bytes = spliced(items, fragments, answerBytes);
      reply.raw.once('finish', () => answerBytes.give(bytes.buffer));
      // the bytes of this answer's JSON: the type provider knows only the object it stands for
      return reply.type('application/json; charset=utf-8').send(bytes.view as unknown as z.infer<typeof instancesAnswer>);
    },
  );
}

/**
 * Where a pre-written JSON fragment goes: a string no data can hold (a control character and a random nonce of
 * this process), which the answer carries in the fragment's place until `spliced` writes the fragment there.
 */
const SLOT = `\u0001${randomBytes(12).toString('base64url')}`;
const SLOT_JSON = JSON.stringify(SLOT);

/** Keep `fragment` (an instance's probe answers) for `spliced`; what stands in its place until then. */
function slot(fragments: string[], fragment: string): z.infer<typeof instanceItem>['idle']['probes'] {
  fragments.push(fragment);
  return SLOT as unknown as z.infer<typeof instanceItem>['idle']['probes'];
}

/**
 * A buffer kept from one answer to the next. A fresh megabyte for every answer costs a page fault for each of its
 * pages once written, and where those are dear (the 2-core VM of `bench/RESULTS.md`: ~20 us each, 5-7 ms a megabyte)
 * they were a third of the route's time. An answer takes the kept buffer when it is free and large enough, and gives
 * it back once its response has been handed to the socket (`finish`); an answer that finds it lent, or too small,
 * takes a new one, which becomes the kept one when given back. A response closed before `finish` never gives its
 * buffer back: whatever still holds it keeps it.
 */
export class KeptBytes {
  private kept: ArrayBuffer | null = null;

  /** `n` bytes to write an answer into: a view of the kept buffer, or of a new one with room to grow. */
  take(n: number): { buffer: ArrayBuffer; view: Buffer } {
    let b = this.kept;
    if (b === null || b.byteLength < n) b = new ArrayBuffer(Math.max(n + (n >> 3), 4096));
    else this.kept = null;
    return { buffer: b, view: Buffer.from(b, 0, n) };
  }

  /** Keep `b` for the next answer, unless a larger one is kept already. */
  give(b: ArrayBuffer): void {
    if (this.kept === null || this.kept.byteLength < b.byteLength) this.kept = b;
  }
}

/**
 * The answer's JSON as UTF-8 bytes: each instance serialized on its own (no megabyte string), its slot replaced by
 * its fragment, all written into one buffer taken from `out`.
 */
function spliced(items: unknown[], fragments: string[], out: KeptBytes): { buffer: ArrayBuffer; view: Buffer } {
  if (items.length !== fragments.length) throw new Error('instance list: one fragment per instance expected');
  const parts: string[] = ['{"instances":['];
  for (let k = 0; k < items.length; k++) {
    const s = JSON.stringify(items[k]);
    const at = s.indexOf(SLOT_JSON);
    if (at < 0 || s.indexOf(SLOT_JSON, at + 1) >= 0) throw new Error('instance list: an instance must hold one fragment slot');
    parts.push(k === 0 ? '' : ',', s.slice(0, at), fragments[k]!, s.slice(at + SLOT_JSON.length));
  }
  parts.push(']}');
  let bytes = 0;
  for (const p of parts) bytes += Buffer.byteLength(p);
  const taken = out.take(bytes);
  let at = 0;
  for (const p of parts) at += taken.view.write(p, at);
  if (at !== bytes) throw new Error('instance list: the answer was not written whole');
  return taken;
}
