/** The process logger: pino JSON, pretty only when asked on a TTY, with every secret field redacted. */
import pino, { type Logger } from 'pino';

/** Field names that hold secrets wherever they appear (instance secrets, API tokens, SMTP credentials). */
export const SECRET_KEYS = [
  'password',
  'ssh_key',
  'sshKey',
  'jupyter_token',
  'jupyterToken',
  'xgcos_token',
  'xgcosToken',
  'token',
  'api_token',
  'read_token',
  'heartbeat_token',
  'secret',
  'smtp_url',
  'authorization',
  'Authorization',
  'cookie',
];

/** pino redact paths covering those keys at the top level and up to three levels deep, plus request headers. */
export function redactPaths(): string[] {
  const paths: string[] = [];
  for (const k of SECRET_KEYS) paths.push(k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`);
  paths.push('req.headers.authorization', 'req.headers.cookie', 'req.headers["x-guard-token"]', 'config.xgc.token', 'config.http.api_token');
  return paths;
}

/** Build the logger. `pretty` uses pino-pretty (only when stdout is a TTY and GUARD_LOG_PRETTY or a TTY asks). */
export function createLogger(opts: { level?: string; pretty?: boolean; destination?: pino.DestinationStream } = {}): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level ?? 'info',
    redact: { paths: redactPaths(), censor: '[redacted]' },
    base: { app: 'xgc-guard' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (opts.pretty && !opts.destination) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard' } } });
  }
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

export type { Logger };
