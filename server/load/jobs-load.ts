/**
 * The jobs part of the load script (server/load-webcam.ts --mode jobs): `clients` socket.io clients spread round-robin
 * over the server URLs, each starting one tracking job on an upload and following it to its end. Per box: latency =
 * arrival − the time the tracking process made it (`JobFrame.t`; one machine, one clock). Per client: whether it got
 * every box of its job in order, once.
 */
import { io, type Socket } from 'socket.io-client';
import { wallClockMs } from '../clock.js';

export interface JobsLoadResult {
  clients: number;
  jobsDone: number;
  jobsFailed: number;
  /** Clients that missed, repeated or reordered a box of their job. */
  outOfOrder: number;
  /** The error of each failed job (distinct messages). */
  errors: string[];
  boxes: number;
  latencies: number[];
  seconds: number;
}

interface Frame {
  jobId: string;
  frame: number;
  t?: number;
  arrived?: number;
}

async function connect(url: string): Promise<Socket> {
  const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', reject);
  });
  return s;
}

/** Run the load: one job per client on `uploadId`, tracking `box`; resolves when every job has ended. */
export async function runJobsLoad(urls: string[], clients: number, uploadId: string, box: { x: number; y: number; width: number; height: number }, timeoutMs: number): Promise<JobsLoadResult> {
  const sockets = await Promise.all(Array.from({ length: clients }, (_, i) => connect(urls[i % urls.length])));
  const latencies: number[] = [];
  let outOfOrder = 0;
  let done = 0;
  let failed = 0;
  const errors = new Set<string>();
  const t0 = performance.now();
  try {
    await Promise.all(sockets.map(async (s, i) => {
      const frames: number[] = [];
      let jobId = '';
      // boxes that arrive between the server's join of the job's room and the ack of job:start
      const early: Frame[] = [];
      const ended = new Promise<{ state: string; frames: number; error?: { message: string } }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`client ${i}: no end in ${timeoutMs / 1000} s`)), timeoutMs);
        s.on('job:end', (e: { jobId: string; state: string; frames: number; error?: { message: string } }) => {
          if (e.jobId !== jobId) return;
          clearTimeout(timer);
          resolve(e);
        });
      });
      const take = (f: Frame, arrived: number) => {
        if (f.jobId !== jobId) return;
        frames.push(f.frame);
        if (typeof f.t === 'number') latencies.push(arrived - f.t);
      };
      const onFrame = (f: Frame) => (jobId ? take(f, wallClockMs()) : early.push({ ...f, arrived: wallClockMs() }));
      s.on('job:frame', onFrame);
      const r = await s.timeout(30_000).emitWithAck('job:start', { uploadId, box });
      if (!r.ok) throw new Error(`client ${i}: job:start refused: ${JSON.stringify(r.error)}`);
      jobId = r.data.jobId;
      for (const f of early) take(f, f.arrived!);
      const end = await ended;
      if (end.state === 'done') done++;
      else {
        failed++;
        errors.add(`${end.state}: ${end.error?.message ?? 'no reason given'}`);
      }
      if (frames.some((f, k) => f !== k) || (end.state === 'done' && frames.length !== end.frames)) outOfOrder++;
    }));
  } finally {
    for (const s of sockets) s.disconnect();
  }
  return { clients, jobsDone: done, jobsFailed: failed, outOfOrder, errors: [...errors], boxes: latencies.length, latencies, seconds: (performance.now() - t0) / 1000 };
}
