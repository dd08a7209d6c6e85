/**
 * The legacy scp protocol's source side (`scp -O host:file .` runs `scp -f file` on the server): the simulated
 * instance sends files of its read-only filesystem (`fs.ts`). Only `-f` (send) with optional `-p` (times); `-t`
 * (receive, i.e. uploads) and `-r` (folders) are refused with scp's error line, as a read-only machine would.
 */
import { HOME, fsOf, lookup, resolvePath, type ShellSubject } from './fs.js';

/** A parsed `scp -f [-p] [-v] [-d] [--] path…` command, or null when the command is not scp. */
export interface ScpRequest {
  mode: 'source' | 'refused';
  preserve: boolean;
  paths: string[];
  /** why it is refused (mode `refused`) */
  reason?: string;
}

/** Parse an exec command as an scp server-side invocation. */
export function parseScp(command: string): ScpRequest | null {
  const argv = command.trim().split(/\s+/);
  if (argv[0] !== 'scp') return null;
  let source = false;
  let preserve = false;
  let recursive = false;
  let sink = false;
  const paths: string[] = [];
  let opts = true;
  for (const a of argv.slice(1)) {
    if (opts && a === '--') opts = false;
    else if (opts && a.startsWith('-') && a.length > 1) {
      for (const f of a.slice(1)) {
        if (f === 'f') source = true;
        else if (f === 't') sink = true;
        else if (f === 'p') preserve = true;
        else if (f === 'r') recursive = true;
      }
    } else paths.push(a);
  }
  if (!source && !sink) return null; // an ordinary `scp` command line: not the server side
  if (sink) return { mode: 'refused', preserve, paths, reason: 'Permission denied' };
  if (recursive) return { mode: 'refused', preserve, paths, reason: 'folders (-r) are not supported by this simulated machine' };
  return { mode: 'source', preserve, paths };
}

/** What the scp session needs from the channel. */
export interface ScpIo {
  write: (b: Buffer | string) => void;
  /** exit with a code and close */
  exit: (code: number) => void;
}

/**
 * Run the source side: wait for the peer's go-ahead (a zero byte) before each step, send `T` (with `-p`), `C`,
 * the bytes and a zero byte per file; a missing file or a folder is reported with scp's `\x01scp: …` line and the
 * session ends with exit 1. Returns the function to feed the channel's incoming data to.
 */
export function scpSource(req: ScpRequest, inst: ShellSubject, t: number, io: ScpIo): (data: Buffer) => void {
  // Each step runs on the peer's zero byte; 'on' = run the next step at once (scp's error lines wait for no reply).
  type Step = () => 'wait' | 'on';
  const steps: Step[] = [];
  let failed = false;
  if (req.mode === 'refused') {
    // at once: in sink mode (`-t`) the server speaks first, so the peer would wait forever for a go-ahead
    io.write(`\x01scp: ${req.paths[0] ?? '.'}: ${req.reason}\n`);
    io.exit(1);
    return () => undefined;
  }
  const root = fsOf(inst);
  for (const p of req.paths) {
    const node = lookup(root, resolvePath(HOME, p));
    if (!node || node.kind !== 'file') {
      steps.push(() => {
        io.write(`\x01scp: ${p}: ${node ? 'not a regular file' : 'No such file or directory'}\n`);
        failed = true; // scp goes on with the next file and exits 1 at the end
        return 'on';
      });
      continue;
    }
    const body = node.read(t);
    const name = p.split('/').filter((x) => x !== '').pop() ?? p;
    const secs = Math.floor(node.mtime / 1000);
    if (req.preserve) steps.push(() => (io.write(`T${secs} 0 ${secs} 0\n`), 'wait'));
    steps.push(() => (io.write(`C${(node.mode & 0o777).toString(8).padStart(4, '0')} ${body.length} ${name}\n`), 'wait'));
    steps.push(() => (io.write(Buffer.concat([body, Buffer.from([0])])), 'wait'));
  }
  let done = false;
  const next = (): void => {
    const step = steps.shift();
    if (!step) {
      done = true;
      return io.exit(failed ? 1 : 0);
    }
    if (step() === 'on') next();
  };
  return (data: Buffer) => {
    for (const byte of data) {
      if (done) return;
      if (byte === 0) next();
      else if (byte === 1 || byte === 2) {
        done = true; // the peer reports an error: stop
        return io.exit(1);
      }
    }
  };
}
