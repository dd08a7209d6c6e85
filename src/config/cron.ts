/**
 * Explains a cron expression that a parser refused: which field is wrong and its range, e.g.
 * `hour "25" is out of range 0-23`. It never accepts or rejects on its own: callers run the real parser
 * (src/cron-time.ts, for jobs and schedule policies alike) and ask this module only for the reason.
 */

/** One cron field: its name in messages, its range, and the names its values may go by. */
export interface Field {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

export const SECOND: Field = { name: 'second', min: 0, max: 59 };
/** The five fields in order: minute hour day-of-month month day-of-week. */
export const FIVE: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day-of-week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

/** The field layout in words, for messages. */
export const CRON_LAYOUT = 'minute hour day-of-month month day-of-week (0-59 0-23 1-31 1-12 0-7), optionally a second (0-59) first';

function value(f: Field, s: string): number | null {
  if (/^\d+$/.test(s)) return Number(s);
  const i = f.names?.indexOf(s.toLowerCase()) ?? -1;
  return i >= 0 ? i + f.min : null;
}

/** What is wrong with one field's text, or null when it looks fine. */
function fieldProblem(f: Field, text: string): string | null {
  for (const part of text.split(',')) {
    const m = /^([^/]+)(?:\/(.+))?$/.exec(part);
    if (!m) return `${f.name} "${text}" is not a value, range, list or step`;
    const [, base, step] = m;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) > 0)) return `${f.name} step "/${step}" must be a positive number`;
    if (base === '*' || base === '?') continue;
    const ends = base.split('-');
    if (ends.length > 2 || ends.some((e) => e === '')) return `${f.name} "${part}" is not a value or a range a-b`;
    const nums: number[] = [];
    for (const e of ends) {
      const v = value(f, e);
      if (v === null) return `${f.name} "${e}" is not a number${f.names ? ` or a name (${f.names[0]}-${f.names[f.names.length - 1]})` : ''}`;
      if (v < f.min || v > f.max) return `${f.name} "${e}" is out of range ${f.min}-${f.max}`;
      nums.push(v);
    }
    if (nums.length === 2 && nums[0] > nums[1]) return `${f.name} range "${base}" runs backwards`;
  }
  return null;
}

/** Why `expr` is not a valid cron expression, naming the field and its range; null when no field is at fault. */
export function explainCron(expr: string): string | null {
  const parts = expr.trim().split(/\s+/).filter(Boolean);
  if (parts.length !== 5 && parts.length !== 6) return `expected 5 fields (${CRON_LAYOUT}), got ${parts.length}`;
  const fields = parts.length === 6 ? [SECOND, ...FIVE] : FIVE;
  for (let i = 0; i < parts.length; i++) {
    const p = fieldProblem(fields[i], parts[i]);
    if (p) return p;
  }
  return null;
}

/** The message for a cron expression a parser refused. */
export function cronMessage(expr: string, example: string): string {
  const why = explainCron(expr);
  return `bad cron expression "${expr}": ${why ?? `not understood; expected ${CRON_LAYOUT}`} (e.g. "${example}")`;
}
