import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RawFrame } from '../../tracker/tracker.js';
import { type Box, iou, rotateBoxBounds } from '../../tracker/geometry.js';
import { cloneFrame, drawBox, encodePng, openSequenceFrames, readFrame } from '../../data/frames.js';
import { OtbDataset } from '../../data/otb.js';
import { RotatedDataset, rotateFrame, rotateGroundTruth, rotOtbName, writeRotatedSequence, writeRotOtb } from '../../data/rotate.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OTB_MINI = path.resolve(REPO, '../shared/data/otb-mini');
const HAVE_MINI = fs.existsSync(path.join(OTB_MINI, 'Crossing'));
const ARTIFACTS = path.join(REPO, 'artifacts', 'rot-otb');

function needMini(t: TestContext): boolean {
  if (HAVE_MINI) return true;
  const why = `${OTB_MINI} is absent (shared test data): this test cannot run`;
  if (process.env.CI === 'true') assert.fail(`${why} — required under CI=true`);
  console.warn(`SKIPPED: ${why}`);
  t.skip(why);
  return false;
}

/** A black `w × h` frame with one white rectangle covering the pixels of `b` (integer box). */
function brightRect(w: number, h: number, b: Box): RawFrame {
  const data = new Uint8Array(w * h * 3);
  for (let y = b.y; y < b.y + b.height; y++) for (let x = b.x; x < b.x + b.width; x++) data.fill(255, (y * w + x) * 3, (y * w + x) * 3 + 3);
  return { data, width: w, height: h };
}

/** Bounding box (continuous: pixel i covers [i, i+1)) and centroid of the pixels brighter than 127. */
function brightExtent(f: RawFrame): { box: Box; cx: number; cy: number } {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, sx = 0, sy = 0, n = 0;
  for (let y = 0; y < f.height; y++) {
    for (let x = 0; x < f.width; x++) {
      if (f.data[(y * f.width + x) * 3] > 127) {
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
        sx += x + 0.5; sy += y + 0.5; n++;
      }
    }
  }
  return { box: { x: x0, y: y0, width: x1 + 1 - x0, height: y1 + 1 - y0 }, cx: sx / n, cy: sy / n };
}

test('rotation sense: +90° moves a rectangle right of the centre to above it, where rotateBoxBounds says', () => {
  const b = { x: 50, y: 25, width: 10, height: 10 };
  const out = rotateFrame(brightRect(80, 60, b), 90, { fill: [0, 0, 0] });
  // Hand-computed about (40, 30): corner (50, 25) → (35, 20), corner (60, 35) → (45, 10): box x 35..45, y 10..20.
  const expected = { x: 35, y: 10, width: 10, height: 10 };
  const r = rotateBoxBounds(b, 90, 40, 30);
  for (const k of ['x', 'y', 'width', 'height'] as const) assert.ok(Math.abs(r[k] - expected[k]) < 1e-9, `${k}`);
  const e = brightExtent(out);
  assert.deepEqual(e.box, expected);
  assert.ok(e.cy < 30, 'the target went up (counter-clockwise on screen)');
  // And −90° sends it below the centre.
  assert.ok(brightExtent(rotateFrame(brightRect(80, 60, b), -90, { fill: [0, 0, 0] })).cy > 30);
});

test('bright pixels after an arbitrary rotation fill the rotateBoxBounds box (30°, off-centre pivot)', () => {
  const b = { x: 20, y: 30, width: 24, height: 12 };
  for (const [deg, cx, cy] of [[30, 40, 40], [-47, 55.5, 20], [133, 32, 32]] as const) {
    const out = rotateFrame(brightRect(96, 80, b), deg, { cx, cy, fill: [0, 0, 0] });
    const gt = rotateBoxBounds(b, deg, cx, cy);
    const e = brightExtent(out);
    // Bilinear edges may add or lose up to a pixel on each side.
    for (const [a, c] of [[e.box.x, gt.x], [e.box.y, gt.y], [e.box.x + e.box.width, gt.x + gt.width], [e.box.y + e.box.height, gt.y + gt.height]]) {
      assert.ok(Math.abs(a - c) <= 1.01, `${deg}°: extent ${JSON.stringify(e.box)} vs ${JSON.stringify(gt)}`);
    }
    // The rotated rectangle's centre is the box centre (the centroid of a rectangle is its centre).
    assert.ok(Math.abs(e.cx - (gt.x + gt.width / 2)) < 0.3 && Math.abs(e.cy - (gt.y + gt.height / 2)) < 0.3, `${deg}° centroid`);
    assert.ok(iou(e.box, gt) > 0.9);
  }
});

test('0° is an exact copy; 360° ≈ identity; the fill defaults to the mean colour', () => {
  const f: RawFrame = { data: new Uint8Array(12 * 9 * 3).map((_, i) => (i * 37) % 256), width: 12, height: 9 };
  assert.deepEqual(rotateFrame(f, 0).data, f.data);
  const full = rotateFrame(f, 360, { cx: 6.5, cy: 4 });
  let maxDiff = 0;
  for (let i = 0; i < f.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(full.data[i] - f.data[i]));
  assert.ok(maxDiff <= 1, `max diff ${maxDiff}`);
  const flat: RawFrame = { data: new Uint8Array(10 * 10 * 3), width: 10, height: 10 };
  for (let i = 0; i < 100; i++) flat.data.set(i < 50 ? [200, 100, 0] : [100, 50, 0], i * 3);
  const r = rotateFrame(flat, 45);
  // Corner (0, 0) of a square rotated by 45° is uncovered: mean colour (150, 75, 0).
  assert.deepEqual([...r.data.slice(0, 3)], [150, 75, 0]);
});

test('box rules: bounds = rotated corners; area-preserving keeps centre, aspect of the bounds and the original area', () => {
  const b = { x: 10, y: 20, width: 30, height: 10 };
  const bounds = rotateGroundTruth(b, 45, 50, 50, 'bounds');
  // Hand: a 30×10 box rotated by 45° has bounds (30+10)/√2 = 28.284 on both sides.
  assert.ok(Math.abs(bounds.width - 40 / Math.SQRT2) < 1e-9 && Math.abs(bounds.height - 40 / Math.SQRT2) < 1e-9);
  const area = rotateGroundTruth(b, 45, 50, 50, 'area-preserving');
  assert.ok(Math.abs(area.width * area.height - 300) < 1e-9);
  assert.ok(Math.abs(area.width - Math.sqrt(300)) < 1e-9);
  assert.ok(Math.abs(area.x + area.width / 2 - (bounds.x + bounds.width / 2)) < 1e-9);
  assert.ok(Math.abs(area.y + area.height / 2 - (bounds.y + bounds.height / 2)) < 1e-9);
  assert.deepEqual(rotateGroundTruth(b, 0, 50, 50, 'area-preserving'), b);
});

function readRows(file: string): number[][] {
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
}

test('Rot-OTB from Crossing at Δ = 1°/frame: box rule, frames, artifacts (frames 1, 60, 120)', async (t) => {
  if (!needMini(t)) return;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rot-otb-'));
  try {
    const src = new OtbDataset(OTB_MINI);
    const seq = await src.sequence('Crossing');
    const written = await writeRotatedSequence(seq, path.join(out, 'Crossing'), { delta: 1 });
    assert.equal(written.frames.length, 120);
    const rows = readRows(path.join(out, 'Crossing', 'groundtruth_rect.txt'));
    assert.equal(rows.length, 120);
    // Frame t is rotated by t degrees about the centre (180, 120) of the 360×240 frames.
    for (let t = 0; t < 120; t++) {
      const want = rotateBoxBounds(seq.groundTruth[t], t, 180, 120);
      const got = { x: rows[t][0] - 1, y: rows[t][1] - 1, width: rows[t][2], height: rows[t][3] };
      for (const k of ['x', 'y', 'width', 'height'] as const) assert.ok(Math.abs(got[k] - want[k]) < 1e-3, `frame ${t + 1} ${k}`);
    }
    assert.deepEqual(rows[0], [205, 151, 17, 50], 'frame 1 is not rotated');
    // Frame 91 (t = 90): a w×h box becomes h×w.
    assert.ok(Math.abs(rows[90][2] - seq.groundTruth[90].height) < 1e-3 && Math.abs(rows[90][3] - seq.groundTruth[90].width) < 1e-3);

    const rotDs = new OtbDataset(out, { name: 'RotOTB-d1' });
    const back = await rotDs.sequence('Crossing');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    for (const t of [0, 59, 119]) {
      const f = await readFrame(back.frames[t]);
      assert.equal(f.width, 360);
      assert.equal(f.height, 240);
      // The written frame is the rotation of the source frame (up to JPEG re-encoding).
      const ref = rotateFrame(await readFrame(seq.frames[t]), t);
      let sad = 0;
      for (let i = 0; i < f.data.length; i++) sad += Math.abs(f.data[i] - ref.data[i]);
      assert.ok(sad / f.data.length < 4, `frame ${t + 1}: mean abs diff ${sad / f.data.length}`);
      const art = drawBox(cloneFrame(f), back.groundTruth[t], [255, 0, 0], 2);
      drawBox(art, rotateGroundTruth(seq.groundTruth[t], t, 180, 120, 'area-preserving'), [0, 255, 0], 1);
      await encodePng(art, path.join(ARTIFACTS, `Crossing-d1-frame${String(t + 1).padStart(3, '0')}.png`));
    }
    // Frame 120 (t = 119) is rotated 119°: the corners of the image are filled, so the mean colour shows there.
    const last = await readFrame(back.frames[119]);
    const src0 = await readFrame(seq.frames[119]);
    let mr = 0, mg = 0, mb = 0;
    for (let i = 0; i < src0.data.length; i += 3) { mr += src0.data[i]; mg += src0.data[i + 1]; mb += src0.data[i + 2]; }
    const n = src0.data.length / 3;
    assert.ok(Math.abs(last.data[0] - mr / n) < 6 && Math.abs(last.data[1] - mg / n) < 6 && Math.abs(last.data[2] - mb / n) < 6);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('RotatedDataset rotates on the fly like the written dataset; area-preserving variant keeps the area', async (t) => {
  if (!needMini(t)) return;
  const src = new OtbDataset(OTB_MINI);
  const rot = new RotatedDataset(src, { delta: 2 });
  assert.equal(rot.name, 'RotOTB-d2');
  assert.equal(rotOtbName({ delta: 0.5, center: 'image', fill: 'mean', boxRule: 'bounds' }), 'RotOTB-d0.5');
  assert.deepEqual(rot.names(), src.names());
  const seq = await src.sequence('Crossing');
  const r = await rot.sequence('Crossing');
  assert.equal(r.frames.length, 120);
  assert.deepEqual(r.groundTruth[10], rotateBoxBounds(seq.groundTruth[10], 20, 180, 120));
  const f = await r.loadFrame(10);
  assert.deepEqual(f.data, rotateFrame(await readFrame(seq.frames[10]), 20).data);
  let k = 0;
  for await (const g of openSequenceFrames(r, { prefetch: 2 })) { if (k++ === 10) { assert.deepEqual(g.data, f.data); break; } }
  // Decoding its virtual frame paths directly fails loudly instead of giving unrotated frames.
  await assert.rejects(readFrame(r.frames[3]), /openSequenceFrames/);
  const area = await new RotatedDataset(src, { delta: 2, boxRule: 'area-preserving' }).sequence('Crossing');
  for (const t2 of [0, 30, 77]) {
    const a = area.groundTruth[t2], o = seq.groundTruth[t2];
    assert.ok(Math.abs(a.width * a.height - o.width * o.height) < 1e-6, `frame ${t2 + 1}`);
  }
});

test('writeRotOtb writes a Δ dataset that the OTB reader reads back with the same names', async (t) => {
  if (!needMini(t)) return;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rot-otb-'));
  try {
    const src = new OtbDataset(OTB_MINI);
    const res = await writeRotOtb(src, path.join(out, 'RotOTB-d0'), { delta: 0 }, { names: ['Crossing'] });
    assert.equal(res.name, 'RotOTB-d0');
    assert.deepEqual(res.written, ['Crossing']);
    const back = await new OtbDataset(path.join(out, 'RotOTB-d0')).sequence('Crossing');
    assert.deepEqual(back.groundTruth, (await src.sequence('Crossing')).groundTruth, 'Δ = 0 leaves the ground truth unchanged');
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
