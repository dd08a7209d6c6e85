/** Did-you-mean for unknown config keys: the allowed keys at a path of the zod schema, and the nearest one. */
import type { z } from 'zod';

type Def = { type: string; shape?: Record<string, unknown>; [k: string]: unknown };
const def = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;

/** Strip wrappers (optional, default, prefault, pipe ...) down to the schema that holds the shape. */
function unwrap(s: unknown): unknown {
  for (let i = 0; i < 20; i++) {
    const d = def(s);
    if (['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(d.type)) s = d.innerType;
    else if (d.type === 'pipe') s = d.in;
    else return s;
  }
  return s;
}

/** For a union with a discriminator, the option whose literal matches the raw value's discriminator. */
function pickOption(s: unknown, raw: unknown): unknown {
  const d = def(s);
  if (d.type !== 'union') return s;
  const key = d.discriminator as string | undefined;
  const want = raw && typeof raw === 'object' ? (raw as Record<string, unknown>)[key ?? ''] : undefined;
  if (!key || want === undefined) return null;
  for (const o of d.options as unknown[]) {
    const opt = unwrap(o);
    if (def(opt).type !== 'object') continue;
    const lit = def(opt).shape?.[key];
    if (lit && (def(lit).values as unknown[] | undefined)?.includes(want)) return opt;
  }
  return null;
}

/** The keys an object at `path` of `schema` allows, following `raw` through unions; null when unknown. */
export function keysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>, raw: unknown): string[] | null {
  let s: unknown = pickOption(unwrap(schema), raw);
  let v: unknown = raw;
  for (const seg of path) {
    if (s === null) return null;
    const d = def(s);
    v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[seg as never] : undefined;
    if (d.type === 'object') s = d.shape?.[String(seg)];
    else if (d.type === 'array') s = d.element;
    else if (d.type === 'record') s = d.valueType;
    else return null;
    if (s === undefined) return null;
    s = pickOption(unwrap(s), v);
  }
  return s !== null && def(s).type === 'object' ? Object.keys(def(s).shape ?? {}) : null;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) dp[i][j] = Math.min(dp[i][j], dp[i - 2][j - 2] + 1);
    }
  return dp[a.length][b.length];
}

/** The allowed key nearest to `key` (case, `_`/`-` and one or two typos forgiven), or null. */
export function nearestKey(key: string, allowed: string[]): string | null {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of allowed) {
    const d = norm(k) === norm(key) ? 0 : distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== null && bestD <= Math.max(1, Math.floor(key.length / 3)) ? best : null;
}

/** "unknown key" with a did-you-mean, or the list of allowed keys when nothing is close. */
export function unknownKeyProblem(key: string, allowed: string[] | null): string {
  if (!allowed) return 'unknown key';
  const near = nearestKey(key, allowed);
  return near ? `unknown key (did you mean ${near}?)` : `unknown key; expected one of ${allowed.join(', ')}`;
}
