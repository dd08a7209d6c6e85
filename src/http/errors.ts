/** One error handler for the API: typed errors become `{error:{code,message}}`; 5xx hide details. */
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { GuardError } from '../errors.js';
import { formatPath } from '../config/load.js';

/** Send an error body in the API's one shape. */
export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

/** Install the error and not-found handlers on `app`. */
export function installErrorHandlers(app: FastifyInstance<any, any, any, any, any>): void {
  app.setErrorHandler((err: FastifyError, req: any, reply: any) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const first = err.validation[0];
      const context = (err.validationContext ?? 'request') as string;
      const where = context === 'querystring' ? 'query' : context;
      // fastify-type-provider-zod v7: keyword = zod issue code, instancePath = '/'-joined issue path, params = the rest.
      const segs: PropertyKey[] = (first?.instancePath ?? '').split('/').filter(Boolean).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
      let msg = first?.message ?? 'invalid';
      const keys = (first?.params as { keys?: unknown } | undefined)?.keys;
      if (first?.keyword === 'unrecognized_keys' && Array.isArray(keys) && keys.length) {
        segs.push(String(keys[0]));
        msg = keys.length > 1 ? `unknown field (also ${keys.slice(1).join(', ')})` : 'unknown field';
      }
      const path = formatPath(segs);
      const field = path ? `${where}.${path}` : where;
      return reply.status(400).send(errorBody('bad_request', `${field}: ${msg}`));
    }
    if (err instanceof GuardError) {
      const status = err.status;
      if (status >= 500) req.log.error({ err }, 'request failed');
      return reply.status(status).send(errorBody(err.code, status < 500 ? err.message : 'internal error'));
    }
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return reply.status(status).send(errorBody('internal', 'internal error'));
    }
    const code = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body_too_large' : status === 429 ? 'rate_limited' : status === 415 ? 'unsupported_media_type' : 'bad_request';
    return reply.status(status).send(errorBody(code, err.message));
  });
  app.setNotFoundHandler((req: any, reply: any) => {
    reply.status(404).send(errorBody('not_found', `no route ${req.method} ${req.url.split('?')[0]}`));
  });
}
