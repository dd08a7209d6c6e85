/** `xgc-guard override add|list|rm`: snoozes and exemptions, the same rows and rules as the HTTP API. */
import { systemClock } from '../clock.js';
import { parseDuration } from '../config/duration.js';
import { openDb, type Db, type GuardDb } from '../db/open.js';
import { instanceNames, instancesMatching, knownInstances } from '../db/known-instances.js';
import { BadRequest } from '../errors.js';
import { createOverride, listOverrides, overrideToJson, revokeOverride, type OverrideTarget } from '../db/overrides.js';
import { TIME_RANGE, isTimeForm, parseTimeParam } from '../http/params.js';
import type { Command } from './types.js';
import { NoDatabase, configOption, hasDatabase, loadFromArgs, openExistingDb, str } from './common.js';

const USAGE = `Usage:
  xgc-guard override add (--instance ID | --name GLOB) --kind snooze|exempt (--until TIME | --for 2h | --forever)
                         --reason TEXT [--policy NAME]... [--who NAME] [--force] [--json] [--config FILE]
  xgc-guard override list [--all] [--json] [--config FILE]
  xgc-guard override rm ID [--json] [--config FILE]

A snooze needs --until or --for; --forever is for exemptions. Without --policy it covers every policy.
TIME is ISO 8601 (2026-11-26T08:00, offset optional: the configured time zone) or relative (+2h).
The instance (or at least one name matching the glob) must be one the guard has seen; --force adds it anyway.
\`list\` and \`rm\` use the daemon's database and never create one.`;

type Row = ReturnType<typeof overrideToJson> & { instance_name?: string | null; matches?: string[] };

const clip = (s: string, n = 40) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function table(rows: Row[]): string {
  const head = ['ID', 'KIND', 'TARGET', 'NAME', 'POLICIES', 'UNTIL', 'STATE', 'WHO', 'REASON'];
  const cells: string[][] = rows.map((o) => [
    String(o.id),
    o.kind,
    o.target.instance_id ?? `name=${o.target.name}`,
    o.target.instance_id !== undefined ? (o.instance_name ?? '(never seen)') : o.matches?.length ? clip(o.matches.join(',')) : '(none seen)',
    o.policies ? o.policies.join(',') : '*',
    o.forever ? 'forever' : (o.until ?? '-'),
    o.state,
    o.who,
    o.reason,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return [head, ...cells].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}

/** Refuse a target the guard has never seen (a typo would otherwise protect nothing), with a hint. */
function checkTargetSeen(gdb: GuardDb | null, path: string, target: OverrideTarget): void {
  const force = 'or pass --force to add it anyway';
  if (!gdb) throw new BadRequest('', `${new NoDatabase(path).message}: the target cannot be checked before the daemon has seen the account; ${force}`);
  const known = knownInstances(gdb.db);
  const sample = known.slice(0, 8).map((i) => `${i.name || '(no name)'} (${i.id})`).join(', ') || 'none yet';
  if ('instance_id' in target) {
    if (known.some((i) => i.id === target.instance_id)) return;
    const isName = known.some((i) => i.name === target.instance_id);
    const hint = isName ? `"${target.instance_id}" is a name: use --name "${target.instance_id}"` : `known: ${sample}`;
    throw new BadRequest('--instance', `the guard has never seen an instance with id "${target.instance_id}" (${hint}); check the id, ${force}`);
  }
  if (instancesMatching(gdb.db, target.name).length) return;
  throw new BadRequest('--name', `no instance the guard has seen is named like "${target.name}" (known: ${sample}); check the glob, ${force}`);
}

/** Run `fn`, naming createOverride's fields as the CLI's options (`for` -> `--for`). */
function asOptions<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof BadRequest && /^(for|until|forever|kind|reason)$/.test(e.field)) throw new BadRequest(`--${e.field}`, e.message.slice(e.field.length + 2));
    throw e;
  }
}

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
    force: { type: 'boolean' },
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
    const now = systemClock.now();
    const print = (json: unknown, text: string) => console.log(values.json ? JSON.stringify(json, null, 2) : text);

    if (sub === 'list') {
      const gdb = openExistingDb(config.db.path);
      try {
        const names = instanceNames(gdb.db);
        const rows: Row[] = listOverrides(gdb.db, { all: values.all === true }, now).map((o) => {
          if (o.problem !== null) console.error(`warning: override ${o.id} is invalid (${o.problem}): it is not in force; remove it with \`override rm ${o.id}\``);
          const j = overrideToJson(o, now, tz);
          const { instance_id: id, name: glob } = j.target;
          return id !== undefined ? { ...j, instance_name: names.get(id) ?? null } : { ...j, matches: instancesMatching(gdb.db, glob ?? '').map((i) => i.name) };
        });
        print({ overrides: rows }, rows.length ? table(rows) : values.all ? 'no overrides' : 'no active overrides');
        return 0;
      } finally {
        gdb.close();
      }
    }

    if (sub === 'rm') {
      if (rest.length !== 1 || !/^[1-9]\d{0,11}$/.test(rest[0])) throw new BadRequest('ID', 'expected one override id (a positive integer)');
      if (!hasDatabase(config.db.path)) throw new NoDatabase(config.db.path);
      const gdb = openDb(config.db.path);
      try {
        const o = overrideToJson(revokeOverride(gdb.db, Number(rest[0]), now), now, tz);
        print({ override: o }, `revoked override ${o.id}`);
        return 0;
      } finally {
        gdb.close();
      }
    }

    const instance = str(values.instance);
    const name = str(values.name);
    if ((instance === undefined) === (name === undefined)) throw new BadRequest('--instance/--name', 'give exactly one');
    const target: OverrideTarget = instance !== undefined ? { instance_id: instance } : { name: name! };
    const kind = str(values.kind);
    if (kind !== 'snooze' && kind !== 'exempt') throw new BadRequest('--kind', 'expected snooze or exempt');
    const reason = str(values.reason);
    if (!reason) throw new BadRequest('--reason', 'required');
    const policies = (values.policy as string[] | undefined) ?? [];
    const known = new Set(config.policies.map((p) => p.name));
    for (const p of policies) if (!known.has(p)) throw new BadRequest('--policy', `unknown policy "${p}": expected one of ${[...known].join(', ')}`);
    let until: number | undefined;
    const untilArg = str(values.until);
    if (untilArg !== undefined) {
      const t = parseTimeParam(untilArg, now, tz);
      if (t === null) throw new BadRequest('--until', isTimeForm(untilArg) ? TIME_RANGE : 'expected ISO 8601 such as 2026-11-26T08:00 or a relative time such as +2h');
      until = t;
    }
    let forMs: number | undefined;
    const forArg = str(values.for);
    if (forArg !== undefined) {
      const d = parseDuration(forArg);
      if (d === null || d <= 0) throw new BadRequest('--for', 'expected a duration such as 30m, 2h or 1d');
      forMs = d;
    }
    // Without a database nothing can be checked (and none is created), unless --force.
    if (!values.force && !hasDatabase(config.db.path)) checkTargetSeen(null, config.db.path, target);
    const gdb = openDb(config.db.path);
    try {
      // Validate and insert, then refuse (rolling back) a target the guard has never seen, unless --force.
      const o = gdb.db.transaction((tx) => {
        const created = asOptions(() =>
          createOverride(
            tx as unknown as Db,
            { target, kind, policies, until, for: forMs, forever: values.forever === true ? true : undefined, reason, who: str(values.who) ?? 'cli' },
            now,
          ),
        );
        if (!values.force) checkTargetSeen(gdb, config.db.path, target);
        return created;
      });
      const j = overrideToJson(o, now, tz);
      const label = j.target.instance_id !== undefined ? `${instanceNames(gdb.db).get(j.target.instance_id) ?? '(never seen)'} (${j.target.instance_id})` : `name=${j.target.name}`;
      print({ override: j }, `added override ${j.id}: ${j.kind} ${label} ${j.forever ? 'forever' : `until ${j.until}`}`);
      return 0;
    } finally {
      gdb.close();
    }
  },
};
export default override;
