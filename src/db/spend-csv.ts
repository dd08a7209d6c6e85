/**
 * The spend report as CSV (`xgc-guard spend --csv`, `GET /api/v1/spend?format=csv`): one row per report row.
 * By day or hour: `day` (YYYY-MM-DD) or `hour_start` (ISO 8601 in the report's zone), then estimated, observed and
 * saved yuan. By instance: `instance_id`, `instance_name`, estimated and saved yuan (no observed column: the
 * balance, hence observed spend, is per account, not per instance). By group: `group`, estimated and saved yuan.
 */
import { toCsv, yuanCell, type CsvCell } from '../csv.js';
import { isoInTz } from '../money.js';
import type { SpendReport } from './spend.js';

/** The CSV header for a report keyed `by`. */
export function spendCsvHeader(by: SpendReport['by'] | 'group'): string[] {
  if (by === 'group') return ['group', 'estimated_yuan', 'saved_yuan'];
  if (by === 'instance') return ['instance_id', 'instance_name', 'estimated_yuan', 'saved_yuan'];
  return [by === 'day' ? 'day' : 'hour_start', 'estimated_yuan', 'observed_yuan', 'saved_yuan'];
}

/** The report as CSV text (with BOM); `names` maps instance ids to their names. */
export function spendCsv(r: Omit<SpendReport, 'by'> & { by: SpendReport['by'] | 'group' }, names: ReadonlyMap<string, string>): string {
  const rows: CsvCell[][] = r.rows.map((row) => {
    if (r.by === 'group') return [String(row.key), yuanCell(row.estimated), yuanCell(row.saved)];
    if (typeof row.key === 'string') return [row.key, names.get(row.key) ?? '', yuanCell(row.estimated), yuanCell(row.saved)];
    const at = isoInTz(row.key, r.tz);
    return [r.by === 'day' ? at.slice(0, 10) : at, yuanCell(row.estimated), yuanCell(row.observed), yuanCell(row.saved)];
  });
  return toCsv(spendCsvHeader(r.by), rows);
}
