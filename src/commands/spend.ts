/** `xgc-guard spend`: estimated, observed and saved money from the guard's database, as a table (or JSON, or CSV). */
import type { Command } from './types.js';
import { systemClock } from '../clock.js';
import { historyStart, instanceNames, instanceSelectables } from '../db/known-instances.js';
import { spendReport, type SpendBy } from '../db/spend.js';
import { spendCsv } from '../db/spend-csv.js';
import { BadRequest } from '../errors.js';
import { spendByGroup } from '../groups.js';
import { isoInTz } from '../money.js';
import { parseTimeParam } from '../http/params.js';
import { configOption, loadFromArgs, openExistingDb, str } from './common.js';

const spend: Command = {
  summary: 'Print spend (estimated from status intervals, observed from balance decreases) and savings.',
  usage: 'Usage: xgc-guard spend [--config FILE] [--from -7d|ISO] [--to now|ISO] [--by day|hour|instance|group] [--tz ZONE] [--json | --csv]',
  options: { ...configOption, from: { type: 'string' }, to: { type: 'string' }, by: { type: 'string' }, tz: { type: 'string' }, json: { type: 'boolean' }, csv: { type: 'boolean' } },
  async run(values) {
    const { config } = loadFromArgs(values);
    const tz = str(values.tz) ?? config.timezone;
    const now = systemClock.now();
    const by = (str(values.by) ?? 'day') as SpendBy | 'group';
    if (!['day', 'hour', 'instance', 'group'].includes(by)) throw new BadRequest('--by', `expected day, hour, instance or group, got "${by}"`);
    const from = parseTimeParam(str(values.from) ?? '-7d', now, tz);
    const to = parseTimeParam(str(values.to) ?? 'now', now, tz);
    if (from === null) throw new BadRequest('--from', 'expected ISO 8601, "now" or a relative time like -7d');
    if (to === null) throw new BadRequest('--to', 'expected ISO 8601, "now" or a relative time like -2h');
    if (from >= to) throw new BadRequest('--from', 'must be before --to');
    if (values.json && values.csv) throw new BadRequest('--csv', 'use either --json or --csv');
    const g = openExistingDb(config.db.path);
    try {
      const byInstance = spendReport(g.db, { from, to, by: by === 'group' ? 'instance' : by, tz, now });
      const r = by === 'group' ? spendByGroup(byInstance, config.groups, instanceSelectables(g.db)) : byInstance;
      // group rows are keyed by the group's name, instance rows by id (shown with the instance's name)
      const names = by === 'group' ? new Map<string, string>() : instanceNames(g.db);
      const start = historyStart(g.db);
      const key = (k: number | string) => (typeof k === 'number' ? isoInTz(k, tz).slice(0, by === 'hour' ? 16 : 10).replace('T', ' ') : `${names.get(k) ?? ''} ${k}`.trim());
      if (values.csv) {
        // CSV on stdout as is (BOM, CRLF rows): redirect it to a file
        process.stdout.write(spendCsv(r, names));
        return 0;
      }
      if (values.json) {
        console.log(JSON.stringify({ ...r, from: isoInTz(from, tz), to: isoInTz(to, tz), rows: r.rows.map((x) => ({ ...x, key: typeof x.key === 'number' ? isoInTz(x.key, tz) : x.key })) }, null, 2));
        return 0;
      }
      const y = (v: number | null) => (v === null ? '—' : `¥${v.toFixed(2)}`).padStart(11);
      console.log(`spend ${isoInTz(from, tz)} .. ${isoInTz(to, tz)} by ${by} (${tz})`);
      console.log(`${(by === 'instance' || by === 'group' ? by : 'bucket').padEnd(36)}${'estimated'.padStart(11)}${'observed'.padStart(11)}${'saved'.padStart(11)}`);
      for (const row of r.rows) console.log(`${key(row.key).padEnd(36)}${y(row.estimated)}${y(row.observed)}${y(row.saved)}`);
      console.log(`${'total'.padEnd(36)}${y(r.total.estimated)}${y(r.total.observed)}${y(r.total.saved)}`);
      if (start === null) console.log('the guard has not observed the account yet: no history to sum');
      else if (start > from) console.log(`history starts ${isoInTz(start, tz)} (the guard's first observation): nothing before it is counted`);
      console.log(`recharged ¥${r.total.recharged.toFixed(2)}; observed - estimated = ¥${r.total.difference.toFixed(2)} (the platform debits hourly in arrears)`);
      return 0;
    } finally {
      g.close();
    }
  },
};
export default spend;
