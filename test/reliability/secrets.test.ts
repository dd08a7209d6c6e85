/**
 * Secrets never leave memory (issue 11), end to end with the real CLI process (`node dist/cli.js run`,
 * debug logging) against the simulator at real speed. Sentinels: every simulated instance's password,
 * jupyter_token, xgcos_token and ssh_key (read from `GET /sim/state`), the cloud token, the guard's api /
 * read / heartbeat tokens, the SMTP password, the generic webhook's signing secret, the WeCom key in its
 * URL, and a wrong token presented by a client.
 *
 * Tried: ticks every second with Jupyter / ComfyUI / SD-WebUI probes, idle releases (enforce), a balance
 * alert, a token-error outage (guard_blind + recovered) and a garbled-answer spell, email to an in-process
 * SMTP server and posts to a generic webhook and a failing WeCom receiver, then GET on every route listed
 * in /docs/json plus /metrics, /readyz, /healthz, /docs/json, /, heartbeat / override / act-now POSTs
 * and refused requests with wrong tokens.
 * Held: no sentinel in the SQLite file, its -wal and -shm, the daemon's stdout/stderr, any HTTP response
 * (headers and body), any email (raw and decoded) or any webhook body or header.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { spawnCli, tempDir, type Proc } from '../helpers/proc.js';
import { hookEvents } from '../notify/helpers.js';
import { findSentinels, sleep, startRawSmtp, startWebhookReceiver, type RawSmtp, type WebhookReceiver } from './helpers.js';

const rnd = () => randomBytes(6).toString('hex');
const XGC_TOKEN = `SENTINEL-XGC-TOKEN-${rnd()}`;
const API_TOKEN = `SENTINEL-GUARD-API-${rnd()}`;
const READ_TOKEN = `SENTINEL-GUARD-READ-${rnd()}`;
const HB_TOKEN = `SENTINEL-GUARD-HB-${rnd()}`;
const SMTP_PASS = `SENTINEL-SMTP-PASS-${rnd()}`;
const HOOK_SECRET = `SENTINEL-HOOK-SECRET-${rnd()}`;
const WECOM_KEY = `SENTINEL-WECOM-KEY-${rnd()}`;
const WRONG_TOKEN = `SENTINEL-WRONG-TOKEN-${rnd()}`;

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
});

async function waitUntil(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe('secrets stay in memory (real daemon, end to end)', () => {
  it('no sentinel secret appears in the database, the logs, HTTP responses, emails or webhook bodies', { timeout: 480_000 }, async () => {
    const smtp: RawSmtp = await startRawSmtp();
    closers.push(() => smtp.close());
    const hook: WebhookReceiver = await startWebhookReceiver();
    closers.push(() => hook.close());
    const wecom: WebhookReceiver = await startWebhookReceiver(); // answers {"ok":true}: WeCom wants errcode 0, so every post fails
    closers.push(() => wecom.close());
    const sim: RunningSim = await startSimulator({ token: XGC_TOKEN, instances: 0, speed: 1, seed: 99, balance: 500 });
    closers.push(() => sim.close());
    const w = sim.world;
    const idle = [0, 1, 2].map((i) => w.addInstance({ name: `idle-${i}`, image: 'Jupyter' }).id);
    const busy = [
      w.addInstance({ name: 'comfy', image: 'ComfyUI', busy: true }).id,
      w.addInstance({ name: 'webui', image: 'WebUI', busy: true }).id,
      w.addInstance({ name: 'lab', image: 'Jupyter', busy: true }).id,
    ];
    const state = (await (await fetch(`${sim.url}/sim/state`)).json()) as { instances: Array<Record<string, string>> };
    const secrets: Record<string, string> = { XGC_TOKEN, API_TOKEN, READ_TOKEN, HB_TOKEN, SMTP_PASS, HOOK_SECRET, WECOM_KEY, WRONG_TOKEN };
    for (const i of state.instances) for (const k of ['password', 'jupyter_token', 'xgcos_token', 'ssh_key']) secrets[`${i.name}.${k}`] = i[k];
    expect(Object.values(secrets).every((s) => typeof s === 'string' && s.length >= 8)).toBe(true);
    // Positive control: the scanner finds every instance secret in the ground truth that carries them.
    expect(findSentinels(JSON.stringify(state), secrets)).toHaveLength(state.instances.length * 4);

    const dir = tempDir('xgc-secrets-');
    const db = join(dir, 'guard.db');
    const tokenFile = join(dir, 'xgc_token');
    writeFileSync(tokenFile, `${XGC_TOKEN}\n`);
    const cfg = join(dir, 'guard.yaml');
    writeFileSync(
      cfg,
      [
        `xgc: { base_url: "${sim.url}", timeout: 2s, retries: 1 }`,
        `db: { path: "${db}" }`,
        `http: { host: 127.0.0.1, port: 0, read_token: "${READ_TOKEN}", heartbeat_token: "${HB_TOKEN}", public_url: "https://guard.example.com" }`,
        'timezone: UTC',
        'locale: en',
        'snapshot: { every: "*/1 * * * * *" }',
        'dry_run: false',
        'blind_alert_after: 2',
        'probes: { heartbeat: { enabled: true }, jupyter: { active_window: 1s } }',
        'policies:',
        '  - { name: idle, type: idle, idle_for: 4s, min_uptime: 0s, warn_before: 3s, action: release_gpu }',
        '  - { name: low-balance, type: balance, below: [100000] }',
        'notify:',
        `  email: { smtp_url: "smtp://guard:${SMTP_PASS}@127.0.0.1:${smtp.port}", from: guard@example.com, to: [me@example.com] }`,
        '  webhooks:',
        `    - { kind: webhook, url: "${hook.url}", secret: "${HOOK_SECRET}" }`,
        `    - { kind: wecom, url: "${wecom.url.replace('/hook', '')}/cgi-bin/webhook/send?key=${WECOM_KEY}" }`,
        '',
      ].join('\n'),
    );
    const p: Proc = spawnCli(['run', '--config', cfg], { XGC_API_TOKEN_FILE: tokenFile, GUARD_API_TOKEN: API_TOKEN, GUARD_LOG_LEVEL: 'debug' });
    closers.push(async () => {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    });
    const [, base] = await p.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/);

    // Ticks, probes, releases and their notices (email + webhook).
    // every event of each grouped message
    const types = () => hook.hits.flatMap((h) => hookEvents(h.json).map((e) => e.type));
    await waitUntil('idle releases notified', () => types().filter((t) => t === 'action_taken').length >= idle.length && smtp.messages.length >= 1, 180_000);
    for (const id of idle) expect(['shutting_down', 'shutdown']).toContain(w.instance(id)!.status);
    for (const id of busy) expect(w.instance(id)!.status).toBe('running');

    // An outage by token errors, then garbled answers: blind ticks, guard_blind, recovered.
    await fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token_error_rate: 1 }) });
    await waitUntil('guard_blind', () => types().includes('guard_blind'), 60_000);
    const [out0, err0] = [p.out().length, p.err().length];
    await fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ malformed_rate: 1 }) });
    // a tick went blind on a garbled answer (its error went through the logger)
    const garbled = () => `${p.out().slice(out0)}\n${p.err().slice(err0)}`.split('\n').some((l) => l.includes('"cls":"protocol"') && l.includes('blind tick'));
    await waitUntil('a blind tick on garbled JSON', garbled, 60_000);
    await fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({}) });
    await waitUntil('guard_recovered', () => types().includes('guard_recovered'), 60_000);

    // The API: every documented GET, the hidden ones, writes, and refused requests.
    const responses: string[] = [];
    const req = async (method: string, path: string, token: string | null, body?: unknown) => {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const r = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await r.text();
      responses.push(`${method} ${path} ${r.status}\n${[...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${text}`);
      return { status: r.status, text };
    };
    const docs = JSON.parse((await req('GET', '/docs/json', null)).text) as { paths: Record<string, Record<string, unknown>> };
    const gets = Object.entries(docs.paths)
      .filter(([, ops]) => 'get' in ops)
      .map(([path]) => path.replace(/\{[^}]+\}/g, busy[0]));
    expect(gets.length).toBeGreaterThan(5);
    let ok = 0;
    for (const path of gets) if ((await req('GET', path, API_TOKEN)).status === 200) ok++;
    expect(ok).toBeGreaterThan(5);
    for (const path of ['/api/v1/instances', '/api/v1/actions', '/api/v1/events', `/api/v1/instances/${busy[0]}/timeline`]) await req('GET', path, READ_TOKEN);
    for (const path of ['/metrics', '/readyz', '/healthz', '/', '/docs/json', '/api/v1/instances?limit=abc']) await req('GET', path, API_TOKEN);
    expect((await req('POST', '/api/v1/heartbeat', HB_TOKEN, { instance_id: busy[1], gpu_util: 80, busy: true })).status).toBe(202);
    const ov = await req('POST', '/api/v1/overrides', API_TOKEN, { target: { instance_id: busy[0] }, kind: 'snooze', for: '2h', reason: 'secrets test' });
    expect(ov.status).toBe(201);
    await req('DELETE', `/api/v1/overrides/${JSON.parse(ov.text).override.id}`, API_TOKEN);
    const act = await req('POST', '/api/v1/actions', API_TOKEN, { instance_id: busy[2], action: 'shutdown', reason: 'secrets test' });
    expect(act.status).toBe(200);
    await req('POST', '/api/v1/actions', API_TOKEN, { instance_id: 'nosuchinstance00', action: 'release_gpu' });
    for (const t of [WRONG_TOKEN, READ_TOKEN, HB_TOKEN, null]) {
      await req('GET', '/api/v1/instances', t === READ_TOKEN ? WRONG_TOKEN : t);
      await req('POST', '/api/v1/overrides', t, { target: { name: '*' }, kind: 'exempt', forever: true, reason: WRONG_TOKEN });
    }
    await waitUntil('act-now notified', () => hook.hits.some((h) => hookEvents(h.json).some((e) => e.type === 'action_taken' && e.data?.who?.startsWith('api'))), 60_000);
    // what the checks below take as proof that every channel carried notices (not a fixed wait for them)
    await waitUntil('notices on every channel', () => smtp.messages.length >= 3 && wecom.hits.length > 0, 60_000);

    // Snapshot the database files while the daemon runs (the WAL is still there), then stop it cleanly.
    const dbFiles = () => [db, `${db}-wal`, `${db}-shm`].filter(existsSync).map((f) => `${f}\n${readFileSync(f).toString('latin1')}`);
    const whileRunning = dbFiles();
    expect(whileRunning.length).toBeGreaterThanOrEqual(2);
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    const afterStop = dbFiles();

    const emails: string[] = [];
    for (const raw of smtp.messages) {
      const m = await simpleParser(raw);
      emails.push(raw, m.subject ?? '', m.text ?? '', typeof m.html === 'string' ? m.html : '', JSON.stringify(m.headerLines));
    }
    // Bodies and headers; the request URL is the vendor's (it carries the WeCom key by design).
    const hookBodies = [...hook.hits, ...wecom.hits].map((h) => `${h.head.replace(/^\S+ \S+\n/, '')}\n${h.raw}`);
    const logs = p.out() + p.err();

    // Non-vacuous: each channel carried several kinds of notice, and the logs show the outage.
    expect(smtp.messages.length).toBeGreaterThanOrEqual(3);
    for (const t of ['action_taken', 'guard_blind', 'guard_recovered', 'balance_low']) expect(types(), t).toContain(t);
    expect(wecom.hits.length).toBeGreaterThan(0);
    expect(logs).toMatch(/blind tick/);
    expect(logs).toMatch(/notification failed/);
    expect(smtp.logins).toEqual(expect.arrayContaining([`guard:${SMTP_PASS}`])); // the SMTP server did get the password (it is the vendor)

    const where: Record<string, string[]> = {
      database: findSentinels(whileRunning.join('\n') + afterStop.join('\n'), secrets),
      logs: findSentinels(logs, secrets),
      http: findSentinels(responses.join('\n'), secrets),
      email: findSentinels(emails.join('\n'), secrets),
      webhooks: findSentinels(hookBodies.join('\n') + JSON.stringify([...hook.hits, ...wecom.hits].map((h) => h.json)), secrets),
    };
    console.info(`[secrets] sentinels=${Object.keys(secrets).length} log bytes=${logs.length} responses=${responses.length} emails=${smtp.messages.length} webhook posts=${hookBodies.length} db bytes=${whileRunning.join('').length}`);
    expect(where).toEqual({ database: [], logs: [], http: [], email: [], webhooks: [] });
  });
});
