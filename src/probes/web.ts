/** Shared plumbing of the web-UI probes (ComfyUI, SD WebUI): which instances they apply to and one GET. */
import type { InstanceAccess } from '../xgc/types.js';
import { describeError, errorPhrase, getJson, joinUrl, safeUrl, unknownResult } from './http.js';
import type { ProbeContext, ProbeResult } from './types.js';

/** Options common to the web-UI probes (durations in ms). */
export interface WebUiProbeOptions {
  timeoutMs: number;
  /** Probe every instance with a web URL, whatever its image name. */
  force: boolean;
}

/** Whether a web-UI probe applies: a web URL and (unless forced) an image name matching one of `patterns`. */
export function webUiApplies(access: InstanceAccess, patterns: RegExp[], force: boolean): boolean {
  if (!access.webUrl) return false;
  return force || patterns.some((p) => p.test(access.image));
}

/** GET `${webUrl}${path}` as JSON and hand the body to `judge`; any failure becomes `unknown`. */
export async function probeWebUi(
  label: string,
  access: InstanceAccess,
  ctx: ProbeContext,
  path: string,
  judge: (body: unknown) => ProbeResult,
): Promise<ProbeResult> {
  let url: string;
  try {
    url = joinUrl(access.webUrl, path);
  } catch {
    return unknownResult(`${label}: invalid web url`, undefined, { code: 'probe.failed', params: { probe: label, error: 'invalid url' } });
  }
  try {
    const { status, body } = await getJson(url, { timeoutMs: ctx.timeoutMs, signal: ctx.signal });
    if (status !== 200) return unknownResult(`${label}: HTTP ${status} from ${safeUrl(url)}`, undefined, { code: 'probe.failed', params: { probe: label, error: `HTTP ${status}` } });
    return judge(body);
  } catch (err) {
    return unknownResult(`${label} ${describeError(err)}`, undefined, { code: 'probe.failed', params: { probe: label, error: errorPhrase(err) } });
  }
}
