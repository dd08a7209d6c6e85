/**
 * The phone-push channels (ServerChan, PushPlus, Bark, ntfy, Telegram) against local node:http receivers, through
 * the real Notifier and outbox: one well-formed request per kind, and a non-success answer is a failed send.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { headerSafe } from '../../src/notify/channels/ntfy.js';
import { listDeliveries, Notifier, raise, type NotifyConfig } from '../../src/notify/index.js';
import { sampleInstance, silentLog, startReceiver, type Receiver } from './helpers.js';
import { sample } from './samples.js';

const NOW = Date.UTC(2026, 10, 25, 17, 30);
const planned = { instance: sampleInstance, policy: 'nightly', reason: 'schedule', action: 'release_gpu', planned_at: NOW + 1_800_000, saving_per_hour: 1.5899 };
const PUBLIC = 'https://guard.example.com';

describe('phone-push channels against a local receiver', () => {
  let g: GuardDb | undefined;
  let rx: Receiver | undefined;
  let notifier: Notifier | undefined;
  afterEach(async () => {
    await notifier?.stop();
    notifier = undefined;
    await rx?.close();
    rx = undefined;
    g?.close();
    g = undefined;
  });

  /** Raise one event (action_planned unless `critical`) for the configured channels and drain once. */
  async function sendOne(config: NotifyConfig, opts: { locale?: 'en' | 'zh-CN'; publicUrl?: string; critical?: boolean } = {}) {
    g = openDb(':memory:');
    const clock = new ManualClock(NOW);
    notifier = new Notifier({ db: g.db, clock, log: silentLog, config, locale: opts.locale ?? 'en', timezone: 'Asia/Shanghai', publicUrl: opts.publicUrl, retry: { baseMs: 1000, capMs: 10_000 } });
    const ev = opts.critical ? { type: 'runway_critical' as const, dedupKey: 'c', data: sample.runway_critical } : { type: 'action_planned' as const, dedupKey: 'p1', data: planned };
    raise(g.db, ev, { now: NOW, channels: notifier.channelNames() });
    return notifier.drain();
  }

  it('serverchan POSTs JSON {title, desp} to the SendKey URL and takes code 0 as success', async () => {
    rx = await startReceiver('/SCT123456TabcdefGHIJKLmnop.send', { status: 200, body: '{"code":0,"message":"","data":{"pushid":"1"}}' });
    expect(await sendOne({ webhooks: [{ kind: 'serverchan', url: rx.url }] })).toEqual({ sent: 1, failed: 0 });
    const req = rx.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/SCT123456TabcdefGHIJKLmnop.send');
    expect(req.headers['content-type']).toContain('application/json');
    expect(Object.keys(req.json).sort()).toEqual(['desp', 'title']);
    expect(req.json.title.length).toBeLessThanOrEqual(32);
    expect(req.json.desp).toContain('sd-main (ins-7f3a)');
    expect(req.json.desp).toContain('¥1.59/h');
  });

  it('pushplus POSTs JSON {token, title, content, template: markdown}', async () => {
    rx = await startReceiver('/send', { status: 200, body: '{"code":200,"msg":"请求成功","data":"x"}' });
    expect(await sendOne({ webhooks: [{ kind: 'pushplus', url: rx.url, token: 'pp-token-0123456789' }] }, { locale: 'zh-CN' })).toEqual({ sent: 1, failed: 0 });
    const req = rx.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/send');
    expect(Object.keys(req.json).sort()).toEqual(['content', 'template', 'title', 'token']);
    expect(req.json).toMatchObject({ token: 'pp-token-0123456789', template: 'markdown' });
    expect(req.json.title).toContain('sd-main');
    expect(req.json.content).toContain('¥1.59/小时');
  });

  it('bark POSTs JSON {title, body, group} to the device URL, with the dashboard as url when http.public_url is set', async () => {
    rx = await startReceiver('/devicekey0123456789abcd', { status: 200, body: '{"code":200,"message":"success","timestamp":1}' });
    expect(await sendOne({ webhooks: [{ kind: 'bark', url: rx.url }] }, { publicUrl: PUBLIC })).toEqual({ sent: 1, failed: 0 });
    const req = rx.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/devicekey0123456789abcd');
    expect(req.json).toMatchObject({ group: 'xgc-guard', url: PUBLIC });
    expect(req.json.title).toContain('sd-main');
    expect(req.json.body).toContain('¥1.59/h');
  });

  it('bark without http.public_url sends no url', async () => {
    rx = await startReceiver('/devicekey0123456789abcd', { status: 200, body: '{"code":200,"message":"success"}' });
    await sendOne({ webhooks: [{ kind: 'bark', url: rx.url }] });
    expect(Object.keys(rx.requests[0]!.json).sort()).toEqual(['body', 'group', 'title']);
  });

  it('ntfy POSTs the text with Title (RFC 2047 when not ASCII), Priority, Click and a bearer token', async () => {
    rx = await startReceiver('/guard-alerts-7f3a', { status: 200, body: '{"id":"x","event":"message"}' });
    expect(await sendOne({ webhooks: [{ kind: 'ntfy', url: rx.url, token: 'tk_ntfytoken0123' }] }, { locale: 'zh-CN', publicUrl: PUBLIC })).toEqual({ sent: 1, failed: 0 });
    const req = rx.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/guard-alerts-7f3a');
    expect(req.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(req.headers.priority).toBe('default');
    expect(req.headers.click).toBe(PUBLIC);
    expect(req.headers.authorization).toBe('Bearer tk_ntfytoken0123');
    const title = String(req.headers.title);
    const m = /^=\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=$/.exec(title);
    expect(m).not.toBeNull();
    expect(Buffer.from(m![1]!, 'base64').toString('utf8')).toContain('sd-main');
    expect(req.raw).toContain('¥1.59/小时');
  });

  it('ntfy sends critical events at high priority, ASCII titles as they are, no Click without http.public_url and no Authorization without a token', async () => {
    rx = await startReceiver('/t', { status: 200, body: '{}' });
    await sendOne({ webhooks: [{ kind: 'ntfy', url: rx.url }] }, { critical: true });
    const h = rx.requests[0]!.headers;
    expect(h.priority).toBe('high');
    expect(h.title).toMatch(/^[\x20-\x7e]+$/);
    expect(headerSafe('[xgc-guard] plain')).toBe('[xgc-guard] plain');
    expect(headerSafe('a\nb')).toBe('a b');
    expect(h.click).toBeUndefined();
    expect(h.authorization).toBeUndefined();
  });

  it('telegram POSTs JSON {chat_id, text} to <url>/sendMessage', async () => {
    rx = await startReceiver('/bot123456:AAHtelegramToken_xyz', { status: 200, body: '{"ok":true,"result":{"message_id":1}}' });
    expect(await sendOne({ webhooks: [{ kind: 'telegram', url: rx.url, chat_id: '-100123' }] })).toEqual({ sent: 1, failed: 0 });
    const req = rx.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/bot123456:AAHtelegramToken_xyz/sendMessage');
    expect(Object.keys(req.json).sort()).toEqual(['chat_id', 'text']);
    expect(req.json.chat_id).toBe('-100123');
    expect(req.json.text).toContain('sd-main (ins-7f3a)');
  });

  it.each([
    ['serverchan', '/SCT123456TsecretSendKey.send', {}, { status: 200, body: '{"code":40001,"message":"bad pushkey"}' }, 'code 40001 bad pushkey'],
    ['pushplus', '/send', { token: 'pp-secret-token-42' }, { status: 200, body: '{"code":903,"msg":"无效的用户token pp-secret-token-42"}' }, 'code 903 无效的用户token [redacted]'],
    ['bark', '/secretdevicekey0123456', {}, { status: 200, body: '{"code":400,"message":"failed to get device token"}' }, 'code 400'],
    ['ntfy', '/secret-topic-0123456789', { token: 'tk_secretntfy99' }, { status: 429, body: '{"code":42901,"error":"limit reached"}' }, 'HTTP 429'],
    ['telegram', '/bot99:AAHsecretTelegramToken', { chat_id: 1 }, { status: 200, body: '{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}' }, 'chat not found'],
  ] as const)('%s answering a non-success is a failed send, retried, without its secrets in the error', async (kind, path, extra, answer, err) => {
    rx = await startReceiver(path, answer);
    expect(await sendOne({ webhooks: [{ kind, url: rx.url, ...extra } as never] })).toEqual({ sent: 0, failed: 1 });
    const [d] = listDeliveries(g!.db);
    expect(d).toMatchObject({ state: 'pending', attempts: 1 });
    expect(d!.lastError).toContain(err);
    expect(d!.lastError).not.toMatch(/secret|127\.0\.0\.1/i);
  });
});
