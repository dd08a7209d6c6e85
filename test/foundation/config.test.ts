import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigErrors } from '../../src/errors.js';
import { loadConfig, parseConfig, startRefusals, parseDuration } from '../../src/config/index.js';
import { tempDir } from '../helpers/proc.js';
import { nearestKey } from '../../src/config/suggest.js';

function errorsOf(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigErrors) return e.errors.map((x) => x.message);
    throw e;
  }
  return [];
}

describe('config', () => {
  it('applies the documented defaults when there is no file, in dry-run', () => {
    const { config, source } = loadConfig({ env: {} });
    expect(source.kind).toBe('defaults');
    expect(config.dry_run).toBe(true);
    expect(config.xgc.base_url).toBe('https://api.xiangongyun.com');
    expect(config.db.path).toBe('./data/guard.db');
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(config.timezone).toBe('Asia/Shanghai');
    expect(config.limits).toEqual({ max_actions_per_tick: 5, max_actions_per_hour: 20, cooldown_after_boot: 30 * 60_000 });
    expect(config.keep_marker).toBe('#keep');
    expect(config.log.summary_every).toBe(15 * 60_000);
    expect(config.policies.map((p) => `${p.name}:${p.type}`)).toEqual([
      'idle-release:idle',
      'nightly:schedule',
      'runaway:max_runtime',
      'low-balance:balance',
      'held-gpu:stopped_with_gpu',
      'runway:runway',
      'daily-cap:budget',
    ]);
    const idle = config.policies[0];
    expect(idle.type === 'idle' && idle.idle_for).toBe(45 * 60_000);
  });

  it.each([
    [{ policies: [{ name: 'a', type: 'idle', idle_for: '45m', idel_for: '1h' }] }, 'policies[0].idel_for: unknown key'],
    [{ polices: [] }, 'polices: unknown key (did you mean policies?)'],
    [{ dryrun: true }, 'dryrun: unknown key (did you mean dry_run?)'],
    [{ policies: [{ name: 'n', type: 'schedule', cron: '0 25 * * *' }] }, 'policies[0].cron: bad cron expression "0 25 * * *": hour "25" is out of range 0-23'],
    [{ policies: [{ name: 'a', type: 'idle', idle_for: '45 minutes' }] }, 'policies[0].idle_for: bad duration "45 minutes"'],
    [{ policies: [{ name: 'a', type: 'idle' }] }, 'policies[0].idle_for: required'],
    [{ policies: [{ name: 'a', type: 'sleepy' }] }, 'policies[0].type: unknown policy type: expected one of idle, schedule'],
    [{ http: { port: '80' } }, 'http.port: expected number, got string'],
    [{ limits: { max_actions_per_tick: -1 } }, 'limits.max_actions_per_tick'],
    [{ locale: 'fr' }, 'locale: expected zh-CN or en'],
    [{ timezone: 'Mars/Olympus' }, 'timezone: unknown time zone "Mars/Olympus"'],
    [{ snapshot: { every: 'every minute' } }, 'snapshot.every: bad cron expression'],
    [{ policies: [{ name: 'n', type: 'schedule', cron: '99 2 * * *' }] }, 'policies[0].cron: bad cron expression'],
    [{ notify: { digest: { enabled: true, cron: '0 9 * * mon#6' } } }, 'notify.digest.cron: bad cron expression "0 9 * * mon#6": day-of-week "mon#6" is not understood'],
    [{ policies: [{ name: 'n', type: 'schedule', cron: '0 2 * * *', timezone: 'Asia/Shangai' }] }, 'policies[0].timezone: unknown time zone "Asia/Shangai"'],
    [{ policies: [{ name: 'r', type: 'runway', warn_hours: 2, act_hours: 5 }] }, 'policies[0].act_hours: must be below warn_hours'],
    [{ policies: [{ name: 'i', type: 'idle', idle_for: '1h', probes: ['ssh'] }] }, 'policies[0].probes[0]: unknown probe "ssh"'],
    [{ probes: { ssh: { enabled: true } } }, 'probes.ssh: probes.ssh was renamed to probes.gpu'],
    [{ policies: [{ name: 'a', type: 'budget', per: 'day', limit: 5 }, { name: 'a', type: 'budget', per: 'day', limit: 9 }] }, 'policies[1].name: duplicate policy name'],
    [{ notify: { webhooks: [{ kind: 'teams', url: 'https://x' }] } }, 'notify.webhooks[0].kind'],
    [{ xgc: { timeout: 15 } }, 'xgc.timeout'],
    [{ notify: { webhooks: [{ kind: 'wecom', url: 'https://x', sekret: 'y' }] } }, 'notify.webhooks[0].sekret: unknown key'],
    [{ notify: { emial: {} } }, 'notify.emial: unknown key'],
    [{ policies: [{ name: 'b', type: 'balance', below: 5, channels: ['pager'] }] }, 'policies[0].channels[0]: unknown channel "pager"'],
  ])('rejects %j naming the key path', (raw, expected) => {
    const errs = errorsOf(raw);
    expect(errs.join('\n')).toContain(expected);
  });

  it.each([
    ['0 25 * * *', 'hour "25" is out of range 0-23'],
    ['60 * * * *', 'minute "60" is out of range 0-59'],
    ['0 2 0 * *', 'day-of-month "0" is out of range 1-31'],
    ['0 2 * 13 *', 'month "13" is out of range 1-12'],
    ['0 2 * * 8', 'day-of-week "8" is out of range 0-7'],
    ['61 0 2 * * *', 'second "61" is out of range 0-59'],
    ['*/0 * * * *', 'minute step "/0" must be a positive number'],
    ['0 5-2 * * *', 'hour range "5-2" runs backwards'],
    ['0 2 * * funday', 'day-of-week "funday" is not understood: expected values 0-7 or sun-sat'],
    ['5/5 * * * *', 'minute "5/5" is not understood'],
    ['0 2 * *', 'expected 5 fields'],
    ['0 0 2 1 1 * 2027', 'expected 5 fields'],
    ['50 8 * * 1-5', null],
    ['*/2 * * * * *', null],
    ['0 9 * jan,jul mon', null],
    ['0 2 L * *', null],
    ['0 9 15W * *', null],
    ['0 9 * * fri#2', null],
    ['0 9 * * 5#L', null],
    ['@daily', null],
  ])('reads %j as croner does, or says which field is wrong and its range', (expr, want) => {
    const errs = errorsOf({ snapshot: { every: expr } });
    if (want === null) expect(errs).toEqual([]);
    else expect(errs).toEqual([expect.stringContaining(`snapshot.every: bad cron expression "${expr}": ${want}`)]);
  });

  it('uses the canonical name of a time zone written in another case', () => {
    const c = parseConfig({ timezone: 'asia/shanghai', policies: [{ name: 'n', type: 'schedule', cron: '0 2 * * *', timezone: 'etc/utc' }] });
    expect(c.timezone).toBe('Asia/Shanghai');
    expect(c.policies[0]).toMatchObject({ timezone: 'UTC' });
  });

  it.each([
    ['dryrun', ['dry_run', 'allow_destroy'], 'dry_run'],
    ['idel_for', ['idle_for', 'min_uptime'], 'idle_for'],
    ['Timezone', ['timezone', 'locale'], 'timezone'],
    ['polices', ['policies', 'probes'], 'policies'],
    ['frobnicate', ['dry_run', 'policies'], null],
  ])('suggests the nearest key for %j', (key, allowed, want) => {
    expect(nearestKey(key, allowed)).toBe(want);
  });

  it('parses durations', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('45m')).toBe(2_700_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('5')).toBeNull();
    expect(parseDuration('')).toBeNull();
  });

  it('lets the environment win over the file and reads *_FILE secrets', () => {
    const dir = tempDir();
    const file = join(dir, 'guard.yaml');
    writeFileSync(file, 'http: { port: 9000, host: 127.0.0.1 }\ndb: { path: /tmp/x.db }\ndry_run: false\n');
    const tokenFile = join(dir, 'tok');
    writeFileSync(tokenFile, 'secret-from-file\n');
    const { config, source } = loadConfig({ file, env: { GUARD_HTTP_PORT: '9100', XGC_API_TOKEN_FILE: tokenFile, GUARD_DB: '/tmp/y.db', GUARD_TZ: 'UTC' } });
    expect(source).toEqual({ kind: 'file', path: file });
    expect(config.http.port).toBe(9100);
    expect(config.db.path).toBe('/tmp/y.db');
    expect(config.xgc.token).toBe('secret-from-file');
    expect(config.timezone).toBe('UTC');
    expect(config.dry_run).toBe(false);
  });

  it('names the env var when its value is malformed', () => {
    expect(() => loadConfig({ env: { GUARD_HTTP_PORT: 'eighty' } })).toThrow(/GUARD_HTTP_PORT: expected a port number/);
  });

  it('rejects YAML that is not a mapping and files that do not exist', () => {
    const dir = tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, '- a\n- b\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(/must be a YAML mapping/);
    expect(() => loadConfig({ file: join(dir, 'nope.yaml'), env: {} })).toThrow(/not found/);
  });

  it('refuses to start without a token, exposed without an API token, or destroy without allow_destroy', () => {
    const c = parseConfig({ http: { host: '0.0.0.0' }, policies: [{ name: 'd', type: 'max_runtime', max: '1h', action: 'destroy' }] });
    const msgs = startRefusals(c, { needToken: true }).map((r) => r.message).join('\n');
    expect(msgs).toContain('XGC_API_TOKEN is not set');
    expect(msgs).toContain('refusing to listen on 0.0.0.0 without GUARD_API_TOKEN');
    expect(msgs).toContain('uses action destroy but allow_destroy is not true');
    const ok = parseConfig({ xgc: { token: 't' }, allow_destroy: true, policies: [{ name: 'd', type: 'max_runtime', max: '1h', action: 'destroy', confirm_destroy: true }] });
    expect(startRefusals(ok, { needToken: true })).toEqual([]);
  });
});

describe('guard.example.yaml (shipped for `cp guard.example.yaml guard.yaml`)', () => {
  const example = join(__dirname, '..', '..', 'guard.example.yaml');

  it('loads cleanly, in dry-run, with the documented policies', () => {
    const { config } = loadConfig({ file: example, env: {} });
    expect(config.dry_run).toBe(true);
    expect(config.log.summary_every).toBe(15 * 60_000);
    expect(config.policies.map((p) => p.name)).toEqual(['idle-release', 'nightly', 'runaway', 'low-balance', 'held-gpu', 'runway', 'daily-cap']);
    expect(config.notify.webhooks).toEqual([]); // examples stay commented out: a copied file sends nowhere
  });

  it('equals the defaults the loader applies with no file: every policy and setting', () => {
    const fromExample = loadConfig({ file: example, env: {} });
    const noFile = loadConfig({ env: {}, cwd: tempDir() });
    expect(noFile.source).toEqual({ kind: 'defaults' });
    expect(fromExample.config).toEqual(noFile.config);
  });
});

describe('config discovery: --config, else GUARD_CONFIG, else ./guard.yaml in the working directory', () => {
  it('reads guard.yaml from the working directory when nothing names a file, and a named file wins over it', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'guard.yaml'), 'locale: en\n');
    const found = loadConfig({ env: {}, cwd });
    expect(found.source).toEqual({ kind: 'file', path: join(cwd, 'guard.yaml') });
    expect(found.config.locale).toBe('en');
    const named = join(tempDir(), 'other.yaml');
    writeFileSync(named, 'locale: zh-CN\n');
    expect(loadConfig({ env: { GUARD_CONFIG: named }, cwd }).source).toEqual({ kind: 'file', path: named });
    expect(loadConfig({ file: named, env: {}, cwd }).config.locale).toBe('zh-CN');
  });
});
