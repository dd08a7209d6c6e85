/**
 * The dashboard's token handling in Chromium against a real daemon (simulator + guard) that requires API tokens:
 * a 401 shows the token form, the token lives in sessionStorage, the read-only token hides every write button
 * and still downloads the spend CSV.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/main.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { launchChromium, runBrowserTests } from './browser.js';

const API_TOKEN = 'dash-api-token-0123456789';
const READ_TOKEN = 'dash-read-token-0123456789';

describe.skipIf(!runBrowserTests)('dashboard token handling in Chromium', () => {
  let sim: RunningSim;
  let daemon: Daemon;
  let dir: string;
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    sim = await startSimulator({ token: 'cloud-token', instances: 2, seed: 3, balance: 500 });
    dir = mkdtempSync(join(tmpdir(), 'xgc-guard-dash-'));
    const config = parseConfig({
      xgc: { base_url: sim.url, token: 'cloud-token', retries: 1 },
      db: { path: join(dir, 'guard.db') },
      http: { host: '127.0.0.1', port: 0, api_token: API_TOKEN, read_token: READ_TOKEN },
      probes: { heartbeat: { enabled: false } },
      locale: 'en',
    });
    daemon = await startDaemon({ config, log: pino({ level: 'silent' }), clock: systemClock });
    await daemon.jobs.fire('tick');
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await daemon?.close();
    await sim?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function openPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(daemon.url!);
    return page;
  }

  async function submitToken(page: Page, token: string) {
    await page.fill('#token-input', token);
    await page.click('#token-form button[type="submit"]');
  }

  it('asks for the token on 401, rejects a wrong one, and keeps the right one in sessionStorage', async () => {
    const page = await openPage();
    await page.waitForSelector('#token-form', { state: 'visible' });
    expect(await page.isVisible('#panels')).toBe(false);

    await submitToken(page, 'not-the-token');
    await page.waitForSelector('#token-error', { state: 'visible' });
    expect(await page.isVisible('#panels')).toBe(false);

    await submitToken(page, API_TOKEN);
    await page.waitForSelector('#instances-body tr[data-instance-id]');
    expect(await page.isVisible('#token-panel')).toBe(false);
    expect(await page.evaluate(() => sessionStorage.getItem('xgc-guard.token'))).toBe(API_TOKEN);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(await page.locator('#instances-body button[data-action="snooze-1h"]').count()).toBe(2);

    // Entered once: a reload goes straight to the dashboard.
    await page.reload();
    await page.waitForSelector('#instances-body tr[data-instance-id]');
    expect(await page.isVisible('#token-panel')).toBe(false);
    await page.context().close();
  });

  it("asks for the token in the browser's language (Accept-Language) until the reader picks one, then keeps the pick", async () => {
    // This guard says `locale: en`; the browser prefers Chinese.
    const context = await browser.newContext({ viewport: { width: 390, height: 800 }, locale: 'zh-CN' });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const res = await page.goto(daemon.url!);
    expect((await res!.request().allHeaders())['accept-language']).toMatch(/^zh-CN/);
    await page.waitForSelector('#token-form', { state: 'visible' });
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
    expect(await page.textContent('#token-panel h2')).toBe('API 令牌');
    await submitToken(page, API_TOKEN);
    await page.waitForSelector('#instances-body tr[data-instance-id]');
    expect(await page.textContent('#card-instances h2')).toBe('实例');
    await page.click('#locale-toggle');
    expect(await page.textContent('#card-instances h2')).toBe('Instances');
    await page.reload();
    await page.waitForSelector('#instances-body tr[data-instance-id]');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    await context.close();
  });

  it("falls back to the guard's configured locale when the browser speaks neither language", async () => {
    // The configured `locale: en` against a browser that asks for French only.
    const context = await browser.newContext({ viewport: { width: 390, height: 800 }, locale: 'fr-FR' });
    const page = await context.newPage();
    await page.goto(daemon.url!);
    await page.waitForSelector('#token-form', { state: 'visible' });
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    expect(await page.textContent('#token-panel h2')).toBe('API token');
    await context.close();
  });

  it('hides every write button with the read-only token', async () => {
    const page = await openPage();
    await page.waitForSelector('#token-form', { state: 'visible' });
    await submitToken(page, READ_TOKEN);
    await page.waitForSelector('#instances-body tr[data-instance-id]');
    expect(await page.locator('#instances-body tr[data-instance-id]').count()).toBe(2);
    expect(await page.locator('button[data-action]').count()).toBe(0);
    expect(await page.isVisible('#instances-table th.write-only')).toBe(false);
    expect(await page.isVisible('#role-badge')).toBe(true);
    // a read: the spend CSV downloads with the read-only token the page keeps (the API refuses it without one)
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.click('#spend-csv')]);
    const csv = readFileSync(await download.path(), 'utf8');
    expect(csv.startsWith('\uFEFFday,estimated_yuan,observed_yuan,saved_yuan\r\n')).toBe(true);
    await page.context().close();
  });

  it('drops the token and shows the form again on "Forget token"', async () => {
    const page = await openPage();
    await submitToken(page, API_TOKEN);
    await page.waitForSelector('#instances-body tr[data-instance-id]');
    await page.click('#token-forget');
    await page.waitForSelector('#token-form', { state: 'visible' });
    expect(await page.evaluate(() => sessionStorage.getItem('xgc-guard.token'))).toBeNull();
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });
});
