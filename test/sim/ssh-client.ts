/**
 * Test helpers: reach a simulated instance the way a client that only reads the Open API would (ssh_domain,
 * ssh_port, ssh_user, password / ssh_key), over ssh2's real `Client`.
 */
import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import type { ConnectConfig } from 'ssh2';

/** The access fields of one Open API instance. */
export interface ApiAccess {
  id: string;
  ssh_domain: string;
  ssh_port: string;
  ssh_user: string;
  password: string;
  ssh_key: string;
}

/** GET /open/instances with the token, the access fields of each instance by id. */
export async function apiAccess(url: string, token: string): Promise<Map<string, ApiAccess>> {
  const res = await fetch(`${url}/open/instances`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { data: { list: ApiAccess[] } };
  return new Map(body.data.list.map((i) => [i.id, i]));
}

/** OpenSSH-style fingerprint of a raw host key. */
export const fingerprintOf = (key: Buffer) => 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');

/** A connected client and the host key fingerprint it was shown. */
export interface Connected {
  client: ssh2.Client;
  hostKey: string;
}

/** Connect with the API's fields; `auth` picks password (default) or the API's key, or overrides them. */
export function connect(a: ApiAccess, over: Partial<ConnectConfig> & { useKey?: boolean } = {}): Promise<Connected> {
  const { useKey, ...rest } = over;
  const client = new ssh2.Client();
  let hostKey = '';
  const config: ConnectConfig = {
    host: a.ssh_domain,
    port: Number(a.ssh_port),
    username: a.ssh_user,
    readyTimeout: 5_000,
    hostVerifier: (key: Buffer) => {
      hostKey = fingerprintOf(key);
      return true;
    },
    ...(useKey ? { privateKey: a.ssh_key } : { password: a.password }),
    ...rest,
  };
  return new Promise((resolve, reject) => {
    client.once('ready', () => resolve({ client, hostKey }));
    client.on('error', (err) => {
      client.end();
      reject(err);
    });
    client.connect(config);
  });
}

/** Run one command; stdout, stderr and the exit code. */
export function run(client: ssh2.Client, command: string, opts: { pty?: boolean } = {}): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    client.exec(command, { pty: opts.pty ?? false }, (err, stream) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      stream.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      stream.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      stream.on('close', (code: number | null) => resolve({ stdout, stderr, code }));
    });
  });
}

/** A looping command's output so far, line by line; `close()` ends the channel. */
export interface Streaming {
  lines: string[];
  close(): void;
  closed: Promise<void>;
}

/** Start a looping command (e.g. `nvidia-smi ... -lms 1000`) and collect its lines. */
export function stream(client: ssh2.Client, command: string): Promise<Streaming> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, ch) => {
      if (err) return reject(err);
      const lines: string[] = [];
      let buf = '';
      ch.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        const parts = buf.split('\n');
        buf = parts.pop()!;
        lines.push(...parts);
      });
      ch.stderr.on('data', () => undefined);
      const closed = new Promise<void>((r) => ch.on('close', () => r()));
      resolve({ lines, close: () => ch.close(), closed });
    });
  });
}

/** Wait until `check()` is true (polling every 10 ms), or fail after `ms`. */
export async function until(check: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
