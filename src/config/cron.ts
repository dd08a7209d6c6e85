/**
 * Every cron expression of the config (schedule policies, `snapshot.every`, `notify.digest.cron`) is read by croner
 * with the same options: five fields, or six with a second first; croner's `L`, `W`, `#`, `+` and `@daily`-style
 * nicknames; when both day fields are restricted, a day matching either runs. `readCron` builds croner's job, and when
 * croner refuses the expression it says why, naming the field and its range (croner's messages give no range, and for
 * a day-of-month or a month a value one off).
 */
import { Cron, type CronOptions } from 'croner';

/**
 * The options every cron is read with. `no-wildcard`: a schedule without `*`, `?` or a step in its second, minute and
 * hour fields (`30 2 * * *`, `0 2,14 * * *`) is a fixed time across daylight-saving changes: a skipped one runs when
 * the clock has jumped, a repeated one once. The others run in real time: a skipped time is skipped, a repeated one
 * runs twice.
 */
export const CRON_OPTIONS = { mode: '5-or-6-parts', domAndDow: false, fixedTimeRule: 'no-wildcard' } as const satisfies CronOptions;

/** A cron expression croner refuses; the message names the field at fault. */
export class CronError extends Error {}

/** Croner's job for `expr` (not scheduled; `options` add a zone, callbacks); throws CronError naming the field at fault. */
export function readCron(expr: string, options: CronOptions = {}): Cron {
  try {
    return new Cron(expr, { ...CRON_OPTIONS, ...options });
  } catch {
    throw new CronError(`bad cron expression "${expr}": ${cronProblem(expr)}`);
  }
}

/** One cron field: its name in messages, its range, and the names its values may go by. */
interface Field {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** croner's extensions the field takes, for messages */
  more?: string;
}

const SECOND: Field = { name: 'second', min: 0, max: 59 };
const FIVE: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31, more: ', L, LW or 15W' },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day-of-week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], more: ', mon#1 (1-5), 5L or 5#L' },
];
const LAYOUT = 'minute hour day-of-month month day-of-week (0-59 0-23 1-31 1-12 0-7), optionally a second (0-59) first';

function refuses(expr: string): boolean {
  try {
    new Cron(expr, CRON_OPTIONS);
    return false;
  } catch {
    return true;
  }
}

function value(f: Field, s: string): number | null {
  if (/^\d+$/.test(s)) return Number(s);
  const i = f.names?.indexOf(s.toLowerCase()) ?? -1;
  return i >= 0 ? i + f.min : null;
}

/** What is wrong with a field croner refuses: a value out of range, a range backwards, a bad step, else its form. */
function fieldProblem(f: Field, text: string): string {
  for (const part of text.split(',')) {
    const [base, step, ...more] = part.split('/');
    if (step !== undefined && more.length === 0 && !(/^\d+$/.test(step) && Number(step) > 0)) return `${f.name} step "/${step}" must be a positive number`;
    const ends = base.split('-').map((e) => [e, value(f, e)] as const);
    for (const [e, v] of ends) if (v !== null && (v < f.min || v > f.max)) return `${f.name} "${e}" is out of range ${f.min}-${f.max}`;
    if (ends.length === 2 && ends[0][1] !== null && ends[1][1] !== null && ends[0][1] > ends[1][1]) return `${f.name} range "${base}" runs backwards`;
  }
  const names = f.names ? ` or ${f.names[0]}-${f.names[f.names.length - 1]}` : '';
  return `${f.name} "${text}" is not understood: expected values ${f.min}-${f.max}${names}, ranges a-b, lists a,b, steps */n and a-b/n${f.more ?? ''}`;
}

/** Why croner refuses `expr`: the field at fault and its range where one field alone is. */
function cronProblem(expr: string): string {
  const parts = expr.trim().split(/\s+/).filter(Boolean);
  if (parts.length !== 5 && parts.length !== 6) return `expected 5 fields (${LAYOUT}) or a nickname such as @daily, got ${parts.length}`;
  const fields = parts.length === 6 ? [SECOND, ...FIVE] : FIVE;
  for (let i = 0; i < parts.length; i++) if (refuses(fields.map((_, j) => (j === i ? parts[i] : '*')).join(' '))) return fieldProblem(fields[i], parts[i]);
  return `not understood; expected ${LAYOUT}`;
}
