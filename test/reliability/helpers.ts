/**
 * Real servers for the reliability suites: a counting HTTP proxy in front of the simulator, a webhook
 * receiver that remembers every event id it was sent, an in-process SMTP server keeping raw messages,
 * and a sentinel scanner. Everything listens on 127.0.0.1, port 0.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** Listen on a free loopback port and return it. */
async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

/** Close a server, dropping keep-alive sockets. */
function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** One request that went through the proxy. */
export interface ProxiedCall {
  /** wall time (ms) the proxy received it */
  at: number;
  method: string;
  path: string;
  /** `id` of a POST body (form or JSON), if any */
  id?: string;
  /** upstream HTTP status, or 0 when the upstream never answered */
  status: number;
  /** whether the upstream answered a success envelope (`code: 200`) */
  ok: boolean;
  /** whether the upstream answer was not JSON at all */
  garbled: boolean;
}

/** A counting proxy: forwards every request to `target` and logs it. */
export interface CountingProxy {
  url: string;
  calls: ProxiedCall[];
  /**
   * Called after a request was forwarded and answered upstream, before the answer goes back; the proxy
   * waits for the returned promise (a test can kill the client here: "answer lost").
   */
  onAnswered?: (c: ProxiedCall) => Promise<void> | void;
  close(): Promise<void>;
}

/** Start a proxy in front of `target` (e.g. the simulator's URL). */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const up = new URL(target);
  const proxy: CountingProxy = { url: '', calls: [], close: async () => undefined };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req).catch(() => Buffer.alloc(0));
    const call: ProxiedCall = { at: Date.now(), method: req.method ?? 'GET', path: (req.url ?? '').split('?')[0], status: 0, ok: false, garbled: false };
    if (body.length) {
      const text = body.toString('utf8');
      try {
        const j = JSON.parse(text) as { id?: unknown };
        if (typeof j.id === 'string') call.id = j.id;
      } catch {
        const id = new URLSearchParams(text).get('id');
        if (id) call.id = id;
      }
    }
    proxy.calls.push(call);
    const upReq = httpRequest(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: { ...req.headers, host: up.host } },
      async (upRes) => {
        const answer = await readBody(upRes).catch(() => Buffer.alloc(0));
        call.status = upRes.statusCode ?? 0;
        try {
          call.ok = (JSON.parse(answer.toString('utf8')) as { code?: unknown }).code === 200;
        } catch {
          call.garbled = true;
        }
        await proxy.onAnswered?.(call);
        if (res.destroyed) return;
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        res.end(answer);
      },
    );
    upReq.on('error', () => res.destroy());
    // The client gave up (timeout) or died: stop waiting upstream too.
    res.on('close', () => {
      if (!res.writableFinished) upReq.destroy();
    });
    upReq.end(body);
  });
  const port = await listen(server);
  proxy.url = `http://127.0.0.1:${port}`;
  proxy.close = () => closeServer(server);
  return proxy;
}

/** One webhook request as the receiver saw it. */
export interface WebhookHit {
  at: number;
  /** request line and headers */
  head: string;
  raw: string;
  json: any;
  /** whether our answer was fully written before the connection closed */
  answered: boolean;
}

/** A webhook receiver (answers 200 after `delayMs`). */
export interface WebhookReceiver {
  url: string;
  hits: WebhookHit[];
  delayMs: number;
  /** called when a request arrives, before the delayed answer */
  onHit?: (h: WebhookHit) => void;
  /** how many times each event id was received */
  counts(): Map<number, number>;
  close(): Promise<void>;
}

/** The outbox event ids one webhook hit carries (a grouped message lists every event in `events`). */
export function hitIds(h: { json?: any }): number[] {
  const events: unknown = h.json?.events;
  if (Array.isArray(events)) return events.map((e: { id?: unknown }) => e.id).filter((id): id is number => typeof id === 'number');
  return typeof h.json?.id === 'number' ? [h.json.id] : [];
}

/** Start a generic-webhook receiver on 127.0.0.1. */
export async function startWebhookReceiver(delayMs = 0): Promise<WebhookReceiver> {
  const rec: WebhookReceiver = {
    url: '',
    hits: [],
    delayMs,
    counts() {
      const m = new Map<number, number>();
      for (const h of rec.hits) for (const id of hitIds(h)) m.set(id, (m.get(id) ?? 0) + 1);
      return m;
    },
    close: async () => undefined,
  };
  const server = createServer(async (req, res) => {
    const raw = (await readBody(req).catch(() => Buffer.alloc(0))).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
    const hit: WebhookHit = { at: Date.now(), head: `${req.method} ${req.url}\n${JSON.stringify(req.headers)}`, raw, json, answered: false };
    rec.hits.push(hit);
    rec.onHit?.(hit);
    if (rec.delayMs > 0) await new Promise((r) => setTimeout(r, rec.delayMs));
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}', () => (hit.answered = true));
  });
  const port = await listen(server);
  rec.url = `http://127.0.0.1:${port}/hook`;
  rec.close = () => closeServer(server);
  return rec;
}

/** An SMTP server keeping each message's raw source. */
export interface RawSmtp {
  port: number;
  /** raw RFC 5322 sources */
  messages: string[];
  /** user names and passwords presented by clients */
  logins: string[];
  close(): Promise<void>;
}

/** Start an SMTP server (no TLS; AUTH accepted over plain text, as a local relay would). */
export function startRawSmtp(): Promise<RawSmtp> {
  const messages: string[] = [];
  const logins: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      logins.push(`${auth.username}:${auth.password}`);
      cb(null, { user: auth.username });
    },
    onData(stream, _session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push(Buffer.concat(chunks).toString('utf8'));
        cb();
      });
    },
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.server.address() as AddressInfo).port;
      resolve({ port, messages, logins, close: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
}

/**
 * Forms a secret may take in text: as is, JSON-escaped, URL-encoded, base64 (emails), and, for long
 * values, a 24-char slice (a truncated log line or a wrapped header still shows that much).
 */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]);
  const b64 = Buffer.from(secret).toString('base64');
  if (b64.length >= 16) forms.add(b64.slice(0, 16));
  if (secret.length > 30) forms.add(secret.slice(4, 28));
  return [...forms].filter((f) => f.length >= 8);
}

/** Names of the sentinels found in `haystack` (each secret under every form of `secretForms`). */
export function findSentinels(haystack: string, secrets: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(secrets)) if (secretForms(value).some((f) => haystack.includes(f))) found.push(name);
  return found;
}

/** Seeded PRNG (mulberry32) for reproducible kill points. */
export { seededRandom } from '../../src/bench/stats.js';

/** Milliseconds to wait. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
