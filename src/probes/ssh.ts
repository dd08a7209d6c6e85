/**
 * SSH probe: logs into the instance (configured private key, else the instance password; both memory only),
 * samples `nvidia-smi` a few times and answers busy when any GPU sample reaches `gpu_busy_percent`.
 * Host keys are trusted on first use and remembered in `ssh_host_keys`; a changed key stops the probe
 * before authentication (no password is sent, no command runs).
 *
 * Config: `probes.ssh: { enabled: false, private_key_file: /run/secrets/id_ed25519, gpu_busy_percent: 10, timeout: 15s, samples: 3 }`
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { eq } from 'drizzle-orm';
import { Client, type ConnectConfig } from 'ssh2';
import type { Db } from '../db/open.js';
import { sshHostKeys } from '../db/schema.js';
import type { InstanceAccess } from '../xgc/types.js';
import { describeError, ProbeFailure, unknownResult } from './http.js';
import type { ProbeContext, ProbeDefinition, ProbeKind, ProbeResult } from './types.js';

/** Options of the SSH probe (durations in ms). */
export interface SshProbeOptions {
  /** Private key used for every instance (OpenSSH or PEM, unencrypted). Without it the instance password is used. */
  privateKeyFile?: string;
  /** GPU utilisation (percent) at or above which the instance is busy. */
  gpuBusyPercent: number;
  /** How many nvidia-smi samples to take. */
  samples: number;
  /** Pause between samples. */
  sampleIntervalMs: number;
  timeoutMs: number;
}

/** Defaults of the SSH probe. */
export const SSH_DEFAULTS: SshProbeOptions = { gpuBusyPercent: 10, samples: 3, sampleIntervalMs: 1_000, timeoutMs: 15_000 };

/** The command run on the instance. */
export const NVIDIA_SMI_COMMAND = 'nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits';

/** OpenSSH-style fingerprint of a raw host key: `SHA256:<base64 without padding>`. */
export function sshFingerprint(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** Forget a remembered host key (after an instance was rebuilt and its new key checked by hand). */
export function forgetSshHostKey(db: Db, host: string, port: number): boolean {
  return db.delete(sshHostKeys).where(eq(sshHostKeys.hostPort, `${host}:${port}`)).run().changes > 0;
}

/** Trust-on-first-use check: remembers an unknown host's key, answers whether `fingerprint` is the trusted one. */
export function checkHostKey(db: Db, hostPort: string, fingerprint: string, now: number): { ok: boolean; expected: string } {
  db.insert(sshHostKeys).values({ hostPort, fingerprint, firstSeen: now }).onConflictDoNothing().run();
  const row = db.select().from(sshHostKeys).where(eq(sshHostKeys.hostPort, hostPort)).get();
  const expected = row?.fingerprint ?? fingerprint;
  return { ok: expected === fingerprint, expected };
}

/** One parsed nvidia-smi sample: per GPU utilisation (%) and memory used (MiB). */
export interface GpuSample {
  util: number[];
  memMiB: number[];
}

/** Parse `utilization.gpu, memory.used` CSV lines; throws ProbeFailure on anything unexpected. */
export function parseNvidiaSmi(stdout: string): GpuSample {
  const lines = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length === 0) throw new ProbeFailure('nvidia-smi printed no GPUs');
  const sample: GpuSample = { util: [], memMiB: [] };
  for (const line of lines) {
    const [u, m] = line.split(',').map((s) => Number(s.trim()));
    if (!Number.isFinite(u)) throw new ProbeFailure('unexpected nvidia-smi output');
    sample.util.push(u);
    sample.memMiB.push(Number.isFinite(m) ? m : 0);
  }
  return sample;
}

/** Decide from nvidia-smi samples (pure). */
export function judgeGpuSamples(samples: GpuSample[], gpuBusyPercent: number): ProbeResult {
  const utils = samples.flatMap((s) => s.util);
  const max = Math.max(...utils);
  const metrics = {
    gpus: samples[0]?.util.length ?? 0,
    samples: samples.length,
    gpu_util_max: max,
    gpu_util_avg: Math.round((utils.reduce((a, b) => a + b, 0) / utils.length) * 10) / 10,
    memory_used_mib_max: Math.max(...samples.flatMap((s) => s.memMiB)),
  };
  if (max >= gpuBusyPercent) return { verdict: 'busy', detail: `GPU at ${max}% (busy at ${gpuBusyPercent}%)`, metrics };
  return { verdict: 'idle', detail: `GPU at most ${max}% over ${samples.length} sample(s) (busy at ${gpuBusyPercent}%)`, metrics };
}

function exec(client: Client, command: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(new ProbeFailure('ssh exec refused'));
      let stdout = '';
      stream.on('data', (d: Buffer) => {
        if (stdout.length < 64 * 1024) stdout += d.toString('utf8');
      });
      stream.stderr.on('data', () => undefined);
      stream.on('close', (code: number | null) => resolve({ code, stdout }));
    });
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/** Build the SSH probe with the given options. */
export function createSshProbe(options: Partial<SshProbeOptions> = {}): ProbeDefinition {
  const opts: SshProbeOptions = { ...SSH_DEFAULTS, ...options };
  const hasEndpoint = (a: InstanceAccess) => a.sshHost !== '' && a.sshPort !== null && a.sshPort > 0;
  return {
    name: 'ssh',
    defaultTimeoutMs: opts.timeoutMs,
    appliesTo: (a: InstanceAccess) => hasEndpoint(a) && (opts.privateKeyFile !== undefined || a.password !== ''),
    async run(access: InstanceAccess, ctx: ProbeContext): Promise<ProbeResult> {
      if (!hasEndpoint(access)) return unknownResult('not applicable: no ssh host/port');
      let privateKey: Buffer | undefined;
      if (opts.privateKeyFile) {
        try {
          privateKey = await readFile(opts.privateKeyFile);
        } catch {
          return unknownResult(`cannot read private_key_file ${opts.privateKeyFile}`);
        }
      } else if (!access.password) {
        return unknownResult('not applicable: no private key configured and no instance password');
      }
      const hostPort = `${access.sshHost}:${access.sshPort}`;
      let keyChanged: { expected: string; got: string } | undefined;
      const client = new Client();
      const config: ConnectConfig = {
        host: access.sshHost,
        port: access.sshPort ?? 22,
        username: access.sshUser || 'root',
        readyTimeout: ctx.timeoutMs,
        tryKeyboard: false,
        // Runs after key exchange and before any authentication: a changed key means no password goes out.
        hostVerifier: (key: Buffer): boolean => {
          const got = sshFingerprint(key);
          const check = checkHostKey(ctx.db, hostPort, got, ctx.now);
          if (!check.ok) keyChanged = { expected: check.expected, got };
          return check.ok;
        },
      };
      if (privateKey) config.privateKey = privateKey;
      if (access.password) config.password = access.password;

      const onAbort = () => client.end();
      ctx.signal?.addEventListener('abort', onAbort);
      try {
        await new Promise<void>((resolve, reject) => {
          client.once('ready', () => resolve());
          client.once('error', (err) => reject(err));
          client.connect(config);
        });
        client.on('error', () => undefined);
        const samples: GpuSample[] = [];
        for (let i = 0; i < Math.max(1, opts.samples); i++) {
          if (i > 0) await sleep(opts.sampleIntervalMs, ctx.signal);
          if (ctx.signal?.aborted) throw new ProbeFailure('aborted');
          const { code, stdout } = await exec(client, NVIDIA_SMI_COMMAND);
          if (code === 127) return unknownResult('nvidia-smi not found on the instance');
          if (code !== 0) return unknownResult(`nvidia-smi failed (exit ${code ?? 'signal'})`);
          const sample = parseNvidiaSmi(stdout);
          samples.push(sample);
          if (Math.max(...sample.util) >= opts.gpuBusyPercent) break; // one busy sample is enough
        }
        return judgeGpuSamples(samples, opts.gpuBusyPercent);
      } catch (err) {
        if (keyChanged) {
          const detail = `ssh host key of ${hostPort} changed (trusted ${keyChanged.expected}, offered ${keyChanged.got}); not connecting — if the instance was rebuilt, forget the stored key`;
          ctx.log?.warn({ instanceId: access.id, hostPort, expected: keyChanged.expected, got: keyChanged.got }, 'ssh host key changed');
          return unknownResult(detail);
        }
        const level = (err as { level?: string }).level;
        if (level === 'client-authentication') return unknownResult(`ssh authentication failed for user ${config.username}`);
        if (level === 'client-timeout') return unknownResult('ssh timed out during handshake');
        return unknownResult(`ssh ${describeError(err)}`);
      } finally {
        ctx.signal?.removeEventListener('abort', onAbort);
        client.end();
      }
    },
  };
}

/** Registry entry for the SSH probe. */
export const sshKind: ProbeKind<SshProbeOptions> = { name: 'ssh', create: createSshProbe };

/** The SSH probe with default options (password only, no key file). */
export const sshProbe: ProbeDefinition = createSshProbe();
