/**
 * A small CSV writer (RFC 4180): a field with a comma, a double quote, CR or LF is quoted, its quotes doubled;
 * rows end in CRLF; the text starts with a UTF-8 byte order mark, which Excel needs to read UTF-8 (Chinese names).
 */

/** The byte order mark the text starts with. */
export const CSV_BOM = '\uFEFF';

/** The Content-Type of a CSV answer. */
export const CSV_CONTENT_TYPE = 'text/csv; charset=utf-8';

/** A cell: text, a number (written as given) or nothing (an empty field). */
export type CsvCell = string | number | null | undefined;

/** One field as CSV: quoted when it holds a comma, a quote, CR or LF. */
export function csvField(v: CsvCell): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The whole file: BOM, header row, then the rows, each line ending in CRLF. */
export function toCsv(header: readonly string[], rows: Iterable<readonly CsvCell[]>): string {
  const lines = [header.map(csvField).join(',')];
  for (const r of rows) lines.push(r.map(csvField).join(','));
  return `${CSV_BOM}${lines.join('\r\n')}\r\n`;
}

/** Yuan with 2 to 4 decimals: 12.5 -> "12.50", 0.0133 -> "0.0133", 0.013 -> "0.013". */
export function yuanCell(v: number | null): string {
  if (v === null) return '';
  return (v + 0).toFixed(4).replace(/(\.\d\d)(\d*?)0+$/, '$1$2');
}
