// The engine path of SiamFCTracker: JS crops equal tfjs's cropPatches, and a tracker on the onnx engine gives the
// same boxes as the tfjs tracker on a synthetic sequence (±1e-3 px), for a plain and an IEN network; the engine
// choice (--engine / ROT_TRACK_ENGINE / auto) and its log line.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import type { Tensor1D, Tensor3D } from '../../tracker/tf.js';
import { SiamFCNet, SiamFCTracker, cropPatches } from '../../tracker/siamfc.js';
import { createBackbone } from '../../tracker/weights.js';
import { tinySpec } from '../helpers/tiny-spec.js';
import { cropPatchesInto } from '../../tracker/engine/crop.js';
import { TfjsEngine } from '../../tracker/engine/engine.js';
import { OnnxEngine } from '../../tracker/node/onnx/onnx-engine.js';
import { chooseEngine, engineFromArgv } from '../../tracker/node/onnx/choose-engine.js';
import { loadTracker } from '../../tracker/node/load-tracker.js';
import { trackSequence } from '../../tracker/tracker.js';
import { makeSequence } from '../helpers/synthetic-seq.js';
import { ortSkip, referenceBackend, relMaxDiff } from './ort-gate.js';

let backend = 'cpu';
before(async () => {
  backend = await referenceBackend();
});

test('JS crops equal cropPatches (inside, across the border, outside, tiny and huge crops)', () => {
  const H = 37, W = 53;
  const rgb = new Uint8Array(H * W * 3).map((_, i) => (i * 7919) % 256);
  const img = tf.tensor3d(rgb, [H, W, 3], 'int32');
  const imgF = tf.cast(img, 'float32') as Tensor3D;
  const avg = tf.mean(imgF, [0, 1]) as Tensor1D;
  const crops = [
    { cx: 26, cy: 18, size: 20 }, { cx: 2.3, cy: 35.5, size: 31.7 }, { cx: -40, cy: -40, size: 10 },
    { cx: 26, cy: 18, size: 0.4 }, { cx: 20, cy: 10, size: 140.5 },
  ];
  for (const out of [15, 1]) {
    const ref = cropPatches(imgF, avg, crops, out);
    const got = new Float32Array(crops.length * out * out * 3);
    cropPatchesInto(got, rgb, H, W, avg.dataSync() as Float32Array, crops, out);
    // a float frame takes the computed path, a byte frame the lookup table: the same numbers
    const fromFloats = new Float32Array(got.length);
    cropPatchesInto(fromFloats, Float32Array.from(rgb), H, W, avg.dataSync() as Float32Array, crops, out);
    assert.deepEqual(fromFloats, got);
    const d = relMaxDiff(got, ref.dataSync());
    if (backend === 'native-cpu' || backend === 'cpu') assert.equal(d, 0, `crops to ${out}px differ by ${d}`);
    else assert.ok(d < 1e-5, `crops to ${out}px differ by ${d}`);
    ref.dispose();
  }
  assert.throws(() => cropPatchesInto(new Float32Array(10), rgb, H, W, new Float32Array(3), crops, 15), /output holds 10 values/);
  assert.throws(() => cropPatchesInto(new Float32Array(5 * 675), rgb, H + 1, W, new Float32Array(3), crops, 15), /image has/);
  tf.dispose([img, imgF, avg]);
});

const spec = tinySpec;

for (const kind of ['none', 'ien'] as const) {
  test(`onnx-engine tracker = tfjs tracker on a synthetic sequence (${kind})`, ortSkip, async () => {
    const seq = makeSequence({ width: 160, height: 120, frames: 10, objW: 30, objH: 24, seed: 5 });
    const net = new SiamFCNet(createBackbone(spec(kind), 11));
    const engine = OnnxEngine.fromNet(net, { threads: 1 });
    const config = { responseUp: 8 };
    const ref = new SiamFCTracker(net, config, 'ref');
    const viaOnnx = new SiamFCTracker(net, config, 'onnx', engine);
    // a tracker over the tfjs engine object too (the same interface, JS crops)
    const viaTfjs = new SiamFCTracker(net, config, 'tfjs-engine', new TfjsEngine(net));
    try {
      const [a, b, c] = [await trackSequence(ref, seq.frames, seq.gt[0]), await trackSequence(viaOnnx, seq.frames, seq.gt[0]),
        await trackSequence(viaTfjs, seq.frames, seq.gt[0])];
      assert.equal(b.boxes.length, a.boxes.length);
      let moved = 0;
      for (let i = 1; i < a.boxes.length; i++) {
        for (const other of [b, c]) {
          for (const k of ['x', 'y', 'width', 'height'] as const) {
            assert.ok(Math.abs(a.boxes[i][k] - other.boxes[i][k]) <= 1e-3, `frame ${i} ${k}: ${a.boxes[i][k]} vs ${other.boxes[i][k]}`);
          }
          assert.ok(Math.abs(a.scores[i] - other.scores[i]) <= 1e-4 * Math.abs(a.scores[i]) + 1e-9, `frame ${i} score`);
        }
        moved = Math.max(moved, Math.abs(a.boxes[i].x - a.boxes[0].x));
      }
      assert.ok(moved > 0, 'the tracker never moved: the comparison would be vacuous');
      // tensor frames take the same path
      const t = tf.tensor3d(seq.frames[1].data, [seq.frames[1].height, seq.frames[1].width, 3], 'int32');
      viaOnnx.init(seq.frames[0], seq.gt[0]);
      ref.init(seq.frames[0], seq.gt[0]);
      assert.deepEqual(viaOnnx.update(t).box, ref.update(t).box);
      t.dispose();
    } finally {
      ref.dispose();
      viaOnnx.dispose();
      viaTfjs.dispose();
      engine.dispose();
      net.dispose();
    }
  });
}

test('the engine tracker refuses update() before init() and after dispose()', ortSkip, () => {
  const net = new SiamFCNet(createBackbone(spec('none'), 1));
  const engine = OnnxEngine.fromNet(net, { threads: 1 });
  const t = new SiamFCTracker(net, {}, 'x', engine);
  const frame = { data: new Uint8Array(64 * 64 * 3), width: 64, height: 64 };
  assert.throws(() => t.update(frame), /x: update\(\) called before init\(\)/);
  t.dispose();
  assert.throws(() => t.update(frame), /x: tracker was disposed/);
  engine.dispose();
  net.dispose();
});

test('engine choice: flag over env over option, auto = onnx when it loads, one log line', ortSkip, () => {
  assert.equal(engineFromArgv(['--engine', 'tfjs']), 'tfjs');
  assert.equal(engineFromArgv(['--engine=onnx', '--engine', 'auto']), 'auto');
  assert.throws(() => engineFromArgv(['--engine']), /--engine needs a value/);
  const lines: string[] = [];
  const log = (m: string) => lines.push(m);
  assert.equal(chooseEngine({ argv: [], env: {}, log, threads: 2 }).engine, 'onnx');
  assert.match(lines[0], /^\[engine\] onnxruntime-node \S+ \(CPU, 2 threads\)$/);
  assert.equal(chooseEngine({ argv: [], env: { ROT_TRACK_ENGINE: 'tfjs' }, engine: 'onnx', log }).engine, 'tfjs');
  assert.match(lines[1], /^\[engine\] tfjs — requested by ROT_TRACK_ENGINE$/);
  assert.equal(chooseEngine({ argv: ['--engine', 'onnx'], env: { ROT_TRACK_ENGINE: 'tfjs' }, log, threads: 1 }).engine, 'onnx');
  assert.match(lines[2], /\(CPU, 1 thread\) — requested by --engine$/);
  assert.throws(() => chooseEngine({ argv: [], env: { ROT_TRACK_ENGINE: 'gpu' }, log }), /Unknown engine 'gpu' \(from ROT_TRACK_ENGINE\)/);
});

test('loadTracker with the onnx engine gives trackers on that engine, and disposes it', ortSkip, async () => {
  const choice = chooseEngine({ engine: 'onnx', argv: [], env: {}, threads: 1, log: () => {} });
  const loaded = await loadTracker('template-matching', undefined, { engine: choice });
  assert.ok(loaded.engine instanceof OnnxEngine);
  assert.match(loaded.engine.description, /onnxruntime-node .*\(CPU, 1 thread(; xcorr in the native add-on)?\)/);
  loaded.dispose();
  const plain = await loadTracker('template-matching');
  assert.equal(plain.engine, null);
  plain.dispose();
});
