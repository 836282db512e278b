/**
 * `npm run check:upload -- --seq <OTB sequence folder> [--frames 200] [--model ien-siamfc] [--out runs/check-upload]`:
 * what a user sees when uploading a real video. The sequence's frames become an H.264 mp4; the real server (shipped
 * models, default engine) takes the upload, tracks it from the ground-truth first box with boxes streamed over
 * socket.io, and serves the annotated mp4; a few of its frames are extracted as PNGs to look at, and the streamed
 * boxes are scored against the ground truth (IoU per checked frame, success AUC over all).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { OtbDataset } from '../data/otb.js';
import { resolveFfmpeg } from '../data/video.js';
import { iou, type Box } from '../tracker/geometry.js';
import { evaluateSequence } from '../eval/metrics.js';
import { ask, connect, startServer, uploadFile } from '../test/server/helpers.js';
import { SHIPPED_MODELS_DIR } from '../tracker/node/load-tracker.js';

const { values } = parseArgs({
  options: {
    seq: { type: 'string' }, frames: { type: 'string', default: '200' }, model: { type: 'string' },
    out: { type: 'string', default: 'runs/check-upload' }, help: { type: 'boolean' },
  },
});
if (values.help || !values.seq) {
  console.log('Usage: npm run check:upload -- --seq ../shared/data/otb-real/Girl [--frames 200] [--model ien-siamfc] [--out runs/check-upload]');
  process.exit(values.help ? 0 : 2);
}
const seqDir = path.resolve(values.seq);
const ds = new OtbDataset(seqDir);
const seq = await ds.sequence(ds.names()[0]);
const n = Math.min(Number(values.frames), seq.frames.length);
const out = path.resolve(values.out, seq.name);
await mkdir(out, { recursive: true });
const ffmpeg = (await resolveFfmpeg()).path;
const mp4 = path.join(out, `${seq.name}.mp4`);
// frames → mp4 at 25 fps, even dimensions for yuv420p
execFileSync(ffmpeg, ['-y', '-loglevel', 'error', '-framerate', '25', '-start_number', path.basename(seq.frames[0]).replace(/\D/g, '').replace(/^0+/, '') || '1',
  '-i', path.join(path.dirname(seq.frames[0]), `%0${path.basename(seq.frames[0]).replace(/\.\w+$/, '').length}d${path.extname(seq.frames[0])}`),
  '-frames:v', String(n), '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', mp4]);
const srv = await startServer({ modelDir: SHIPPED_MODELS_DIR });
try {
  const up = await uploadFile(srv.url, mp4);
  if (up.status !== 201) throw new Error(`upload: ${up.status} ${JSON.stringify(up.body)}`);
  const s = await connect(srv.url);
  const boxes: Box[] = [];
  s.on('job:frame', (f: { frame: number; box: Box }) => { boxes[f.frame] = f.box; });
  const end = new Promise<{ state: string; frames: number; results: { video: string } }>((resolve) => s.on('job:end', resolve));
  const ack = await ask(s, 'job:start', { uploadId: up.body.data.id, box: seq.groundTruth[0], ...(values.model ? { model: values.model } : {}) });
  if (!ack.ok) throw new Error(`job:start: ${JSON.stringify(ack.error)}`);
  const e = await end;
  s.disconnect();
  const video = path.join(out, `${seq.name}-annotated.mp4`);
  await writeFile(video, Buffer.from(await (await fetch(srv.url + e.results.video)).arrayBuffer()));
  const checks = [Math.floor(n / 4), Math.floor(n / 2), Math.floor((3 * n) / 4), n - 1];
  for (const k of checks) {
    execFileSync(ffmpeg, ['-y', '-loglevel', 'error', '-i', video, '-vf', `select=eq(n\\,${k})`, '-frames:v', '1', path.join(out, `frame-${k + 1}.png`)]);
  }
  const score = evaluateSequence({ name: seq.name, boxes: boxes.slice(0, n), groundTruth: seq.groundTruth.slice(0, n) });
  console.log(`${seq.name}: job ${e.state}, ${e.frames} frames, model ${ack.data.model ?? values.model ?? 'default'}; success AUC ${score.successAuc.toFixed(3)}, precision@20 ${score.precision.toFixed(3)}`);
  for (const k of checks) console.log(`  frame ${k + 1}: IoU ${iou(boxes[k], seq.groundTruth[k]).toFixed(3)} → ${path.join(out, `frame-${k + 1}.png`)}`);
} finally {
  await srv.close();
}
