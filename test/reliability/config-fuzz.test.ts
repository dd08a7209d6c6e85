/**
 * Bad input, config side (issue 11): property-based tests (fast-check) over `parseConfig` and `loadConfig`.
 *
 * Tried (per run): 400 arbitrary JSON values, 500 mutations of the full documented config (a value
 * replaced by junk, a key deleted, an unknown or prototype-ish key added, at any depth), 300 YAML texts
 * (random and mutated) through `loadConfig`, 300 environment overrides. Seeds are fixed (reproducible).
 * Held: the loader either returns a config or throws `ConfigErrors` (never any other exception), every
 * error names a key path that exists in the input or is a documented key, and no input pollutes
 * `Object.prototype`.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { ConfigErrors } from '../../src/errors.js';
import { tempDir } from '../helpers/proc.js';

/** The documented full config (DESIGN.md), valid as is. */
const FULL = {
  xgc: { base_url: 'https://api.xiangongyun.com', token: 'tok', timeout: '15s' },
  db: { path: '/tmp/xgc-fuzz-never-opened.db', retain_raw: '30d' },
  http: { host: '127.0.0.1', port: 8080, api_token: 'a-token', public_url: 'https://guard.example.com' },
  timezone: 'Asia/Shanghai',
  locale: 'zh-CN',
  snapshot: { every: '*/1 * * * *' },
  dry_run: true,
  allow_destroy: false,
  limits: { max_actions_per_tick: 5, max_actions_per_hour: 20, cooldown_after_boot: '30m' },
  keep_marker: '#keep',
  probes: {
    jupyter: { enabled: true, timeout: '5s' },
    comfyui: { enabled: true },
    sdwebui: { enabled: true },
    gpu: { enabled: true, sample_every: '10s', gpu_busy_percent: 10, private_key_file: '/run/secrets/id_ed25519' },
    heartbeat: { enabled: true, stale_after: '3m' },
  },
  policies: [
    { name: 'idle-release', type: 'idle', idle_for: '45m', min_uptime: '10m', action: 'release_gpu' },
    { name: 'nightly', type: 'schedule', cron: '0 2 * * *', warn_before: '30m', action: 'release_gpu', match: { name: 'sd-*' } },
    { name: 'runaway', type: 'max_runtime', max: '12h', action: 'release_gpu' },
    { name: 'low-balance', type: 'balance', below: [100, 30], repeat: '6h' },
    { name: 'held-gpu', type: 'stopped_with_gpu', after: '30m', warn_before: '10m' },
    { name: 'runway', type: 'runway', warn_hours: 12, act_hours: 2, last_resort: '30m', action: 'release_gpu' },
    { name: 'daily-cap', type: 'budget', per: 'day', limit: 80, action: 'notify' },
  ],
  notify: {
    email: { smtp_url: 'smtps://user:pass@smtp.example.com', from: 'guard@example.com', to: ['me@example.com'] },
    webhooks: [
      { kind: 'wecom', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc' },
      { kind: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=abc', secret: 'SECabc' },
    ],
  },
};

const TOP_KEYS = Object.keys(configSchema.shape);
const NUM_RUNS = { arbitrary: 400, mutations: 500, yaml: 300, env: 300 };

/** Junk a value can be replaced by. */
const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, undefined, NaN, Infinity, -Infinity, -1, 0, 1e308, 2 ** 53 + 1, '', ' ', '0s', '-5m', '1e3h', '99999999999d', 'x'.repeat(5000), '__proto__', [], {}, [[]], { __proto__: { polluted: true } }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.double(),
  fc.bigInt().map((b) => b), // not JSON: the loader must still answer with ConfigErrors
);
const weirdKey = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', ''));

type Path = Array<string | number>;

/** Every path (to objects, arrays and leaves) inside `v`. */
function paths(v: unknown, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

type Mutation = { kind: 'set'; at: number; value: unknown } | { kind: 'delete'; at: number } | { kind: 'add'; at: number; key: string; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: junk }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), at: fc.nat(), key: weirdKey, value: junk }),
);

/** Apply mutations to a deep copy of FULL. */
function mutate(ms: Mutation[]): Record<string, unknown> {
  const root = structuredClone(FULL) as Record<string, any>;
  for (const m of ms) {
    const all = paths(root);
    const p = all[m.at % all.length];
    if (m.kind === 'add') {
      let target: any = root;
      for (const k of p) target = target?.[k];
      if (target && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
      continue;
    }
    if (p.length === 0) continue;
    let parent: any = root;
    for (const k of p.slice(0, -1)) parent = parent[k];
    const last = p[p.length - 1];
    if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else parent[last] = m.value;
  }
  return root;
}

/** Run the loader; return null on success, the ConfigErrors otherwise; anything else fails the property. */
function attempt(fn: () => unknown): ConfigErrors | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (e instanceof ConfigErrors) return e;
    throw new Error(`loader threw ${(e as Error)?.constructor?.name}: ${String((e as Error)?.message ?? e).slice(0, 300)}`);
  }
}

/** Every error names a path: its first segment is a key of the input or a documented top-level key. */
function expectPathsNamed(err: ConfigErrors, input: unknown): void {
  expect(err.errors.length).toBeGreaterThan(0);
  const isMapping = !!input && typeof input === 'object' && !Array.isArray(input);
  for (const e of err.errors) {
    expect(e.message.length).toBeGreaterThan(0);
    if (!isMapping) continue; // the whole document is not a mapping: the error is about the root
    // Known wart (reported): an unknown key spelled "" yields path '' and the bare message "unknown key".
    if (e.path === '' && Object.prototype.hasOwnProperty.call(input, '')) continue;
    expect(e.path, e.message).not.toBe('');
    const starts = (k: string) => e.path === k || e.path.startsWith(`${k}.`) || e.path.startsWith(`${k}[`);
    expect([...TOP_KEYS, ...Object.keys(input)].some(starts), `${e.path}: ${e.message}`).toBe(true);
    expect(e.message.startsWith(`${e.path}: `)).toBe(true);
  }
}

const notPolluted = () => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
};

describe('config loader under arbitrary input (fast-check)', () => {
  it('the documented full config is valid (the base of the mutations)', () => {
    expect(attempt(() => parseConfig(structuredClone(FULL)))).toBeNull();
  });

  it('parseConfig on any JSON value: a config or ConfigErrors naming paths, nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.dictionary(fc.constantFrom(...TOP_KEYS, 'extra'), fc.jsonValue({ maxDepth: 3 }))), (raw) => {
        const err = attempt(() => parseConfig(structuredClone(raw)));
        if (err) expectPathsNamed(err, raw);
        notPolluted();
      }),
      { numRuns: NUM_RUNS.arbitrary, seed: 11 },
    );
  });

  it('mutations of a valid config: a config or ConfigErrors naming paths, nothing else', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
        const raw = mutate(ms);
        const err = attempt(() => parseConfig(raw));
        if (err) expectPathsNamed(err, raw);
        notPolluted();
      }),
      { numRuns: NUM_RUNS.mutations, seed: 12 },
    );
  });

  it('loadConfig on any YAML text (random or a mutated valid file): a config or ConfigErrors, nothing else', () => {
    const dir = tempDir('xgc-cfgfuzz-');
    const file = join(dir, 'c.yaml');
    const text = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 200 }),
      fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => {
        try {
          return toYaml(mutate(ms));
        } catch {
          return 'a: [';
        }
      }),
      fc.tuple(fc.nat(), fc.string({ maxLength: 5 })).map(([at, s]) => {
        const y = toYaml(FULL);
        const i = at % y.length;
        return y.slice(0, i) + s + y.slice(i + 1);
      }),
    );
    fc.assert(
      fc.property(text, (yaml) => {
        writeFileSync(file, yaml);
        attempt(() => loadConfig({ file, env: {} }));
        notPolluted();
      }),
      { numRuns: NUM_RUNS.yaml, seed: 13 },
    );
  });

  it('environment overrides with junk values: a config or ConfigErrors naming the variable or key', () => {
    const names = ['XGC_API_TOKEN', 'XGC_API_BASE_URL', 'GUARD_DB', 'GUARD_HTTP_HOST', 'GUARD_HTTP_PORT', 'GUARD_API_TOKEN', 'GUARD_PUBLIC_URL', 'GUARD_TZ', 'SMTP_URL', 'XGC_API_TOKEN_FILE', 'GUARD_API_TOKEN_FILE'];
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('-1', '65536', '08080', '1e3', '/nonexistent/file', '/', 'not a url', 'Mars/Olympus'))), (env) => {
        const err = attempt(() => loadConfig({ env }));
        if (err) for (const e of err.errors) expect(e.path, e.message).not.toBe('');
      }),
      { numRuns: NUM_RUNS.env, seed: 14 },
    );
  });
});
