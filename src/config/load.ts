/** Loads the config: YAML file (optional) + environment overrides + `*_file` secrets, validated by one schema. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { ConfigError, ConfigErrors, StartRefused } from '../errors.js';
import { configSchema, OTHER_GROUP, type Config } from './schema.js';
import { CronError, readCron } from './cron.js';
import { canonicalTimeZone } from '../money.js';
import { keysAt, unknownKeyProblem } from './suggest.js';
import { resolveChannels } from '../notify/config.js';

/** Where the config came from: a file, or the built-in defaults. */
export interface LoadedConfig {
  config: Config;
  source: { kind: 'file'; path: string } | { kind: 'defaults' };
}

/** Probe names the idle policy may list (kept in sync with the probe registry by a test). */
export const KNOWN_PROBES = ['gpu', 'jupyter', 'comfyui', 'sdwebui', 'heartbeat'] as const;

type Env = Record<string, string | undefined>;

/** Format a zod path as `policies[0].idle_for`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += (out ? '.' : '') + String(p);
  }
  return out;
}

/** Turn zod issues into ConfigErrors that name their key path and the expected form (`raw`: for did-you-mean). */
export function issuesToErrors(issues: z.core.$ZodIssue[], raw?: unknown): ConfigError[] {
  const out: ConfigError[] = [];
  for (const iss of issues) {
    const base = formatPath(iss.path);
    if (iss.code === 'unrecognized_keys') {
      const allowed = keysAt(configSchema, iss.path, raw);
      for (const k of iss.keys) out.push(new ConfigError(base ? `${base}.${k}` : k, unknownKeyProblem(k, allowed)));
    } else if (iss.code === 'invalid_type') {
      const generic = iss.message.startsWith('Invalid input');
      const got = Array.isArray(iss.input) ? 'a list' : iss.input === null ? 'null' : typeof iss.input;
      if (iss.input === undefined) out.push(new ConfigError(base, `required (${generic ? `expected ${iss.expected}` : iss.message})`));
      else out.push(new ConfigError(base, generic ? `expected ${iss.expected}, got ${got}` : `${iss.message}, got ${got}`));
    } else {
      out.push(new ConfigError(base, iss.message));
    }
  }
  return out;
}

function readSecretFile(path: string, key: string): string {
  try {
    const v = readFileSync(path, 'utf8').trim();
    if (!v) throw new ConfigError(key, `file ${path} is empty`);
    return v;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
    const fix = code === 'ENOENT' ? ': create it or fix the path' : code === 'EACCES' ? `: make it readable${uid !== undefined ? ` by uid ${uid}` : ''}` : code === 'EISDIR' ? ': it is a directory; name the file' : '';
    throw new ConfigError(key, `cannot read file ${path}: ${code}${fix}`);
  }
}

function setIn(obj: Record<string, any>, path: string[], value: unknown): void {
  let o = obj;
  for (const k of path.slice(0, -1)) {
    if (o[k] === undefined || o[k] === null) o[k] = {};
    if (typeof o[k] !== 'object' || Array.isArray(o[k])) throw new ConfigError(path.slice(0, -1).join('.'), 'expected a mapping');
    o = o[k];
  }
  o[path[path.length - 1]] = value;
}

/** Environment variables and the config key each overrides (env wins). */
const ENV_KEYS: Array<[string, string[], 'string' | 'port']> = [
  ['XGC_API_TOKEN', ['xgc', 'token'], 'string'],
  ['XGC_API_BASE_URL', ['xgc', 'base_url'], 'string'],
  ['GUARD_DB', ['db', 'path'], 'string'],
  ['GUARD_HTTP_HOST', ['http', 'host'], 'string'],
  ['GUARD_HTTP_PORT', ['http', 'port'], 'port'],
  ['GUARD_API_TOKEN', ['http', 'api_token'], 'string'],
  ['GUARD_READ_TOKEN', ['http', 'read_token'], 'string'],
  ['GUARD_HEARTBEAT_TOKEN', ['http', 'heartbeat_token'], 'string'],
  ['GUARD_PUBLIC_URL', ['http', 'public_url'], 'string'],
  ['GUARD_TZ', ['timezone'], 'string'],
];

function applyEnv(raw: Record<string, any>, env: Env): void {
  for (const [name, path, kind] of ENV_KEYS) {
    let v = env[name];
    const fileVar = env[`${name}_FILE`];
    if ((v === undefined || v === '') && fileVar && (name.endsWith('TOKEN'))) v = readSecretFile(fileVar, `${name}_FILE`);
    if (v === undefined || v === '') continue;
    if (kind === 'port') {
      if (!/^\d+$/.test(v) || Number(v) > 65535) throw new ConfigError(name, `expected a port number 0-65535, got "${v}"`);
      setIn(raw, path, Number(v));
    } else setIn(raw, path, v);
  }
  applySmtpEnv(raw, env);
}

/**
 * SMTP_URL, SMTP_FROM and SMTP_TO (comma-separated) each set their `notify.email` key (env wins). Email
 * without a recipient is an error that says how to name one; the sender defaults to the SMTP login when
 * it is an address, else xgc-guard@localhost.
 */
function applySmtpEnv(raw: Record<string, any>, env: Env): void {
  const url = env.SMTP_URL || undefined;
  const from = env.SMTP_FROM?.trim() || undefined;
  const to = env.SMTP_TO?.split(',').map((s) => s.trim()).filter(Boolean);
  if (url !== undefined || from !== undefined || to !== undefined) {
    setIn(raw, ['notify', 'email', 'smtp_url'], url ?? raw.notify?.email?.smtp_url);
    if (from !== undefined) raw.notify.email.from = from;
    if (to?.length) raw.notify.email.to = to;
  }
  const email = raw.notify?.email;
  if (!email || typeof email !== 'object' || Array.isArray(email)) return;
  if (email.smtp_url === undefined)
    throw new ConfigError('notify.email.smtp_url', 'email needs an SMTP server: set SMTP_URL (smtps://user:pass@smtp.example.com) or notify.email.smtp_url');
  if (email.to === undefined || (Array.isArray(email.to) && email.to.length === 0))
    throw new ConfigError('notify.email.to', 'email has no recipient: set SMTP_TO=me@example.com (comma-separated for several) or notify.email.to: [me@example.com]');
  if (email.from === undefined) {
    let user = '';
    try {
      user = decodeURIComponent(new URL(String(email.smtp_url)).username);
    } catch {
      /* a bad URL is reported by the schema */
    }
    email.from = /^[^@\s]+@[^@\s]+$/.test(user) ? user : 'xgc-guard@localhost';
  }
}

/** Resolve `*_file` secrets into their values. */
function resolveFiles(c: Config): void {
  if (!c.xgc.token && c.xgc.token_file) c.xgc.token = readSecretFile(c.xgc.token_file, 'xgc.token_file');
  for (const k of ['api_token', 'read_token', 'heartbeat_token'] as const) {
    const f = c.http[`${k}_file` as const];
    if (!c.http[k] && f) c.http[k] = readSecretFile(f, `http.${k}_file`);
  }
}

/** The canonical name of the zone at `path` (`asia/shanghai` -> `Asia/Shanghai`), or an error naming the key. */
function timeZoneAt(tz: string, path: string, errs: ConfigError[]): string {
  const canonical = canonicalTimeZone(tz);
  if (canonical === null) errs.push(new ConfigError(path, `unknown time zone "${tz}": expected an IANA name such as Asia/Shanghai or UTC`));
  return canonical ?? tz;
}

/** A cron expression croner refuses (as jobs and schedule policies read it), as an error naming the key and the field. */
function checkCron(expr: string, path: string, example: string, errs: ConfigError[]): void {
  try {
    readCron(expr);
  } catch (e) {
    if (!(e instanceof CronError)) throw e;
    errs.push(new ConfigError(path, `${e.message} (e.g. "${example}")`));
  }
}

/** Checks across keys that one field's schema cannot express; time zone names are made canonical. */
/**
 * Policy names the guard journals its own actions under: act-now (`api`, which overrides do not hold back) and the
 * runway's last resort (`last-resort`, which `#keep` does not hold back). A policy of the config must not take them.
 */
const RESERVED_POLICY_NAMES = ['api', 'last-resort'];

function semanticChecks(c: Config): ConfigError[] {
  const errs: ConfigError[] = [];
  c.timezone = timeZoneAt(c.timezone, 'timezone', errs);
  checkCron(c.snapshot.every, 'snapshot.every', '*/1 * * * *', errs);
  if (c.notify.digest.enabled) checkCron(c.notify.digest.cron, 'notify.digest.cron', '0 9 * * *', errs);
  const names = new Map<string, number>();
  c.policies.forEach((p, i) => {
    const at = `policies[${i}]`;
    if (names.has(p.name)) errs.push(new ConfigError(`${at}.name`, `duplicate policy name "${p.name}" (also policies[${names.get(p.name)}])`));
    if (RESERVED_POLICY_NAMES.includes(p.name)) errs.push(new ConfigError(`${at}.name`, `"${p.name}" is reserved for the guard's own journal rows (${RESERVED_POLICY_NAMES.join(', ')}): choose another name`));
    names.set(p.name, i);
    if (p.type === 'schedule') {
      checkCron(p.cron, `${at}.cron`, '0 2 * * *', errs);
      if (p.timezone) p.timezone = timeZoneAt(p.timezone, `${at}.timezone`, errs);
    }
    if (p.type === 'runway' && p.act_hours >= p.warn_hours) errs.push(new ConfigError(`${at}.act_hours`, `must be below warn_hours (${p.warn_hours})`));
    if (p.type === 'idle' && p.probes) {
      p.probes.forEach((name, j) => {
        if (!(KNOWN_PROBES as readonly string[]).includes(name)) errs.push(new ConfigError(`${at}.probes[${j}]`, `unknown probe "${name}": expected one of ${KNOWN_PROBES.join(', ')}`));
      });
    }
  });
  const groups = new Map<string, number>();
  c.groups.forEach((g, i) => {
    const at = `groups[${i}].name`;
    if (g.name.toLowerCase() === OTHER_GROUP) errs.push(new ConfigError(at, `"${g.name}" is reserved for the instances no group matches: choose another name`));
    else if (groups.has(g.name)) errs.push(new ConfigError(at, `duplicate group name "${g.name}" (also groups[${groups.get(g.name)}])`));
    groups.set(g.name, i);
  });
  let channelNames: string[] = [];
  try {
    channelNames = resolveChannels(c.notify).map((ch) => ch.name);
  } catch (e) {
    if (e instanceof ConfigErrors) errs.push(...e.errors);
    else throw e;
  }
  c.policies.forEach((p, i) =>
    p.channels?.forEach((ch, j) => {
      if (!channelNames.includes(ch)) errs.push(new ConfigError(`policies[${i}].channels[${j}]`, `unknown channel "${ch}": expected one of ${channelNames.join(', ') || '(no channels configured)'}`));
    }),
  );
  return errs;
}

/** Parse and validate a raw config object (already merged with env). Throws ConfigErrors. */
export function parseConfig(raw: unknown): Config {
  const r = configSchema.safeParse(raw ?? {}, { reportInput: true });
  if (!r.success) throw new ConfigErrors(issuesToErrors(r.error.issues, raw));
  const c = r.data;
  resolveFiles(c);
  const errs = semanticChecks(c);
  if (errs.length) throw new ConfigErrors(errs);
  return c;
}

/** The config file's text, or one ConfigErrors line naming the path and the fix. */
function readConfigFile(file: string): string {
  const fail = (problem: string) => new ConfigErrors([new ConfigError('', `config file ${file} ${problem}`)]);
  let isDir: boolean;
  try {
    isDir = statSync(file).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw fail(code === 'ENOENT' ? 'not found: create it (cp guard.example.yaml guard.yaml) or fix --config / GUARD_CONFIG' : `cannot be read (${code ?? 'error'})`);
  }
  // `docker compose` bind-mounts a missing host file as an empty directory.
  // The fix removes that directory first: `cp` alone would copy the example into it.
  if (isDir) throw fail('is a directory, not a file (Docker made it: the host file was missing when the container started); fix it on the host, next to docker-compose.yml: rmdir guard.yaml && cp guard.example.yaml guard.yaml');
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw fail(`cannot be read (${code ?? 'error'}${code === 'EACCES' ? ': make it readable by the user the guard runs as' : ''})`);
  }
}

/** The file name looked for in the working directory when neither --config nor GUARD_CONFIG names a file. */
export const DEFAULT_CONFIG_NAME = 'guard.yaml';

/** The config file to read: `file` (--config), else GUARD_CONFIG, else `guard.yaml` in `cwd` when it exists, else none. */
export function configFileFor(file: string | undefined, env: Env, cwd: string): string | undefined {
  if (file) return file;
  if (env.GUARD_CONFIG) return env.GUARD_CONFIG;
  const found = resolve(cwd, DEFAULT_CONFIG_NAME);
  return existsSync(found) ? found : undefined;
}

/**
 * Load the config from `file` (or GUARD_CONFIG, or ./guard.yaml in `cwd`), apply env overrides and secret files,
 * validate. Throws ConfigErrors (each naming its key path) on any problem, before anything runs.
 */
export function loadConfig(opts: { file?: string; env?: Env; cwd?: string } = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const file = configFileFor(opts.file, env, opts.cwd ?? process.cwd());
  let raw: Record<string, any> = {};
  if (file) {
    const text = readConfigFile(file);
    try {
      const parsed = parseYaml(text, { prettyErrors: true });
      if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed)))
        throw new ConfigErrors([new ConfigError('', `config file ${file} must be a YAML mapping`)]);
      raw = parsed ?? {};
    } catch (e) {
      if (e instanceof YAMLParseError) throw new ConfigErrors([new ConfigError('', `config file ${file} is not valid YAML: ${e.message.split('\n')[0]}`)]);
      throw e;
    }
  }
  try {
    applyEnv(raw, env);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigErrors([e]);
    throw e;
  }
  return { config: parseConfig(raw), source: file ? { kind: 'file', path: file } : { kind: 'defaults' } };
}

/** Is `host` a loopback address? */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Shortest API token accepted when listening beyond loopback. */
export const MIN_TOKEN_LENGTH = 16;

/** Placeholder tokens from docs and examples (`change-me` and the like): refused beyond loopback at any length. */
export const EXAMPLE_TOKEN_RE = /change[-_ ]?me|replace[-_ ]?me|your[-_ ]?token|example|placeholder/i;

/** Why a token is too weak to guard a non-loopback listener, or null when it is fine. */
export function weakTokenReason(token: string): string | null {
  if (token.length < MIN_TOKEN_LENGTH) return `it is shorter than ${MIN_TOKEN_LENGTH} characters`;
  if (EXAMPLE_TOKEN_RE.test(token)) return 'it is a placeholder from the documentation';
  return null;
}

/** Safety checks that refuse to start `run` (exit 2). Returns the refusals; empty means go. */
export function startRefusals(c: Config, opts: { needToken: boolean; demo?: boolean }): StartRefused[] {
  const out: StartRefused[] = [];
  if (opts.needToken && !c.xgc.token)
    out.push(new StartRefused('XGC_API_TOKEN is not set (nor xgc.token / xgc.token_file / XGC_API_TOKEN_FILE): the guard cannot read the account'));
  if (c.http.enabled && !isLoopback(c.http.host) && !c.http.api_token && !opts.demo)
    out.push(new StartRefused(`refusing to listen on ${c.http.host} without GUARD_API_TOKEN: anyone on the network could snooze or act`));
  if (c.http.enabled && !isLoopback(c.http.host) && !opts.demo)
    for (const [key, env] of [['api_token', 'GUARD_API_TOKEN'], ['read_token', 'GUARD_READ_TOKEN']] as const) {
      const t = c.http[key];
      const why = t ? weakTokenReason(t) : null;
      if (why) out.push(new StartRefused(`${env} (http.${key}) is too weak to listen on ${c.http.host}: ${why}; generate one with: openssl rand -hex 24`));
    }
  c.policies.forEach((p, i) => {
    if (p.action === 'destroy' && !c.allow_destroy)
      out.push(new StartRefused(`policies[${i}] "${p.name}" uses action destroy but allow_destroy is not true at the top level`));
    else if (p.action === 'destroy' && !p.confirm_destroy)
      out.push(new StartRefused(`policies[${i}] "${p.name}" uses action destroy without confirm_destroy: true`));
  });
  return out;
}
