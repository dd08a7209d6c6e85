/** Reads CSV text with Python's `csv` module (a real, independent CSV reader) in a `python3` child process. */
import { spawnSync } from 'node:child_process';

/** What Python read: whether the bytes start with the UTF-8 BOM, the header, and the data rows. */
export interface PythonCsv {
  bom: boolean;
  header: string[];
  rows: string[][];
}

const SCRIPT = [
  'import csv, io, json, sys',
  'b = sys.stdin.buffer.read()',
  "rows = list(csv.reader(io.StringIO(b.decode('utf-8-sig'), newline='')))",
  "print(json.dumps({'bom': b.startswith(b'\\xef\\xbb\\xbf'), 'header': rows[0], 'rows': rows[1:]}))",
].join('\n');

/** Parse `csv` (text or bytes) with Python's csv module; throws with Python's stderr when it fails. */
export function pythonCsv(csv: string | Uint8Array): PythonCsv {
  const r = spawnSync('python3', ['-c', SCRIPT], { input: typeof csv === 'string' ? Buffer.from(csv, 'utf8') : Buffer.from(csv), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 csv failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as PythonCsv;
}
