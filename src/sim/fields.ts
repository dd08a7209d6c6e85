/** Request-body helpers shared by the simulator's Open API and control routes. */
import type { FastifyRequest } from 'fastify';
import { SIM_MSG, SimError } from './world.js';

/** A JSON or form body as a plain object ({} for anything else). */
export type Body = Record<string, unknown>;

/** The request body as an object. */
export function bodyOf(req: FastifyRequest): Body {
  const b = req.body;
  return b && typeof b === 'object' && !Array.isArray(b) ? (b as Body) : {};
}

/** An optional integer that may arrive as a string ("2"); '' and null count as absent. */
export function intField(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new SimError(SIM_MSG.badParam);
  return n;
}

/** An optional string; '' and null count as absent. */
export function strField(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new SimError(SIM_MSG.badParam);
  return v;
}
