/** POST with a timeout for webhook channels; answers that are not a confirmed success throw ChannelSendError. */
import { ChannelSendError } from './types.js';

/** POST `body` (already serialized) as JSON; return the response text when the status is 2xx. */
export async function postJson(kind: string, url: string, body: string, opts: { timeoutMs: number; headers?: Record<string, string> }): Promise<string> {
  return post(kind, url, body, { ...opts, headers: { 'content-type': 'application/json; charset=utf-8', ...opts.headers } });
}

/** POST `body` with `opts.headers` (the content type among them); return the response text when the status is 2xx. */
export async function post(kind: string, url: string, body: string, opts: { timeoutMs: number; headers?: Record<string, string> }): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'user-agent': 'xgc-guard', ...opts.headers },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    throw new ChannelSendError(kind, describeFetchError(err));
  }
  let text = '';
  try {
    text = await res.text();
  } catch (err) {
    throw new ChannelSendError(kind, `reading response: ${describeFetchError(err)}`, res.status);
  }
  if (res.status < 200 || res.status > 299) {
    throw new ChannelSendError(kind, `HTTP ${res.status}${text ? ` ${text.slice(0, 200)}` : ''}`, res.status);
  }
  return text;
}

/** Parse a vendor's JSON answer and require `field` to be 0 (DingTalk/WeCom `errcode`, Feishu `code`). */
export function requireZero(kind: string, text: string, fields: string[], msgFields: string[]): void {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ChannelSendError(kind, `unexpected non-JSON answer: ${text.slice(0, 100)}`, 200);
  }
  const field = fields.find((f) => json[f] !== undefined);
  const code = field === undefined ? undefined : Number(json[field]);
  if (code !== 0) {
    const msg = msgFields.map((f) => json[f]).find((m) => typeof m === 'string') ?? '';
    throw new ChannelSendError(kind, `${field ?? fields[0]} ${String(code ?? 'missing')} ${String(msg)}`.trim(), 200);
  }
}

/** Parse a vendor's JSON answer and require `field` to equal `want` (PushPlus and Bark `code: 200`, Telegram `ok: true`). */
export function requireField(kind: string, text: string, field: string, want: number | boolean, msgFields: string[]): void {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ChannelSendError(kind, `unexpected non-JSON answer: ${text.slice(0, 100)}`, 200);
  }
  if (json === null || typeof json !== 'object') throw new ChannelSendError(kind, `unexpected answer: ${text.slice(0, 100)}`, 200);
  if (json[field] !== want) {
    const msg = msgFields.map((f) => json[f]).find((m) => typeof m === 'string') ?? '';
    throw new ChannelSendError(kind, `${field} ${JSON.stringify(json[field] ?? 'missing')} ${String(msg)}`.trim(), 200);
  }
}

/** Text cut to at most `max` characters, ending in "..." when cut. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...`;
}

/** A fetch failure in a few words, without the URL (it may carry a token). */
function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return `${err.message} (${cause.code})`;
    return err.message;
  }
  return String(err);
}
