/** Real servers for notify tests: an in-process SMTP server and a node:http webhook receiver. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import pino from 'pino';

/** A silent pino logger (real logger, no output). */
export const silentLog = pino({ level: 'silent' });

/** A started SMTP server collecting parsed messages. */
export interface TestSmtp {
  port: number;
  messages: ParsedMail[];
  close(): Promise<void>;
}

/** Start an SMTP server on 127.0.0.1 (port 0 = any free port), no TLS, auth optional. */
export function startSmtp(port = 0): Promise<TestSmtp> {
  const messages: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, cb) {
      simpleParser(stream).then(
        (m) => {
          messages.push(m);
          cb();
        },
        (err: Error) => cb(err),
      );
    },
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const addr = server.server.address() as AddressInfo;
      resolve({ port: addr.port, messages, close: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
}

/** A free TCP port on 127.0.0.1 (nothing listens there after this returns). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** One request seen by the receiver. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  raw: string;
  json: any;
}

/** A webhook receiver: records requests and answers with `reply` (changeable). */
export interface Receiver {
  url: string;
  requests: Received[];
  reply: { status: number; body: string };
  close(): Promise<void>;
}

/** Start a node:http receiver on 127.0.0.1; `path` is appended to the returned URL. */
export async function startReceiver(path = '/hook', reply = { status: 200, body: '{"errcode":0,"errmsg":"ok","code":0}' }): Promise<Receiver> {
  const requests: Received[] = [];
  const state = { status: reply.status, body: reply.body };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        json = undefined;
      }
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, json });
      res.writeHead(state.status, { 'content-type': 'application/json' });
      res.end(state.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    requests,
    reply: state,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A sample running instance (facts only, as the tick passes them). */
export const sampleInstance = { id: 'ins-7f3a', name: 'sd-main', gpu_model: 'RTX 4090 D', gpu_count: 1, price_per_hour: 1.59 };

/** The event types inside a grouped email (`X-Guard-Events`; a resolved notice is `<type>:resolved`). */
export function mailEvents(m: { headers: Map<string, unknown> }): string[] {
  const v = m.headers.get('x-guard-events');
  return typeof v === 'string' && v ? v.split(',') : [];
}

/** The events inside a generic webhook body (`events`, one per event of the grouped message). */
export function hookEvents(json: any): Array<{ type: string; status: string; data: any }> {
  return Array.isArray(json?.events) ? json.events : [];
}
