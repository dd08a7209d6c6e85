/**
 * The port of the guard core (policy engine + executor): what the HTTP layer may ask of it, so routes stay thin.
 * The implementation lives in src/guard.ts (createGuardCore).
 */
import type { IdleInfo, NextAction } from './policies/types.js';

/** A loaded policy as the API shows it. */
export interface PolicyInfo {
  name: string;
  type: string;
  action: string;
  mode: 'enforce' | 'dry_run';
  /** next fire time for schedule policies (epoch ms) */
  next_fire_at: number | null;
  /** the policy's config (durations in ms), secrets-free */
  config: Record<string, unknown>;
  last_result: { at: number; decisions: number; summary: string } | null;
}

/** "Act now" request from the API. */
export interface ActNowRequest {
  instanceId: string;
  action: 'release_gpu' | 'shutdown';
  who: string;
  reason?: string;
}

/** Result of an act-now request: the journal row id and its final state. */
export interface ActNowResult {
  action_id: number;
  state: string;
  reason: string;
}

/** "Wake now" request from the API (`POST /api/v1/instances/:id/wake`). */
export interface WakeNowRequest {
  instanceId: string;
  /** full or short model names, tried in order */
  gpuModels?: string[];
  gpuCount?: number;
  /** ms */
  giveUpAfter?: number;
  who: string;
}

/** The journaled wake: its journal id and state. */
export interface WakeNowResult {
  id: number;
  instance_id: string;
  state: string;
}

/** The guard core seen from HTTP. */
export interface GuardService {
  /** the next planned action and idle state of every instance of the last observation, as the engine sees it at `now` */
  instanceViews(now: number): { next: Map<string, NextAction | null>; idle: Map<string, IdleInfo> };
  policies(now: number): PolicyInfo[];
  actNow(req: ActNowRequest): Promise<ActNowResult>;
  /** start a wake (src/wake/): journaled, first try started; throws the typed refusals of the waker */
  wake(req: WakeNowRequest): Promise<WakeNowResult>;
}
