/**
 * The SFTP subsystem of a simulated instance (ssh2's server-side `SFTPWrapper`), over the read-only filesystem of
 * `fs.ts`: `realpath`, `stat`/`lstat`/`fstat`, `opendir`/`readdir` and `open`/`read`/`close` work, so `sftp ls`,
 * `sftp get` and OpenSSH's default `scp` (which speaks SFTP) can list and fetch files. Anything that would write
 * (open for writing, mkdir, remove, rename, setstat, symlink) is refused with "Permission denied".
 * Paths are relative to the home (`/root`), as OpenSSH's sftp-server starts there for root.
 */
import ssh2 from 'ssh2';
import type { Attributes, FileEntry, SFTPWrapper } from 'ssh2';
import { HOME, fsOf, lookup, resolvePath, sizeOf, type FsNode, type ShellSubject } from './fs.js';

const { STATUS_CODE, OPEN_MODE } = ssh2.utils.sftp;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function attrsOf(n: FsNode, t: number): Attributes {
  const secs = Math.floor(n.mtime / 1000);
  return { mode: (n.kind === 'dir' ? S_IFDIR : S_IFREG) | n.mode, uid: 0, gid: 0, size: sizeOf(n, t), atime: secs, mtime: secs };
}

/** The `ls -l` line sftp clients print for a READDIR entry. */
function longname(name: string, n: FsNode, t: number): string {
  const bits = 'rwxrwxrwx'
    .split('')
    .map((ch, k) => (n.mode & (1 << (8 - k)) ? ch : '-'))
    .join('');
  const d = new Date(n.mtime);
  const recent = Math.abs(t - n.mtime) < 182.5 * 86_400_000;
  const when = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${recent ? `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}` : ` ${d.getUTCFullYear()}`}`;
  const links = n.kind === 'dir' ? 2 : 1;
  return `${n.kind === 'dir' ? 'd' : '-'}${bits} ${String(links).padStart(3)} root     root     ${String(sizeOf(n, t)).padStart(8)} ${when} ${name}`;
}

type Handle = { kind: 'file'; data: Buffer; attrs: Attributes } | { kind: 'dir'; entries: FileEntry[]; sent: boolean };

/**
 * Serve one SFTP session for `inst`. `now()` is the simulator's time (file texts such as `/proc/loadavg` are read
 * at it), `current()` the instance as it is now (or undefined once it is gone).
 */
export function serveSftp(sftp: SFTPWrapper, current: () => ShellSubject | undefined, now: () => number): void {
  const handles = new Map<number, Handle>();
  let nextHandle = 1;
  const open = (h: Handle, reqId: number) => {
    const id = nextHandle++;
    handles.set(id, h);
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(id);
    sftp.handle(reqId, buf);
  };
  const handleOf = (buf: Buffer) => (buf.length === 4 ? handles.get(buf.readUInt32BE(0)) : undefined);
  const at = (path: string): { abs: string; node: FsNode | undefined; t: number } => {
    const inst = current();
    const t = now();
    const abs = resolvePath(HOME, path === '' ? '.' : path);
    return { abs, node: inst ? lookup(fsOf(inst), abs) : undefined, t };
  };
  const noSuchFile = (reqId: number) => sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE, 'No such file');
  const denied = (reqId: number) => sftp.status(reqId, STATUS_CODE.PERMISSION_DENIED, 'Permission denied');

  sftp.on('REALPATH', (reqId, path) => {
    const { abs, node, t } = at(path);
    if (!node) return noSuchFile(reqId);
    sftp.name(reqId, [{ filename: abs, longname: abs, attrs: attrsOf(node, t) }]);
  });
  const stat = (reqId: number, path: string) => {
    const { node, t } = at(path);
    if (!node) return noSuchFile(reqId);
    sftp.attrs(reqId, attrsOf(node, t));
  };
  sftp.on('STAT', stat);
  sftp.on('LSTAT', stat);
  sftp.on('OPENDIR', (reqId, path) => {
    const { abs, node, t } = at(path);
    if (!node) return noSuchFile(reqId);
    if (node.kind !== 'dir') return sftp.status(reqId, STATUS_CODE.FAILURE, 'Not a directory');
    const parent = lookup(fsOf(current()!), resolvePath(abs, '..')) ?? node;
    const entries: FileEntry[] = [
      ['.', node] as const,
      ['..', parent] as const,
      ...[...node.entries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    ].map(([name, n]) => ({ filename: name, longname: longname(name, n, t), attrs: attrsOf(n, t) }));
    open({ kind: 'dir', entries, sent: false }, reqId);
  });
  sftp.on('READDIR', (reqId, handle) => {
    const h = handleOf(handle);
    if (!h || h.kind !== 'dir') return sftp.status(reqId, STATUS_CODE.FAILURE, 'Bad handle');
    if (h.sent) return sftp.status(reqId, STATUS_CODE.EOF);
    h.sent = true;
    sftp.name(reqId, h.entries);
  });
  sftp.on('OPEN', (reqId, filename, flags) => {
    if (flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND | OPEN_MODE.CREAT | OPEN_MODE.TRUNC | OPEN_MODE.EXCL)) return denied(reqId);
    const { node, t } = at(filename);
    if (!node) return noSuchFile(reqId);
    if (node.kind !== 'file') return sftp.status(reqId, STATUS_CODE.FAILURE, 'Is a directory');
    open({ kind: 'file', data: node.read(t), attrs: attrsOf(node, t) }, reqId);
  });
  sftp.on('READ', (reqId, handle, offset, len) => {
    const h = handleOf(handle);
    if (!h || h.kind !== 'file') return sftp.status(reqId, STATUS_CODE.FAILURE, 'Bad handle');
    if (offset >= h.data.length) return sftp.status(reqId, STATUS_CODE.EOF);
    sftp.data(reqId, h.data.subarray(offset, Math.min(h.data.length, offset + len)));
  });
  sftp.on('FSTAT', (reqId, handle) => {
    const h = handleOf(handle);
    if (!h) return sftp.status(reqId, STATUS_CODE.FAILURE, 'Bad handle');
    const secs = Math.floor(now() / 1000);
    if (h.kind === 'dir') return sftp.attrs(reqId, { mode: S_IFDIR | 0o755, uid: 0, gid: 0, size: 4096, atime: secs, mtime: secs });
    sftp.attrs(reqId, { ...h.attrs, size: h.data.length });
  });
  sftp.on('CLOSE', (reqId, handle) => {
    const known = handle.length === 4 && handles.delete(handle.readUInt32BE(0));
    sftp.status(reqId, known ? STATUS_CODE.OK : STATUS_CODE.FAILURE);
  });
  for (const ev of ['WRITE', 'FSETSTAT', 'SETSTAT', 'REMOVE', 'RMDIR', 'MKDIR', 'RENAME', 'SYMLINK'] as const) sftp.on(ev, (reqId: number) => denied(reqId));
  sftp.on('READLINK', (reqId: number) => sftp.status(reqId, STATUS_CODE.FAILURE, 'Not a symbolic link'));
  sftp.on('EXTENDED', (reqId: number) => sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED));
  // The client's EOF ends the session as OpenSSH's sftp-server exiting does: exit status 0, then close (without
  // the close `scp` waits forever; without the status it reports failure). ssh2's SFTPWrapper has no `exit()`, so
  // the status goes through its protocol object, as ssh2's own Channel#exit sends it.
  sftp.on('end', () => {
    const raw = sftp as unknown as { _protocol?: { exitStatus?: (chan: number, code: number) => void }; outgoing?: { id: number; state: string } };
    if (raw.outgoing?.state === 'open') raw._protocol?.exitStatus?.(raw.outgoing.id, 0);
    sftp.end();
  });
}
