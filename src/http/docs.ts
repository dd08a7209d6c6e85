/**
 * The OpenAPI document (`/docs/json`) and Swagger UI (`/docs`), generated from the same zod schemas that
 * validate requests and serialize responses. Register before any route so every route is collected.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { VERSION } from '../version.js';
import type { App } from './types.js';

/** Register @fastify/swagger and @fastify/swagger-ui under `/docs`. */
export async function installDocs(app: App, opts: { publicUrl?: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'xgc-guard API',
        description:
          'Cost guard for XianGong Cloud GPU instances. Money is in yuan (CNY) as numbers; times are ISO 8601 with the ' +
          'configured time zone offset. Errors are `{ "error": { "code", "message" } }`. Send `Authorization: Bearer <GUARD_API_TOKEN>`.',
        version: VERSION,
      },
      servers: opts.publicUrl ? [{ url: opts.publicUrl }] : [],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: false } });
}
