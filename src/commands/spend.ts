/** `xgc-guard spend`: estimated, observed and saved money from the guard's database, as a table (or JSON). */
import { existsSync } from 'node:fs';
import type { Command } from '../cli.js';
import { systemClock } from '../clock.js';
import { openDb } from '../db/open.js';
import { spendReport, type SpendBy } from '../db/spend.js';
import { BadRequest } from '../errors.js';
import { isoInTz } from '../money.js';
import { parseTimeParam } from '../http/params.js';
import { configOption, loadFromArgs } from './common.js';

const spend: Command = {
  summary: 'Print spend (estimated from status intervals, observed from balance decreases) and savings.',
  usage: 'Usage: xgc-guard spend [--config FILE] [--from -7d|ISO] [--to now|ISO] [--by day|hour|instance] [--tz ZONE] [--json]',
  options: { ...configOption, from: { type: 'string' }, to: { type: 'string' }, by: { type: 'string' }, tz: { type: 'string' }, json: { type: 'boolean' } },
  async run(values) {
    const { config } = loadFromArgs(values);
    const tz = (values.tz as string | undefined) ?? config.timezone;
    const now = systemClock.now();
    const by = ((values.by as string | undefined) ?? 'day') as SpendBy;
    if (!['day', 'hour', 'instance'].includes(by)) throw new BadRequest('--by', `expected day, hour or instance, got "${by}"`);
    const from = parseTimeParam((values.from as string | undefined) ?? '-7d', now, tz);
    const to = parseTimeParam((values.to as string | undefined) ?? 'now', now, tz);
    if (from === null) throw new BadRequest('--from', 'expected ISO 8601, "now" or a relative time like -7d');
    if (to === null) throw new BadRequest('--to', 'expected ISO 8601, "now" or a relative time like -2h');
    if (from >= to) throw new BadRequest('--from', 'must be before --to');
    if (!existsSync(config.db.path)) throw new BadRequest('db.path', `no database at ${config.db.path} (has the daemon run?)`);
    const g = openDb(config.db.path, { readonly: true });
    try {
      const r = spendReport(g.db, { from, to, by, tz, now });
      const names = new Map((g.sqlite.prepare('select id, name from instances').all() as { id: string; name: string }[]).map((x) => [x.id, x.name]));
      const key = (k: number | string) => (typeof k === 'number' ? isoInTz(k, tz).slice(0, by === 'hour' ? 16 : 10).replace('T', ' ') : `${names.get(k) ?? ''} ${k}`.trim());
      if (values.json) {
        console.log(JSON.stringify({ ...r, from: isoInTz(from, tz), to: isoInTz(to, tz), rows: r.rows.map((x) => ({ ...x, key: typeof x.key === 'number' ? isoInTz(x.key, tz) : x.key })) }, null, 2));
        return 0;
      }
      const y = (v: number | null) => (v === null ? '—' : `¥${v.toFixed(2)}`).padStart(11);
      console.log(`spend ${isoInTz(from, tz)} .. ${isoInTz(to, tz)} by ${by} (${tz})`);
      console.log(`${(by === 'instance' ? 'instance' : 'bucket').padEnd(36)}${'estimated'.padStart(11)}${'observed'.padStart(11)}${'saved'.padStart(11)}`);
      for (const row of r.rows) console.log(`${key(row.key).padEnd(36)}${y(row.estimated)}${y(row.observed)}${y(row.saved)}`);
      console.log(`${'total'.padEnd(36)}${y(r.total.estimated)}${y(r.total.observed)}${y(r.total.saved)}`);
      console.log(`recharged ¥${r.total.recharged.toFixed(2)}; observed - estimated = ¥${r.total.difference.toFixed(2)} (the platform debits hourly in arrears)`);
      return 0;
    } finally {
      g.close();
    }
  },
};
export default spend;
