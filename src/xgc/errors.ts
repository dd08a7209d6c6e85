/**
 * Typed errors of the XianGong client. Messages are safe to log: they never contain the API token,
 * instance credentials or raw response bodies (only the API's own `msg`, truncated, or a short hint).
 */
/** Coarse error classes, used as metric labels and in tick records. */
export type XgcErrorClass = 'auth' | 'api' | 'network' | 'timeout' | 'protocol' | 'unknown';

/**
 * Base of every error the client throws after a request was attempted. Not a GuardError: `code` on
 * API errors is the cloud's numeric code; the HTTP layer should map any XgcError to 502 (504 for timeouts).
 */
export abstract class XgcError extends Error {
  /** Coarse class of this error (see `errorClass`). */
  abstract readonly errorClass: XgcErrorClass;
  constructor(
    message: string,
    /** Endpoint path as a template, e.g. `/open/instance/{id}`. */
    public readonly endpoint: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The token is missing or unknown (code 1000 with 访问令牌为空 / 未找到访问令牌, or HTTP 401/403). Never retried. */
export class XgcAuthError extends XgcError {
  readonly errorClass = 'auth' as const;
  constructor(
    endpoint: string,
    /** Envelope code (or the HTTP status when there was no envelope). */
    public readonly code: number,
    /** The API's message, truncated. */
    public readonly msg: string,
    public readonly httpStatus: number,
  ) {
    super(`XianGong rejected the API token on ${endpoint}: ${msg} (code ${code})`, endpoint);
  }
}

/** What kind of API error: a plain business error, a GPU shortage, or a non-2xx HTTP status. */
export type XgcApiErrorKind = 'generic' | 'gpu_shortage' | 'http';

/** The API answered but refused (envelope `success` false / code not 200), or answered with a non-2xx status. */
export class XgcApiError extends XgcError {
  readonly errorClass = 'api' as const;
  constructor(
    endpoint: string,
    /** Envelope code, or the HTTP status when the body carried no envelope. */
    public readonly code: number,
    /** The API's message (truncated), or a short hint of the body for non-2xx replies. */
    public readonly msg: string,
    public readonly httpStatus: number,
    public readonly kind: XgcApiErrorKind = 'generic',
  ) {
    super(
      kind === 'http'
        ? `XianGong ${endpoint} answered HTTP ${httpStatus}${msg ? `: ${msg}` : ''}`
        : `XianGong ${endpoint} failed: ${msg} (code ${code})`,
      endpoint,
    );
  }
}

/** No GPU of the wanted model/count is free (可用GPU不足 / GPU型号暂时不可用). */
export class XgcGpuShortageError extends XgcApiError {
  constructor(endpoint: string, code: number, msg: string, httpStatus: number) {
    super(endpoint, code, msg, httpStatus, 'gpu_shortage');
  }
}

/** The request could not be sent or the connection broke (refused, reset, DNS). */
export class XgcNetworkError extends XgcError {
  readonly errorClass = 'network' as const;
  constructor(
    endpoint: string,
    /** System error code such as `ECONNREFUSED`, when known. */
    public readonly causeCode: string,
    /** The API base URL (without credentials), named so the fix is obvious. */
    public readonly baseUrl?: string,
  ) {
    super(
      baseUrl
        ? `cannot reach XianGong at ${baseUrl} (${endpoint}: ${causeCode}); check XGC_API_BASE_URL (xgc.base_url) and the network`
        : `network error calling XianGong ${endpoint}: ${causeCode}`,
      endpoint,
    );
  }
}

/** No complete answer within the client's timeout. */
export class XgcTimeoutError extends XgcError {
  readonly errorClass = 'timeout' as const;
  constructor(
    endpoint: string,
    public readonly timeoutMs: number,
    public readonly baseUrl?: string,
  ) {
    super(`XianGong ${endpoint} did not answer within ${timeoutMs} ms${baseUrl ? ` at ${baseUrl}; check XGC_API_BASE_URL and the network, or raise xgc.timeout` : ''}`, endpoint);
  }
}

/** The answer was not what the API promises: not JSON, no envelope, missing `data`, wrong shapes. */
export class XgcProtocolError extends XgcError {
  readonly errorClass = 'protocol' as const;
  constructor(
    endpoint: string,
    /** What was wrong, naming field paths but never field values. */
    public readonly problem: string,
    public readonly httpStatus: number,
  ) {
    super(`unexpected answer from XianGong ${endpoint}: ${problem}`, endpoint);
  }
}

/**
 * A POST action failed in a way that leaves its effect unknown (network error, timeout, HTTP 5xx or a
 * garbled answer). POST actions are never retried; instead the client re-reads the instance once and
 * reports what it saw. `seemsApplied` is true when the observed status is one the action leads to,
 * false when the instance is still in a status the action would have left, null when unknown
 * (re-read failed, or deploy, which has no id to re-read). `errorClass` is the class of `cause`.
 */
export class XgcActionUncertain extends XgcError {
  get errorClass(): XgcErrorClass {
    return this.cause.errorClass;
  }
  constructor(
    /** Action name, e.g. `shutdownReleaseGpu`. */
    public readonly action: string,
    public readonly instanceId: string | null,
    public override readonly cause: XgcError,
    /** Status seen by the follow-up GET, or null if it was not possible. */
    public readonly observedStatus: string | null,
    public readonly seemsApplied: boolean | null,
  ) {
    const seen =
      observedStatus === null ? 'instance status unknown' : `instance now ${observedStatus}`;
    const verdict = seemsApplied === null ? 'effect unknown' : seemsApplied ? 'seems applied' : 'seems not applied';
    super(`${action}${instanceId ? ` ${instanceId}` : ''} uncertain (${cause.message}); ${seen}, ${verdict}`, cause.endpoint);
  }
}

/** Coarse class of any error, for metrics and tick records; non-client errors are 'unknown'. */
export function errorClass(err: unknown): XgcErrorClass {
  return err instanceof XgcError ? err.errorClass : 'unknown';
}
