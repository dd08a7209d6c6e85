/** A client of the simulator's Open API for the sim tests: one call, the envelope back (always HTTP 200). */
import { expect } from 'vitest';

/** The envelope every /open answer comes in. */
export type Env = { code: number; msg: string; success: boolean; data: any };

/** Call `/open${path}` on `url` with `token` (or `auth`: a raw header, null for none); POST when a body is given. */
export async function openCall(url: string, token: string, path: string, init: { method?: string; body?: unknown; auth?: string | null } = {}): Promise<Env> {
  const headers: Record<string, string> = {};
  const auth = init.auth === undefined ? `Bearer ${token}` : init.auth;
  if (auth !== null) headers.authorization = auth;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}/open${path}`, {
    method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
    headers,
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Env;
}
