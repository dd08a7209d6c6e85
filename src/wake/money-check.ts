/**
 * Money-aware waking: a boot that would put the runway (balance / (current burn + the boot's rate)) under the
 * runway policy's `act_hours` is refused, with the top-up that would allow it. Pure.
 */
import { formatDuration } from '../config/duration.js';

/** What the check looks at. */
export interface WakeMoneyInput {
  balance: number;
  /** ¥/h billed now by every instance, the one to wake included (its disk) */
  burn: number;
  /** ¥/h the woken instance bills now (its disk), replaced by `rate` */
  currentRate: number;
  /** ¥/h it would bill once booted */
  rate: number;
  actHours: number;
  /** the runway policy's name */
  policy: string;
  /** e.g. `RTX 4090 D × 1`, `no GPU (data only)` */
  what: string;
}

/** The verdict: allowed, or refused with a message and the top-up that would allow it. */
export type WakeMoneyVerdict = { ok: true; hours: number } | { ok: false; hours: number; topUp: number; message: string };

/** Whether the wake keeps the runway at or above `act_hours`. */
export function checkWakeMoney(m: WakeMoneyInput): WakeMoneyVerdict {
  const burn = Math.max(0, m.burn - m.currentRate) + m.rate;
  const balance = Math.max(0, m.balance);
  const hours = burn > 0 ? balance / burn : Infinity;
  if (hours >= m.actHours) return { ok: true, hours };
  const topUp = Math.ceil((m.actHours * burn - m.balance) * 100 - 1e-6) / 100; // whole fen, up (float noise aside)
  const runway = formatDuration(Math.round(hours * 3_600_000)) || '0m';
  return {
    ok: false,
    hours,
    topUp,
    message:
      `wake refused: booting with ${m.what} at ¥${m.rate.toFixed(2)}/h would leave a runway of ${runway} ` +
      `(balance ¥${m.balance.toFixed(2)} at ¥${burn.toFixed(2)}/h), under act_hours ${m.actHours}h of the runway policy "${m.policy}"; ` +
      `top up at least ¥${topUp.toFixed(2)} to wake it`,
  };
}
