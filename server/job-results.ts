/**
 * The files of a finished job in its folder: OTB boxes (1-based), everything as JSON (with the warning, if any), and
 * the annotated mp4 (its failure is reported in the results, not fatal). Links carry the job's share key.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatBoxes } from '../eval/results.js';
import type { Box } from '../tracker/geometry.js';
import type { Logger } from './log.js';
import type { JobResults } from './protocol.js';
import { annotateVideo } from './video.js';

/** Names of a finished job's files, as served by `GET /api/jobs/:id/:file`. */
export const RESULT_FILES = { video: 'annotated.mp4', otb: 'boxes.txt', json: 'result.json' } as const;

/** What the result files describe. */
export interface ResultSource {
  id: string;
  key: string;
  dir: string;
  model: string;
  box: Box;
  fps: number;
  warning?: string;
  video: { name: string; path: string; width: number; height: number; fps: number };
}

/** Write the result files of `job` into `job.dir`; a cancelled `signal` stops the mp4 encoding (and throws). */
export async function writeResults(job: ResultSource, track: { boxes: Box[]; scores: number[]; times: number[] }, signal: AbortSignal, log: Logger): Promise<JobResults> {
  const { boxes, scores, times } = track;
  await mkdir(job.dir, { recursive: true });
  const link = (file: string) => `/api/jobs/${job.id}/${file}?key=${job.key}`;
  await writeFile(path.join(job.dir, RESULT_FILES.otb), formatBoxes(boxes));
  const json = {
    job: job.id,
    model: job.model,
    video: { name: job.video.name, width: job.video.width, height: job.video.height, fps: job.video.fps },
    boxConvention: '0-based left-top x, y, width, height in pixels (the OTB file is 1-based)',
    initialBox: job.box,
    fps: job.fps,
    ...(job.warning ? { warning: job.warning } : {}),
    frames: boxes.map((b, i) => ({ frame: i, box: b, score: scores[i], seconds: times[i] })),
  };
  await writeFile(path.join(job.dir, RESULT_FILES.json), JSON.stringify(json, null, 1) + '\n');
  const results: JobResults = { otb: link(RESULT_FILES.otb), json: link(RESULT_FILES.json) };
  try {
    await annotateVideo(job.video.path, path.join(job.dir, RESULT_FILES.video), boxes, {
      labels: scores.map((s) => s.toFixed(2)),
      signal,
      fps: job.video.fps > 0 ? job.video.fps : 25,
    });
    results.video = link(RESULT_FILES.video);
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    results.annotateError = `the annotated video could not be written: ${String((e as Error).message).split('\n')[0].slice(0, 300)}`;
    log.warn('job.annotate_failed', { job: job.id, error: String(e).slice(0, 500) });
  }
  return results;
}
