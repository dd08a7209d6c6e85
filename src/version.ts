/** The package version, read from package.json next to src/ or dist/. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** xgc-guard's version string. */
export const VERSION: string = (() => {
  try {
    const here = dirname(fileURLToPath(import.meta.url));
    return JSON.parse(readFileSync(resolve(here, '..', 'package.json'), 'utf8')).version as string;
  } catch {
    return '0.0.0';
  }
})();
