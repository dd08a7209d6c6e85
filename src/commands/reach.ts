/** Can this machine open a TCP (http:) or TLS (https:, certificate checked) connection to a URL's host? Nothing is sent. */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** The outcome of one connect attempt; `where` is `host:port` (never the path or query, which may hold a key). */
export interface Reach {
  ok: boolean;
  where: string;
  /** what worked ("TLS ok") or what failed (ECONNREFUSED, a certificate error, timed out) */
  detail: string;
}

/** Open and close one connection to `url`'s host and port within `timeoutMs`. */
export function reach(url: string, timeoutMs = 10_000): Promise<Reach> {
  const u = new URL(url);
  const tls = u.protocol === 'https:';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || (tls ? 443 : 80));
  const where = `${u.hostname}:${port}`;
  return new Promise((resolve) => {
    let done = false;
    let sock: Socket;
    const finish = (ok: boolean, detail: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok, where, detail });
    };
    const timer = setTimeout(() => finish(false, `no connection within ${timeoutMs / 1000} s`), timeoutMs);
    if (tls) sock = tlsConnect({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host }, () => finish(true, 'TLS handshake ok'));
    else sock = tcpConnect({ host, port }, () => finish(true, 'TCP connect ok'));
    sock.on('error', (e: NodeJS.ErrnoException) => finish(false, e.code ?? e.message));
  });
}
