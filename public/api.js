// The guard's HTTP API as the page uses it: bearer token from sessionStorage, errors as typed exceptions.

/** Where the API token is kept (this tab only). */
export const TOKEN_KEY = 'xgc-guard.token';

/** The API answered 401: the page asks for a token. */
export class AuthError extends Error {}

/** Any other non-2xx answer, with the API's error code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

/**
 * How many instances the spend chart stacks by name: the palette's 10 colours are theirs and "other"'s (everyone
 * else's spend, which the API leaves in each day's total). A page at 1,000 instances no longer fetches 1,000 layers.
 */
const SPLIT_TOP = 9;

/** The range and buckets of the spend chart, which the CSV download repeats. */
export const SPEND_RANGE = 'from=-30d&to=now&by=day';

/**
 * The routes the refresh loop reads (besides /readyz), by the name the page keeps their data under. With spend
 * groups configured (`groups`: their names), the spend chart stacks per group instead of per instance.
 */
export function sources(locale, groups = []) {
  return {
    balance: '/api/v1/balance',
    spend: groups.length ? `/api/v1/spend?${SPEND_RANGE}&split=group` : `/api/v1/spend?${SPEND_RANGE}&split=instance&split_top=${SPLIT_TOP}`,
    instances: '/api/v1/instances',
    actions: '/api/v1/actions?limit=20',
    overrides: '/api/v1/overrides',
    policies: '/api/v1/policies',
    alerts: `/api/v1/alerts?locale=${encodeURIComponent(locale)}`,
  };
}

/** Call the API; `accept` lists non-2xx statuses that still return their JSON body (e.g. /readyz's 503). */
export async function api(path, { method = 'GET', body, accept = [] } = {}) {
  const headers = { accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  if (res.status === 401) throw new AuthError('unauthorized');
  const text = await res.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!res.ok && !accept.includes(res.status)) throw new ApiError(res.status, json?.error?.code, json?.error?.message);
  return json;
}

/**
 * Download `path` as a file with the page's bearer token (a plain link would carry no token): fetch it, then click
 * a temporary `<a download>` on the answer's blob, named by its Content-Disposition filename or `fallbackName`.
 */
export async function download(path, fallbackName) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { headers, cache: 'no-store' });
  if (res.status === 401) throw new AuthError('unauthorized');
  if (!res.ok) {
    const json = await res.json().catch(() => null);
    throw new ApiError(res.status, json?.error?.code, json?.error?.message);
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
