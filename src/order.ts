/**
 * Strings in a fixed order, by UTF-16 code units, for ids, names and keys: deterministic on every machine, and
 * without ICU (`localeCompare` pages in ICU's collation data and code, ~2 MB resident in a bare node: bench/RESULTS.md).
 */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
