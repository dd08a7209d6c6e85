/**
 * The dashboard's tune panel (Debian's `chromium` via playwright-core): hidden until a week of recorded history, then
 * one line for the recommendation and the whole table behind a link, at desktop width and on a 390 px phone.
 */
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/http/app.js';
import { startHarness, type Harness } from '../helpers/guard.js';
import { launchChromium, runBrowserTests } from './browser.js';

const MIN = 60_000;
const STEP = 20 * MIN;

describe.skipIf(!runBrowserTests)('tune panel in Chromium', () => {
  let browser: Browser;
  let h: Harness;
  let app: App;
  let url: string;
  let id: string;
  let step = 0;

  /** A day of work in 20-minute ticks: an hour busy, 40 minutes away, over and over; the night idle. */
  async function days(n: number): Promise<void> {
    for (let end = step + n * 72; step < end; step++) {
      const inDay = step % 72;
      const busy = inDay < 48 && inDay % 5 < 3;
      await h.ctl(`/sim/instances/${id}/activity`, { busy, kind: 'app' });
      await h.step(STEP);
    }
  }

  async function open(width: number, locale: 'en' | 'zh-CN'): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 900 }, locale: locale === 'en' ? 'en-US' : 'zh-CN' });
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForSelector('#instances-body tr[data-instance-id]', { timeout: 60_000 });
    return page;
  }

  beforeAll(async () => {
    browser = await launchChromium();
    h = await startHarness(
      {
        dry_run: true,
        locale: 'en',
        probes: { heartbeat: { enabled: false }, gpu: { enabled: false } },
        policies: [{ name: 'idle-release', type: 'idle', idle_for: '30m', min_uptime: '0s', action: 'release_gpu' }],
      },
      { balance: 100_000 },
    );
    app = await buildApp({ gdb: h.gdb, config: h.config, clock: h.clock, log: pino({ level: 'silent' }), runtime: { dbOpen: true, leader: true, jobsRunning: true, demo: false }, guard: h.core.service });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    id = await h.add({ name: 'sd-daily', image: 'WebUI', status: 'running' });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await h?.close();
  });

  it('stays hidden with less than a week of history, then shows the recommendation and the table at desktop and 390 px', async () => {
    await days(3);
    const early = await open(1280, 'en');
    const api = (await (await fetch(`${url}/api/v1/tune`)).json()) as { history_days: number; rows: unknown[] };
    expect(api.history_days).toBeGreaterThan(2);
    expect(api.history_days).toBeLessThan(7);
    // the page has read and rendered the tune answer (its history_days), and keeps the card hidden
    await early.locator('#card-tune:not([data-history-days=""])[data-history-days]').waitFor({ state: 'attached', timeout: 30_000 });
    expect(Number(await early.locator('#card-tune').getAttribute('data-history-days'))).toBeCloseTo(api.history_days, 0);
    expect(await early.locator('#card-tune').isHidden()).toBe(true);
    await early.context().close();

    await days(5);
    const r = (await (await fetch(`${url}/api/v1/tune`)).json()) as {
      history_days: number;
      rows: Array<{ idle_for_s: number; saved_yuan: number; interruptions: number; current: boolean }>;
      recommendation: { keep: boolean; idle_for_s: number | null; interruptions: number | null };
    };
    expect(r.history_days).toBeGreaterThanOrEqual(7);
    // the 40-minute breaks: windows under 40 minutes meet the user every break, longer ones only at night
    const byWindow = new Map(r.rows.map((x) => [x.idle_for_s, x]));
    expect(byWindow.get(1800)!.current).toBe(true);
    expect(byWindow.get(1200)!.interruptions).toBeGreaterThan(byWindow.get(3600)!.interruptions);

    for (const [width, locale] of [[1280, 'en'], [390, 'en'], [390, 'zh-CN']] as const) {
      const page = await open(width, locale);
      const card = page.locator('#card-tune');
      await card.waitFor({ state: 'visible', timeout: 30_000 });
      const summary = (await page.locator('#tune-summary').textContent()) ?? '';
      if (r.recommendation.keep) expect(summary).toMatch(locale === 'en' ? /^Keep 30m/ : /^保持 30m/);
      else expect(summary).toMatch(locale === 'en' ? /^With \d+m: ¥[\d.,]+ (more|less) than 30m, \d+ interruptions?$/ : /^改为 \d+m：比 30m (多省|少省) ¥[\d.,]+，打断 \d+ 次$/);
      // the table is behind the link: closed, then one row per window with the current one marked
      expect(await page.locator('#tune-table').isVisible()).toBe(false);
      await page.locator('#tune-link').click();
      await page.locator('#tune-table').waitFor({ state: 'visible' });
      expect(await page.locator('#tune-body tr').count()).toBe(r.rows.length);
      expect(await page.locator('#tune-body tr.current').count()).toBe(1);
      expect(await page.locator('#tune-body tr.current td').first().textContent()).toContain('30m');
      // "vs configured": nothing on the configured row, a signed amount on the others
      expect(await page.locator('#tune-body tr.current td').nth(2).textContent()).toBe('—');
      expect(await page.locator('#tune-body tr[data-idle-for="20m"] td').nth(2).textContent()).toMatch(/^[+−]¥[\d.,]+$/);
      const fit = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: innerWidth }));
      expect(fit.scroll, `${width} px ${locale}`).toBeLessThanOrEqual(fit.inner);
      await page.screenshot({ path: `test-results/tune-${width}-${locale}.png`, fullPage: false });
      await page.context().close();
    }
  }, 300_000);
});
