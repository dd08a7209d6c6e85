/**
 * ComfyUI, SD WebUI and Jupyter probes against the simulator's app endpoints, through the runner,
 * with the results persisted to a real SQLite file that must never hold an instance secret.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { formatReason } from '../../src/notify/reasons.js';
import { comfyuiProbe } from '../../src/probes/comfyui.js';
import { jupyterProbe } from '../../src/probes/jupyter.js';
import { DEFAULT_PROBE_OPTIONS, loadProbeState, persistProbeResults, runProbes } from '../../src/probes/runner.js';
import { sdwebuiProbe } from '../../src/probes/sdwebui.js';
import { startSimulator } from '../../src/sim/index.js';
import type { InstanceAccess } from '../../src/xgc/types.js';

const TOKEN = 'sim-api-token-probes';

interface TruthInstance {
  id: string;
  public_image: string;
  password: string;
  jupyter_token: string;
  ssh_key: string;
  xgcos_token: string;
}

describe('web UI and jupyter probes against the simulator', () => {
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let g: GuardDb;
  let dir: string;
  let clock: ManualClock;
  const ids: Record<'comfy' | 'webui' | 'jupyter', string> = { comfy: '', webui: '', jupyter: '' };

  const post = async (path: string, body: unknown) => {
    const res = await fetch(sim.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.ok).toBe(true);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const truth = async () => (await (await fetch(`${sim.url}/sim/state`)).json()) as { now_ms: number; instances: TruthInstance[] };

  /** InstanceAccess built from the Open API listing, as the client would (without importing it). */
  async function targets(): Promise<InstanceAccess[]> {
    const res = await fetch(`${sim.url}/open/instances`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.json()) as { data: { list: Record<string, string>[] } };
    return body.data.list.map((i) => ({
      id: i.id,
      image: i.public_image,
      webUrl: i.web_url,
      jupyterUrl: i.jupyter_url,
      jupyterToken: i.jupyter_token,
      sshHost: i.ssh_domain,
      sshPort: Number(i.ssh_port) || null,
      sshUser: i.ssh_user,
      password: i.password,
    }));
  }
  const byId = async (id: string) => (await targets()).find((t) => t.id === id)!;
  const ctx = () => ({ now: clock.now(), clock, timeoutMs: 5000, db: g.db });

  beforeAll(async () => {
    sim = await startSimulator({ token: TOKEN, instances: 0, speed: 0, seed: 1 });
    dir = mkdtempSync(join(tmpdir(), 'xgc-probes-sim-'));
    g = openDb(join(dir, 'guard.db'));
    ids.comfy = (await post('/sim/instances', { name: 'comfy', image: 'ComfyUI', status: 'running', busy: true })).id as string;
    ids.webui = (await post('/sim/instances', { name: 'webui', image: 'WebUI', status: 'running', busy: false })).id as string;
    ids.jupyter = (await post('/sim/instances', { name: 'lab', image: 'Jupyter', status: 'running', busy: true })).id as string;
    clock = new ManualClock((await truth()).now_ms);
  });

  afterAll(async () => {
    g?.close();
    await sim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('picks the web probe by image name: ComfyUI images get comfyui, WebUI/Forge images get sdwebui', async () => {
    const comfy = await byId(ids.comfy);
    const webui = await byId(ids.webui);
    const lab = await byId(ids.jupyter);
    expect(comfy.image).toMatch(/ComfyUI/);
    expect([comfyuiProbe.appliesTo(comfy), sdwebuiProbe.appliesTo(comfy)]).toEqual([true, false]);
    expect([comfyuiProbe.appliesTo(webui), sdwebuiProbe.appliesTo(webui)]).toEqual([false, true]);
    expect([comfyuiProbe.appliesTo(lab), sdwebuiProbe.appliesTo(lab)]).toEqual([false, false]);
    expect((await comfyuiProbe.run(lab, ctx())).detail).toMatch(/not applicable/);
  });

  it('comfyui is busy with a running queue item and idle with an empty queue', async () => {
    const busy = await comfyuiProbe.run(await byId(ids.comfy), ctx());
    expect(busy).toMatchObject({ verdict: 'busy', metrics: { running: 1, pending: 0 } });
    await post(`/sim/instances/${ids.comfy}/activity`, { busy: false });
    const idle = await comfyuiProbe.run(await byId(ids.comfy), ctx());
    expect(idle).toMatchObject({ verdict: 'idle', metrics: { running: 0, pending: 0 } });
    expect(idle.since).toBeUndefined();
  });

  it('sdwebui is busy while a job is in progress and idle otherwise', async () => {
    const idle = await sdwebuiProbe.run(await byId(ids.webui), ctx());
    expect(idle.verdict).toBe('idle');
    await post(`/sim/instances/${ids.webui}/activity`, { busy: true });
    await fetch(`${sim.url}/sim/clock/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"seconds":5}' });
    const busy = await sdwebuiProbe.run(await byId(ids.webui), ctx());
    expect(busy.verdict).toBe('busy');
    expect(busy.metrics?.job_count).toBeGreaterThan(0);
  });

  it('a web or jupyter probe answers unknown when the instance app is down (HTTP 502), its reason in both locales', async () => {
    const comfy = await byId(ids.comfy);
    const lab = await byId(ids.jupyter);
    const web = await comfyuiProbe.run({ ...comfy, webUrl: comfy.webUrl.replace(ids.comfy, 'zzzzzzzzzzzzzzzz') }, ctx());
    const jup = await jupyterProbe.run({ ...lab, jupyterUrl: lab.jupyterUrl.replace(ids.jupyter, 'zzzzzzzzzzzzzzzz') }, ctx());
    for (const [name, r] of [['comfyui', web], ['jupyter', jup]] as const) {
      expect(r).toMatchObject({ verdict: 'unknown', code: { code: 'probe.failed', params: { probe: name, error: 'HTTP 502' } } });
      expect(r.detail).toMatch(/HTTP 502 from http:/); // the English detail names the URL for the log
      expect(formatReason(r.code!, 'zh-CN')).toBe(`${name}：探测失败：HTTP 502`);
      expect(formatReason(r.code!, 'en')).toBe(`${name}: probe failed: HTTP 502`);
    }
  });

  it('jupyter follows the simulated kernel and measures idle time from its last activity', async () => {
    const lab = await byId(ids.jupyter);
    expect((await jupyterProbe.run(lab, ctx())).verdict).toBe('busy');
    await post(`/sim/instances/${ids.jupyter}/activity`, { busy: false });
    const stoppedAt = (await truth()).now_ms;
    clock.set(stoppedAt + 10 * 60_000);
    const r = await jupyterProbe.run(lab, ctx());
    expect(r.verdict).toBe('idle');
    expect(r.since).toBe(stoppedAt);
    const wrong = await jupyterProbe.run({ ...lab, jupyterToken: 'nope-nope' }, ctx());
    expect(wrong.verdict).toBe('unknown');
  });

  it('the runner probes every applicable instance, and persisting keeps only verdict changes and no secret', async () => {
    await post(`/sim/instances/${ids.comfy}/activity`, { busy: true });
    const all = await targets();
    const round1 = await runProbes(all, DEFAULT_PROBE_OPTIONS, { db: g.db, clock });
    expect(Object.keys(round1.get(ids.comfy)!).sort()).toEqual(['comfyui', 'heartbeat', 'jupyter']);
    expect(Object.keys(round1.get(ids.webui)!).sort()).toEqual(['heartbeat', 'jupyter', 'sdwebui']);
    expect(round1.get(ids.comfy)!.comfyui.verdict).toBe('busy');
    expect(round1.get(ids.comfy)!.heartbeat.verdict).toBe('unknown');
    expect(persistProbeResults(g.db, round1, clock.now())).toBe(8); // 3 + 3 + 2 applicable probes

    clock.advance(60_000);
    expect(persistProbeResults(g.db, await runProbes(all, DEFAULT_PROBE_OPTIONS, { db: g.db, clock }), clock.now())).toBe(0);

    await post(`/sim/instances/${ids.comfy}/activity`, { busy: false });
    clock.advance(60_000);
    const round3 = await runProbes(all, DEFAULT_PROBE_OPTIONS, { db: g.db, clock });
    expect(persistProbeResults(g.db, round3, clock.now())).toBe(2); // the queue and the kernel both went idle
    const stored = loadProbeState(g.db, [ids.comfy]).get(ids.comfy)!;
    expect(stored.jupyter.verdict).toBe('idle');
    expect(stored.comfyui).toMatchObject({ verdict: 'idle', since: clock.now(), checkedAt: clock.now() });
    const changes = g.sqlite.prepare('select verdict from probe_changes where instance_id = ? and probe = ? order by id').all(ids.comfy, 'comfyui');
    expect(changes).toEqual([{ verdict: 'busy' }, { verdict: 'idle' }]);

    // No secret in any file of the database (main file and WAL).
    g.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    const secrets = (await truth()).instances.flatMap((i) => [i.password, i.jupyter_token, i.ssh_key, i.xgcos_token]).filter(Boolean);
    expect(secrets.length).toBeGreaterThanOrEqual(9);
    for (const f of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, f)).toString('latin1');
      for (const s of secrets) expect(bytes.includes(s), `${f} contains a secret`).toBe(false);
      expect(bytes.includes(TOKEN)).toBe(false);
    }
  });
});
