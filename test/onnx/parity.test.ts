// ONNX export parity: for every backbone kind (plain with AlexNet channel groups, plain with elu/avgpool, the fixed
// template matcher, IEN R4, Het R4-2-1, C4, C8) with random weights and random BatchNorm statistics, and for every
// shipped model, the ONNX models' exemplar features, search features, xcorr kernel and responses equal tfjs's
// (max abs diff < 1e-4 of the reference's max abs value).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import type { Tensor } from '../../tracker/tf.js';
import { parseBackboneSpec, pooledPixelsSpec, type BackboneSpec, type BackboneSpecInput } from '../../tracker/backbone-spec.js';
import { createBackbone } from '../../tracker/weights.js';
import { SiamFCNet } from '../../tracker/siamfc/network.js';
import { exportOnnxModel } from '../../tracker/engine/onnx-export.js';
import { TfjsEngine } from '../../tracker/engine/engine.js';
import { OrtSession, ortTensor } from '../../tracker/node/onnx/ort.js';
import { OnnxEngine } from '../../tracker/node/onnx/onnx-engine.js';
import { listModels, loadTracker } from '../../tracker/node/load-tracker.js';
import { TEMPLATE_MATCHING } from '../../tracker/registry.js';
import { ortSkip, referenceBackend, relMaxDiff } from './ort-gate.js';
import { cpuSmallSpec } from '../../training/config.js';

before(async () => {
  await referenceBackend();
});

const TOL = 1e-4;

/** The shipped models' layout (cpu-small) at a smaller width, with a given equivariance and overrides. */
function smallSpec(name: string, equivariance: BackboneSpecInput['equivariance'], over: Partial<BackboneSpecInput> = {}): BackboneSpec {
  return cpuSmallSpec({ name, widthMultiplier: 0.125, exemplarSize: 47, instanceSize: 95, equivariance, ...over });
}

const VARIANTS: { name: string; spec: () => BackboneSpec }[] = [
  { name: 'plain', spec: () => smallSpec('plain', { kind: 'none' }) },
  {
    name: 'plain, AlexNet groups=2, elu, avgpool',
    spec: () => smallSpec('plain-groups', { kind: 'none' }, {
      layers: [
        { type: 'conv', out: 96, kernel: 5, stride: 2 },
        { type: 'avgpool', size: 2, stride: 2 },
        { type: 'conv', out: 256, kernel: 5, groups: 2, act: 'elu' },
        { type: 'maxpool', size: 2, stride: 1 },
        { type: 'conv', out: 256, kernel: 3, groups: 2, bn: false, act: 'none' },
      ],
    }),
  },
  { name: 'template matching (avgpool + center)', spec: () => pooledPixelsSpec(4, { exemplarSize: 63, instanceSize: 127 }) },
  { name: 'IEN R4', spec: () => smallSpec('ien-r4', { kind: 'ien', groups: 'R4' }) },
  { name: 'Het R4-2-1', spec: () => smallSpec('het-r4-2-1', { kind: 'ien', groups: 'R4-2-1' }, { widthMultiplier: 0.25 }) },
  { name: 'C4', spec: () => smallSpec('c4', { kind: 'c4' }) },
  { name: 'C8 steerable', spec: () => smallSpec('c8', { kind: 'c8' }, { widthMultiplier: 0.25 }) },
];

/** Replace every weight by random values; BN statistics far from their defaults so that folding matters. */
function randomize(net: SiamFCNet, seed: number): void {
  const named = net.backbone.namedWeights();
  const weights: Record<string, Tensor> = {};
  named.forEach(({ name, tensor }, i) => {
    const s = seed * 1000 + i;
    const shape = tensor.shape;
    if (name.endsWith('movingVar')) weights[name] = tf.randomUniform(shape, 0.3, 3, 'float32', s);
    else if (name.endsWith('gamma')) weights[name] = tf.randomUniform(shape, 0.5, 1.5, 'float32', s);
    else if (/beta|movingMean|bias|conv1$/.test(name)) weights[name] = tf.randomNormal(shape, 0, 0.3, 'float32', s);
    else weights[name] = tf.mul(tensor, tf.randomUniform(shape, 0.5, 1.5, 'float32', s)); // filters: keep the init scale
  });
  net.backbone.loadWeights(weights, `random weights ${seed}`);
  tf.dispose(Object.values(weights));
}

/** Compare the ONNX models of `net` with tfjs on random crops; returns the relative differences. */
function compare(net: SiamFCNet): Record<string, number> {
  const { exemplarSize: E, instanceSize: X } = net.geometry;
  const z = tf.randomUniform([1, E, E, 3], 0, 255, 'float32', 7) as tf.Tensor4D;
  const x = tf.randomUniform([3, X, X, 3], 0, 255, 'float32', 8) as tf.Tensor4D;
  const zData = z.dataSync() as Float32Array;
  const xData = x.dataSync() as Float32Array;
  const zf = net.backbone.apply(z);
  const xf = net.backbone.apply(x);
  const resp = net.xcorr(zf, xf);
  const zfNchw = tf.transpose(zf, [0, 3, 1, 2]);
  const out: Record<string, number> = {};
  const fz = new OrtSession(exportOnnxModel(net, 'features', E), 'features(E)');
  const fx = new OrtSession(exportOnnxModel(net, 'features', X), 'features(X)');
  const ex = new OrtSession(exportOnnxModel(net, 'exemplar'), 'exemplar');
  const se = new OrtSession(exportOnnxModel(net, 'search'), 'search');
  try {
    out.exemplarFeatures = relMaxDiff(fz.run({ x: ortTensor(zData, z.shape) }).features.data as Float32Array, zf.dataSync());
    out.searchFeatures = relMaxDiff(fx.run({ x: ortTensor(xData, x.shape) }).features.data as Float32Array, xf.dataSync());
    const kernel = ex.run({ x: ortTensor(zData, z.shape) }).kernel;
    out.kernel = relMaxDiff(kernel.data as Float32Array, zfNchw.dataSync());
    out.response = relMaxDiff(se.run({ x: ortTensor(xData, x.shape), kernel }).response.data as Float32Array, resp.dataSync());
    // the same through the two engines' common interface
    const onnx = OnnxEngine.fromNet(net, { threads: 1 });
    const ref = new TfjsEngine(net);
    const a = onnx.exemplar(zData);
    const b = ref.exemplar(zData);
    out.engines = relMaxDiff(onnx.respond(a, xData, 3), ref.respond(b, xData, 3));
    a.dispose();
    b.dispose();
    onnx.dispose();
  } finally {
    for (const s of [fz, fx, ex, se]) s.dispose();
    tf.dispose([z, x, zf, xf, resp, zfNchw]);
  }
  return out;
}

for (const [i, v] of VARIANTS.entries()) {
  test(`ONNX = tfjs for ${v.name} (random weights and BN statistics)`, ortSkip, () => {
    const net = new SiamFCNet(createBackbone(v.spec(), 3 + i), 0.01);
    try {
      if (net.backbone.namedWeights().length) randomize(net, i + 1);
      const d = compare(net);
      for (const [what, rel] of Object.entries(d)) {
        assert.ok(rel < TOL, `${v.name}: ${what} differs by ${rel.toExponential(2)} (relative) ≥ ${TOL}`);
      }
    } finally {
      net.dispose();
    }
  });
}

const shipped = (await listModels()).filter((n) => n !== TEMPLATE_MATCHING);
test('the shipped models are found', () => {
  assert.ok(shipped.length >= 1, 'no shipped model under tracker/models');
});
for (const name of shipped) {
  test(`ONNX = tfjs for the shipped model ${name}`, ortSkip, async () => {
    const loaded = await loadTracker(name);
    try {
      const d = compare(loaded.net);
      for (const [what, rel] of Object.entries(d)) {
        assert.ok(rel < TOL, `${name}: ${what} differs by ${rel.toExponential(2)} (relative) ≥ ${TOL}`);
      }
    } finally {
      loaded.dispose();
    }
  });
}
