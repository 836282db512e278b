// The browser's tracker loop, checked in Node: AsyncSiamFCTracker over OrtAsyncEngine driven by onnxruntime-node's
// public async API (the API onnxruntime-web shares) gives exactly the boxes of SiamFCTracker on the synchronous onnx
// engine and the tfjs tracker; the JS average colour equals tf.mean bit for bit on the cpu backend; bad input is named.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { tf } from '../../tracker/tf.js';
import type { Tensor3D } from '../../tracker/tf.js';
import { SiamFCConfig, SiamFCNet, SiamFCTracker } from '../../tracker/siamfc.js';
import { createBackbone } from '../../tracker/weights.js';
import { tinySpec } from '../helpers/tiny-spec.js';
import { meanColor } from '../../tracker/engine/crop.js';
import { exportSiamFCOnnx } from '../../tracker/engine/onnx-export.js';
import { AsyncSiamFCTracker } from '../../tracker/engine/async-tracker.js';
import { OrtAsyncEngine, type OrtApi } from '../../tracker/engine/ort-async-engine.js';
import { OnnxEngine } from '../../tracker/node/onnx/onnx-engine.js';
import { trackSequence } from '../../tracker/tracker.js';
import { makeSequence } from '../helpers/synthetic-seq.js';
import { ortSkip, referenceBackend } from './ort-gate.js';

let backend = 'cpu';
before(async () => {
  backend = await referenceBackend();
});

const ortApi = (): OrtApi => createRequire(import.meta.url)('onnxruntime-node') as OrtApi;

const ienSpec = tinySpec('ien');

test('meanColor equals tf.mean(image, [0, 1]): bit for bit on cpu, within 1 ulp-ish on the reference backend', async () => {
  const H = 41, W = 67;
  const rgb = new Uint8Array(H * W * 3).map((_, i) => (i * 7919 + (i >> 5)) % 256);
  const got = meanColor(rgb, H, W);
  for (const b of ['cpu', backend]) {
    await tf.setBackend(b);
    const ref = tf.tidy(() => tf.mean(tf.cast(tf.tensor3d(rgb, [H, W, 3], 'int32'), 'float32') as Tensor3D, [0, 1]).dataSync());
    for (let c = 0; c < 3; c++) {
      if (b === 'cpu') assert.equal(got[c], ref[c], `channel ${c} on cpu`);
      else assert.ok(Math.abs(got[c] - ref[c]) < 1e-4, `channel ${c} on ${b}: ${got[c]} vs ${ref[c]}`);
    }
  }
  assert.throws(() => meanColor(rgb, H, W + 1), /meanColor: image has 8241 values, 41×68×3 expected/);
});

test('async tracker on onnxruntime (async API) = sync onnx engine tracker = tfjs tracker, box for box', ortSkip, async () => {
  const seq = makeSequence({ width: 160, height: 120, frames: 12, objW: 30, objH: 24, seed: 9 });
  const net = new SiamFCNet(createBackbone(ienSpec, 3));
  const m = exportSiamFCOnnx(net);
  const engine = await OrtAsyncEngine.create(ortApi(), m.exemplar, m.search, net.geometry, { description: 'node async', where: 'tiny-ien' });
  // the same two models as the async engine (with the add-on, fromNet would run the head there: equal only to ~1e-7)
  const syncEngine = OnnxEngine.fromNet(net, { threads: 1, xcorr: 'graph' });
  const config = { responseUp: 8 };
  const sync = new SiamFCTracker(net, config, 'sync', syncEngine);
  const ref = new SiamFCTracker(net, config, 'tfjs');
  const tracker = new AsyncSiamFCTracker(engine, net.geometry, SiamFCConfig.parse(config), 'async');
  try {
    const a = await trackSequence(sync, seq.frames, seq.gt[0]);
    const t = await trackSequence(ref, seq.frames, seq.gt[0]);
    await tracker.init(seq.frames[0], seq.gt[0]);
    let moved = 0;
    for (let i = 1; i < seq.frames.length; i++) {
      const r = await tracker.update(seq.frames[i]);
      assert.deepEqual(r.box, a.boxes[i], `frame ${i}: async and sync onnx differ`);
      assert.equal(r.score, a.scores[i]);
      for (const k of ['x', 'y', 'width', 'height'] as const) {
        assert.ok(Math.abs(r.box[k] - t.boxes[i][k]) <= 1e-3, `frame ${i} ${k}: ${r.box[k]} vs tfjs ${t.boxes[i][k]}`);
      }
      moved = Math.max(moved, Math.abs(r.box.x - seq.gt[0].x));
    }
    assert.ok(moved > 1, 'the tracker never moved: the comparison would be vacuous');
  } finally {
    tracker.dispose();
    sync.dispose();
    ref.dispose();
    syncEngine.dispose();
    await engine.dispose();
    net.dispose();
  }
});

test('async tracker: bad frames, boxes, overlapping calls and wrong models are named', ortSkip, async () => {
  const net = new SiamFCNet(createBackbone(ienSpec, 1));
  const m = exportSiamFCOnnx(net);
  const ort = ortApi();
  const engine = await OrtAsyncEngine.create(ort, m.exemplar, m.search, net.geometry, { description: 'x', where: '/api/models/x' });
  const t = new AsyncSiamFCTracker(engine, net.geometry, SiamFCConfig.parse({}), 'x');
  assert.throws(() => new AsyncSiamFCTracker(engine, net.geometry, { ...SiamFCConfig.parse({}), responseUp: undefined as unknown as number }), /SiamFC settings: responseUp must be a number, got undefined/);
  const frame = { data: new Uint8Array(64 * 48 * 3).fill(90), width: 64, height: 48 };
  try {
    await assert.rejects(t.update(frame), /x: update\(\) called before init\(\)/);
    await assert.rejects(t.init({ ...frame, width: 63 }, { x: 1, y: 1, width: 10, height: 10 }), /frame.data has 9216 bytes but 63×48×3 = 9072/);
    await assert.rejects(t.init(frame, { x: 1, y: 1, width: 0, height: 10 }), /initial box/);
    await t.init(frame, { x: 10, y: 10, width: 20, height: 16 });
    const first = t.update(frame);
    await assert.rejects(t.update(frame), /a frame is still being tracked/);
    await first;
    // the search model where the exemplar model belongs: named
    await assert.rejects(OrtAsyncEngine.create(ort, m.search, m.search, net.geometry, { description: 'x', where: '/api/models/x' }),
      /\/api\/models\/x \(exemplar model\): expected inputs x and output kernel, got inputs x, kernel/);
    await assert.rejects(OrtAsyncEngine.create(ort, new Uint8Array([1, 2, 3]), m.search, net.geometry, { description: 'x', where: 'bytes' }),
      /bytes \(exemplar model\): onnxruntime cannot load it/);
  } finally {
    t.dispose();
    await engine.dispose();
    net.dispose();
  }
});
