/** `xgc-guard override add|list|rm`: snoozes and exemptions, the same rows and rules as the HTTP API. */
import type { Command } from '../cli.js';
import { systemClock } from '../clock.js';
import { parseDuration } from '../config/duration.js';
import { openDb } from '../db/open.js';
import { BadRequest } from '../errors.js';
import { createOverride, listOverrides, overrideToJson, revokeOverride, type OverrideTarget } from '../db/overrides.js';
import { parseTimeParam } from '../http/params.js';
import { configOption, loadFromArgs } from './common.js';

const USAGE = `Usage:
  xgc-guard override add (--instance ID | --name GLOB) --kind snooze|exempt (--until TIME | --for 2h | --forever)
                         --reason TEXT [--policy NAME]... [--who NAME] [--json] [--config FILE]
  xgc-guard override list [--all] [--json] [--config FILE]
  xgc-guard override rm ID [--json] [--config FILE]

A snooze needs --until or --for; --forever is for exemptions. Without --policy it covers every policy.
TIME is ISO 8601 (2026-11-26T08:00, offset optional: the configured time zone) or relative (+2h).`;

type Row = ReturnType<typeof overrideToJson>;

function table(rows: Row[]): string {
  const head = ['ID', 'KIND', 'TARGET', 'POLICIES', 'UNTIL', 'STATE', 'WHO', 'REASON'];
  const cells: string[][] = rows.map((o) => [
    String(o.id),
    o.kind,
    o.target.instance_id ?? `name=${o.target.name}`,
    o.policies ? o.policies.join(',') : '*',
    o.forever ? 'forever' : o.until ?? '-',
    o.state,
    o.who,
    o.reason,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return [head, ...cells].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const override: Command = {
  summary: 'Add, list or remove overrides (snooze / exempt instances from policies).',
  usage: USAGE,
  allowPositionals: true,
  options: {
    ...configOption,
    instance: { type: 'string' },
    name: { type: 'string' },
    kind: { type: 'string' },
    policy: { type: 'string', multiple: true },
    until: { type: 'string' },
    for: { type: 'string' },
    forever: { type: 'boolean' },
    reason: { type: 'string' },
    who: { type: 'string' },
    all: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run(values, positionals) {
    const [sub, ...rest] = positionals;
    if (sub !== 'add' && sub !== 'list' && sub !== 'rm') {
      console.error(`xgc-guard override: expected add, list or rm\n\n${USAGE}`);
      return 1;
    }
    const { config } = loadFromArgs(values);
    const tz = config.timezone;
    const gdb = openDb(config.db.path);
    try {
      const now = systemClock.now();
      const print = (json: unknown, text: string) => console.log(values.json ? JSON.stringify(json, null, 2) : text);
      if (sub === 'list') {
        const rows = listOverrides(gdb.db, { all: values.all === true }, now).map((o) => overrideToJson(o, now, tz));
        print({ overrides: rows }, rows.length ? table(rows) : values.all ? 'no overrides' : 'no active overrides');
        return 0;
      }
      if (sub === 'rm') {
        if (rest.length !== 1 || !/^[1-9]\d{0,11}$/.test(rest[0])) throw new BadRequest('ID', 'expected one override id (a positive integer)');
        const o = overrideToJson(revokeOverride(gdb.db, Number(rest[0]), now), now, tz);
        print({ override: o }, `revoked override ${o.id}`);
        return 0;
      }
      const instance = str(values.instance);
      const name = str(values.name);
      if ((instance === undefined) === (name === undefined)) throw new BadRequest('--instance/--name', 'give exactly one');
      const target: OverrideTarget = instance !== undefined ? { instance_id: instance } : { name: name! };
      const kind = str(values.kind);
      if (kind !== 'snooze' && kind !== 'exempt') throw new BadRequest('--kind', 'expected snooze or exempt');
      const reason = str(values.reason);
      if (!reason) throw new BadRequest('--reason', 'required');
      const policies = (values.policy as unknown as string[] | undefined) ?? [];
      const known = new Set(config.policies.map((p) => p.name));
      for (const p of policies) if (!known.has(p)) throw new BadRequest('--policy', `unknown policy "${p}": expected one of ${[...known].join(', ')}`);
      let until: number | undefined;
      const untilArg = str(values.until);
      if (untilArg !== undefined) {
        const t = parseTimeParam(untilArg, now, tz);
        if (t === null) throw new BadRequest('--until', 'expected ISO 8601 such as 2026-11-26T08:00 or a relative time such as +2h');
        until = t;
      }
      let forMs: number | undefined;
      const forArg = str(values.for);
      if (forArg !== undefined) {
        const d = parseDuration(forArg);
        if (d === null || d <= 0) throw new BadRequest('--for', 'expected a duration such as 30m, 2h or 1d');
        forMs = d;
      }
      const o = createOverride(
        gdb.db,
        { target, kind, policies, until, for: forMs, forever: values.forever === true ? true : undefined, reason, who: str(values.who) ?? 'cli' },
        now,
      );
      const j = overrideToJson(o, now, tz);
      print({ override: j }, `added override ${j.id}: ${j.kind} ${j.target.instance_id ?? `name=${j.target.name}`} ${j.forever ? 'forever' : `until ${j.until}`}`);
      return 0;
    } finally {
      gdb.close();
    }
  },
};
export default override;
