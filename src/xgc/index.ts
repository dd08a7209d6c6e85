/** XianGong Open API client: public surface. */
export { XgcClient, INSTANCE_ID_RE, assertInstanceId, packageVersion, seemsApplied } from './client.js';
export type { XgcClientOptions, XgcCallInfo, DeployOptions, XgcAction } from './client.js';
export {
  XgcError,
  XgcAuthError,
  XgcApiError,
  XgcGpuShortageError,
  XgcNetworkError,
  XgcTimeoutError,
  XgcProtocolError,
  XgcActionUncertain,
  errorClass,
} from './errors.js';
export type { XgcErrorClass, XgcApiErrorKind } from './errors.js';
export { toEpochMs, splitInstance } from './parse.js';
export { KNOWN_STATUSES } from './types.js';
export type { KnownStatus, Instance, InstanceAccess, InstanceWithAccess } from './types.js';
