/**
 * The dashboard in a real browser (Debian's `chromium` via playwright-core) against a running demo:
 * simulator + daemon on an accelerated clock, API auth off on loopback.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { overrides } from '../../src/db/schema.js';
import { startDemo } from '../../src/demo.js';
import { instancesAnswer } from '../../src/http/instances.js';
import { pythonCsv } from '../helpers/python-csv.js';
import { launchChromium, runBrowserTests } from './browser.js';

const SHOT_DIR = resolve(__dirname, '..', '..', 'test-results');

/** The colours the spend chart uses for its per-instance bars (public/app.js PALETTE, first five). */
const BAR_COLOURS = [
  [0x4f, 0x6b, 0xed],
  [0x2f, 0xa3, 0x7a],
  [0xe8, 0xa3, 0x3d],
  [0xd4, 0x57, 0x7b],
  [0x8a, 0x63, 0xd2],
];

interface ApiInstance {
  id: string;
  name: string;
}
interface ApiOverride {
  id: string | number;
  target: { instance_id?: string; name?: string };
  kind: string;
  until: string | null;
  created_at: string;
}

describe.skipIf(!runBrowserTests)('dashboard in Chromium against the demo', () => {
  let demo: Awaited<ReturnType<typeof startDemo>>;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  const getJson = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${demo.url.replace(/\/$/, '')}${path}`);
    expect(res.status, `${path} status`).toBe(200);
    const body = await res.json();
    // the instance list is serialized without validation: whatever the demo is doing, it is exactly its schema's shape
    if (path === '/api/v1/instances') expect(instancesAnswer.parse(body)).toEqual(body);
    return body as T;
  };

  beforeAll(async () => {
    browser = await launchChromium();
    demo = await startDemo({ port: 0, speed: 60, seed: 7, quiet: true, log: pino({ level: 'silent' }) });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    await page.goto(demo.url);
    await page.waitForSelector('#instances-body tr[data-instance-id]', { timeout: 60_000 });
  }, 360_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('lists the simulator instances the API reports, by id and name', async () => {
    let expected: ApiInstance[] = [];
    await expect
      .poll(
        async () => {
          expected = (await getJson<{ instances: ApiInstance[] }>('/api/v1/instances')).instances;
          const shown = await page.$$eval('#instances-body tr[data-instance-id]', (rows) => rows.map((r) => (r as HTMLElement).dataset.instanceId));
          return JSON.stringify([...shown].sort()) === JSON.stringify(expected.map((i) => i.id).sort());
        },
        { timeout: 60_000, interval: 500 },
      )
      .toBe(true);
    expect(expected.length).toBeGreaterThan(0);
    for (const i of expected) {
      const row = page.locator(`#instances-body tr[data-instance-id="${i.id}"]`);
      await expect.poll(() => row.locator('.iname').textContent(), { timeout: 60_000 }).toContain(i.name || i.id);
      expect(await row.locator('.pill').count()).toBe(1);
    }
  });

  it("shows the platform's own auto-shutdown on the instance's row once the cloud reports it on", async () => {
    const { instances } = await getJson<{ instances: ApiInstance[] }>('/api/v1/instances');
    // the demo's #keep training has the platform's auto-shutdown left on
    const lora = instances.find((i) => i.name === 'train-lora #keep')!;
    await page.locator(`#instances-body tr[data-instance-id="${lora.id}"] .platform-auto-shutdown`).waitFor({ timeout: 60_000 });
    const id = instances[0].id;
    const row = page.locator(`#instances-body tr[data-instance-id="${id}"]`);
    expect(await row.locator('.platform-auto-shutdown').count()).toBe(0);
    const res = await fetch(`${demo.sim.url}/sim/instances/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ auto_shutdown: 1, auto_shutdown_action: 1 }) });
    expect(res.status).toBe(200);
    await row.locator('.platform-auto-shutdown').waitFor({ timeout: 60_000 });
    expect(await row.locator('.platform-auto-shutdown').textContent()).toBe('platform auto-shutdown on');
    expect(await row.locator('.platform-auto-shutdown').getAttribute('title')).toContain('4 h without GPU compute');
    await fetch(`${demo.sim.url}/sim/instances/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ auto_shutdown: 0 }) });
    await row.locator('.platform-auto-shutdown').waitFor({ state: 'detached', timeout: 60_000 });
  });

  it('shows the balance model on the balance card: the observed balance as of its time, and ≈ now labelled as an estimate', async () => {
    // the demo's simulator debits hourly in arrears: between debits the estimate is below the observed balance
    const card = page.locator('#balance-at');
    await expect.poll(async () => (await card.textContent()) ?? '', { timeout: 60_000 }).toMatch(/^(as of|更新于) .+ · (≈ ¥[\d,.]+ now \(estimate\)|≈ 当前 ¥[\d,.]+（估算）)/); // the server's locale
    const b = await getJson<{ balance: number; estimated_now: number; runway_hours: number | null; burn_rate: number }>('/api/v1/balance');
    expect(b.estimated_now).toBeLessThanOrEqual(b.balance);
    // the runway is reckoned from the estimate, as the runway policy does
    if (b.runway_hours !== null && b.burn_rate > 0) expect(b.runway_hours).toBeCloseTo(b.estimated_now / b.burn_rate, 2);
  });

  it('draws the 30-day spend chart as coloured bars on a canvas', async () => {
    await page.waitForSelector('#spend-chart canvas');
    const barPixels = () =>
      page.$eval(
        '#spend-chart canvas',
        (c, colours) => {
          const canvas = c as HTMLCanvasElement;
          const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          let n = 0;
          for (let k = 0; k < px.length; k += 4) {
            if (px[k + 3] < 200) continue;
            if (colours.some(([r, g, b]) => Math.abs(px[k] - r) + Math.abs(px[k + 1] - g) + Math.abs(px[k + 2] - b) < 24)) n++;
          }
          return n;
        },
        BAR_COLOURS,
      );
    // A blank or axes-only canvas has no bar-coloured pixels; bars for a single day already give hundreds.
    await expect.poll(barPixels, { timeout: 60_000, interval: 500 }).toBeGreaterThan(200);
    const dataUrlLength = await page.$eval('#spend-chart canvas', (c) => (c as HTMLCanvasElement).toDataURL().length);
    expect(dataUrlLength).toBeGreaterThan(2000);
  });

  it('explains observed vs estimated spend: a charge outside instances shows as "not from instances", in en and zh-CN', async () => {
    // the demo's instances burn about ¥11/h, debited hourly in arrears: the gap is the charge less at most an hour of that
    const res = await fetch(`${demo.sim.url}/sim/charges`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ yuan: 50, note: 'storage' }) });
    expect(res.status).toBe(201);
    const gapShown = async (locale: string, re: RegExp) => {
      await page.evaluate((l) => localStorage.setItem('xgc-guard.locale', l), locale);
      await page.reload();
      let m: RegExpMatchArray | null = null;
      await expect.poll(async () => (m = ((await page.textContent('#spend-total')) ?? '').match(re)), { timeout: 60_000, interval: 250 }).not.toBeNull();
      expect(await page.getAttribute('#spend-total', 'title')).toMatch(locale === 'en' ? /charges outside instances/ : /实例之外的扣费/);
      return Number(m![1].replace(/,/g, ''));
    };
    const en = await gapShown('en', /¥([\d,]+\.\d\d) not from instances/);
    expect(en).toBeGreaterThan(50 - 12);
    expect(en).toBeLessThanOrEqual(51);
    const zh = await gapShown('zh-CN', /¥([\d,]+\.\d\d) 非实例支出/);
    expect(Math.abs(zh - en)).toBeLessThan(1);
    await page.evaluate(() => localStorage.removeItem('xgc-guard.locale'));
    await page.reload();
    await page.waitForSelector('#instances-body tr[data-instance-id]');
  });

  it('creates a one-hour snooze override when "Snooze 1h" is clicked on a row', async () => {
    const before = (await getJson<{ overrides: ApiOverride[] }>('/api/v1/overrides')).overrides;
    const id = await page.$eval('#instances-body tr[data-instance-id]', (r) => (r as HTMLElement).dataset.instanceId!);
    await page.click(`#instances-body tr[data-instance-id="${id}"] button[data-action="snooze-1h"]`);
    let created: ApiOverride | undefined;
    await expect
      .poll(
        async () => {
          const now = (await getJson<{ overrides: ApiOverride[] }>('/api/v1/overrides')).overrides;
          created = now.find((o) => o.target?.instance_id === id && o.kind === 'snooze' && !before.some((b) => b.id === o.id));
          return Boolean(created);
        },
        { timeout: 60_000, interval: 250 },
      )
      .toBe(true);
    const hours = (Date.parse(created!.until!) - Date.parse(created!.created_at)) / 3_600_000;
    expect(hours).toBeGreaterThan(0.95);
    expect(hours).toBeLessThan(1.05);
    // The page shows it under "Active overrides" after its refresh.
    await page.waitForSelector(`#overrides-list li[data-override-id="${created!.id}"]`, { timeout: 60_000 });
  });

  it('shows an override row an older release stored beyond Date as invalid, and keeps the instance table', async () => {
    const inst = (await getJson<{ instances: ApiInstance[] }>('/api/v1/instances')).instances[0];
    const now = Date.now();
    const row = demo.daemon.gdb.db
      .insert(overrides)
      .values({ instanceId: inst.id, kind: 'snooze', until: 1e300, forever: false, who: 'old', reason: 'old release', createdAt: now })
      .returning()
      .get();
    const item = page.locator(`#overrides-list li[data-override-id="${row.id}"]`);
    await item.waitFor({ timeout: 60_000 });
    await expect.poll(() => item.textContent(), { timeout: 60_000 }).toMatch(/invalid \(its stored end cannot be read\)|无效/);
    expect(await page.locator('#instances-body tr[data-instance-id]').count()).toBeGreaterThan(0);
    const listed = (await getJson<{ overrides: (ApiOverride & { state: string })[] }>('/api/v1/overrides')).overrides.find((o) => o.id === row.id);
    expect(listed?.state).toBe('invalid');
  });

  it("follows the browser's language over the guard's and toggles between English and Chinese", async () => {
    // The demo's guard says zh-CN; this browser asks for en-US.
    expect((await getJson<{ locale: string }>('/api/v1/session')).locale).toBe('zh-CN');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    const title = () => page.textContent('#card-instances h2');
    expect(await title()).toBe('Instances');
    await page.click('#locale-toggle');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
    expect(await title()).toBe('实例');
    // The choice sticks across a reload, over the browser's language.
    await page.reload();
    await page.waitForSelector('#instances-body tr[data-instance-id]');
    expect(await title()).toBe('实例');
    expect(await page.textContent('#spend-csv')).toBe('下载 CSV');
    await page.click('#locale-toggle');
    expect(await title()).toBe('Instances');
    expect(await page.textContent('#spend-csv')).toBe('Download CSV');
  });

  it("downloads the spend card's 30 days as a CSV file that Python's csv module reads, one row per day", async () => {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.click('#spend-csv')]);
    expect(download.suggestedFilename()).toMatch(/^spend-day-\d{4}-\d\d-\d\d\.csv$/);
    const p = pythonCsv(readFileSync(await download.path()));
    const json = await getJson<{ rows: Array<{ key: string }> }>('/api/v1/spend?from=-30d&to=now&by=day');
    expect(p.bom).toBe(true);
    expect(p.header).toEqual(['day', 'estimated_yuan', 'observed_yuan', 'saved_yuan']);
    expect(p.rows).toHaveLength(json.rows.length);
    expect(p.rows[0][0]).toBe(json.rows[0].key.slice(0, 10));
  });

  it('loads with no console errors and writes a screenshot to test-results/dashboard.png', async () => {
    // The screenshot is taken in English: Debian's chromium package brings no CJK font.
    await page.evaluate(() => localStorage.setItem('xgc-guard.locale', 'en'));
    await page.reload();
    await page.waitForSelector('#instances-body tr[data-instance-id]');
    await page.waitForSelector('#spend-chart canvas');
    await page.waitForSelector('#toast', { state: 'hidden' });
    mkdirSync(SHOT_DIR, { recursive: true });
    const file = resolve(SHOT_DIR, 'dashboard.png');
    await page.screenshot({ path: file });
    expect(statSync(file).size).toBeGreaterThan(20_000);
    expect(consoleErrors).toEqual([]);
  });
});
