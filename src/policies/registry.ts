/** The registry of policy types: one entry per type, duplicates rejected, unknown types answered with the list. */
import type { PolicyConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { balancePolicy } from './balance.js';
import { budgetPolicy } from './budget.js';
import { idlePolicy } from './idle.js';
import { maxRuntimePolicy } from './max-runtime.js';
import { runwayPolicy } from './runway.js';
import { schedulePolicy } from './schedule.js';
import { stoppedWithGpuPolicy } from './stopped-with-gpu.js';
import type { PolicyType } from './types.js';

/** A set of policy types keyed by `type`. */
export class PolicyRegistry {
  private types = new Map<string, PolicyType<any>>();
  constructor(types: PolicyType<any>[]) {
    for (const t of types) this.add(t);
  }
  /** Add a type; a second type with the same name is an error. */
  add(t: PolicyType<any>): void {
    if (this.types.has(t.type)) throw new Error(`duplicate policy type "${t.type}"`);
    this.types.set(t.type, t);
  }
  /** The type for `type`, or a ConfigError listing the valid ones. */
  get<C extends PolicyConfig>(type: string, path = 'type'): PolicyType<C> {
    const t = this.types.get(type);
    if (!t) throw new ConfigError(path, `unknown policy type "${type}": expected one of ${[...this.types.keys()].join(', ')}`);
    return t as PolicyType<C>;
  }
  /** All registered type names. */
  names(): string[] {
    return [...this.types.keys()];
  }
}

/** The built-in policy types. */
export const policyRegistry = new PolicyRegistry([idlePolicy, schedulePolicy, maxRuntimePolicy, stoppedWithGpuPolicy, balancePolicy, runwayPolicy, budgetPolicy]);
