// Rotated-template inference (SiamFCConfig.templates): the templates are the exemplar turned by the right angles,
// a tracker with 4 templates finds a target turned by a quarter turn with its full score where one template loses it,
// the onnx engine's stacked kernels give the tfjs engine's boxes, `+rot<T>` names load it, and no tensor leaks.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import { SiamFCNet, SiamFCTracker } from '../../tracker/siamfc.js';
import { createBackbone } from '../../tracker/weights.js';
import { Backbone } from '../../tracker/backbones.js';
import { templateMatchingSpec } from '../../tracker/registry.js';
import { tinySpec } from '../helpers/tiny-spec.js';
import { marginSide, rotatedTemplates, templateAngles } from '../../tracker/engine/rotate-crop.js';
import { OnnxEngine } from '../../tracker/node/onnx/onnx-engine.js';
import { loadTracker, splitTemplateSuffix } from '../../tracker/node/load-tracker.js';
import { trackSequence, type RawFrame } from '../../tracker/tracker.js';
import { makeSequence } from '../helpers/synthetic-seq.js';
import { ortSkip, referenceBackend } from '../onnx/ort-gate.js';

before(async () => {
  await referenceBackend();
});

test('templates: angles over a full turn; the 0° template is the centre window, 90° is an exact quarter turn', () => {
  assert.deepEqual(templateAngles(4), [0, 90, 180, 270]);
  assert.throws(() => templateAngles(0), /positive integer/);
  const E = 9;
  const S = marginSide(E);
  assert.ok(S >= E * Math.SQRT2 + 1 && (S - E) % 2 === 0, `margin side ${S}`);
  const src = new Float32Array(S * S * 3).map((_, i) => (i * 37) % 251);
  const [t0, t90] = [0, 1].map((t) => rotatedTemplates(src, S, E, [0, 90]).subarray(t * E * E * 3, (t + 1) * E * E * 3));
  const off = (S - E) / 2;
  const at = (a: Float32Array, side: number, y: number, x: number, c: number) => a[(y * side + x) * 3 + c];
  for (let y = 0; y < E; y++) {
    for (let x = 0; x < E; x++) {
      for (let c = 0; c < 3; c++) {
        assert.ok(Math.abs(at(t0, E, y, x, c) - at(src, S, y + off, x + off, c)) < 1e-3, `0° at ${y},${x}`);
        // content turned counter-clockwise on screen: the output's top row shows the source's right column
        assert.ok(Math.abs(at(t90, E, y, x, c) - at(src, S, x + off, E - 1 - y + off, c)) < 1e-3, `90° at ${y},${x}`);
      }
    }
  }
  assert.throws(() => rotatedTemplates(src, S - 1, E, [0]), /source has/);
  assert.throws(() => rotatedTemplates(new Float32Array(10 * 10 * 3), 10, E, [0]), /too small/);
});

const spec = tinySpec;

/** A grey frame with an asymmetric "L" target (a red bar and a blue foot) centred at (cx, cy), turned by k·90°. */
function lFrame(k: number, W = 160, H = 120, cx = 80, cy = 60): RawFrame {
  const data = new Uint8Array(W * H * 3).fill(90);
  const paint = (dx: number, dy: number, rgb: [number, number, number]) => {
    // turn the offset by k quarter turns counter-clockwise on screen (y down)
    let [x, y] = [dx, dy];
    for (let i = 0; i < k; i++) [x, y] = [y, -x];
    const i = ((cy + y) * W + (cx + x)) * 3;
    data.set(rgb, i);
  };
  for (let dy = -14; dy <= 14; dy++) for (let dx = -14; dx <= -6; dx++) paint(dx, dy, [220, 30, 30]);
  for (let dy = 6; dy <= 14; dy++) for (let dx = -5; dx <= 14; dx++) paint(dx, dy, [30, 40, 220]);
  return { data, width: W, height: H };
}

test('4 templates follow a target turned by a quarter turn: the right template, its full score, the centre kept', () => {
  // pooled pixels: a template's correlation with a window of the same pixels in any order is at most its own energy,
  // reached only by the template at the right angle (Cauchy–Schwarz), so the choice is decided by orientation alone
  const net = new SiamFCNet(new Backbone(templateMatchingSpec()));
  const box = { x: 80 - 14.5, y: 60 - 14.5, width: 30, height: 30 };
  // init on the target turned by `from` quarter turns, update on it turned by `to`
  const run = (templates: number, from: number, to: number) => {
    const t = new SiamFCTracker(net, { templates, responseUp: 4, windowInfluence: 0 }, 'x');
    try {
      t.init(lFrame(from), box);
      const r = t.update(lFrame(to));
      return { ...r, dx: r.box.x + (r.box.width - 1) / 2 - 80, dy: r.box.y + (r.box.height - 1) / 2 - 60 };
    } finally {
      t.dispose();
    }
  };
  const before = tf.memory().numTensors;
  const self = run(1, 0, 0);
  assert.equal(self.angle, undefined, 'one template reports no angle');
  for (const k of [1, 3]) {
    const one = run(1, 0, k);
    const four = run(4, 0, k);
    assert.ok(one.score < 0.97 * self.score, `one template keeps ${one.score} of ${self.score}: the test would be vacuous`);
    assert.equal(four.angle, 90 * k, `4 templates, ${k} quarter turns: chose ${four.angle}°`);
    assert.ok(four.score > 0.99 * self.score, `4 templates, ${k} quarter turns: score ${four.score} against ${self.score}`);
    assert.ok(Math.hypot(four.dx, four.dy) < 2, `4 templates: centre off by ${four.dx}, ${four.dy}`);
  }
  // a half turn is not a neighbour of 0° with 4 templates (one step a frame), but with 2 every template is searched
  // all templates searched when there are at most 3
  assert.equal(run(2, 0, 2).angle, 180);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked by rotated templates');
  net.dispose();
});

test('rotated templates: the onnx engine (stacked kernels) gives the tfjs engine\'s boxes', ortSkip, async () => {
  const seq = makeSequence({ width: 160, height: 120, frames: 10, objW: 30, objH: 24, seed: 5 });
  for (const kind of ['none', 'ien'] as const) {
    const net = new SiamFCNet(createBackbone(spec(kind), 11));
    const engine = OnnxEngine.fromNet(net, { threads: 1 });
    const config = { responseUp: 8, templates: 8 };
    const ref = new SiamFCTracker(net, config, 'ref');
    const viaOnnx = new SiamFCTracker(net, config, 'onnx', engine);
    try {
      const a = await trackSequence(ref, seq.frames, seq.gt[0]);
      const b = await trackSequence(viaOnnx, seq.frames, seq.gt[0]);
      for (let i = 1; i < a.boxes.length; i++) {
        for (const k of ['x', 'y', 'width', 'height'] as const) {
          assert.ok(Math.abs(a.boxes[i][k] - b.boxes[i][k]) <= 1e-3, `${kind} frame ${i} ${k}: ${a.boxes[i][k]} vs ${b.boxes[i][k]}`);
        }
      }
    } finally {
      ref.dispose();
      viaOnnx.dispose();
      engine.dispose();
      net.dispose();
    }
  }
});

test('"+rot<T>" loads the same network with T templates and keeps the suffix in the name', async () => {
  assert.deepEqual(splitTemplateSuffix('ien-siamfc+rot8'), { base: 'ien-siamfc', templates: 8 });
  assert.deepEqual(splitTemplateSuffix('runs/x/model'), { base: 'runs/x/model' });
  assert.throws(() => splitTemplateSuffix('siamfc+rot0'), /1 to 64 rotated templates, got 0/);
  const loaded = await loadTracker('template-matching+rot4');
  try {
    assert.equal(loaded.name, 'template-matching+rot4');
    const t = loaded.createTracker();
    assert.equal(t.config.templates, 4);
    assert.equal(t.name, 'template-matching+rot4');
    t.dispose();
  } finally {
    loaded.dispose();
  }
  await assert.rejects(loadTracker('no-such-model+rot4'), /unknown tracker "no-such-model"/);
});
