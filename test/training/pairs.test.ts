import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Box } from '../../tracker/geometry.js';
import type { RawFrame } from '../../tracker/tracker.js';
import type { Sequence, SequenceDataset } from '../../data/dataset.js';
import type { FrameSourceSequence } from '../../data/frames.js';
import { alexnetSpec } from '../../tracker/backbone-spec.js';
import { parseTrainConfig, tinySpec } from '../../training/config.js';
import { trainingGeometry } from '../../training/labels.js';
import {
  type PairPlan, type SamplingOptions, type TrainingSequence, planBatch, prepareSequences, samplePair, stepsPerEpoch, validFrames,
} from '../../training/pairs.js';
import { cropGrid, sampleCrop } from '../../training/augment.js';
import { BatchProducer } from '../../training/batches.js';
import { Rng } from '../../training/rng.js';

const box = (x: number, y: number, width: number, height: number): Box => ({ x, y, width, height });
const seqOf = (boxes: Box[], extra: Partial<Sequence> = {}): Sequence => ({
  name: 's', frames: boxes.map((_, i) => `f${i}.jpg`), groundTruth: boxes, meta: {}, ...extra,
});

test('validity filter: size, fraction-of-image, aspect, cover and absence rules of siamfc-pytorch', () => {
  const ok = box(10, 10, 40, 30);
  const seq = seqOf([
    ok, // 0 valid
    box(0, 0, 19, 30), // 1 side < 20
    box(0, 0, 101, 30), // 2 width > 50 % of 200
    box(0, 0, 90, 21), // 3 aspect 4.29 > 4
    box(0, 0, 21, 90), // 4 height 90 % of 100 > 50 % (aspect 0.23 too)
    box(0, 0, 30, 25), // 5 valid
    box(0, 0, NaN, 25), // 6 not finite
  ]);
  assert.deepEqual(validFrames(seq, 200, 100), [0, 5]);
  // sides above 500 px and below 1 % of the image
  const big = seqOf([box(0, 0, 501, 400), box(0, 0, 400, 400), box(0, 0, 25, 25)]);
  assert.deepEqual(validFrames(big, 3000, 3000), [1]);
  // cover: > max(1, 0.3 · max cover) = 2.4 → levels 3..8 pass; absence drops a frame
  const boxes = new Array(6).fill(ok);
  const covered = seqOf(boxes, { cover: [8, 2, 3, 1, 0, 8], absence: [false, false, false, false, false, true] });
  assert.deepEqual(validFrames(covered, 200, 100), [0, 2]);
  // low maximum cover: the threshold is at least 1 → cover must be ≥ 2
  assert.deepEqual(validFrames(seqOf(boxes.slice(0, 3), { cover: [1, 2, 3] }), 200, 100), [1, 2]);
});

test('samplePair: exemplar ≤ search, both valid, gap < maxGap; no pair possible → one frame twice', () => {
  const valid = [0, 50, 120, 130, 300, 301];
  const rng = new Rng(3);
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const [z, x] = samplePair(valid, 100, rng);
    assert.ok(valid.includes(z) && valid.includes(x));
    assert.ok(z <= x && x - z < 100, `${z},${x}`);
    seen.add(`${z},${x}`);
  }
  // every admissible distinct pair shows up: (0,50) (50,120) (120,130) (300,301)
  for (const p of ['0,50', '50,120', '120,130', '300,301']) assert.ok(seen.has(p), p);
  assert.ok(!seen.has('0,120') && !seen.has('130,300'));
  const [a, b] = samplePair([0, 150], 100, new Rng(1));
  assert.equal(a, b, 'two frames 150 apart: the gap rule leaves only a frame with itself');
  assert.deepEqual(samplePair([7], 100, new Rng(1)), [7, 7]);
});

function frameSource(name: string, boxes: Box[], w = 64, h = 48): FrameSourceSequence {
  return {
    ...seqOf(boxes, { name }),
    loadFrame: async (i: number): Promise<RawFrame> => {
      const data = new Uint8Array(w * h * 3);
      for (let p = 0; p < w * h; p++) data[3 * p] = (p + i) % 256;
      return { data, width: w, height: h };
    },
  };
}

function memoryDataset(seqs: Sequence[]): SequenceDataset {
  return { name: 'mem', names: () => seqs.map((s) => s.name), sequence: async (n) => seqs.find((s) => s.name === n)! };
}

test('prepareSequences skips sequences with < 2 valid frames and names the dataset when none is left', async () => {
  const good = frameSource('good', [box(5, 5, 20, 20), box(6, 6, 20, 20), box(7, 7, 20, 20)]);
  const bad = frameSource('bad', [box(5, 5, 20, 20), box(6, 6, 5, 5)]);
  const p = await prepareSequences(memoryDataset([good, bad]));
  assert.deepEqual(p.sequences.map((s) => s.seq.name), ['good']);
  assert.deepEqual(p.sequences[0].valid, [0, 1, 2]);
  assert.equal(p.sequences[0].width, 64);
  assert.deepEqual(p.skipped, [{ name: 'bad', reason: '1 valid frame(s)' }]);
  await assert.rejects(prepareSequences(memoryDataset([bad])), /dataset "mem": no usable training sequence among 1.*bad: 1 valid/);
});

const sampling = (over: Partial<SamplingOptions> = {}): SamplingOptions => {
  const c = parseTrainConfig({ batchSize: 2 });
  return { batchSize: 2, pairsPerSequence: 1, maxGap: 100, augment: c.augment, seed: 9, stride: 8, ...over };
};
const fakeSeqs = (n: number): TrainingSequence[] =>
  Array.from({ length: n }, (_, i) => ({ seq: seqOf([], { name: `s${i}` }), valid: [0, 1, 2, 3, 4], width: 100, height: 100 }));

test('planBatch: a pure function of (seed, step); an epoch visits every sequence pairsPerSequence times', () => {
  const seqs = fakeSeqs(6);
  const opts = sampling();
  assert.deepEqual(planBatch(5, seqs, opts), planBatch(5, seqs, opts));
  assert.notDeepEqual(planBatch(5, seqs, opts), planBatch(6, seqs, opts));
  assert.notDeepEqual(planBatch(5, seqs, opts), planBatch(5, seqs, { ...opts, seed: 10 }));
  const per = stepsPerEpoch(6, 1, 2);
  assert.equal(per, 3);
  for (const epoch of [0, 1]) {
    const visited: number[] = Array.from({ length: per }, (_, k): PairPlan[] => planBatch(epoch * per + k, seqs, opts)).flat().map((p) => p.sequence);
    assert.deepEqual([...visited].sort(), [0, 1, 2, 3, 4, 5]);
  }
  for (const p of Array.from({ length: 30 }, (_, k) => planBatch(k, seqs, opts)).flat()) {
    assert.ok(p.exemplarFrame <= p.searchFrame);
    for (const d of [p.exemplar, p.search]) {
      assert.ok(d.stretch >= 0.95 && d.stretch <= 1.05);
      assert.ok(Number.isInteger(d.offsetX) && d.offsetX >= 0 && d.offsetX <= 8);
      assert.equal(d.angle, 0);
    }
  }
  // rotation augmentation: quarter turns, independent per crop
  const rot = sampling({ augment: { maxStretch: 0.05, rotation: { kind: 'quarter', maxDegrees: 180, independent: true } } });
  const angles = Array.from({ length: 20 }, (_, k) => planBatch(k, seqs, rot)).flat().flatMap((p) => [p.exemplar.angle, p.search.angle]);
  assert.deepEqual([...new Set(angles)].sort((a, b) => a - b), [0, 90, 180, 270]);
  const same = sampling({ augment: { maxStretch: 0, rotation: { kind: 'uniform', maxDegrees: 30, independent: false } } });
  for (const p of planBatch(0, seqs, same)) {
    assert.equal(p.exemplar.angle, p.search.angle);
    assert.ok(Math.abs(p.exemplar.angle) <= 30);
    assert.equal(p.exemplar.stretch, 1);
  }
});

test('cropGrid: without stretch and with the middle offset both crops are centred on the target, at the context scale', () => {
  const g = trainingGeometry(alexnetSpec());
  const b = box(100.5, 80, 41, 61); // centre (120.5, 110)
  const draw = { stretch: 1, offsetX: 4, offsetY: 4, angle: 0 };
  const x = cropGrid(b, 0.5, g, draw, false);
  const z = cropGrid(b, 0.5, g, draw, true);
  for (const c of [x, z]) {
    assert.ok(Math.abs(c.centreX - 120.5) <= 0.5 && Math.abs(c.centreY - 110) <= 0.5, `${c.centreX},${c.centreY}`);
  }
  assert.equal(x.size, 239);
  assert.equal(z.size, 127);
  const context = Math.sqrt((41 + 51) * (61 + 51)); // p = 0.5 · (41 + 61) = 51
  assert.ok(Math.abs(z.step * 127 - context) < 1, 'the exemplar covers the context square');
  // a 5 % stretch zooms in by 5 %; the random offset moves the crop by whole stretched pixels
  const s = cropGrid(b, 0.5, g, { ...draw, stretch: 1.05 }, false);
  assert.ok(Math.abs(s.step * 1.05 - x.step) < 0.01);
  const moved = cropGrid(b, 0.5, g, { ...draw, offsetX: 8 }, false);
  assert.ok(Math.abs(moved.centreX - x.centreX - 4 * x.step) < 1e-9);
});

test('sampleCrop: unit step copies pixels, outside is the fill colour, a quarter turn is np.rot90 of the crop', () => {
  const W = 9, H = 7;
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) { data[3 * i] = i; data[3 * i + 1] = 2 * i; data[3 * i + 2] = 200; }
  const frame = { data, width: W, height: H };
  const fill: [number, number, number] = [1, 2, 3];
  const plain = sampleCrop(frame, fill, { centreX: 4, centreY: 3, step: 1, size: 5, angle: 0 });
  // pixel (row 0, col 0) of the crop is frame (row 1, col 2)
  assert.equal(plain[0], 1 * W + 2);
  assert.equal(plain[1], 2 * (1 * W + 2));
  const edge = sampleCrop(frame, fill, { centreX: 0, centreY: 0, step: 1, size: 3, angle: 0 });
  assert.deepEqual([...edge.slice(0, 3)], [1, 2, 3], 'outside the frame → fill');
  const r = sampleCrop(frame, fill, { centreX: 4, centreY: 3, step: 1, size: 5, angle: 90 });
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 5; j++) {
      // np.rot90 (counter-clockwise): out[i][j] = in[j][n − 1 − i]
      assert.equal(r[(i * 5 + j) * 3], plain[(j * 5 + (4 - i)) * 3], `${i},${j}`);
    }
  }
});

test('BatchProducer: crops of the right size, identical for the same step, read-ahead bounded by prefetch', async () => {
  const spec = tinySpec();
  const g = trainingGeometry(spec);
  const seqs = (await prepareSequences(memoryDataset(
    [0, 1, 2].map((k) => frameSource(`q${k}`, [box(20, 14, 22, 20), box(21, 15, 22, 20), box(22, 15, 22, 20)])),
  ))).sequences;
  const p = new BatchProducer(seqs, g, { ...sampling({ stride: g.stride }), context: 0.5, prefetch: 2 });
  const a = await p.get(0);
  assert.equal(a.z.length, 2 * 47 * 47 * 3);
  assert.equal(a.x.length, 2 * 71 * 71 * 3);
  assert.ok(p.inFlight <= 2, `${p.inFlight} batches in flight`);
  await p.get(1);
  await p.get(2);
  assert.ok(p.inFlight <= 2);
  const again = await new BatchProducer(seqs, g, { ...sampling({ stride: g.stride }), context: 0.5, prefetch: 0 }).get(0);
  assert.deepEqual(again.x, a.x);
  assert.deepEqual(again.plans, a.plans);
});
