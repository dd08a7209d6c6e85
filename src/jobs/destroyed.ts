/**
 * Instances the platform destroyed: at a balance at or below ¥0 XianGong destroys every container, disk and all.
 * Those that vanished from the list, or turned `destroyed`, while the balance was at or below ¥0 (before or at this
 * observation) are reported once as `instances_destroyed` (critical), with their last recorded state.
 */
import type { InstanceRow } from '../db/instances.js';
import type { EventOf } from '../notify/index.js';
import type { Instance } from '../xgc/types.js';
import { byCodeUnit } from '../order.js';

/** The `instances_destroyed` event for this observation, or null when nothing was destroyed at an empty balance. */
export function destroyedEvent(
  before: InstanceRow[],
  list: Instance[],
  gone: string[],
  balances: { before: number | null; now: number },
): EventOf<'instances_destroyed'> | null {
  if (Math.min(balances.before ?? Infinity, balances.now) > 0) return null;
  const was = new Map(before.map((r) => [r.id, r]));
  const vanished = gone.map((id) => was.get(id)).filter((r): r is InstanceRow => r !== undefined && r.status !== 'destroyed');
  const turned = list.filter((i) => i.status === 'destroyed' && was.has(i.id) && was.get(i.id)!.status !== 'destroyed').map((i) => was.get(i.id)!);
  const hit = [...vanished, ...turned].sort((a, b) => byCodeUnit(a.name, b.name) || byCodeUnit(a.id, b.id));
  if (hit.length === 0) return null;
  return {
    type: 'instances_destroyed',
    dedupKey: 'instances_destroyed',
    fingerprint: hit.map((r) => r.id).join(','),
    status: 'firing',
    data: {
      balance: balances.now,
      instances: hit.map((r) => ({ id: r.id, name: r.name, gpu_model: r.gpuModel, price_per_hour: r.pricePerHour, last_status: r.status, last_seen_at: r.lastSeen })),
    },
  };
}
