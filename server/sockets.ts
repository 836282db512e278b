/**
 * The socket.io side: at most `maxPerIp` sockets per client IP; every event is rate-limited per socket, its payload
 * validated with its zod schema, and answered through its ack as `{ok: true, data}` or `{ok: false, error}`. A
 * socket acts for its session (the session cookie, else `auth.session`, else a session of its own): jobs it starts
 * stream to the room `job:<id>`, evaluation events to `session:<id>`; its webcam session lives and dies with it.
 */
import type { Server, Socket } from 'socket.io';
import { newSession, sessionOf } from './access.js';
import type { ZodType } from 'zod';
import { describeZodError, toWireError } from './errors.js';
import type { EvalService } from './eval-jobs.js';
import type { JobService } from './job-service.js';
import type { Logger } from './log.js';
import type { ModelRegistry } from './models.js';
import {
  type Ack,
  CamFrameSchema,
  CamStartSchema,
  type ClientToServerEvents,
  EvalRefSchema,
  EvalStartSchema,
  JobRefSchema,
  JobStartSchema,
  type ServerToClientEvents,
} from './protocol.js';
import { IdSchema } from './protocol.js';
import { PerKeyCounter } from './limits.js';
import { TokenBuckets } from './rate-limit.js';
import { CamSession } from './webcam.js';

/** What the server keeps on each socket. */
export interface SocketData {
  session: string;
}

/** The typed socket.io server. */
export type IoServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type IoSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** Room of a job's watchers. */
export const jobRoom = (id: string) => `job:${id}`;
/** Room of every socket of a session. */
export const sessionRoom = (id: string) => `session:${id}`;

/** What the socket handlers need. */
export interface SocketDeps {
  jobs: JobService;
  evals: EvalService;
  models: ModelRegistry;
  log: Logger;
  rate: { perSec: number; burst: number };
  maxCamFrameBytes: number;
  maxCamFramePixels: number;
  /** Sockets open at once per client IP. */
  maxPerIp: number;
}

/** Attach the handlers; returns a function that closes every webcam session. */
export function attachSockets(io: IoServer, deps: SocketDeps): { sessions: () => number; closeAll: () => void } {
  const buckets = new TokenBuckets(deps.rate.perSec, deps.rate.burst);
  const sessions = new Map<string, CamSession>();
  const perIp = new PerKeyCounter(deps.maxPerIp);

  io.use((socket, next) => {
    const ip = socket.handshake.address;
    if (!perIp.acquire(ip)) {
      deps.log.warn('socket.refused', { ip, reason: 'per_ip_limit' });
      next(new Error(`too many connections from ${ip}: at most ${deps.maxPerIp} (--max-sockets-per-ip)`));
      return;
    }
    socket.once('disconnect', () => perIp.release(ip));
    const claimed = (socket.handshake.auth as { session?: unknown } | undefined)?.session;
    socket.data.session = sessionOf(socket.request) ?? (IdSchema.safeParse(claimed).success ? (claimed as string) : `socket-${newSession()}`);
    next();
  });

  io.on('connection', (socket: IoSocket) => {
    deps.log.info('socket.connect', { socket: socket.id, ip: socket.handshake.address });
    const me = socket.data.session;
    socket.join(sessionRoom(me));

    /** Register `event` with validation, rate limiting and error-to-ack mapping. */
    const on = <P, T>(event: keyof ClientToServerEvents, schema: ZodType<P, any, any>, handler: (p: P) => T | Promise<T>) => {
      (socket as unknown as Socket).on(event, async (payload: unknown, ack: unknown) => {
        if (typeof ack !== 'function') {
          deps.log.warn('socket.no_ack', { socket: socket.id, event });
          return;
        }
        const reply = (r: Ack<T>) => {
          try {
            (ack as (r: Ack<T>) => void)(r);
          } catch {
            // the client went away
          }
        };
        if (!buckets.take(socket.id)) {
          reply({ ok: false, error: { code: 'rate_limited', message: `too many messages: at most ${deps.rate.perSec}/s (burst ${deps.rate.burst})` } });
          return;
        }
        const parsed = schema.safeParse(payload ?? {});
        if (!parsed.success) {
          reply({ ok: false, error: { code: 'invalid_payload', message: describeZodError(parsed.error, `${event} payload`) } });
          return;
        }
        try {
          reply({ ok: true, data: await handler(parsed.data) });
        } catch (e) {
          const w = toWireError(e);
          if (!w.expected) deps.log.error('socket.error', { socket: socket.id, event, error: String((e as Error)?.stack ?? e) });
          reply({ ok: false, error: w.error });
        }
      });
    };

    on('job:start', JobStartSchema, async (p) => {
      const info = await deps.jobs.start(p.uploadId, p.box, p.model, socket.id, me);
      socket.join(jobRoom(info.jobId));
      return info;
    });
    on('job:subscribe', JobRefSchema, async (p) => {
      const info = deps.jobs.watch(await deps.jobs.access(p.jobId, me, p.key), socket.id);
      socket.join(jobRoom(p.jobId));
      return info;
    });
    on('job:cancel', JobRefSchema, (p) => deps.jobs.cancel(p.jobId, me));

    const session = () => {
      let s = sessions.get(socket.id);
      if (!s) {
        s = new CamSession(deps.models, deps.maxCamFrameBytes, deps.maxCamFramePixels);
        sessions.set(socket.id, s);
      }
      return s;
    };
    on('cam:start', CamStartSchema, (p) => ({ model: session().setModel(p.model) }));
    on('cam:frame', CamFrameSchema, (p) => session().frame(p));
    on('cam:stop', CamStartSchema.pick({}), () => {
      const s = sessions.get(socket.id);
      s?.reset();
      return { stopped: s !== undefined };
    });

    on('eval:start', EvalStartSchema, (p) => deps.evals.start(p, me));
    on('eval:cancel', EvalRefSchema, (p) => deps.evals.cancel(p.runId, me));

    socket.on('disconnect', (reason) => {
      deps.jobs.unwatchAll(socket.id);
      sessions.get(socket.id)?.close();
      sessions.delete(socket.id);
      buckets.delete(socket.id);
      deps.log.info('socket.disconnect', { socket: socket.id, reason });
    });
    socket.on('error', (err) => deps.log.warn('socket.error', { socket: socket.id, error: String(err) }));
  });

  return {
    sessions: () => sessions.size,
    closeAll: () => {
      for (const s of sessions.values()) s.close();
      sessions.clear();
    },
  };
}
