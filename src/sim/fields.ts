/** Request-body helpers shared by the simulator's Open API and control routes. */
import type { FastifyRequest } from 'fastify';
import { paramError } from './world.js';

/** A JSON or form body as a plain object ({} for anything else). */
export type Body = Record<string, unknown>;

/** The request body as an object. */
export function bodyOf(req: FastifyRequest): Body {
  const b = req.body;
  return b && typeof b === 'object' && !Array.isArray(b) ? (b as Body) : {};
}


/** An optional integer that may arrive as a string ("2"); '' and null count as absent. */
export function intField(v: unknown, field?: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw paramError(field);
  return n;
}

/** An optional string; '' and null count as absent. */
export function strField(v: unknown, field?: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw paramError(field);
  return v;
}
