/** Why a wake request is turned down, as typed errors the API answers with (`{error:{code,message}}`). */
import { GuardError } from '../errors.js';

/** The boot would put the runway under the runway policy's `act_hours` (journaled as refused). */
export class WakeRefused extends GuardError {
  constructor(
    message: string,
    /** yuan to top up before the wake is allowed */
    public readonly topUp: number,
    /** the journal row of the refused wake */
    public readonly actionId: number,
  ) {
    super(message, 'wake_refused', 409);
  }
}

/** Only a shut-down instance can be woken. */
export class NotShutDown extends GuardError {
  constructor(name: string, status: string) {
    super(`instance ${name} is ${status}, not shutdown: only a shut-down instance can be woken`, 'not_shut_down', 409);
  }
}

/** The guard runs in dry-run mode: the wake was journaled, nothing sent. */
export class DryRunWake extends GuardError {
  constructor(public readonly actionId: number) {
    super(`dry_run is on: the wake was journaled (#${actionId}) and nothing was sent; set dry_run: false to let the guard boot`, 'dry_run', 409);
  }
}

/** No successful observation yet: the balance and burn the money check needs are unknown. */
export class NotObserved extends GuardError {
  constructor() {
    super('the guard has not read the balance yet (no successful tick): try again after the next tick', 'not_observed', 409);
  }
}
