/** The error routes answer when the guard core (policy engine + executor) is not part of this process. */
import { GuardError } from '../errors.js';

/** The policy engine is not running in this process (a tool that only reads history). */
export class Unavailable extends GuardError {
  constructor() {
    super('the policy engine is not running in this process', 'unavailable', 503);
  }
}
