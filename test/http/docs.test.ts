import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await makeApp();
});
afterAll(async () => t.close());

type Op = { parameters?: Array<{ in: string; name: string; schema?: unknown }>; requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }; responses: Record<string, { content?: Record<string, { schema: unknown }> }> };

describe('OpenAPI document and Swagger UI', () => {
  it('lists every API route with the schemas that validate it', async () => {
    const r = await t.app.inject({ url: '/docs/json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json() as { openapi: string; paths: Record<string, Record<string, Op>>; components: { securitySchemes: Record<string, unknown> } };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    const routes: Array<[string, string, number]> = [
      ['/api/v1/session', 'get', 200],
      ['/api/v1/balance', 'get', 200],
      ['/api/v1/instances/{id}/timeline', 'get', 200],
      ['/api/v1/actions', 'get', 200],
      ['/api/v1/overrides', 'get', 200],
      ['/api/v1/overrides', 'post', 201],
      ['/api/v1/overrides/{id}', 'delete', 200],
      ['/api/v1/heartbeat', 'post', 202],
      ['/api/v1/spend', 'get', 200],
      ['/api/v1/savings', 'get', 200],
    ];
    for (const [path, method, ok] of routes) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op.responses[String(ok)].content?.['application/json'].schema, `${method} ${path} ${ok}`).toBeDefined();
      expect(op.responses['401'].content?.['application/json'].schema).toBeDefined();
    }
    const spendParams = doc.paths['/api/v1/spend'].get.parameters!.map((p) => `${p.in}:${p.name}`);
    expect(spendParams).toEqual(expect.arrayContaining(['query:from', 'query:to', 'query:by', 'query:tz']));
    const by = doc.paths['/api/v1/spend'].get.parameters!.find((p) => p.name === 'by')!;
    expect(by.schema).toMatchObject({ enum: ['hour', 'day', 'instance', 'group'] });
    const timeline = doc.paths['/api/v1/instances/{id}/timeline'].get.parameters!.find((p) => p.in === 'path')!;
    expect(timeline.schema).toMatchObject({ pattern: '^[a-z0-9-]{1,64}$' });
    const body = doc.paths['/api/v1/overrides'].post.requestBody!.content['application/json'].schema;
    expect(body).toMatchObject({ additionalProperties: false, required: expect.arrayContaining(['target', 'kind', 'reason']) });
    expect(Object.keys(body.properties as object)).toEqual(expect.arrayContaining(['target', 'kind', 'policies', 'until', 'for', 'forever', 'reason']));
    expect(doc.paths['/metrics']).toBeUndefined();
  });

  it('serves Swagger UI as HTML at /docs', async () => {
    const r = await t.app.inject({ url: '/docs' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.body).toMatch(/swagger-ui/i);
    const css = await t.app.inject({ url: '/docs/static/swagger-ui.css' });
    expect(css.statusCode).toBe(200);
  });
});
