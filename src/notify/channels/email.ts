/**
 * Email via nodemailer over SMTP: text and HTML bodies.
 * Config: `email: { smtp_url: "smtps://user:pass@smtp.example.com", from: guard@example.com, to: [me@example.com] }`
 * (`smtp://host:25?ignoreTLS=true` style query options are passed to nodemailer).
 */
import type { Transporter } from 'nodemailer';
import { z } from 'zod';
import { ChannelSendError, type ChannelKind } from './types.js';

/** Options of the email channel. */
export const emailSchema = z.strictObject({
  smtp_url: z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://'),
  from: z.string().min(3),
  to: z.array(z.email()).min(1),
});

/** The email channel kind. */
export const emailChannel: ChannelKind<typeof emailSchema> = {
  kind: 'email',
  schema: emailSchema,
  create(o, ctx) {
    // nodemailer (~40 modules) is loaded by the first email, not by every daemon that might send one; emails sent
    // together share the one transport.
    let transport: Promise<Transporter> | null = null;
    const open = () =>
      (transport ??= import('nodemailer').then((m) =>
        m.default.createTransport({
          url: o.smtp_url,
          connectionTimeout: ctx.timeoutMs,
          greetingTimeout: ctx.timeoutMs,
          socketTimeout: ctx.timeoutMs * 3,
        }),
      ));
    return {
      async send(r, e, all = [e]) {
        try {
          await (await open()).sendMail({
            from: o.from,
            to: o.to,
            subject: r.subject,
            text: r.text,
            html: r.html,
            headers: { 'X-Guard-Event': e.type, 'X-Guard-Reason': e.reason, 'X-Guard-Events': all.map((x) => (x.status === 'resolved' ? `${x.type}:resolved` : x.type)).join(',') },
          });
        } catch (err) {
          const x = err as { code?: string; responseCode?: number; message?: string };
          // nodemailer messages carry server replies, never the password; the Notifier still redacts secrets.
          throw new ChannelSendError('email', [x.code, x.responseCode, x.message].filter(Boolean).join(' ') || 'send failed');
        }
      },
      async close() {
        (await transport?.catch(() => null))?.close();
      },
    };
  },
};
