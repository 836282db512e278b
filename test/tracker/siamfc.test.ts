import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import { Backbone } from '../../tracker/backbones.js';
import { pooledPixelsSpec, alexnetSpec, outputSize } from '../../tracker/backbone-spec.js';
import { SiamFCNet, SiamFCTracker, cropPatches, roundHalfEven } from '../../tracker/siamfc.js';
import { cubicResizeMatrix, hannWindow, upsample } from '../../tracker/siamfc/response.js';
import { trackSequence } from '../../tracker/tracker.js';
import { iou } from '../../tracker/geometry.js';
import { makeSequence, successAuc } from '../helpers/synthetic-seq.js';

before(async () => {
  await tf.setBackend('cpu');
});

/** The fixed template-matching SiamFC of the foundation issue: pooled raw pixels, no training. */
function templateMatcher(): { net: SiamFCNet; tracker: SiamFCTracker } {
  const spec = pooledPixelsSpec(4, { exemplarSize: 63, instanceSize: 127 });
  const net = new SiamFCNet(new Backbone(spec));
  return { net, tracker: new SiamFCTracker(net) };
}

test('AlexNet spec: 6×6 exemplar and 22×22 search features, 17×17 response, stride 8', () => {
  const s = alexnetSpec();
  assert.equal(outputSize(s, 127), 6);
  assert.equal(outputSize(s, 255), 22);
  const net = new SiamFCNet(new Backbone(alexnetSpec({ widthMultiplier: 0.125 })));
  assert.deepEqual(net.geometry, { exemplarSize: 127, instanceSize: 255, stride: 8, responseSize: 17 });
  const z = tf.zeros([1, 127, 127, 3]) as tf.Tensor4D;
  const x = tf.zeros([3, 255, 255, 3]) as tf.Tensor4D;
  const r = net.forward(tf.concat([z, z, z]) as tf.Tensor4D, x);
  assert.deepEqual(r.shape, [3, 17, 17, 1]);
  tf.dispose([z, x, r]);
  net.dispose();
});

test('roundHalfEven matches NumPy', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, -0, -2, 2, 3]);
});

test('crops sample like cv2: identity crop reproduces the image, outside pixels take the mean colour', () => {
  // 8×8 image, crop centred at its centre with size 8 → 8×8 output equals the input exactly (step 1, offset 0).
  const vals = Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 37) % 255);
  const img = tf.tensor3d(vals, [8, 8, 3]);
  const avg = tf.tensor1d([10, 20, 30]);
  const p = cropPatches(img, avg, [{ cx: 3.5, cy: 3.5, size: 8 }], 8);
  assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(p, tf.expandDims(img, 0)))).dataSync()[0]) < 1e-3);
  // a crop far outside is the average colour everywhere
  const q = cropPatches(img, avg, [{ cx: 100, cy: 100, size: 6 }], 4);
  assert.deepEqual(Array.from(q.dataSync()).slice(0, 3), [10, 20, 30]);
  tf.dispose([img, avg, p, q]);
});

test('bicubic upsampling matrix: rows sum to 1, constant map stays constant, Hann window sums to 1', () => {
  const M = cubicResizeMatrix(17, 272);
  for (let d = 0; d < 272; d++) {
    let s = 0;
    for (let j = 0; j < 17; j++) s += M[d * 17 + j];
    assert.ok(Math.abs(s - 1) < 1e-12);
  }
  const up = upsample(new Float64Array(17 * 17).fill(3), 17, 272, M);
  assert.ok(up.every((v) => Math.abs(v - 3) < 1e-9));
  const h = hannWindow(272);
  assert.ok(Math.abs(h.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  assert.equal(h[0], 0);
});

test('fixed-feature SiamFC tracks a synthetic textured object: success AUC > 0.6', async () => {
  const { frames, gt } = makeSequence({ frames: 40, seed: 3 });
  const { net, tracker } = templateMatcher();
  const res = await trackSequence(tracker, frames, gt[0]);
  const auc = successAuc(res.boxes, gt, iou);
  console.log(`# synthetic template-matching success AUC = ${auc.toFixed(3)}`);
  assert.equal(res.boxes.length, 40);
  assert.equal(res.times.length, 40);
  assert.ok(auc > 0.6, `AUC ${auc}`);
  tracker.dispose();
  net.dispose();
});

test('bad input: NaN, zero or negative size, box outside the frame, wrong frame shape — clear errors', () => {
  const { frames } = makeSequence({ frames: 1 });
  const { net, tracker } = templateMatcher();
  const f = frames[0];
  assert.throws(() => tracker.init(f, { x: NaN, y: 0, width: 5, height: 5 }), /x must be a finite number/);
  assert.throws(() => tracker.init(f, { x: 0, y: 0, width: 0, height: 5 }), /positive size/);
  assert.throws(() => tracker.init(f, { x: 0, y: 0, width: 5, height: -1 }), /positive size/);
  assert.throws(() => tracker.init(f, { x: 1000, y: 0, width: 5, height: 5 }), /entirely outside/);
  assert.throws(() => tracker.init({ data: f.data, width: 10, height: 10 }, { x: 0, y: 0, width: 5, height: 5 }), /bytes/);
  const t4 = tf.zeros([10, 10, 4]) as unknown as tf.Tensor3D;
  assert.throws(() => tracker.init(t4, { x: 0, y: 0, width: 5, height: 5 }), /shape \[H, W, 3\]/);
  assert.throws(() => tracker.update(f), /before init/);
  t4.dispose();
  tracker.dispose();
  net.dispose();
});

test('no tensor leak: numTensors equal after frame 10 and after frame 500', async () => {
  const { frames } = makeSequence({ frames: 50, seed: 5, width: 96, height: 72, objW: 20, objH: 16 });
  const { net, tracker } = templateMatcher();
  const looped = function* () {
    for (let i = 0; i < 501; i++) yield frames[i % frames.length];
  };
  let at10 = -1;
  let at500 = -1;
  await trackSequence(tracker, looped(), { x: 38, y: 28, width: 20, height: 16 }, {
    onFrame: (i) => {
      if (i === 10) at10 = tf.memory().numTensors;
      if (i === 500) at500 = tf.memory().numTensors;
    },
  });
  assert.ok(at10 > 0);
  assert.equal(at500, at10);
  const before = tf.memory().numTensors;
  tracker.dispose();
  assert.equal(tf.memory().numTensors, before - 2); // the exemplar kernel and the average colour
  net.dispose();
});
