/**
 * What each kind of guard action means, in one table: which state shows it took effect and what it leaves billed
 * (so what it saves per hour). The executor, the recorder (confirmations), the runway policy, savings and event data
 * read this table; the request each kind sends is src/actions/send.ts; the words for each kind are locale data in
 * src/notify/templates (typed by the same ActionKind, so a new kind needs its words in every locale).
 */
import type { ActionKind } from './config/schema.js';

/** The facts an action kind looks at. */
export interface ActionTarget {
  id: string;
  status: string;
  gpuUsed: number;
  pricePerHour: number;
  retainPrice: number;
}

/** One action kind. */
export interface ActionKindSpec {
  /** whether it sends a request about the instance (false: a notification only) */
  sendsRequest: boolean;
  /** the status journaled as expected after the action (null: nothing changes) */
  expectedStatus: string | null;
  /** whether `seen` (undefined: no longer listed) shows the action took effect */
  reached(seen: Pick<ActionTarget, 'status' | 'gpuUsed'> | undefined): boolean;
  /** whether `seen` shows the action under way (a request that was sent before a crash) */
  underWay(seen: Pick<ActionTarget, 'status' | 'gpuUsed'> | undefined): boolean;
  /** ¥/h still billed after the action, for an instance billed at `rate` now */
  rateAfter(target: Pick<ActionTarget, 'retainPrice'>, rate: number): number;
  /** whether a user boot ends what it saved (a release; a destroy cannot be undone) */
  endsAtBoot: boolean;
}

/** Every action kind of the config (`action:` of a policy). */
export const ACTION_KINDS: Record<ActionKind, ActionKindSpec> = {
  release_gpu: {
    sendsRequest: true,
    expectedStatus: 'shutdown',
    reached: (s) => s !== undefined && s.status === 'shutdown' && s.gpuUsed === 0,
    underWay: (s) => s !== undefined && s.status === 'shutting_down',
    rateAfter: (t) => t.retainPrice,
    endsAtBoot: true,
  },
  shutdown: {
    sendsRequest: true,
    expectedStatus: 'shutdown',
    reached: (s) => s !== undefined && s.status === 'shutdown',
    underWay: (s) => s !== undefined && s.status === 'shutting_down',
    // XianGong's shutdown keeps the GPU and bills as usual (期间实例照常收费)
    rateAfter: (_t, rate) => rate,
    endsAtBoot: false,
  },
  destroy: {
    sendsRequest: true,
    expectedStatus: 'destroyed',
    reached: (s) => s === undefined || s.status === 'destroyed',
    underWay: (s) => s !== undefined && s.status === 'destroying',
    rateAfter: () => 0,
    endsAtBoot: false,
  },
  // A wake (src/wake/): the waker sends the boot itself (model fallback, retries on a GPU shortage); this entry
  // is what the journal, the recorder's confirmation and the cooldown read. It saves nothing: it bills again.
  boot: {
    sendsRequest: true,
    expectedStatus: 'running',
    reached: (s) => s !== undefined && s.status === 'running',
    underWay: (s) => s !== undefined && s.status === 'booting',
    rateAfter: (_t, rate) => rate,
    endsAtBoot: false,
  },
  notify: {
    sendsRequest: false,
    expectedStatus: null,
    reached: () => false,
    underWay: () => false,
    rateAfter: (_t, rate) => rate,
    endsAtBoot: false,
  },
};

/** The spec of `action` (journal rows carry the name as text; an unknown one is treated as a notification). */
export function actionKind(action: string): ActionKindSpec {
  return (ACTION_KINDS as Record<string, ActionKindSpec>)[action] ?? ACTION_KINDS.notify;
}

/** Whether `seen` (undefined: gone) is in the state an action of kind `action` leads to. */
export function reachedExpected(action: string, seen: Pick<ActionTarget, 'status' | 'gpuUsed'> | undefined): boolean {
  return actionKind(action).sendsRequest && actionKind(action).reached(seen);
}

/** ¥/h an action stops billing for an instance billed at `rate` now (0 when it saves nothing). */
export function savingPerHour(action: string, target: Pick<ActionTarget, 'retainPrice'>, rate: number): number {
  return Math.max(0, rate - actionKind(action).rateAfter(target, rate));
}

/**
 * Yuan per hour an action would stop billing on an instance billed `rate` now, rounded for messages; undefined
 * when it saves nothing (`shutdown` keeps the GPU billed, `notify`).
 */
export function actionSavingPerHour(action: string, i: { rate: number; retainPrice: number }): number | undefined {
  const s = savingPerHour(action, i, i.rate);
  return s > 0 ? Math.round(s * 10_000) / 10_000 : undefined;
}

/** Action kinds whose effect saves money until the user undoes it or the instance goes (savings report). */
export const SAVING_ACTIONS = (Object.keys(ACTION_KINDS) as ActionKind[]).filter((k) => savingPerHour(k, { retainPrice: 0 }, 1) > 0);
