/**
 * `xgc-guard wake ID|NAME`: ask the running daemon (over its HTTP API) to boot a shut-down instance through the
 * shortage-aware waker; `--wait` follows it until it runs (exit 0) or gives up (exit 1). One line per message.
 */
import { BadRequest, GuardError } from '../errors.js';
import type { Command } from './types.js';
import { configOption, loadFromArgs, str } from './common.js';
import { localUrl } from './health.js';

const USAGE = `Usage: xgc-guard wake ID|NAME [--gpu-model M]... [--gpu-count N] [--give-up-after D] [--wait]
                      [--url URL] [--interval SECONDS] [--config FILE]

Asks the running daemon to boot a shut-down instance. On 可用GPU不足 (no GPU free) the daemon retries with backoff,
trying each --gpu-model in order (full names such as "NVIDIA GeForce RTX 4090 D" or short ones such as "RTX 4090 D";
default the instance's own) with --gpu-count GPUs (default as before; 0 boots without a GPU to reach the files),
until --give-up-after (default wake.give_up_after, 2h). A wake that would put the runway under the runway policy's
act_hours is refused, with the top-up that would allow it.
The daemon is found at --url, else GUARD_URL, else the host and port of its config (GUARD_HTTP_HOST/PORT);
GUARD_API_TOKEN (or http.api_token) is sent when set. --wait polls every --interval seconds (default 5) and exits
0 when the instance runs, 1 when the wake gives up.`;

/** The daemon did not answer at all. */
class NoDaemon extends GuardError {
  constructor(url: string, cause: string) {
    super(`no xgc-guard daemon answers at ${url} (${cause}); start it with \`xgc-guard run\`, or pass --url / set GUARD_URL`, 'no_daemon', 503);
  }
}

interface InstanceItem {
  id: string;
  name: string;
  status: string;
  wake: { id: number; state: string; tries: number; waiting_for: string | null } | null;
}

/** A JSON client of the daemon's API: errors become one-line GuardErrors. */
function apiClient(base: string, token: string | undefined) {
  return async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: T }> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: { accept: 'application/json', 'x-guard-who': 'cli', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
      throw new NoDaemon(base, cause);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new GuardError(`${method} ${path} answered HTTP ${res.status} without JSON: is ${base} an xgc-guard daemon?`, 'bad_answer', 502);
    }
    const err = (json as { error?: { code?: string; message?: string } }).error;
    if (!res.ok) throw new GuardError(err?.message ?? `HTTP ${res.status}`, err?.code ?? 'http_error', res.status);
    return { status: res.status, json: json as T };
  };
}

/** The instance named by `arg` (an id, else an exact name), from the daemon's list. */
function pick(list: InstanceItem[], arg: string): InstanceItem {
  const byId = list.find((i) => i.id === arg);
  if (byId) return byId;
  const named = list.filter((i) => i.name === arg);
  if (named.length === 1) return named[0];
  if (named.length > 1) throw new BadRequest('ID|NAME', `${named.length} instances are named "${arg}" (${named.map((i) => i.id).join(', ')}): give the id`);
  throw new BadRequest('ID|NAME', `the daemon knows no instance with id or name "${arg}" (it knows ${list.length})`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const wake: Command = {
  summary: 'Wake (boot) a shut-down instance through the daemon, retrying through a GPU shortage.',
  usage: USAGE,
  allowPositionals: true,
  options: {
    ...configOption,
    'gpu-model': { type: 'string', multiple: true },
    'gpu-count': { type: 'string' },
    'give-up-after': { type: 'string' },
    wait: { type: 'boolean' },
    url: { type: 'string' },
    interval: { type: 'string' },
  },
  async run(values, positionals) {
    if (positionals.length !== 1) throw new BadRequest('ID|NAME', 'give exactly one instance id or name');
    const arg = positionals[0];
    const countArg = str(values['gpu-count']);
    if (countArg !== undefined && !/^[0-8]$/.test(countArg)) throw new BadRequest('--gpu-count', 'expected an integer 0-8');
    const interval = Number(str(values.interval) ?? 5);
    if (!(interval > 0 && interval <= 600)) throw new BadRequest('--interval', 'expected seconds in (0, 600]');
    // The XianGong token is the daemon's business, not this command's: a missing token file is no error here.
    const { config } = loadFromArgs(values, { env: { ...process.env, XGC_API_TOKEN: undefined, XGC_API_TOKEN_FILE: undefined } });
    const base = (str(values.url) ?? process.env.GUARD_URL ?? localUrl(config.http)).replace(/\/+$/, '');
    const api = apiClient(base, config.http.api_token);

    const list = async () => (await api<{ instances: InstanceItem[] }>('GET', '/api/v1/instances')).json.instances;
    const inst = pick(await list(), arg);
    const body: Record<string, unknown> = {};
    const models = values['gpu-model'] as string[] | undefined;
    if (models?.length) body.gpu_models = models;
    if (countArg !== undefined) body.gpu_count = Number(countArg);
    const giveUp = str(values['give-up-after']);
    if (giveUp !== undefined) body.give_up_after = giveUp;
    const { json } = await api<{ wake: { id: number; state: string } }>('POST', `/api/v1/instances/${encodeURIComponent(inst.id)}/wake`, body);
    const label = `${inst.name || inst.id} (${inst.id})`;
    console.log(`waking ${label}: journal #${json.wake.id}, ${json.wake.state}`);
    if (!values.wait) return 0;

    let last = '';
    for (;;) {
      await sleep(interval * 1000);
      const now = (await list()).find((i) => i.id === inst.id);
      const w = now?.wake?.id === json.wake.id ? now.wake : null;
      if (!w) {
        console.error(`lost track of wake #${json.wake.id} of ${label}: see GET /api/v1/actions?instance=${inst.id}`);
        return 1;
      }
      if (w.state === 'done') {
        console.log(`running: ${label} after ${w.tries} ${w.tries === 1 ? 'try' : 'tries'}`);
        return 0;
      }
      if (w.state === 'gave_up' || w.state === 'refused') {
        console.error(`gave up: ${label} did not wake after ${w.tries} ${w.tries === 1 ? 'try' : 'tries'} (journal #${w.id})`);
        return 1;
      }
      const line = w.state === 'booting' ? `booting: try ${w.tries}` : `waiting: try ${w.tries}${w.waiting_for ? `, waiting for ${w.waiting_for}` : ''}`;
      if (line !== last) console.log(line);
      last = line;
    }
  },
};
export default wake;
