/**
 * One persistent SSH connection to a running instance for the `gpu` probe: it logs in with the configured key
 * or the instance's password (memory only), checks the host key (trusted on first use) before authenticating,
 * streams `nvidia-smi … -lms N` and reads `/proc/loadavg`, `/proc/net/dev` and `who -u` every sample — fixed,
 * read-only commands and nothing else. Exec channels have no tty, so the probe never shows up as a login.
 * On failure it reports why and reconnects with backoff.
 */
import { backoff } from '../backoff.js';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { realMs, type Clock } from '../clock.js';
import type { ReasonCode } from '../notify/reasons.js';
import type { Db } from '../db/open.js';
import type { InstanceAccess } from '../xgc/types.js';
import { GPU_COMMANDS, GpuBlockReader, gpuStreamCommand, parseGpuLines, parseLoadavg, parseNetDev, parseWho, type GpuLine, type GpuSample } from './gpu-signals.js';
import { checkHostKey, sshFingerprint } from './host-keys.js';
import type { ProbeLogger } from './types.js';

/** Why the GPU of an instance cannot be seen right now. */
export type GpuDownReason = 'no_endpoint' | 'no_credentials' | 'refused' | 'timeout' | 'auth_failed' | 'host_key_changed' | 'no_nvidia_smi' | 'closed' | 'error';

/** The state of a link: connecting, streaming, or down with a reason (secret-free detail). */
export type GpuLinkState = { state: 'connecting' } | { state: 'streaming'; since: number } | { state: 'down'; why: GpuDownReason; detail: string; code: ReasonCode };

/** Options of a link (durations in ms). */
export interface GpuLinkOptions {
  sampleEveryMs: number;
  connectTimeoutMs: number;
  /** private key for every instance; without it the instance password is used */
  privateKey?: Buffer;
  /** first reconnect delay and its cap */
  backoffBaseMs: number;
  backoffCapMs: number;
}

/** What a link reports to its owner. */
export interface GpuLinkDeps {
  db: Db;
  clock: Clock;
  log?: ProbeLogger;
  onSample(s: GpuSample): void;
  onState(s: GpuLinkState): void;
  /** take a connect slot (bounded handshakes); resolves to a release function */
  acquire?(): Promise<() => void>;
}

const MAX_OUT = 256 * 1024;

/** Whether an instance's access has an SSH endpoint. */
export function hasSshEndpoint(a: InstanceAccess): boolean {
  return a.sshHost !== '' && a.sshPort !== null && a.sshPort > 0;
}

/** A fraction in [0, 1) fixed by `id` (FNV-1a, then murmur3's final mix): where in each period its readings fall. */
export function phaseOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** A persistent GPU/CPU/login sampling connection to one instance. */
export class GpuLink {
  private client: Client | null = null;
  private stream: ClientChannel | null = null;
  /** the phase's timeout, then the sampling interval */
  private timer: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private failures = 0;
  private stopped = false;
  private reading = false;
  private lastNet: { at: number; bytes: number } | null = null;
  private state: GpuLinkState = { state: 'connecting' };

  constructor(
    readonly access: InstanceAccess,
    private readonly opts: GpuLinkOptions,
    private readonly deps: GpuLinkDeps,
  ) {}

  /** The current state. */
  get current(): GpuLinkState {
    return this.state;
  }

  /** Connect (and keep reconnecting until stopped). */
  start(): void {
    if (!hasSshEndpoint(this.access)) return this.setState({ state: 'down', why: 'no_endpoint', detail: 'no SSH endpoint in the API answer yet', code: downCode('no_endpoint') });
    if (!this.opts.privateKey && !this.access.password) return this.setState({ state: 'down', why: 'no_credentials', detail: 'no private_key_file configured and no instance password', code: downCode('no_credentials') });
    void this.connect();
  }

  /** Close the connection for good. */
  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.teardown();
  }

  /** Read load, network and logins now (the sampling timer does this every sample; tests call it directly). */
  async sampleNow(): Promise<void> {
    const c = this.client;
    if (!c || this.state.state !== 'streaming' || this.reading) return;
    this.reading = true;
    try {
      const [load, net, who] = await Promise.all([this.exec(c, GPU_COMMANDS.load), this.exec(c, GPU_COMMANDS.net), this.exec(c, GPU_COMMANDS.logins)]);
      const at = this.deps.clock.now();
      const s: GpuSample = { at };
      if (load.code === 0) s.load = parseLoadavg(load.out) ?? undefined;
      if (net.code === 0) {
        const bytes = parseNetDev(net.out);
        if (bytes !== null) {
          const prev = this.lastNet;
          if (prev && at > prev.at && bytes >= prev.bytes) s.netBytesPerSec = ((bytes - prev.bytes) * 1000) / (at - prev.at);
          if (!prev || at > prev.at || bytes < prev.bytes) this.lastNet = { at, bytes };
        }
      }
      if (who.code === 0) s.logins = parseWho(who.out);
      this.deps.onSample(s);
    } catch {
      // the connection's error handler reports and reconnects
    } finally {
      this.reading = false;
    }
  }

  private setState(s: GpuLinkState): void {
    this.state = s;
    this.deps.onState(s);
  }

  private teardown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stream = null;
    const c = this.client;
    this.client = null;
    c?.end();
  }

  private down(why: GpuDownReason, detail: string, params: ReasonCode['params'] = {}): void {
    this.teardown();
    if (this.stopped) return;
    this.setState({ state: 'down', why, detail, code: downCode(why, params) });
    this.failures++;
    const cap = why === 'host_key_changed' || why === 'auth_failed' ? Math.max(this.opts.backoffCapMs, 10 * 60_000) : this.opts.backoffCapMs;
    const delay = backoff(this.failures - 1, { base: this.opts.backoffBaseMs, cap });
    this.retry = setTimeout(() => void this.connect(), delay);
    this.retry.unref?.();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.setState({ state: 'connecting' });
    const release = (await this.deps.acquire?.()) ?? (() => undefined);
    if (this.stopped) return release();
    const a = this.access;
    const hostPort = `${a.sshHost}:${a.sshPort}`;
    let keyChanged: { expected: string; got: string } | undefined;
    const client = new Client();
    this.client = client;
    const config: ConnectConfig = {
      host: a.sshHost,
      port: a.sshPort ?? 22,
      username: a.sshUser || 'root',
      readyTimeout: this.opts.connectTimeoutMs,
      keepaliveInterval: Math.max(15_000, this.opts.sampleEveryMs * 3),
      keepaliveCountMax: 3,
      tryKeyboard: false,
      // after key exchange, before any authentication: a changed key means no password goes out
      hostVerifier: (key: Buffer): boolean => {
        const got = sshFingerprint(key);
        const check = checkHostKey(this.deps.db, hostPort, got, this.deps.clock.now());
        if (!check.ok) keyChanged = { expected: check.expected, got };
        return check.ok;
      },
    };
    if (this.opts.privateKey) config.privateKey = this.opts.privateKey;
    else config.password = a.password;
    let settled = false;
    const fail = (err: unknown) => {
      if (client !== this.client) return;
      if (keyChanged) {
        this.deps.log?.warn({ instanceId: a.id, hostPort, expected: keyChanged.expected, got: keyChanged.got }, 'ssh host key changed; not connecting');
        return this.down('host_key_changed', `SSH host key of ${hostPort} changed (trusted ${keyChanged.expected}, offered ${keyChanged.got}); not connecting — if the instance was rebuilt, forget the stored key`, { host_port: hostPort });
      }
      const level = (err as { level?: string }).level;
      const code = (err as { code?: string }).code;
      if (level === 'client-authentication') return this.down('auth_failed', `SSH authentication failed for user ${config.username}`, { user: config.username ?? 'root' });
      if (level === 'client-timeout' || code === 'ETIMEDOUT') return this.down('timeout', 'SSH handshake timed out');
      if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH') return this.down('refused', `SSH connection to ${hostPort} refused (${code})`, { host_port: hostPort });
      return this.down(settled ? 'closed' : 'error', `SSH ${settled ? 'connection lost' : 'failed'}: ${safeMessage(err)}`, { error: safeMessage(err) });
    };
    client.on('error', (err) => {
      release();
      fail(err);
    });
    client.on('close', () => {
      release();
      if (client === this.client && !this.stopped) fail(Object.assign(new Error('closed by the instance'), { level: 'close' }));
    });
    client.on('ready', () => {
      release();
      settled = true;
      client.setNoDelay(true); // each reading is a few small request/answer exchanges: send them without waiting
      this.failures = 0;
      void this.startStreaming(client);
    });
    try {
      client.connect(config);
    } catch (err) {
      release();
      fail(err);
    }
  }

  /** One query first (the GPU count, and a sample right away), then the looping stream. */
  private async startStreaming(client: Client): Promise<void> {
    const emit = (lines: GpuLine[]) => this.deps.onSample({ at: this.deps.clock.now(), gpus: lines.map((l) => ({ util: l.util, memUsedMiB: l.memUsedMiB })) });
    let first: { code: number | null; out: string };
    try {
      first = await this.exec(client, GPU_COMMANDS.gpu);
    } catch {
      return; // the connection's error handler reports and reconnects
    }
    if (client !== this.client || this.stopped) return;
    if (first.code === 127) return this.down('no_nvidia_smi', 'nvidia-smi not found on the instance');
    const lines = parseGpuLines(first.out);
    if (first.code !== 0 || lines.length === 0) return this.down('error', `nvidia-smi failed (exit ${first.code ?? 'signal'})`, { error: `nvidia-smi exit ${first.code ?? 'signal'}` });
    emit(lines);
    const reader = new GpuBlockReader(emit, lines.length);
    // ssh2 throws "Not connected" synchronously when the connection closed meanwhile: its error/close handler
    // reports and reconnects, so a throw here is not an error of its own
    try {
      this.openStream(client, reader);
    } catch {
      return;
    }
  }

  private openStream(client: Client, reader: GpuBlockReader): void {
    client.exec(gpuStreamCommand(this.opts.sampleEveryMs), (err, stream) => {
      if (client !== this.client) return stream?.close();
      if (err) return this.down('error', 'the instance refused to run nvidia-smi');
      this.stream = stream;
      stream.on('data', (d: Buffer) => reader.push(d.toString('utf8')));
      stream.stderr.on('data', () => undefined);
      stream.on('close', (code: number | null) => {
        reader.end();
        if (client !== this.client || this.stopped) return;
        if (code === 127) return this.down('no_nvidia_smi', 'nvidia-smi not found on the instance');
        this.down('closed', `the GPU stream ended (exit ${code ?? 'signal'})`);
      });
      this.setState({ state: 'streaming', since: this.deps.clock.now() });
      void this.sampleNow();
      // Links opened together (every running instance at the guard's first tick) would otherwise read CPU, network
      // and logins in the same instant every period, 3 commands each: each link keeps a phase of its own, from its id.
      const every = realMs(this.deps.clock, this.opts.sampleEveryMs);
      this.timer = setTimeout(() => {
        this.timer = setInterval(() => void this.sampleNow(), every);
        this.timer.unref?.();
        void this.sampleNow();
      }, Math.floor(phaseOf(this.access.id) * every));
      this.timer.unref?.();
    });
  }

  private exec(client: Client, command: string): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve, reject) => {
      client.exec(command, (err, stream) => {
        if (err) return reject(err);
        let out = '';
        stream.on('data', (d: Buffer) => {
          if (out.length < MAX_OUT) out += d.toString('utf8');
        });
        stream.stderr.on('data', () => undefined);
        stream.on('close', (code: number | null) => resolve({ code, out }));
      });
    });
  }
}

/** An error's message without anything that could be a credential (ssh2 messages carry none, but be safe). */
function safeMessage(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.replace(/password[^\s]*/gi, 'password').slice(0, 200);
}

/** The reason code of a down state (src/notify/reasons.ts: gpu.down_<why>). */
function downCode(why: GpuDownReason, params: ReasonCode['params'] = {}): ReasonCode {
  return { code: `gpu.down_${why}`, params };
}
