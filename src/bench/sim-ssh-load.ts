/**
 * Load of the simulator's SSH: a simulator process (`xgc-guard sim`) with N instances of which R run, and one
 * ssh2 client per running instance streaming `nvidia-smi ... -lms P` (as the `gpu` probe does). Reports the
 * simulator process's RSS and CPU share over a window, and the samples received.
 *
 * `node dist/bench/sim-ssh-load.js [--instances 1000] [--running 600] [--period-ms 10000] [--speed 1] [--window-s 60]`
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ssh2 from 'ssh2';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli.js');
const QUERY = 'nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits';
const KINDS = ['background', 'cpu', 'interactive', 'app', null] as const;

function procStats(pid: number): { rssMiB: number; cpuS: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime + stime
  return { rssMiB: Math.round(rssKb / 1024), cpuS: ticks / 100 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      instances: { type: 'string', default: '1000' },
      running: { type: 'string', default: '600' },
      'period-ms': { type: 'string', default: '10000' },
      speed: { type: 'string', default: '1' },
      'window-s': { type: 'string', default: '60' },
    },
  });
  const n = Number(values.instances);
  const running = Number(values.running);
  const period = Number(values['period-ms']);
  const windowS = Number(values['window-s']);
  const child = spawn(process.execPath, [CLI, 'sim', '--port', '0', '--instances', '0', '--speed', values.speed!, '--token', 'load'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening at (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', () => reject(new Error(`simulator exited: ${out}`)));
  });
  const post = (path: string, body: unknown) => fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
  const base = procStats(child.pid!);
  for (let i = 0; i < n; i++) {
    const kind = KINDS[i % KINDS.length];
    await post('/sim/instances', i < running ? { name: `load-${i}`, image: 'Jupyter', busy: kind !== null, ...(kind ? { kind } : {}) } : { name: `load-${i}`, status: 'shutdown' });
  }
  const list = ((await (await fetch(`${url}/open/instances`, { headers: { authorization: 'load' } })).json()) as { data: { list: Array<Record<string, string>> } }).data.list;
  const targets = list.filter((i) => i.status === 'running');
  const idle = procStats(child.pid!);
  let samples = 0;
  const clients: ssh2.Client[] = [];
  const t0 = Date.now();
  for (let k = 0; k < targets.length; k += 25) {
    await Promise.all(
      targets.slice(k, k + 25).map(
        (a) =>
          new Promise<void>((resolve, reject) => {
            const c = new ssh2.Client();
            clients.push(c);
            c.on('error', reject);
            c.on('ready', () =>
              c.exec(`${QUERY} -lms ${period}`, (err, ch) => {
                if (err) return reject(err);
                ch.on('data', () => samples++);
                resolve();
              }),
            );
            c.connect({ host: a.ssh_domain, port: Number(a.ssh_port), username: a.ssh_user, password: a.password, hostVerifier: () => true });
          }),
      ),
    );
  }
  const connectS = (Date.now() - t0) / 1000;
  const start = procStats(child.pid!);
  const samples0 = samples;
  await new Promise((r) => setTimeout(r, windowS * 1000));
  const end = procStats(child.pid!);
  const got = samples - samples0;
  const state = (await (await fetch(`${url}/sim/state`)).json()) as { ssh_streams: number };
  for (const c of clients) c.end();
  child.kill('SIGTERM');
  console.log(
    JSON.stringify(
      {
        instances: n,
        running: targets.length,
        streams: state.ssh_streams,
        period_ms: period,
        speed: Number(values.speed),
        connect_all_s: connectS,
        sim_rss_mib: { empty: base.rssMiB, with_instances: idle.rssMiB, streaming: end.rssMiB },
        sim_cpu_percent_of_one_core: Math.round(((end.cpuS - start.cpuS) / windowS) * 1000) / 10,
        window_s: windowS,
        blocks_received: got,
        blocks_expected: Math.round((targets.length * windowS * 1000 * Number(values.speed)) / period),
      },
      null,
      2,
    ),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
