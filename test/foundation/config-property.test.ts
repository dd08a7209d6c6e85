/**
 * The config loader's bounds (fast-check): an arbitrary string in any duration key, an arbitrary number (as YAML
 * text: `1e400`, `.inf`, `.nan`, ...) in any number key. Held: `parseConfig` / `loadConfig` either accept a finite
 * value (a duration at most 3650d) or throw ConfigErrors naming exactly that key path; never anything else.
 * The total number of cases run is printed at the end (700 per run, fixed seeds).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { formatPath, loadConfig, parseConfig } from '../../src/config/load.js';
import { MAX_DURATION_MS } from '../../src/config/duration.js';
import { ConfigErrors } from '../../src/errors.js';
import { durationText, numberText } from '../helpers/arbitraries.js';
import { tempDir } from '../helpers/proc.js';

const BASE = {
  policies: [
    { name: 'idle-release', type: 'idle', idle_for: '45m', min_uptime: '10m', action: 'release_gpu' },
    { name: 'nightly', type: 'schedule', cron: '0 2 * * *', warn_before: '30m', action: 'release_gpu' },
    { name: 'runaway', type: 'max_runtime', max: '12h', action: 'release_gpu' },
    { name: 'low-balance', type: 'balance', below: [100, 30], repeat: '6h' },
    { name: 'runway', type: 'runway', warn_hours: 12, act_hours: 2, last_resort: '30m', action: 'release_gpu' },
    { name: 'daily-cap', type: 'budget', per: 'day', limit: 80, action: 'notify' },
  ],
};
type Path = (string | number)[];
const DURATION_KEYS: Path[] = [
  ['xgc', 'timeout'],
  ['db', 'retain_raw'],
  ['log', 'summary_every'],
  ['limits', 'cooldown_after_boot'],
  ['wake', 'give_up_after'],
  ['probes', 'jupyter', 'timeout'],
  ['probes', 'gpu', 'sample_every'],
  ['probes', 'heartbeat', 'stale_after'],
  ['policies', 0, 'idle_for'],
  ['policies', 0, 'min_uptime'],
  ['policies', 1, 'warn_before'],
  ['policies', 2, 'max'],
  ['policies', 3, 'repeat'],
  ['policies', 4, 'last_resort'],
];
const NUMBER_KEYS: Path[] = [
  ['http', 'port'],
  ['xgc', 'retries'],
  ['blind_alert_after'],
  ['limits', 'max_actions_per_tick'],
  ['probes', 'gpu', 'gpu_busy_percent'],
  ['policies', 3, 'below', 1],
  ['policies', 4, 'warn_hours'],
  ['policies', 5, 'limit'],
];
const NUM_RUNS = { durations: 400, numbers: 300 };
let cases = 0;
afterAll(() => console.info(`[config-property] cases run: ${cases} (durations ${NUM_RUNS.durations}, numbers ${NUM_RUNS.numbers})`));

/** BASE with `value` at `path`. */
function withValue(path: Path, value: unknown): Record<string, unknown> {
  const raw: any = structuredClone(BASE);
  let o = raw;
  path.slice(0, -1).forEach((k, i) => (o = o[k] ??= typeof path[i + 1] === 'number' ? [] : {}));
  o[path[path.length - 1]] = value;
  return raw;
}

const at = (raw: any, path: Path): unknown => path.reduce((o, k) => o?.[k], raw);

/**
 * Run `load`; it returns a config or throws ConfigErrors all naming `path`, or a key in the same block (a list or
 * union names its key; a cross-key check such as act_hours < warn_hours names the sibling), nothing else.
 */
function loadOrPathError(load: () => unknown, path: Path): { config: unknown } | { errors: ConfigErrors } {
  try {
    return { config: load() };
  } catch (e) {
    if (!(e instanceof ConfigErrors)) throw e;
    const block = formatPath(path.slice(0, -1));
    for (const err of e.errors) expect(err.path === formatPath(path) || (block !== '' && err.path.startsWith(block)), err.message).toBe(true);
    return { errors: e };
  }
}

describe('config loader bounds (fast-check)', () => {
  it('an arbitrary string in any duration key: a duration from 0 to 3650d, or an error naming that key', () => {
    fc.assert(
      fc.property(fc.constantFrom(...DURATION_KEYS), durationText, (path, text) => {
        cases++;
        const r = loadOrPathError(() => parseConfig(withValue(path, text)), path);
        if ('config' in r) {
          const ms = at(r.config, path) as number;
          expect(Number.isFinite(ms) && ms >= 0 && ms <= MAX_DURATION_MS, `${formatPath(path)}=${text} -> ${ms}`).toBe(true);
        } else if (/^\d+d$/.test(text) && Number(text.slice(0, -1)) > 3650 && path[2] !== 'last_resort') {
          // last_resort (a duration or "off") answers with the union's own message
          expect(r.errors.message).toMatch(/at most 3650d/);
        }
      }),
      { numRuns: NUM_RUNS.durations, seed: 41 },
    );
  });

  it('an arbitrary number (YAML text) in any number key: a finite number, or an error naming that key', () => {
    const file = join(tempDir('xgc-cfgprop-'), 'guard.yaml');
    const yamlNumber = fc.oneof(numberText, fc.constantFrom('.inf', '-.inf', '.nan', '.NaN', '0x1F', '0o17', '1_000', '+12', '12.', '.5', '1e3'));
    fc.assert(
      fc.property(fc.constantFrom(...NUMBER_KEYS), yamlNumber, (path, text) => {
        cases++;
        writeFileSync(file, toYaml(withValue(path, '__VALUE__')).replace('__VALUE__', text));
        const r = loadOrPathError(() => loadConfig({ file, env: {} }).config, path);
        if ('config' in r) expect(Number.isFinite(at(r.config, path)), `${formatPath(path)}=${text}`).toBe(true);
      }),
      { numRuns: NUM_RUNS.numbers, seed: 42 },
    );
  });
});
