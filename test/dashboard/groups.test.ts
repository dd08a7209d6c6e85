/** The dashboard's spend chart split by spend group (Debian's `chromium` via playwright-core) when the config has groups. */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instances, intervals } from '../../src/db/schema.js';
import { H, T0, makeApp, seedWorld, type TestApp } from '../http/helpers.js';
import { launchChromium, runBrowserTests } from './browser.js';

describe.skipIf(!runBrowserTests)('spend chart by group in Chromium', () => {
  let browser: Browser;
  let t: TestApp;
  let url: string;

  beforeAll(async () => {
    browser = await launchChromium();
    // open API on loopback (no tokens); sd-a and sd-c are "render", train-b is "other"
    t = await makeApp({ http: {}, raw: { locale: 'en', groups: [{ name: 'render', match: { name: 'sd-*' } }] } });
    seedWorld(t.gdb);
    t.gdb.db.insert(instances).values({ id: 'inst-c', name: 'sd-c', status: 'running', gpuModel: 'A100', gpuCount: 1, pricePerHour: 3, retainPrice: 0.01, firstSeen: T0 - 10 * H, lastSeen: T0, goneAt: null }).run();
    t.gdb.db.insert(intervals).values({ instanceId: 'inst-c', status: 'running', gpuKept: true, gpuCount: 1, rate: 3, from: T0 - 3 * H, to: null }).run();
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('stacks one series per group (render, other) instead of one per instance', async () => {
    const page = await (await browser.newContext({ locale: 'en-US' })).newPage();
    const spendUrls: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/spend')) spendUrls.push(r.url());
    });
    await page.goto(url);
    await page.waitForSelector('#spend-chart canvas', { timeout: 60_000 });
    await expect.poll(async () => page.$$eval('#spend-legend .li', (els) => els.map((e) => e.textContent)), { timeout: 30_000 }).toEqual(['render', 'other', 'observed']);
    expect(spendUrls.every((u) => u.includes('split=group'))).toBe(true);
  }, 120_000);
});
