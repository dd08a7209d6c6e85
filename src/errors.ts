/** Errors shared across modules, as types with fields (never matched on message text elsewhere). */

/** Base for errors that the HTTP layer may show to clients (4xx). */
export class GuardError extends Error {
  constructor(
    message: string,
    /** machine-readable code, e.g. "bad_request" */
    public readonly code: string,
    /** HTTP status to use when this reaches the API */
    public readonly status: number = 400,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A configuration problem; `path` is the key path such as `policies[0].idle_for`. */
export class ConfigError extends GuardError {
  constructor(
    public readonly path: string,
    public readonly problem: string,
  ) {
    super(path ? `${path}: ${problem}` : problem, 'config_error', 400);
  }
}

/** Several config problems found at once. */
export class ConfigErrors extends GuardError {
  constructor(public readonly errors: ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'), 'config_error', 400);
  }
}

/** Start refused for a safety reason (missing token, exposed port without auth, destroy not allowed); exit code 2. */
export class StartRefused extends GuardError {
  constructor(message: string) {
    super(message, 'start_refused', 500);
  }
}

/** The SQLite database cannot be opened or written: `path` names the file, the message says the fix. */
export class DatabaseUnavailable extends GuardError {
  constructor(
    public readonly path: string,
    public readonly problem: string,
  ) {
    super(`cannot open the database ${path}: ${problem}`, 'database_unavailable', 500);
  }
}

/** A request that is malformed: `field` names the offending input. */
export class BadRequest extends GuardError {
  constructor(
    public readonly field: string,
    message: string,
  ) {
    super(field ? `${field}: ${message}` : message, 'bad_request', 400);
  }
}

/** A resource that does not exist. */
export class NotFound extends GuardError {
  constructor(message: string) {
    super(message, 'not_found', 404);
  }
}
