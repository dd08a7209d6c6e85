/** Spend groups (`groups:` in the config): which group an instance falls in, and a by-instance spend report summed by group. */
import { OTHER_GROUP, type GroupConfig } from './config/schema.js';
import type { SpendReport, SpendRow } from './db/spend.js';
import { round4 } from './money.js';
import { selectorMatches, type Selectable } from './policies/selector.js';

/** The name of the first group whose `match` selects `inst`, else "other". */
export function groupOf(groups: readonly GroupConfig[], inst: Selectable): string {
  return groups.find((g) => selectorMatches(g.match, inst))?.name ?? OTHER_GROUP;
}

/** A spend report keyed by group name. */
export type GroupSpendReport = Omit<SpendReport, 'by'> & { by: 'group' };

/**
 * Sums the rows of a by-instance report by the group each instance falls in (looked up by id in `known`; an id
 * the guard never recorded is matched by its id alone, with an empty name and GPU model). Rows keep the report's
 * order of first appearance (most estimated spend first); the total is the instance report's own.
 */
export function spendByGroup(report: SpendReport, groups: readonly GroupConfig[], known: ReadonlyMap<string, Selectable>): GroupSpendReport {
  if (report.by !== 'instance') throw new Error(`spendByGroup needs a by-instance report, got by=${report.by}`);
  const sums = new Map<string, SpendRow>();
  for (const row of report.rows) {
    const id = String(row.key);
    const name = groupOf(groups, known.get(id) ?? { id, name: '', gpuModel: '' });
    let g = sums.get(name);
    if (!g) sums.set(name, (g = { key: name, estimated: 0, observed: null, saved: 0 }));
    g.estimated += row.estimated;
    g.saved += row.saved;
  }
  const rows = [...sums.values()].map((g) => ({ ...g, estimated: round4(g.estimated) + 0, saved: round4(g.saved) + 0 }));
  rows.sort((a, b) => b.estimated - a.estimated);
  return { ...report, by: 'group', rows };
}

/**
 * Rewrites each time-bucket row's `instances` split (estimated per instance id) in place as estimated per group
 * name, summing the instances of each group (looked up in `known` as spendByGroup does).
 */
export function splitByGroup(rows: SpendRow[], groups: readonly GroupConfig[], known: ReadonlyMap<string, Selectable>): SpendRow[] {
  const groupById = new Map<string, string>();
  for (const row of rows) {
    if (!row.instances) continue;
    const sums: Record<string, number> = {};
    for (const [id, e] of Object.entries(row.instances)) {
      let name = groupById.get(id);
      if (name === undefined) groupById.set(id, (name = groupOf(groups, known.get(id) ?? { id, name: '', gpuModel: '' })));
      sums[name] = (sums[name] ?? 0) + e;
    }
    for (const name of Object.keys(sums)) sums[name] = round4(sums[name]) + 0;
    row.instances = sums;
  }
  return rows;
}
