/** An instance as the policy engine sees it, and an engine input around it, at an instant: for pure policy tests. */
import { parseConfig } from '../../src/config/load.js';
import type { EngineInput } from '../../src/policies/engine.js';
import type { InstanceState } from '../../src/policies/types.js';

const H = 3_600_000;

/** A running RTX 4090 D (¥1.59/h) billed and running for five hours at `now`. */
export function instanceAt(now: number, over: Partial<InstanceState> = {}): InstanceState {
  return {
    id: 'aaaaaaaaaaaaaaaa',
    name: 'sd-one',
    status: 'running',
    gpuModel: 'RTX 4090 D',
    gpuUsed: 1,
    pricePerHour: 1.59,
    retainPrice: 0.0009,
    rate: 1.59,
    holdsGpu: true,
    image: 'SD_WebUI',
    billedSince: now - 5 * H,
    runningSince: now - 5 * H,
    ...over,
  };
}

/** The engine's input at `now` for `policies` (as from YAML): that one instance, ¥500, nothing spent. */
export function engineInputAt(now: number, policies: unknown[], over: Partial<EngineInput> = {}): EngineInput {
  return {
    now,
    config: parseConfig({ policies }),
    instances: [instanceAt(now)],
    probes: new Map(),
    balance: 500,
    spend: { today: 0, month: 0, dayStart: now - 2 * H, monthStart: now - 25 * 24 * H },
    overrides: [],
    cooldownUntil: new Map(),
    ...over,
  };
}
