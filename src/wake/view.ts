/** A wake as the API shows it: state, tries, the model the next try waits for, since when. */
import type { WakeRow, WakeState } from '../db/wakes.js';
import { recentWakes } from '../db/wakes.js';
import type { Db } from '../db/open.js';
import { isoInTz } from '../money.js';
import { shortModelName } from './models.js';

/** `GET /api/v1/instances` item field `wake`. */
export interface WakeView {
  id: number;
  state: WakeState;
  tries: number;
  /** the model (short name) the next try asks for while waiting, else null */
  waiting_for: string | null;
  /** when the wake was requested (ISO 8601) */
  since: string;
}

/** How long a finished wake stays on the instance list. */
export const WAKE_SHOWN_AFTER_MS = 3_600_000;

/** One wake row in the API's shape. */
export function wakeView(w: WakeRow, tz: string): WakeView {
  const models = JSON.parse(w.gpuModels) as string[];
  return {
    id: w.actionId,
    state: w.state as WakeState,
    tries: w.tries,
    waiting_for: w.state === 'waiting' && models.length ? shortModelName(models[w.nextModel % models.length]) : null,
    since: isoInTz(w.requestedAt, tz),
  };
}

/** The latest wake of each instance still in progress or finished within the last hour. */
export function latestWakes(db: Db, now: number, tz: string): Map<string, WakeView> {
  const out = new Map<string, WakeView>();
  for (const w of recentWakes(db, now - WAKE_SHOWN_AFTER_MS)) if (!out.has(w.instanceId)) out.set(w.instanceId, wakeView(w, tz));
  return out;
}
