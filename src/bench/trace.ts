/**
 * Workload traces for the effectiveness benchmark (the format is a contract: others write traces).
 *
 * ```json
 * { "name": "solo", "duration_s": 86400, "tick_s": 60,
 *   "instances": [ { "name": "sd", "gpu_model": "RTX 4090 D", "price_per_hour": 1.59, "image": "WebUI",
 *     "sessions": [ { "start_s": 0, "end_s": null, "busy": [[600, 1800]] } ] } ] }
 * ```
 * A session starts with the user booting the instance and ends with the user releasing its GPU
 * (`end_s: null` = forgotten until the end of the trace). `busy` intervals are when work runs:
 * `[from, to]` is `app` work (the app shows it), `[from, to, kind]` names the kind (`app`, `background`:
 * nohup/tmux training, `cpu`: a download, `interactive`: an SSH login typing), as the simulator's activity route.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { WORK_KINDS, type WorkKind } from '../sim/machine.js';

/** One busy interval: trace seconds `[from, to)` and an optional kind of work (default `app`). */
export type BusyInterval = [number, number] | [number, number, WorkKind];

/** The kind of a busy interval (`app` when it has none). */
export function kindOf(b: readonly unknown[]): WorkKind {
  return (b[2] as WorkKind | undefined) ?? 'app';
}

const sessionSchema = z
  .strictObject({
    start_s: z.number().int().nonnegative(),
    end_s: z.number().int().positive().nullable(),
    busy: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().positive(), z.enum(WORK_KINDS).optional()])),
  })
  .superRefine((s, ctx) => {
    if (s.end_s !== null && s.end_s <= s.start_s) ctx.addIssue({ code: 'custom', message: 'end_s must be after start_s' });
    let prev = s.start_s;
    s.busy.forEach(([a, b], i) => {
      if (b <= a) ctx.addIssue({ code: 'custom', path: ['busy', i], message: 'busy interval must end after it starts' });
      if (a < prev) ctx.addIssue({ code: 'custom', path: ['busy', i], message: 'busy intervals must be sorted, disjoint and start at or after start_s' });
      if (s.end_s !== null && b > s.end_s) ctx.addIssue({ code: 'custom', path: ['busy', i], message: 'busy interval must end by end_s' });
      prev = b;
    });
  });

/** The trace file schema. */
export const traceSchema = z
  .strictObject({
    name: z.string().min(1),
    duration_s: z.number().int().positive(),
    tick_s: z.number().int().positive(),
    instances: z
      .array(
        z
          .strictObject({
            name: z.string().min(1),
            gpu_model: z.string().min(1),
            price_per_hour: z.number().positive(),
            image: z.enum(['ComfyUI', 'WebUI', 'Jupyter']),
            sessions: z.array(sessionSchema),
          })
          .superRefine((inst, ctx) => {
            let prevEnd = -1;
            inst.sessions.forEach((s, i) => {
              if (s.start_s <= prevEnd) ctx.addIssue({ code: 'custom', path: ['sessions', i], message: 'sessions must be sorted and disjoint' });
              prevEnd = s.end_s ?? Number.POSITIVE_INFINITY;
            });
          }),
      )
      .min(1),
  })
  .superRefine((t, ctx) => {
    t.instances.forEach((inst, i) =>
      inst.sessions.forEach((s, j) => {
        const last = Math.max(s.end_s ?? 0, ...s.busy.map((b) => b[1]));
        if (last > t.duration_s || s.start_s >= t.duration_s) ctx.addIssue({ code: 'custom', path: ['instances', i, 'sessions', j], message: 'session must lie within duration_s' });
      }),
    );
  });

/** A parsed trace. */
export type Trace = z.output<typeof traceSchema>;
/** One instance of a trace. */
export type TraceInstance = Trace['instances'][number];

/** Parse and validate a trace object; throws with the offending path. */
export function parseTrace(raw: unknown): Trace {
  const r = traceSchema.safeParse(raw);
  if (!r.success) throw new Error(`bad trace: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** Read and validate a trace file. */
export function loadTrace(path: string): Trace {
  return parseTrace(JSON.parse(readFileSync(path, 'utf8')));
}

/** An idle stretch of one instance in trace seconds: running, holding its GPU and not busy, [from, to). */
export interface IdleStretch {
  instance: number;
  session: number;
  from: number;
  to: number;
}

/**
 * The idle stretches of a trace as they happen when nothing releases the GPU: a session's instance is running
 * from `start_s + bootS` (the boot takes that long), and idle outside its busy intervals until `end_s`
 * (or the end of the trace).
 */
export function idleStretches(trace: Trace, bootS: number): IdleStretch[] {
  const out: IdleStretch[] = [];
  trace.instances.forEach((inst, i) =>
    inst.sessions.forEach((s, j) => {
      const end = s.end_s ?? trace.duration_s;
      let cursor = s.start_s + bootS;
      for (const [a, b] of s.busy) {
        if (a > cursor) out.push({ instance: i, session: j, from: cursor, to: Math.min(a, end) });
        cursor = Math.max(cursor, b);
      }
      if (end > cursor) out.push({ instance: i, session: j, from: cursor, to: end });
    }),
  );
  return out;
}

/** The busy interval (of any kind) of instance `i` that contains trace second `t`, if any. */
export function busyIntervalAt(trace: Trace, i: number, t: number): Trace['instances'][number]['sessions'][number]['busy'][number] | undefined {
  for (const s of trace.instances[i].sessions) for (const b of s.busy) if (b[0] <= t && t < b[1]) return b;
  return undefined;
}
