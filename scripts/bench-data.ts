/**
 * Benchmark of the data path at 640×360: JPEG decode with sharp (single frames and through FrameStream with
 * read-ahead), and bilinear rotation in pure TypeScript (data/rotate.ts). Prints one line per measurement.
 *
 *   node --import tsx scripts/bench-data.ts [--frames 60]
 *
 * The test image is a real otb-mini frame scaled to 640×360 when ../shared/data/otb-mini is present, otherwise a
 * synthetic frame (smooth texture + noise, so that JPEG is not trivially compressible).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { FrameStream, decodeImage, encodeJpeg, readFrame, readFrameResized } from '../data/frames.js';
import { rotateFrame } from '../data/rotate.js';
import type { RawFrame } from '../tracker/tracker.js';

const W = 640, H = 360;
const { values } = parseArgs({ options: { frames: { type: 'string', default: '60' } }, strict: true });
const N = Number(values.frames);
if (!Number.isInteger(N) || N < 1) throw new Error(`--frames must be a positive integer, got ${values.frames}`);

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const real = path.resolve(repo, '../shared/data/otb-mini/Crossing/img/0001.jpg');

function syntheticFrame(): RawFrame {
  const data = new Uint8Array(W * H * 3);
  let s = 12345;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const n = (s >>> 24) & 31;
      const o = (y * W + x) * 3;
      data[o] = (128 + 100 * Math.sin(x / 17) + n) & 255;
      data[o + 1] = (128 + 100 * Math.cos(y / 11) + n) & 255;
      data[o + 2] = ((x + y) / 4 + n) & 255;
    }
  }
  return { data, width: W, height: H };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-data-'));
try {
  const source = fs.existsSync(real) ? await readFrameResized(real, W, H) : syntheticFrame();
  const file = path.join(dir, 'frame.jpg');
  await encodeJpeg(source, file, 90);
  const bytes = fs.readFileSync(file);
  console.log(`image: ${fs.existsSync(real) ? 'otb-mini Crossing/0001.jpg' : 'synthetic'} scaled to ${W}×${H}, JPEG q90 ${bytes.length} bytes, ${N} frames per measurement`);

  await decodeImage(bytes); // warm-up (libvips start-up)
  let t0 = performance.now();
  for (let i = 0; i < N; i++) await decodeImage(bytes);
  let s = (performance.now() - t0) / 1000;
  console.log(`jpeg decode (sharp, from memory, sequential): ${(N / s).toFixed(1)} frames/s (${((s / N) * 1000).toFixed(2)} ms/frame)`);

  const paths = Array.from({ length: N }, (_, i) => path.join(dir, `${String(i + 1).padStart(4, '0')}.jpg`));
  for (const p of paths) fs.copyFileSync(file, p);
  t0 = performance.now();
  for (const p of paths) await readFrame(p);
  s = (performance.now() - t0) / 1000;
  console.log(`jpeg read+decode (readFrame, sequential): ${(N / s).toFixed(1)} frames/s`);
  t0 = performance.now();
  let k = 0;
  for await (const _ of new FrameStream(paths, { prefetch: 4 })) { void _; k++; }
  s = (performance.now() - t0) / 1000;
  console.log(`jpeg read+decode (FrameStream, prefetch 4): ${(k / s).toFixed(1)} frames/s`);

  rotateFrame(source, 1); // warm-up (JIT)
  t0 = performance.now();
  for (let i = 0; i < N; i++) rotateFrame(source, 0.5 * (i + 1));
  s = (performance.now() - t0) / 1000;
  console.log(`rotation (bilinear, mean fill, pure TS): ${(N / s).toFixed(1)} frames/s (${((s / N) * 1000).toFixed(2)} ms/frame)`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
