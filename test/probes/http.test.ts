import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError, errorPhrase, getJson } from '../../src/probes/http.js';

let server: Server;
let base = '';
let connections = 0;
const closed: string[] = [];
const received: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = (req.url ?? '').replace(/\?.*/, '');
    if (path === '/ok') res.writeHead(200, { 'content-type': 'application/json' }).end('{"kernels":[1,2]}');
    else if (path === '/redirect') res.writeHead(302, { location: '/ok' }).end();
    else if (path === '/big') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[' + '"x",'.repeat(400_000));
      res.end('"x"]');
    } else if (path === '/bad') res.writeHead(200).end('{not json');
    else if (path === '/slow') {
      received.push(req.url ?? ''); // never answers
      req.socket.once('close', () => closed.push('/slow'));
    }
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('probe HTTP GET', () => {
  it('parses a JSON answer, and reuses the connection for the next request to the same host', async () => {
    const before = connections;
    expect(await getJson(`${base}/ok`, { timeoutMs: 2000 })).toEqual({ status: 200, body: { kernels: [1, 2] } });
    expect(await getJson(`${base}/ok`, { timeoutMs: 2000 })).toEqual({ status: 200, body: { kernels: [1, 2] } });
    expect(connections - before).toBe(1);
  });

  it('does not follow redirects: the status comes back with no body', async () => {
    expect(await getJson(`${base}/redirect`, { timeoutMs: 2000 })).toEqual({ status: 302, body: null });
  });

  it('refuses an answer over 1 MB and invalid JSON with a message naming the URL without its query', async () => {
    await expect(getJson(`${base}/big?token=s3cret`, { timeoutMs: 5000 })).rejects.toThrow(/^answer from http:\/\/127\.0\.0\.1:\d+\/big larger than 1048576 bytes$/);
    const bad = await getJson(`${base}/bad?token=s3cret`, { timeoutMs: 2000 }).catch((e) => e);
    expect(describeError(bad)).toMatch(/^invalid JSON from http:\/\/127\.0\.0\.1:\d+\/bad$/);
    // The reason code's phrase names no URL (the catalog translates it; the detail keeps the URL).
    expect(errorPhrase(bad)).toBe('invalid JSON in response');
    expect(errorPhrase(await getJson(`${base}/big`, { timeoutMs: 5000 }).catch((e) => e))).toBe('answer larger than 1048576 bytes');
  });

  it('times out, closes the connection, and says "timed out"; an aborted signal stops it too', async () => {
    const err = await getJson(`${base}/slow`, { timeoutMs: 200 }).catch((e) => e);
    expect(describeError(err)).toBe('timed out');
    await expect.poll(() => closed.length).toBe(1);
    const ac = new AbortController();
    const p = getJson(`${base}/slow`, { timeoutMs: 5000, signal: ac.signal }).catch((e) => e);
    await expect.poll(() => received.length).toBe(2); // the request reached the server
    ac.abort();
    expect(describeError(await p)).toBe('timed out');
    await expect.poll(() => closed.length).toBe(2);
  });
});
