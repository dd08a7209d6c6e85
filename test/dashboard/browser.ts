/** Chromium for the dashboard tests: Debian's `chromium` driven by playwright-core, or a clear skip/fail. */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian's `chromium` package installs the browser. */
export const CHROMIUM = '/usr/bin/chromium';

const present = existsSync(CHROMIUM);
const required = process.env.REQUIRE_SYSTEM_DEPS === '1';

/** Whether browser tests should run: chromium is present, or REQUIRE_SYSTEM_DEPS=1 (then its absence fails them). */
export const runBrowserTests = present || required;

if (!runBrowserTests) console.warn(`dashboard browser tests skipped: ${CHROMIUM} not found (install the Debian package "chromium")`);

/** Launch headless Chromium (a fresh temporary profile each time); throws a clear error when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!present) throw new Error(`${CHROMIUM} is missing and REQUIRE_SYSTEM_DEPS=1: install the Debian package "chromium"`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
