import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/proc.js';
import { freePort, startReceiver, startSmtp, type Receiver, type TestSmtp } from '../notify/helpers.js';

describe('notifications from the CLI: SMTP_* env, `notify test`, `check` on webhooks', { timeout: 90_000 }, () => {
  let smtp: TestSmtp;
  let hook: Receiver;
  let wecom: Receiver;
  beforeAll(async () => {
    smtp = await startSmtp();
    hook = await startReceiver('/hook/s3cr3t-path-token-0123456789');
    wecom = await startReceiver('/cgi-bin/webhook/send?key=wecom-key-abcdef');
  });
  afterAll(async () => {
    await smtp?.close();
    await hook?.close();
    await wecom?.close();
  });

  const smtpUrl = () => `smtp://127.0.0.1:${smtp.port}`;

  it('SMTP_URL alone is a clear error naming SMTP_TO; with SMTP_TO (comma-separated) and SMTP_FROM, `notify test` mails every recipient', async () => {
    const alone = await runCli(['check'], { SMTP_URL: smtpUrl() });
    expect(alone.code).toBe(1);
    expect(alone.stdout.trim()).toBe('error config notify.email.to: email has no recipient: set SMTP_TO=me@example.com (comma-separated for several) or notify.email.to: [me@example.com]');
    const run = await runCli(['run'], { SMTP_URL: smtpUrl(), XGC_API_TOKEN: 't', GUARD_DB: join(tempDir(), 'g.db') });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^config error: notify\.email\.to: email has no recipient: set SMTP_TO/);

    const before = smtp.messages.length;
    const r = await runCli(['notify', 'test'], { SMTP_URL: smtpUrl(), SMTP_TO: 'ops@example.com, me@example.com', SMTP_FROM: 'guard@example.com', GUARD_TZ: 'UTC' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok    email (email): test message sent');
    expect(r.code).toBe(0);
    expect(smtp.messages.length).toBe(before + 1);
    const m = smtp.messages[smtp.messages.length - 1];
    expect(m.from?.text).toBe('guard@example.com');
    expect((Array.isArray(m.to) ? m.to : [m.to]).flatMap((t) => t!.value.map((v) => v.address))).toEqual(['ops@example.com', 'me@example.com']);
    expect(m.subject).toBe('[xgc-guard] 测试通知：email'); // zh-CN is the default locale
    expect(m.text).toContain('测试消息');
  });

  it('`notify test` reads ./guard.yaml from the working directory when no --config or GUARD_CONFIG names a file, and says so', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'guard.yaml'), `locale: en\nnotify:\n  email: { smtp_url: "${smtpUrl()}", from: cwd@example.com, to: [me@example.com] }\n`);
    const before = smtp.messages.length;
    const r = await runCli(['notify', 'test'], {}, cwd);
    expect(r.stdout.trim()).toBe('ok    email (email): test message sent');
    expect(r.stderr.trim()).toBe(`config: ${join(cwd, 'guard.yaml')}`);
    expect(r.code).toBe(0);
    expect(smtp.messages.length).toBe(before + 1);
    expect(smtp.messages.at(-1)!.from?.text).toBe('cwd@example.com');
    expect(smtp.messages.at(-1)!.subject).toBe('[xgc-guard] Test notification: email');
  });

  it('sends through each channel, one line per result, names failures without leaking URLs, and --channel picks one', async () => {
    const cfg = join(tempDir(), 'guard.yaml');
    const dead = await freePort();
    writeFileSync(
      cfg,
      [
        'locale: en',
        'notify:',
        `  email: { smtp_url: "${smtpUrl()}", from: guard@example.com, to: [me@example.com] }`,
        '  webhooks:',
        `    - { kind: webhook, url: "${hook.url}", secret: hook-signing-secret }`,
        `    - { kind: wecom, url: "${wecom.url}" }`,
        `    - { kind: slack, name: gone, url: "http://127.0.0.1:${dead}/services/T000/B000/slack-secret-xyz" }`,
      ].join('\n'),
    );
    const mails = smtp.messages.length;
    const r = await runCli(['notify', 'test', '--config', cfg], {});
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toEqual([
      'ok    email (email): test message sent',
      'ok    webhook (webhook): test message sent',
      'ok    wecom (wecom): test message sent',
      expect.stringMatching(/^error gone \(slack\): slack: .*ECONNREFUSED/),
    ]);
    expect(r.stdout + r.stderr).not.toMatch(/slack-secret-xyz|wecom-key|s3cr3t|hook-signing-secret/);
    expect(smtp.messages.length).toBe(mails + 1);
    expect(smtp.messages[smtp.messages.length - 1].subject).toBe('[xgc-guard] Test notification: email');
    expect(hook.requests).toHaveLength(1);
    expect(hook.requests[0].json).toMatchObject({ type: 'notify_test', subject: '[xgc-guard] Test notification: webhook' });
    expect(hook.requests[0].headers['x-guard-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(wecom.requests).toHaveLength(1);
    expect(wecom.requests[0].json.markdown.content).toContain('Test notification: wecom');

    const one = await runCli(['notify', 'test', '--config', cfg, '--channel', 'wecom'], {});
    expect(one.code).toBe(0);
    expect(one.stdout.trim()).toBe('ok    wecom (wecom): test message sent');
    expect(wecom.requests).toHaveLength(2);
    expect(hook.requests).toHaveLength(1);

    const unknown = await runCli(['notify', 'test', '--config', cfg, '--channel', 'pager'], {});
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe(`config: ${cfg}\n--channel: no channel named "pager"; configured: email, webhook, wecom, gone`);
    const none = await runCli(['notify', 'test'], {});
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^no notification channel is configured: set SMTP_URL and SMTP_TO/);
  });

  it('`notify test` sends one well-formed request to each phone-push channel and names the one that answers a failure', async () => {
    const rx = {
      serverchan: await startReceiver('/SCTsendkey0123456789abc.send', { status: 200, body: '{"code":0,"message":""}' }),
      pushplus: await startReceiver('/send', { status: 200, body: '{"code":200,"msg":"ok"}' }),
      bark: await startReceiver('/barkdevicekey0123456789', { status: 200, body: '{"code":200,"message":"success"}' }),
      ntfy: await startReceiver('/ntfy-topic-secret-0123', { status: 200, body: '{"id":"1"}' }),
      telegram: await startReceiver('/bot42:AAHtelegramsecret0123', { status: 200, body: '{"ok":true,"result":{}}' }),
    };
    try {
      const cfg = join(tempDir(), 'guard.yaml');
      writeFileSync(
        cfg,
        [
          'http: { public_url: "https://guard.example.com" }',
          'notify:',
          '  webhooks:',
          `    - { kind: serverchan, url: "${rx.serverchan.url}" }`,
          `    - { kind: pushplus, url: "${rx.pushplus.url}", token: pushplus-secret-token }`,
          `    - { kind: bark, url: "${rx.bark.url}" }`,
          `    - { kind: ntfy, url: "${rx.ntfy.url}", token: tk_ntfysecret }`,
          `    - { kind: telegram, url: "${rx.telegram.url}", chat_id: 12345 }`,
        ].join('\n'),
      );
      const r = await runCli(['notify', 'test', '--config', cfg], {});
      expect(r.stdout.trim().split('\n')).toEqual(['serverchan', 'pushplus', 'bark', 'ntfy', 'telegram'].map((k) => `ok    ${k} (${k}): test message sent`));
      expect(r.code).toBe(0);
      for (const x of Object.values(rx)) expect(x.requests.map((q) => q.method)).toEqual(['POST']);
      expect(rx.serverchan.requests[0]!.json.desp).toContain('测试消息'); // zh-CN is the default locale
      expect(rx.pushplus.requests[0]!.json).toMatchObject({ token: 'pushplus-secret-token', template: 'markdown', title: '[xgc-guard] 测试通知：pushplus' });
      expect(rx.bark.requests[0]!.json).toMatchObject({ title: '[xgc-guard] 测试通知：bark', group: 'xgc-guard', url: 'https://guard.example.com' });
      const nh = rx.ntfy.requests[0]!.headers;
      expect(nh).toMatchObject({ priority: 'default', click: 'https://guard.example.com', authorization: 'Bearer tk_ntfysecret' });
      expect(Buffer.from(/^=\?UTF-8\?B\?(.+)\?=$/.exec(String(nh.title))![1]!, 'base64').toString('utf8')).toBe('[xgc-guard] 测试通知：ntfy');
      expect(rx.ntfy.requests[0]!.raw).toContain('测试消息');
      expect(rx.telegram.requests[0]!.url).toBe('/bot42:AAHtelegramsecret0123/sendMessage');
      expect(rx.telegram.requests[0]!.json).toMatchObject({ chat_id: 12345 });
      expect(rx.telegram.requests[0]!.json.text).toContain('测试通知：telegram');

      rx.telegram.reply.body = '{"ok":false,"error_code":401,"description":"Unauthorized"}';
      const bad = await runCli(['notify', 'test', '--config', cfg, '--channel', 'telegram'], {});
      expect(bad.code).toBe(1);
      expect(bad.stdout.trim()).toBe('error telegram (telegram): telegram: ok false Unauthorized');
      expect(r.stdout + r.stderr + bad.stdout + bad.stderr).not.toMatch(/secret|sendkey|devicekey/i);
    } finally {
      for (const x of Object.values(rx)) await x.close();
    }
  });

  describe('check connects to each webhook host (TCP, or TLS with the certificate checked) and sends nothing', () => {
    let tls: TlsServer;
    let tlsPort: number;
    let caFile: string;
    beforeAll(async () => {
      const dir = tempDir();
      const key = join(dir, 'key.pem');
      caFile = join(dir, 'cert.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', caFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      tls = createTlsServer({ key: readFileSync(key), cert: readFileSync(caFile) }, (s) => s.end());
      await new Promise<void>((r) => tls.listen(0, '127.0.0.1', () => r()));
      tlsPort = (tls.address() as { port: number }).port;
    });
    afterAll(async () => new Promise<void>((r) => tls?.close(() => r())));

    it('reports each webhook ok or the reason it cannot connect, naming only host:port', async () => {
      const dead = await freePort();
      const cfg = join(tempDir(), 'guard.yaml');
      writeFileSync(
        cfg,
        [
          'notify:',
          '  webhooks:',
          `    - { kind: wecom, url: "${wecom.url}" }`,
          `    - { kind: dingtalk, url: "https://127.0.0.1:${tlsPort}/robot/send?access_token=ding-token-123456", secret: SECdingdingding }`,
          `    - { kind: feishu, url: "http://127.0.0.1:${dead}/open-apis/bot/v2/hook/feishu-token-7890" }`,
        ].join('\n'),
      );
      const seen = wecom.requests.length;
      const r = await runCli(['check', '--config', cfg], {});
      expect(r.code).toBe(1);
      const wecomPort = new URL(wecom.url).port;
      expect(r.stdout).toMatch(new RegExp(`^ok {4}webhook wecom \\(wecom\\): 127\\.0\\.0\\.1:${wecomPort} TCP connect ok \\(no message sent`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`^error webhook dingtalk \\(dingtalk\\): cannot connect to 127\\.0\\.0\\.1:${tlsPort}: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`^error webhook feishu \\(feishu\\): cannot connect to 127\\.0\\.0\\.1:${dead}: ECONNREFUSED$`, 'm'));
      expect(r.stdout).not.toMatch(/ding-token|feishu-token|wecom-key|SECding/);
      expect(wecom.requests.length).toBe(seen); // nothing was sent

      // the same TLS endpoint is fine once its certificate is trusted
      const trusted = await runCli(['check', '--config', cfg], { NODE_EXTRA_CA_CERTS: caFile });
      expect(trusted.stdout).toMatch(new RegExp(`^ok {4}webhook dingtalk \\(dingtalk\\): 127\\.0\\.0\\.1:${tlsPort} TLS handshake ok`, 'm'));
    });
  });
});
