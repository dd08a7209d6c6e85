/**
 * Real SSH on every simulated instance (ssh2's `Server`): one TCP listener per instance, bound when it first
 * reaches `running` and kept until it is destroyed, so its `ssh_port` is stable. Auth as `root` with the
 * instance password, its own key (the API's `ssh_key`) or an account key it was deployed with; refused while
 * the instance is not running, and every connection is closed when it stops. Exec channels and shells run the
 * small shell of `shell.ts`; looping `nvidia-smi -l/-lms` streams a block per period of the simulator's clock.
 * The `sftp` subsystem (`sftp.ts`) and legacy `scp -f` (`scp.ts`) read files of the instance's fake filesystem.
 * A shell or a pty is an interactive login (`who -u`); exec channels without a pty never are.
 * Faults: `ssh_refuse_rate` (accept, then close), `ssh_hang_rate` (never answer the handshake, or an exec
 * channel that never prints), rolled on the simulator's seeded dice.
 */
import net from 'node:net';
import ssh2 from 'ssh2';
import type { AuthContext, AuthenticationType, Connection, ParsedKey, ServerChannel, Session } from 'ssh2';
import { Rng } from './catalog.js';
import { nextTty, type Login } from './machine.js';
import { HOME, hostnameOf } from './fs.js';
import { serveSftp } from './sftp.js';
import { parseScp, scpSource } from './scp.js';
import { runCommand, shellContext, type ShellSubject } from './shell.js';
import { hostKeyOf } from './ssh-keys.js';
import type { SimInstance, SimWorld } from './world.js';

/** Options of the simulator's SSH servers. */
export interface SimSshOptions {
  /** the world (with its clock: streams follow the world's time) */
  world: SimWorld;
  /** address the listeners bind (the API's `ssh_domain` is the address clients use) */
  host: string;
  seed?: number;
  /** real-time period (ms) of the loop that emits due stream samples and closes connections of stopped instances */
  pollMs?: number;
}

interface Stream {
  instId: string;
  channel: ServerChannel;
  periodMs: number;
  start: number;
  next: number;
  crlf: boolean;
  block: (inst: ShellSubject, t: number) => string;
}

interface Conn {
  client: Connection;
  /** authenticated (only these are ended when the instance stops; the others meet refused auth) */
  ready: boolean;
  /** cleanups of its channels (streams, logins), run when a channel or the connection closes */
  cleanups: Set<() => void>;
}

interface Endpoint {
  id: string;
  server: net.Server;
  port: number;
  /** the ssh2 server of the current host key (made on the first connection after a rotation) */
  ssh?: { gen: number; server: InstanceType<typeof ssh2.Server> };
  conns: Set<Conn>;
  /** sockets not handed to ssh2 (hung by a fault) */
  held: Set<net.Socket>;
}

const IDENT = 'OpenSSH_8.9p1 Ubuntu-3ubuntu0.10';
const METHODS: AuthenticationType[] = ['publickey', 'password'];

function isLive(inst: SimInstance): boolean {
  return inst.everRunning && !inst.gone && inst.status !== 'destroyed';
}

/** The SSH side of the simulator: listeners, auth, commands and streams for every instance. */
export class SimSsh {
  private readonly world: SimWorld;
  private readonly host: string;
  private readonly pollMs: number;
  private readonly dice: Rng;
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly binding = new Map<string, Promise<void>>();
  private readonly streams = new Set<Stream>();
  private readonly parsedKeys = new Map<string, ParsedKey | Error | undefined>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** SSH connections open right now (all instances) */
  private connections = 0;

  constructor(o: SimSshOptions) {
    this.world = o.world;
    this.host = o.host;
    this.pollMs = o.pollMs ?? 50;
    this.dice = new Rng(((o.seed ?? 42) ^ 0x55a1) >>> 0);
  }

  /** Bring listeners in line with the world (bind new ones, close destroyed ones) and wait for every bind. */
  async sync(): Promise<void> {
    this.reconcile();
    while (this.binding.size > 0) await Promise.all([...this.binding.values()]);
  }

  /**
   * One synchronous pass: start binds for instances that reached `running`, close listeners of destroyed ones,
   * end connections of instances that are not running, and emit due stream samples.
   */
  reconcile(): void {
    if (this.closed) return;
    this.world.sync();
    for (const inst of this.world.all()) {
      const ep = this.endpoints.get(inst.id);
      if (!isLive(inst)) {
        if (ep) void this.closeEndpoint(ep);
        continue;
      }
      if (!ep && !this.binding.has(inst.id)) this.bind(inst);
      if (ep && inst.status !== 'running' && ep.conns.size > 0) for (const c of [...ep.conns]) if (c.ready) c.client.end();
    }
    this.pump();
    this.updateTimer();
  }

  /** Live connections per instance id. */
  connectionCounts(): Record<string, number> {
    return Object.fromEntries([...this.endpoints.values()].map((ep) => [ep.id, ep.conns.size]));
  }

  /** Streams (looping commands) open right now. */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Close every listener and connection. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.binding.values()]);
    await Promise.all([...this.endpoints.values()].map((ep) => this.closeEndpoint(ep)));
  }

  // ---------------------------------------------------------------- listeners

  private bind(inst: SimInstance): void {
    const id = inst.id;
    const server = net.createServer((socket) => this.onSocket(id, socket));
    const p = new Promise<void>((resolve) => {
      server.once('error', () => {
        this.binding.delete(id);
        resolve(); // retried at the next reconcile
      });
      server.listen(0, this.host, () => {
        this.binding.delete(id);
        const addr = server.address();
        const port = typeof addr === 'object' && addr ? addr.port : 0;
        const cur = this.world.peek(id);
        if (this.closed || !cur || !isLive(cur)) {
          server.close();
          return resolve();
        }
        cur.sshPort = String(port);
        this.endpoints.set(id, { id, server, port, conns: new Set(), held: new Set() });
        resolve();
      });
    });
    this.binding.set(id, p);
  }

  private closeEndpoint(ep: Endpoint): Promise<void> {
    this.endpoints.delete(ep.id);
    for (const c of ep.conns) c.client.end();
    for (const s of ep.held) s.destroy();
    return new Promise((resolve) => ep.server.close(() => resolve()));
  }

  private sshServerOf(ep: Endpoint, inst: SimInstance): InstanceType<typeof ssh2.Server> {
    if (ep.ssh?.gen !== inst.hostKeyGen) {
      const hostKey = hostKeyOf(this.world.seed, inst.id, inst.hostKeyGen).privateKey;
      const server = new ssh2.Server({ hostKeys: [hostKey], ident: IDENT }, (client: Connection, info) => this.onClient(ep, client, info.ip));
      ep.ssh = { gen: inst.hostKeyGen, server };
    }
    return ep.ssh.server;
  }

  private onSocket(id: string, socket: net.Socket): void {
    socket.on('error', () => undefined);
    // answers go out at once, as from sshd: with Nagle's algorithm each small reply waited for the peer's delayed ACK
    socket.setNoDelay(true);
    const ep = this.endpoints.get(id);
    const inst = this.world.peek(id);
    if (this.closed || !ep || !inst) return void socket.destroy();
    const f = this.world.faults;
    if (f.ssh_refuse_rate > 0 || f.ssh_hang_rate > 0) {
      const u = this.dice.next();
      if (u < f.ssh_refuse_rate) return void socket.destroy();
      if (u < f.ssh_refuse_rate + f.ssh_hang_rate) {
        ep.held.add(socket);
        socket.on('close', () => ep.held.delete(socket));
        return;
      }
    }
    this.sshServerOf(ep, inst).injectSocket(socket);
  }

  // ---------------------------------------------------------------- connections

  private onClient(ep: Endpoint, client: Connection, ip: string): void {
    const conn: Conn = { client, ready: false, cleanups: new Set() };
    ep.conns.add(conn);
    this.connections++;
    this.updateTimer();
    client.on('error', () => undefined);
    client.on('close', () => {
      ep.conns.delete(conn);
      this.connections--;
      for (const c of [...conn.cleanups]) c();
    });
    client.on('authentication', (ctx) => this.authenticate(ep.id, ctx));
    client.on('ready', () => {
      conn.ready = true;
      client.on('session', (accept) => this.onSession(ep.id, conn, accept(), ip));
    });
  }

  private authenticate(id: string, ctx: AuthContext): void {
    this.world.sync();
    const inst = this.world.peek(id);
    if (!inst || inst.status !== 'running') return ctx.reject(METHODS); // refused while not running
    if (ctx.username !== 'root') return ctx.reject(METHODS);
    if (ctx.method === 'password') return ctx.password === inst.password ? ctx.accept() : ctx.reject(METHODS);
    if (ctx.method === 'publickey') {
      const allowed = [inst.sshKeyBlob, ...this.world.authorizedKeysOf(inst).map((k) => k.blob)];
      if (!allowed.some((b) => b.equals(ctx.key.data))) return ctx.reject(METHODS);
      if (!ctx.signature || !ctx.blob) return ctx.accept(); // "would this key do?" -> yes
      const key = this.parsedKey(ctx.key.algo, ctx.key.data);
      const ok = key && !(key instanceof Error) && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true;
      return ok ? ctx.accept() : ctx.reject(METHODS);
    }
    return ctx.reject(METHODS);
  }

  private parsedKey(algo: string, blob: Buffer): ParsedKey | Error | undefined {
    const text = `${algo} ${blob.toString('base64')}`;
    if (!this.parsedKeys.has(text)) {
      const parsed = ssh2.utils.parseKey(text);
      this.parsedKeys.set(text, Array.isArray(parsed) ? parsed[0] : parsed);
    }
    return this.parsedKeys.get(text);
  }

  private onSession(id: string, conn: Conn, session: Session, ip: string): void {
    let pty = false;
    session.on('pty', (accept) => {
      pty = true;
      accept?.();
    });
    session.on('window-change', (accept) => accept?.());
    session.on('env', (accept) => accept?.());
    session.on('signal', (accept) => accept?.());
    session.on('auth-agent', (_accept, reject) => reject?.());
    session.on('x11', (_accept, reject) => reject?.());
    session.on('subsystem', (_accept, reject) => reject?.());
    session.on('sftp', (accept) => {
      this.world.sync();
      serveSftp(
        accept(),
        () => this.world.peek(id),
        () => {
          this.world.sync();
          return this.world.now;
        },
      );
    });
    session.on('exec', (accept, _reject, info) => {
      const ch = accept();
      ch.on('error', () => undefined);
      const login = pty ? this.addLogin(id, ip, conn, ch) : undefined;
      this.exec(id, conn, ch, info.command, pty, () => login && this.dropLogin(id, login));
    });
    session.on('shell', (accept) => {
      const ch = accept();
      ch.on('error', () => undefined);
      this.shell(id, conn, ch, this.addLogin(id, ip, conn, ch), pty);
    });
  }

  /** Run `cleanup` once, when the channel or its connection closes. */
  private onChannelEnd(conn: Conn, ch: ServerChannel, cleanup: () => void): void {
    const run = () => {
      conn.cleanups.delete(run);
      cleanup();
    };
    conn.cleanups.add(run);
    ch.once('close', run);
  }

  private addLogin(id: string, ip: string, conn: Conn, ch: ServerChannel): Login {
    this.world.sync();
    const inst = this.world.peek(id)!;
    const now = this.world.now;
    const login: Login = { tty: nextTty(inst.logins), pid: 2_000 + Math.floor(this.dice.next() * 30_000), from: ip || '127.0.0.1', since: now, lastInput: now, typing: false, source: 'ssh' };
    inst.logins.push(login);
    this.onChannelEnd(conn, ch, () => this.dropLogin(id, login));
    return login;
  }

  private dropLogin(id: string, login: Login): void {
    const inst = this.world.peek(id);
    if (inst) inst.logins = inst.logins.filter((l) => l !== login);
  }

  private exec(id: string, conn: Conn, ch: ServerChannel, command: string, crlf: boolean, done: () => void): void {
    const f = this.world.faults;
    if (f.ssh_hang_rate > 0 && this.dice.next() < f.ssh_hang_rate) return; // a stalled channel: never prints, never exits
    this.world.sync();
    const inst = this.world.peek(id)!;
    const now = this.world.now;
    const scp = parseScp(command);
    if (scp) {
      // the legacy scp protocol (`scp -O`): a conversation on the channel, not a command's output
      const feed = scpSource(scp, inst, now, {
        write: (b) => ch.write(b),
        exit: (code) => {
          ch.exit(code);
          ch.end();
          done();
        },
      });
      ch.on('data', feed);
      return;
    }
    const out = runCommand(command, inst, now, shellContext({ tty: crlf }));
    const nl = (s: string) => (crlf ? s.replace(/\n/g, '\r\n') : s);
    if (out.kind === 'once') {
      if (out.stdout) ch.write(nl(out.stdout));
      if (out.stderr) ch.stderr.write(nl(out.stderr));
      ch.exit(out.code);
      ch.end();
      done();
      return;
    }
    if (out.stderr) ch.stderr.write(nl(out.stderr));
    ch.write(nl(out.header + out.block(inst, now)));
    this.addStream(conn, { instId: id, channel: ch, periodMs: out.periodMs, start: now, next: now + out.periodMs, crlf, block: out.block });
  }

  private addStream(conn: Conn, s: Stream): void {
    this.streams.add(s);
    this.onChannelEnd(conn, s.channel, () => this.streams.delete(s));
    this.updateTimer();
  }

  /**
   * A login shell: runs each line typed through `shell.ts` (the working directory and `$?` carry over), `exit`,
   * `logout` or Ctrl-D leaves, Ctrl-C stops a loop. With a pty it greets, prompts (`root@host:~# `) and echoes;
   * without one (`ssh host < script`) it reads lines silently, as bash does when stdin is not a terminal.
   */
  private shell(id: string, conn: Conn, ch: ServerChannel, login: Login, pty: boolean): void {
    const ctx = shellContext({ tty: pty, interactive: pty });
    const host = hostnameOf({ id });
    const nl = (s: string) => (pty ? s.replace(/\n/g, '\r\n') : s);
    const prompt = () => pty && ch.write(`root@${host}:${ctx.cwd === HOME ? '~' : ctx.cwd.startsWith(`${HOME}/`) ? `~${ctx.cwd.slice(HOME.length)}` : ctx.cwd}# `);
    const leave = (code: number) => {
      ch.exit(code);
      ch.end();
    };
    let line = '';
    let escape = 0; // inside a terminal escape sequence (arrow keys and the like): ignored
    let loop: Stream | undefined;
    let done = false;
    if (pty) ch.write(`Welcome to Ubuntu 22.04.4 LTS (GNU/Linux 5.15.0-105-generic x86_64)\r\n\r\n`);
    prompt();
    ch.on('data', (data: Buffer) => {
      this.world.sync();
      login.lastInput = this.world.now;
      for (const c of data.toString('utf8')) {
        if (done) return;
        if (escape > 0) {
          // ESC [ params final: the sequence ends at its final byte (@ to ~)
          if (escape === 1 && c !== '[' && c !== 'O') escape = 0;
          else if (escape > 1 && c >= '@' && c <= '~') escape = 0;
          else escape++;
          continue;
        }
        if (c === '\x1b') {
          escape = 1;
        } else if (c === '\x03') {
          if (loop) {
            this.streams.delete(loop);
            loop = undefined;
          }
          line = '';
          if (pty) ch.write('^C\r\n');
          prompt();
        } else if (c === '\x04' && line === '' && !loop) {
          if (pty) ch.write('logout\r\n');
          done = true;
          return leave(ctx.lastCode);
        } else if (loop) {
          continue;
        } else if (c === '\r' || c === '\n') {
          if (pty) ch.write('\r\n');
          const cmd = line;
          line = '';
          const inst = this.world.peek(id)!;
          const out = runCommand(cmd, inst, this.world.now, ctx);
          if (out.kind === 'once') {
            if (pty) ch.write(nl(out.screen));
            else {
              if (out.stdout) ch.write(out.stdout);
              if (out.stderr) ch.stderr.write(out.stderr);
            }
            if (out.exit) {
              if (pty) ch.write('logout\r\n');
              done = true;
              return leave(out.code);
            }
            prompt();
          } else {
            if (out.stderr) ch.write(nl(out.stderr));
            ch.write(nl(out.header + out.block(inst, this.world.now)));
            loop = { instId: id, channel: ch, periodMs: out.periodMs, start: this.world.now, next: this.world.now + out.periodMs, crlf: pty, block: out.block };
            this.addStream(conn, loop);
          }
        } else if (c === '\x7f' || c === '\b') {
          if (line.length > 0) {
            line = line.slice(0, -1);
            if (pty) ch.write('\b \b');
          }
        } else if (c >= ' ' || c === '\t') {
          line += c;
          if (pty) ch.write(c);
        }
      }
    });
    ch.on('end', () => {
      // stdin closed (`ssh host < script`): the shell ends when its input does
      if (!done && !loop) {
        done = true;
        leave(ctx.lastCode);
      }
    });
  }

  // ---------------------------------------------------------------- streams

  /**
   * Emit every due stream sample. When the clock jumped over several periods, a stream prints one block (the
   * state now) and skips the missed ones, staying on its grid `start + k * period` — like a process that was
   * paused; it never replays history.
   */
  private pump(): void {
    if (this.streams.size === 0) return;
    const now = this.world.now;
    for (const s of this.streams) {
      if (now < s.next) continue;
      const inst = this.world.peek(s.instId);
      if (!inst || inst.status !== 'running') continue;
      const text = s.block(inst, now);
      s.channel.write(s.crlf ? text.replace(/\n/g, '\r\n') : text);
      s.next = s.start + (Math.floor((now - s.start) / s.periodMs) + 1) * s.periodMs;
    }
  }

  private updateTimer(): void {
    const active = this.streams.size > 0 || this.connections > 0;
    if (active && !this.timer && !this.closed) {
      this.timer = setInterval(() => this.reconcile(), this.pollMs);
      this.timer.unref();
    } else if (!active && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
