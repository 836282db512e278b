/**
 * Video I/O throughput: decode (ffmpeg → raw RGB frames in Node) and encode (raw RGB → libx264 mp4) of a
 * 640×360 H.264 testsrc2 video, 300 frames. Prints a table and writes artifacts/bench-video.json.
 *
 *   node --import tsx scripts/bench-video.ts [--reps 3] [--frames 300]
 *
 * Each case runs `reps` times; the table shows the median and the best frames/s (the machine is shared and noisy).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeVideo, encodeVideo, resolveFfmpeg, probeVideo, type DecodeOptions } from '../data/video.js';
import { runToEnd } from '../data/video/process.js';
import type { RawFrame } from '../tracker/tracker.js';

const { values } = parseArgs({
  options: { reps: { type: 'string', default: '3' }, frames: { type: 'string', default: '300' } },
});
const reps = Number(values.reps);
const nFrames = Number(values.frames);
if (!(Number.isInteger(reps) && reps > 0) || !(Number.isInteger(nFrames) && nFrames > 0)) {
  throw new Error(`--reps and --frames must be positive integers, got ${values.reps}, ${values.frames}`);
}
const WIDTH = 640;
const HEIGHT = 360;
const FPS = 30;

interface CaseResult {
  name: string;
  frames: number;
  /** Wall seconds of each run. */
  seconds: number[];
  medianFps: number;
  bestFps: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function timeIt(name: string, run: () => Promise<number>): Promise<CaseResult> {
  const seconds: number[] = [];
  let frames = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    frames = await run();
    seconds.push((performance.now() - t0) / 1000);
  }
  return { name, frames, seconds, medianFps: frames / median(seconds), bestFps: frames / Math.min(...seconds) };
}

async function countDecoded(path: string, opts: DecodeOptions = {}): Promise<number> {
  let n = 0;
  for await (const _ of decodeVideo(path, opts)) n++;
  return n;
}

const dir = await mkdtemp(join(tmpdir(), 'rot-track-bench-video-'));
try {
  const ffmpeg = await resolveFfmpeg();
  const src = join(dir, 'testsrc2.mp4');
  const made = await runToEnd(ffmpeg.path, [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${WIDTH}x${HEIGHT}:rate=${FPS}`, '-frames:v', String(nFrames),
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', src,
  ]);
  if (made.exit.code !== 0) throw new Error(`could not make the test video: ${made.stderr}`);
  const info = await probeVideo(src);

  // Encode input: the first 100 decoded frames, cycled, so frame production costs nothing measurable.
  const pool: RawFrame[] = [];
  for await (const fr of decodeVideo(src, { maxFrames: Math.min(100, nFrames) })) pool.push(fr);
  function* cycled(): Generator<RawFrame> {
    for (let i = 0; i < nFrames; i++) yield pool[i % pool.length];
  }

  const results: CaseResult[] = [];
  results.push(await timeIt(`decode ${WIDTH}×${HEIGHT} → RGB`, () => countDecoded(src)));
  results.push(await timeIt('decode + scale to maxSide 320', () => countDecoded(src, { scale: { maxSide: 320 } })));
  results.push(
    await timeIt(`encode RGB → H.264 ${WIDTH}×${HEIGHT} (veryfast, crf 23)`, async () => {
      const r = await encodeVideo(join(dir, 'out.mp4'), cycled(), { fps: FPS });
      return r.frames;
    }),
  );

  const nameW = Math.max(...results.map((r) => r.name.length));
  console.log(`\nffmpeg: ${ffmpeg.describe}`);
  console.log(`video: ${info.width}×${info.height}, ${info.frames} frames, ${info.codec}; ${reps} runs per case; ${cpus().length} CPUs\n`);
  console.log(`${'case'.padEnd(nameW)} | frames | median frames/s | best frames/s | runs (s)`);
  console.log(`${'-'.repeat(nameW)}-|--------|-----------------|---------------|---------`);
  for (const r of results) {
    console.log(
      `${r.name.padEnd(nameW)} | ${String(r.frames).padStart(6)} | ${r.medianFps.toFixed(1).padStart(15)} | ` +
        `${r.bestFps.toFixed(1).padStart(13)} | ${r.seconds.map((s) => s.toFixed(2)).join(', ')}`,
    );
  }

  await mkdir('artifacts', { recursive: true });
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    ffmpeg: { path: ffmpeg.path, source: ffmpeg.source, version: ffmpeg.version },
    video: { width: info.width, height: info.height, frames: info.frames, fps: info.fps, codec: info.codec, source: 'lavfi testsrc2' },
    reps,
    results,
  };
  await writeFile(join('artifacts', 'bench-video.json'), JSON.stringify(report, null, 2) + '\n');
  console.log('\nwrote artifacts/bench-video.json');
} finally {
  await rm(dir, { recursive: true, force: true });
}
