/**
 * `xgc-guard health`: ask the running daemon's `/healthz` on the host and port its config names (file and env,
 * as `run` reads them); exit 0 when it answers 200. The container's HEALTHCHECK runs this.
 */
import type { Config } from '../config/schema.js';
import type { Command } from './types.js';
import { configOption, loadFromArgs, str } from './common.js';

/** The URL a local client reaches the daemon's HTTP server at (a wildcard listen address means loopback). */
export function localUrl(http: Pick<Config['http'], 'host' | 'port'>): string {
  const h = http.host;
  const host = h === '0.0.0.0' ? '127.0.0.1' : h === '::' || h === '[::]' ? '[::1]' : h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
  return `http://${host}:${http.port}`;
}

const health: Command = {
  summary: "Check that the daemon answers /healthz on its configured address (exit 0/1; the image's HEALTHCHECK).",
  usage: 'Usage: xgc-guard health [--config FILE] [--timeout SECONDS]\n\nReads the same config file and environment as `run` (GUARD_CONFIG, GUARD_HTTP_HOST, GUARD_HTTP_PORT).',
  options: { ...configOption, timeout: { type: 'string' } },
  async run(values) {
    // Secrets are not needed to find the port: a missing token file must not make a healthy daemon look sick.
    const env = { ...process.env, XGC_API_TOKEN: undefined, XGC_API_TOKEN_FILE: undefined };
    const { config } = loadFromArgs(values, { env });
    const seconds = Number(str(values.timeout) ?? 4);
    if (!(seconds > 0 && seconds <= 60)) throw new Error(`--timeout: expected seconds in (0, 60], got "${str(values.timeout)}"`);
    if (!config.http.enabled) {
      console.error('http.enabled is false: there is no /healthz to ask');
      return 1;
    }
    const url = `${localUrl(config.http)}/healthz`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(seconds * 1000) });
      if (res.ok) {
        console.log(`ok ${url}`);
        return 0;
      }
      console.error(`unhealthy: ${url} answered HTTP ${res.status}`);
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
      console.error(`unhealthy: ${url} did not answer (${cause})`);
    }
    return 1;
  },
};
export default health;
