/**
 * Who may talk to the server and as whom: an allow-list of origins (the server's own origin always, plus
 * `--allowed-origins`), an optional access token (`--token` / ROT_TRACK_TOKEN; a browser brings it once as `/?token=…`
 * and keeps it in an HttpOnly cookie), and a session id cookie that makes jobs and evaluation runs ownable. The same
 * rules serve Express requests and socket.io handshakes.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { AppError } from './errors.js';
import { IdSchema } from './protocol.js';

/** Cookie names. */
export const SESSION_COOKIE = 'rt_session';
export const TOKEN_COOKIE = 'rt_token';

/** What the access rules need from the configuration. */
export interface AccessPolicy {
  /** Origins allowed besides the server's own, e.g. `https://app.example`. */
  origins: ReadonlySet<string>;
  /** Access token; empty = none required. */
  token: string;
}

/** The policy of a configuration (`allowedOrigins` is a comma-separated list). */
export function accessPolicy(allowedOrigins: string, token: string): AccessPolicy {
  const origins = new Set(allowedOrigins.split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean));
  return { origins, token };
}

/** Cookies of a `Cookie` header. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

function same(a: string | undefined, b: string): boolean {
  if (!a || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Why `req` may not come in (a wire error), or null. No `Origin` (curl, scripts) passes the origin check. */
export function refusal(req: IncomingMessage, policy: AccessPolicy, queryToken?: string): AppError | null {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    const own = [`http://${req.headers.host}`, `https://${req.headers.host}`];
    if (!own.includes(origin) && !policy.origins.has(origin)) {
      return new AppError('forbidden', `origin ${origin.slice(0, 100)} is not allowed; the server allows its own origin and --allowed-origins`, 403);
    }
  }
  if (policy.token) {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const cookie = parseCookies(req.headers.cookie)[TOKEN_COOKIE];
    if (!same(bearer, policy.token) && !same(cookie, policy.token) && !same(queryToken, policy.token)) {
      return new AppError('unauthorized', 'this server needs its access token: open the link with ?token=… once, or send "Authorization: Bearer …"', 401);
    }
  }
  return null;
}

/** The session id a request carries in its cookie, or undefined. */
export function sessionOf(req: IncomingMessage): string | undefined {
  const s = parseCookies(req.headers.cookie)[SESSION_COOKIE];
  return s && IdSchema.safeParse(s).success ? s : undefined;
}

/** A new session id. */
export const newSession = () => randomBytes(18).toString('base64url');

const cookie = (name: string, value: string) => `${name}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000`;

/**
 * Express middleware: refuse what `refusal` refuses (403/401 JSON through the error handler), keep a `?token=` in a
 * cookie, and give every client a session cookie; `res.locals.session` holds the session id.
 */
export function accessMiddleware(policy: AccessPolicy) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const queryToken = typeof req.query.token === 'string' ? req.query.token : undefined;
    const why = refusal(req, policy, queryToken);
    if (why) {
      next(why);
      return;
    }
    const set: string[] = [];
    if (policy.token && same(queryToken, policy.token)) set.push(cookie(TOKEN_COOKIE, policy.token));
    let session = sessionOf(req);
    if (!session) {
      session = newSession();
      set.push(cookie(SESSION_COOKIE, session));
    }
    if (set.length) res.append('Set-Cookie', set);
    res.locals.session = session;
    next();
  };
}
