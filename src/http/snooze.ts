/**
 * Snooze links from notifications: `GET /snooze?t=<token>` shows a confirm page (never acts: mail scanners
 * prefetch links); its `POST /snooze` creates the snooze override once. A used link answers 410 saying what its
 * first use did, an expired one 410, a damaged or tampered one 400, with a short page and never a stack trace.
 * Every page links back to the dashboard (`./`, so a path prefix of `public_url` is kept).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { and, eq } from 'drizzle-orm';
import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import { createOverride } from '../db/overrides.js';
import { overrides, usedLinks } from '../db/schema.js';
import { escapeHtml, formatTime } from '../notify/format.js';
import { linkSecret, snoozeUntil, verifyToken, type SnoozeChoice, type SnoozeClaims } from '../notify/links.js';
import type { Locale } from '../notify/types.js';

/** Options of the snooze routes. */
export interface SnoozeRoutesOptions {
  db: Db;
  clock: Clock;
  locale: Locale;
  /** for times shown on the page; default Asia/Shanghai */
  timezone?: string;
}

const TEXT = {
  en: {
    title: 'Snooze',
    confirm: (c: SnoozeClaims, at: string) => `Policy "${c.p}" plans to act on instance ${c.n || c.i} (${c.i}) at ${at}. Keep it running?`,
    h1: 'Snooze 1 hour',
    h2: 'Snooze 2 hours',
    skip: 'Skip this time',
    done: (c: SnoozeClaims, until: string) => `Done. Policy "${c.p}" will leave instance ${c.n || c.i} (${c.i}) alone until ${until}.`,
    bad: 'This link is not valid: it is damaged or was changed.',
    used: (at: string) => `This link was already used (${at}).`,
    usedDid: (c: SnoozeClaims, at: string, until: string) =>
      `This link was already used (${at}): that first click snoozed policy "${c.p}" for instance ${c.n || c.i} (${c.i}) until ${until}.`,
    pending: 'Opening this link changed nothing yet: choose below.',
    expired: (at: string) => `This link expired at ${at}.`,
    oops: 'Something went wrong. Please try again or use the dashboard.',
    dashboard: 'Open the dashboard',
  },
  'zh-CN': {
    title: '暂缓执行',
    confirm: (c: SnoozeClaims, at: string) => `策略「${c.p}」计划在 ${at} 对实例 ${c.n || c.i}（${c.i}）执行操作。要保持运行吗？`,
    h1: '暂缓 1 小时',
    h2: '暂缓 2 小时',
    skip: '跳过本次',
    done: (c: SnoozeClaims, until: string) => `已完成。策略「${c.p}」在 ${until} 之前不会处理实例 ${c.n || c.i}（${c.i}）。`,
    bad: '链接无效：链接已损坏或被修改。',
    used: (at: string) => `此链接已被使用（${at}）。`,
    usedDid: (c: SnoozeClaims, at: string, until: string) =>
      `此链接已被使用（${at}）：第一次点击已让策略「${c.p}」暂缓处理实例 ${c.n || c.i}（${c.i}），直到 ${until}。`,
    pending: '打开此链接尚未做任何更改：请在下方选择。',
    expired: (at: string) => `此链接已于 ${at} 过期。`,
    oops: '出错了，请重试或使用控制台。',
    dashboard: '打开控制台',
  },
} as const;

/** The `who` of a snooze made from a notification link. */
const LINK_WHO = 'email link';

/** Fastify plugin with `GET /snooze` (confirm page) and `POST /snooze` (create the override). */
export default async function snoozeRoutes(app: FastifyInstance, opts: SnoozeRoutesOptions): Promise<void> {
  const { db, clock, locale } = opts;
  const tz = opts.timezone ?? 'Asia/Shanghai';
  const t = TEXT[locale] ?? TEXT.en;
  const secret = linkSecret(db);

  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 8192 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });
  }

  const page = (reply: FastifyReply, status: number, body: string) =>
    reply
      .code(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
      .send(
        `<!doctype html><html lang="${locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
          `<title>xgc-guard · ${escapeHtml(t.title)}</title></head>` +
          `<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1f2328;line-height:1.5">` +
          `<h1 style="font-size:1.3rem">xgc-guard · ${escapeHtml(t.title)}</h1>${body}` +
          `<p><a href="./" style="color:#0969da">${escapeHtml(t.dashboard)}</a></p></body></html>`,
      );

  /** What a used link did at its first use: the snooze it created then (same instance, made at that moment). */
  const usedMessage = (c: SnoozeClaims, usedAt: number): string => {
    const made = db
      .select({ until: overrides.until })
      .from(overrides)
      .where(and(eq(overrides.instanceId, c.i), eq(overrides.who, LINK_WHO), eq(overrides.createdAt, usedAt)))
      .get();
    return made?.until != null ? t.usedDid(c, formatTime(usedAt, tz), formatTime(made.until, tz)) : t.used(formatTime(usedAt, tz));
  };

  /** Check a token: the claims, or the page to answer with. */
  const check = (token: unknown): { claims: SnoozeClaims } | { status: number; message: string } => {
    if (typeof token !== 'string' || token.length > 4096) return { status: 400, message: t.bad };
    const v = verifyToken(secret, token);
    if (!v.ok) return { status: 400, message: t.bad };
    const used = db.select().from(usedLinks).where(eq(usedLinks.linkId, v.claims.l)).get();
    if (used) return { status: 410, message: usedMessage(v.claims, used.usedAt) };
    if (clock.now() >= v.claims.exp) return { status: 410, message: t.expired(formatTime(v.claims.exp, tz)) };
    return { claims: v.claims };
  };

  const message = (reply: FastifyReply, status: number, text: string) => page(reply, status, `<p>${escapeHtml(text)}</p>`);

  const safely =
    (fn: (req: FastifyRequest, reply: FastifyReply) => FastifyReply) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        return fn(req, reply);
      } catch (err) {
        req.log.error({ err }, 'snooze link failed');
        return message(reply, 500, t.oops);
      }
    };

  app.get(
    '/snooze',
    safely((req, reply) => {
      const c = check((req.query as Record<string, unknown>).t);
      if (!('claims' in c)) return message(reply, c.status, c.message);
      const { claims } = c;
      const button = (choice: SnoozeChoice) => {
        const primary = choice === claims.c;
        const style = primary ? 'background:#0969da;color:#fff;border:1px solid #0969da' : 'background:#f6f8fa;color:#1f2328;border:1px solid #d0d7de';
        return `<button type="submit" name="choice" value="${choice}"${primary ? ' autofocus' : ''} style="${style};padding:.5rem 1rem;border-radius:6px;margin:0 .5rem .5rem 0;font-size:1rem;cursor:pointer">${escapeHtml(t[choice])}</button>`;
      };
      return page(
        reply,
        200,
        `<p>${escapeHtml(t.confirm(claims, formatTime(claims.at, tz)))}</p><p>${escapeHtml(t.pending)}</p>` +
          `<form method="post" action="snooze"><input type="hidden" name="t" value="${escapeHtml(String((req.query as Record<string, unknown>).t))}">` +
          `${button(claims.c)}${(['h1', 'h2', 'skip'] as const).filter((x) => x !== claims.c).map(button).join('')}</form>`,
      );
    }),
  );

  app.post(
    '/snooze',
    safely((req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const token = body.t ?? (req.query as Record<string, unknown>).t;
      const c = check(token);
      if (!('claims' in c)) return message(reply, c.status, c.message);
      const { claims } = c;
      const choice: SnoozeChoice = body.choice === 'h1' || body.choice === 'h2' || body.choice === 'skip' ? body.choice : claims.c;
      const now = clock.now();
      const until = snoozeUntil(choice, claims.at, now);
      const created = db.transaction((tx) => {
        const ins = tx.insert(usedLinks).values({ linkId: claims.l, usedAt: now }).onConflictDoNothing().run();
        if (ins.changes === 0) return false; // used by a concurrent request
        createOverride(tx, { target: { instance_id: claims.i }, kind: 'snooze', policies: [claims.p], until, reason: 'snoozed from notification link', who: LINK_WHO }, now);
        return true;
      });
      if (!created) {
        const raced = check(token); // used by a concurrent request: say what that one did
        return message(reply, 410, 'message' in raced ? raced.message : t.used(formatTime(now, tz)));
      }
      req.log.info({ instance_id: claims.i, policy: claims.p, until, choice }, 'snoozed from notification link');
      return message(reply, 200, t.done(claims, formatTime(until, tz)));
    }),
  );
}
