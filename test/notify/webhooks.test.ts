import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { parseConfig } from '../../src/config/index.js';
import { ConfigErrors } from '../../src/errors.js';
import { channelRegistry, ChannelRegistry, listDeliveries, Notifier, raise, resolveChannels, notifyConfigSchema, type NotifyConfig } from '../../src/notify/index.js';
import { sampleInstance, silentLog, startReceiver, type Receiver } from './helpers.js';

const NOW = Date.UTC(2026, 10, 25, 17, 30);
const planned = { instance: sampleInstance, policy: 'nightly', reason: 'schedule', action: 'release_gpu', planned_at: NOW + 1_800_000, saving_per_hour: 1.5899 };

describe('webhook channels against a local receiver', () => {
  let g: GuardDb;
  let rx: Receiver | undefined;
  let notifier: Notifier | undefined;
  afterEach(async () => {
    await notifier?.stop();
    notifier = undefined;
    await rx?.close();
    rx = undefined;
    g?.close();
  });

  async function sendOne(config: NotifyConfig, clock = new ManualClock(NOW)) {
    g = openDb(':memory:');
    notifier = new Notifier({ db: g.db, clock, log: silentLog, config, locale: 'en', timezone: 'Asia/Shanghai', retry: { baseMs: 1000, capMs: 10_000 } });
    raise(g.db, { type: 'action_planned', dedupKey: 'p1', data: planned }, { now: clock.now(), channels: notifier.channelNames() });
    return notifier.drain();
  }

  it('generic webhook POSTs the event as JSON signed with X-Guard-Signature over the raw body', async () => {
    rx = await startReceiver('/hook', { status: 204, body: '' });
    expect(await sendOne({ webhooks: [{ kind: 'webhook', url: rx!.url, secret: 's3cret' }] })).toEqual({ sent: 1, failed: 0 });
    const req = rx!.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toContain('application/json');
    expect(req.json).toMatchObject({ type: 'action_planned', reason: 'first', status: 'firing', severity: 'warning', dedup_key: 'p1', data: { policy: 'nightly', saving_per_hour: 1.5899, instance: { id: 'ins-7f3a' } } });
    expect(req.headers['x-guard-signature']).toBe(`sha256=${createHmac('sha256', 's3cret').update(req.raw).digest('hex')}`);
    expect(req.headers['x-guard-timestamp']).toBe(String(Math.floor(NOW / 1000)));
    expect(req.json.sent_at).toBe(new Date(Math.floor(NOW / 1000) * 1000).toISOString());
  });

  it('generic webhook without a secret sends no signature', async () => {
    rx = await startReceiver('/hook', { status: 200, body: 'ok' });
    await sendOne({ webhooks: [{ kind: 'webhook', url: rx!.url }] });
    expect(rx!.requests[0]!.headers['x-guard-signature']).toBeUndefined();
    expect(rx!.requests[0]!.headers['x-guard-timestamp']).toBeDefined();
  });

  it('wecom sends {msgtype: markdown, markdown: {content}}', async () => {
    rx = await startReceiver('/cgi-bin/webhook/send?key=abc123456');
    expect(await sendOne({ webhooks: [{ kind: 'wecom', url: rx!.url }] })).toEqual({ sent: 1, failed: 0 });
    const body = rx!.requests[0]!.json;
    expect(Object.keys(body).sort()).toEqual(['markdown', 'msgtype']);
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.content).toContain('sd-main (ins-7f3a)');
    expect(body.markdown.content).toContain('¥1.59/h');
  });

  it('dingtalk sends markdown {title, text} and signs timestamp+"\\n"+secret with HMAC-SHA256 in the URL', async () => {
    rx = await startReceiver('/robot/send?access_token=tok123456', { status: 200, body: '{"errcode":0,"errmsg":"ok"}' });
    await sendOne({ webhooks: [{ kind: 'dingtalk', url: rx!.url, secret: 'SECabc' }] });
    const req = rx!.requests[0]!;
    const q = new URL(req.url, 'http://x').searchParams;
    expect(q.get('access_token')).toBe('tok123456');
    expect(q.get('timestamp')).toBe(String(NOW));
    const want = createHmac('sha256', 'SECabc').update(`${q.get('timestamp')}\n${'SECabc'}`).digest('base64');
    expect(q.get('sign')).toBe(want);
    expect(req.url).toContain(`sign=${encodeURIComponent(want)}`);
    expect(req.json.msgtype).toBe('markdown');
    expect(req.json.markdown.title).toContain('sd-main');
    expect(req.json.markdown.text).toContain('¥1.59/h');
  });

  it('feishu sends {msg_type: text} with timestamp (s) and sign = HMAC-SHA256 keyed by timestamp+"\\n"+secret over empty', async () => {
    rx = await startReceiver('/open-apis/bot/v2/hook/0123456789abcdef0123', { status: 200, body: '{"code":0,"msg":"success","data":{}}' });
    await sendOne({ webhooks: [{ kind: 'feishu', url: rx!.url, secret: 'fsecret' }] });
    const b = rx!.requests[0]!.json;
    expect(b.msg_type).toBe('text');
    expect(b.content.text).toContain('sd-main (ins-7f3a)');
    expect(b.timestamp).toBe(String(Math.floor(NOW / 1000)));
    expect(b.sign).toBe(createHmac('sha256', `${b.timestamp}\nfsecret`).update('').digest('base64'));
  });

  it('feishu interactive format sends a card with a markdown element', async () => {
    rx = await startReceiver('/open-apis/bot/v2/hook/x', { status: 200, body: '{"code":0}' });
    await sendOne({ webhooks: [{ kind: 'feishu', url: rx!.url, format: 'interactive' }] });
    const b = rx!.requests[0]!.json;
    expect(b.msg_type).toBe('interactive');
    expect(b.card.elements[0]).toMatchObject({ tag: 'markdown' });
    expect(b.card.header.template).toBe('orange'); // a warning; critical events are red
    expect(b.sign).toBeUndefined();
  });

  it('slack sends {text, blocks} with mrkdwn links', async () => {
    rx = await startReceiver('/services/T/B/X', { status: 200, body: 'ok' });
    g = openDb(':memory:');
    const clock = new ManualClock(NOW);
    notifier = new Notifier({ db: g.db, clock, log: silentLog, config: { webhooks: [{ kind: 'slack', url: rx!.url }] }, locale: 'en', timezone: 'Asia/Shanghai', publicUrl: 'https://guard.example.com' });
    raise(g.db, { type: 'action_planned', dedupKey: 'p1', data: planned }, { now: NOW, channels: notifier.channelNames() });
    await notifier.drain();
    const b = rx!.requests[0]!.json;
    expect(b.text).toContain('sd-main');
    expect(b.blocks[0].type).toBe('header');
    expect(b.blocks[1].text.type).toBe('mrkdwn');
    expect(b.blocks[1].text.text).toMatch(/<https:\/\/guard\.example\.com\/snooze\?t=[\w.-]+\|Snooze 1 hour>/);
  });

  it.each([
    ['dingtalk', '{"errcode":310000,"errmsg":"sign not match"}', 'errcode 310000'],
    ['wecom', '{"errcode":93000,"errmsg":"invalid webhook url"}', 'errcode 93000'],
    ['feishu', '{"code":19021,"msg":"sign match fail"}', 'code 19021'],
  ] as const)('%s answering 200 with an error code is a failure to retry', async (kind, answer, err) => {
    rx = await startReceiver('/x?token=abcdefgh', { status: 200, body: answer });
    const clock = new ManualClock(NOW);
    expect(await sendOne({ webhooks: [{ kind, url: rx!.url }] }, clock)).toEqual({ sent: 0, failed: 1 });
    const [d] = listDeliveries(g.db);
    expect(d).toMatchObject({ state: 'pending', attempts: 1 });
    expect(d!.lastError).toContain(err);
    expect(d!.lastError).not.toContain('abcdefgh');
    rx!.reply.body = '{"errcode":0,"code":0}';
    clock.advance(60_000);
    expect(await notifier!.drain()).toEqual({ sent: 1, failed: 0 });
    expect(listDeliveries(g.db)[0]).toMatchObject({ state: 'sent', attempts: 2 });
  });

  it('a non-2xx answer is a failure to retry', async () => {
    rx = await startReceiver('/services/x', { status: 500, body: 'oops' });
    const r = await sendOne({ webhooks: [{ kind: 'slack', url: rx!.url }] });
    expect(r).toEqual({ sent: 0, failed: 1 });
    expect(listDeliveries(g.db)[0]!.lastError).toContain('HTTP 500');
  });

  it('a receiver that never answers times out', async () => {
    const { createServer } = await import('node:http');
    const hang = createServer(() => undefined);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    const port = (hang.address() as { port: number }).port;
    try {
      g = openDb(':memory:');
      notifier = new Notifier({ db: g.db, clock: new ManualClock(NOW), log: silentLog, config: { webhooks: [{ kind: 'webhook', url: `http://127.0.0.1:${port}/` }] }, locale: 'en', timezone: 'UTC', timeoutMs: 300 });
      raise(g.db, { type: 'guard_blind', dedupKey: 'b', data: { ticks: 3 } }, { now: NOW, channels: notifier.channelNames() });
      expect(await notifier.drain()).toEqual({ sent: 0, failed: 1 });
      expect(listDeliveries(g.db)[0]!.lastError).toContain('timed out');
    } finally {
      hang.closeAllConnections();
      await new Promise<void>((r) => hang.close(() => r()));
    }
  });
});

describe('channel registry and config', () => {
  it('rejects a duplicate kind and answers an unknown kind with the list of valid ones', () => {
    const reg = new ChannelRegistry([channelRegistry.get('slack')]);
    expect(() => reg.register(channelRegistry.get('slack'))).toThrow(/already registered/);
    expect(() => channelRegistry.get('teams')).toThrow('unknown channel kind "teams"; valid kinds: bark, dingtalk, email, feishu, ntfy, pushplus, serverchan, slack, telegram, webhook, wecom');
  });

  it('names channels email, <kind>, or <kind>-<index> when a kind repeats, or by name', () => {
    const specs = resolveChannels({
      email: { smtp_url: 'smtp://localhost:25', from: 'g@example.com', to: ['me@example.com'] },
      webhooks: [
        { kind: 'wecom', url: 'https://a.example/1' },
        { kind: 'dingtalk', url: 'https://a.example/2' },
        { kind: 'wecom', url: 'https://a.example/3' },
        { kind: 'slack', url: 'https://a.example/4', name: 'ops' },
      ],
    });
    expect(specs.map((s) => s.name)).toEqual(['email', 'wecom-0', 'dingtalk', 'wecom-2', 'ops']);
  });

  it('reports bad entries with their config path', () => {
    try {
      resolveChannels({ webhooks: [{ kind: 'slack', url: 'https://ok.example' }, { kind: 'teams', url: 'x' } as never, { kind: 'wecom', url: 'not a url' }] });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigErrors);
      const msg = (e as Error).message;
      expect(msg).toContain('notify.webhooks[1].kind: unknown channel kind "teams"');
      expect(msg).toContain('notify.webhooks[2].url');
    }
    expect(() => resolveChannels({ webhooks: [{ kind: 'slack', url: 'https://a.example', name: 'x' }, { kind: 'wecom', url: 'https://b.example', name: 'x' }] })).toThrow(/duplicate channel name "x"/);
  });

  it('notify.repeat is not a key: repeats are set on the policy that raises the alert', () => {
    expect(() => parseConfig({ notify: { repeat: { runway_warn: '3h' } } })).toThrow(/notify\.repeat: unknown key/);
    expect(parseConfig({ policies: [{ name: 'low', type: 'balance', below: [30], repeat: '3h' }] }).policies[0]).toMatchObject({ repeat: 3 * 3_600_000 });
  });

  it('the notify config schema is strict per kind', () => {
    expect(notifyConfigSchema.safeParse({ webhooks: [{ kind: 'dingtalk', url: 'https://a.example', secret: 's' }] }).success).toBe(true);
    expect(notifyConfigSchema.safeParse({ webhooks: [{ kind: 'wecom', url: 'https://a.example', secret: 's' }] }).success).toBe(false);
    expect(notifyConfigSchema.safeParse({ webhooks: [{ kind: 'dingtalk', url: 'https://a.example', sekret: 's' }] }).success).toBe(false);
    expect(notifyConfigSchema.safeParse({ email: { smtp_url: 'smtp://h', from: 'a@b.c', to: ['x@y.z'] }, extra: 1 }).success).toBe(false);
  });
});
