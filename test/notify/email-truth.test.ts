import { afterEach, describe, expect, it } from 'vitest';
import type { ParsedMail } from 'mailparser';
import { startHarness, type Harness } from '../helpers/guard.js';
import { startSmtp, type TestSmtp } from './helpers.js';

const MIN = 60_000;
let h: Harness | undefined;
let smtp: TestSmtp | undefined;
afterEach(async () => {
  await h?.close();
  await smtp?.close();
  h = smtp = undefined;
});

const eventOf = (m: ParsedMail) => {
  const v = m.headers.get('x-guard-event');
  return typeof v === 'string' ? v : '';
};

describe('emails say what is true (simulator, real tick, real SMTP, no http.public_url)', () => {
  it.each([
    {
      locale: 'zh-CN',
      promise: '点击下方链接',
      how: ['在控制台该实例一行点击「暂缓」', 'http.public_url'],
      saving: '预计节省: ¥1.59/小时',
    },
    {
      locale: 'en',
      promise: 'link below',
      how: ['press Snooze on its row in the dashboard', 'http.public_url'],
      saving: 'Estimated saving: ¥1.59/h',
    },
  ])('$locale: the warning says how to snooze instead of promising a link, and savings are a rate per hour', async ({ locale, promise, how, saving }) => {
    smtp = await startSmtp();
    h = await startHarness({
      locale,
      notify: { email: { smtp_url: `smtp://127.0.0.1:${smtp.port}`, from: 'guard@example.com', to: ['me@example.com'] } },
      policies: [{ name: 'idle', type: 'idle', idle_for: '30m', min_uptime: '5m', warn_before: '10m' }],
    });
    const id = await h.add({ name: 'sd-forgotten', image: 'WebUI', status: 'running' });
    // drained after each tick, as the daemon does: the warning and the release are two ticks, two messages
    for (let i = 0; i < 40; i++) {
      await h.step(MIN); // warned at ~20 min, released at ~30 min
      await h.notifier.drain();
    }

    const planned = smtp.messages.find((m) => eventOf(m) === 'action_planned');
    expect(planned, `events: ${smtp.messages.map(eventOf).join(', ')}`).toBeDefined();
    for (const part of [planned!.text ?? '', String(planned!.html)]) {
      expect(part).not.toContain(promise);
      expect(part).not.toContain('/snooze?t=');
    }
    expect(planned!.text).toContain(`xgc-guard override add --instance ${id} --kind snooze --for 2h`);
    for (const s of how) expect(planned!.text).toContain(s);
    expect(planned!.text).toContain(saving);

    const taken = smtp.messages.find((m) => eventOf(m) === 'action_taken');
    expect(taken, `events: ${smtp.messages.map(eventOf).join(', ')}`).toBeDefined();
    expect(taken!.text).toContain(saving);
    expect((await h.state()).instances[0].status).toBe('shutdown');
  }, 60_000);
});
