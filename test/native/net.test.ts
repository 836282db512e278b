// The add-on's oneDNN backbone runner (tracker/native/src/net.cc, tracker/node/native-net.ts) and the engine built on it
// (tracker/node/native-net-engine.ts): features equal onnxruntime's on plain backbones (the shipped CPU-scale model,
// a grouped / average-pooled one), the responses and tracked boxes equal the onnxruntime engine's, several templates
// stack, the final group pooling of IEN / Het / C4 nets runs after it, and what it cannot run (group pooling before the
// end, another thread count) falls back to onnxruntime with the reason.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeAddon } from '../../tracker/node/native-backend.js';
import { NativeNet, groupPoolNchw, nativeNetSpec } from '../../tracker/node/native-net.js';
import { NativeNetEngine, onnxEngineFor } from '../../tracker/node/native-net-engine.js';
import { OnnxEngine } from '../../tracker/node/onnx/onnx-engine.js';
import { OrtSession, ortTensor } from '../../tracker/node/onnx/ort.js';
import { exportOnnxModel } from '../../tracker/engine/onnx-export.js';
import { backbonePlan } from '../../tracker/engine/backbone-plan.js';
import { loadTracker } from '../../tracker/node/load-tracker.js';
import { SiamFCNet } from '../../tracker/siamfc/network.js';
import { SiamFCConfig } from '../../tracker/siamfc/config.js';
import { createBackbone } from '../../tracker/weights.js';
import { cpuSmallSpec } from '../../training/config.js';
import { mulberry32 } from '../../tracker/random.js';
import { nativeOrSkip } from './util.js';
import { assertSameBoxes } from './same-boxes.js';
import { ortSkip, referenceBackend, relMaxDiff } from '../onnx/ort-gate.js';

const reg = nativeOrSkip();
const addon = reg.ok ? loadNativeAddon() : null;
// the runner exists in oneDNN builds (CI installs libdnnl-dev)
const skip = !addon?.netCreate || ortSkip.skip;
if (reg.ok && !addon?.netCreate && process.env.CI === 'true') {
  test('the add-on has the oneDNN runner (required under CI=true)', () => assert.fail('netCreate missing: add-on built without oneDNN'));
}

before(async () => {
  await referenceBackend();
});

const rand = mulberry32(101);
const crops = (k: number, S: number) => Float32Array.from({ length: k * S * S * 3 }, () => rand() * 255);

/** A plain net with channel groups, average pooling and a 3×3 stride-2 conv, random weights. */
function oddNet(): SiamFCNet {
  return new SiamFCNet(createBackbone(cpuSmallSpec({
    name: 'odd', widthMultiplier: 0.25, exemplarSize: 47, instanceSize: 95, equivariance: { kind: 'none' },
    layers: [
      { type: 'conv', out: 96, kernel: 3, stride: 2 },
      { type: 'avgpool', size: 2, stride: 2 },
      { type: 'conv', out: 128, kernel: 3, groups: 2 },
      { type: 'maxpool', size: 3, stride: 1 },
      { type: 'conv', out: 64, kernel: 3, bn: false, act: 'none' },
    ],
  }), 5));
}

test('the runner\'s features equal onnxruntime\'s (shipped siamfc, ien, het, re; groups, avgpool, stride 2), 1–3 crops', { skip }, async () => {
  const shipped = await Promise.all(['siamfc', 'ien-siamfc', 'het-siamfc', 're-siamfc'].map(async (m) => (await loadTracker(m)).net));
  const threads0 = addon!.getThreads();
  for (const n of [...shipped, oddNet()]) {
    const plan = backbonePlan(n.backbone);
    const made = NativeNet.create(addon, plan);
    assert.ok(made.net, made.net ? '' : made.reason);
    // 3 crops on 2 threads take the split schedule (net.cc run_split: the shipped net has 3×3 convs), on 1 thread one
    // chain; twice each, so that the second run goes through the kept chains and buffers
    try {
      for (const threads of [2, 1]) {
        addon!.setThreads(threads);
        for (const [k, S] of [[3, n.geometry.instanceSize], [1, n.geometry.exemplarSize], [2, n.geometry.instanceSize], [3, n.geometry.instanceSize]]) {
          const ort = new OrtSession(exportOnnxModel(n, 'backbone', S), `backbone(${S})`, { threads: 1 });
          const x = crops(k, S);
          const ref = ort.run({ x: ortTensor(x, [k, S, S, 3]) }, ['nchw']).nchw;
          const [, C, s] = ref.dims;
          const err = relMaxDiff(made.net!.run(x, k, S, C, s), ref.data as Float32Array);
          ort.dispose();
          assert.ok(err < 1e-5, `${plan.spec.name} k=${k} S=${S} ${threads} threads: ${err}`);
        }
      }
    } finally {
      addon!.setThreads(threads0); // the other tests run at the add-on's own count
    }
  }
});

/**
 * A net of grouped 3×3 stride-1 convs, which the runner runs as one Winograd conv per group (net.cc): two with the same
 * groups in a row (the second reads the first's per-group buffers), one with other groups (they merge first), and the
 * last one ending the net (they merge into the features).
 */
function groupedNet(): SiamFCNet {
  return new SiamFCNet(createBackbone(cpuSmallSpec({
    name: 'grouped', widthMultiplier: 1, exemplarSize: 31, instanceSize: 63, equivariance: { kind: 'none' },
    layers: [
      { type: 'conv', out: 32, kernel: 3, stride: 2 },
      { type: 'conv', out: 64, kernel: 3, groups: 2 },
      { type: 'conv', out: 96, kernel: 3, groups: 2 },
      { type: 'conv', out: 64, kernel: 3, groups: 4 },
      { type: 'maxpool', size: 2, stride: 1 },
      { type: 'conv', out: 64, kernel: 3, groups: 2, bn: false, act: 'none' },
    ],
  }), 9));
}

test('grouped 3×3 convs (one Winograd conv per group) give onnxruntime\'s features, split and wide, 1–3 crops', { skip }, () => {
  const n = groupedNet();
  const s = nativeNetSpec(backbonePlan(n.backbone));
  assert.ok(typeof s !== 'string', String(s));
  const handle = addon!.netCreate!(s.spec, s.weights, s.biases, 3);
  const threads0 = addon!.getThreads();
  try {
    for (const threads of [2, 1]) {
      addon!.setThreads(threads);
      for (const wide of [false, true]) {
        for (const [k, S] of [[3, n.geometry.instanceSize], [1, n.geometry.exemplarSize], [3, n.geometry.instanceSize]]) {
          const ort = new OrtSession(exportOnnxModel(n, 'backbone', S), `backbone(${S})`, { threads: 1 });
          const x = crops(k, S);
          const ref = ort.run({ x: ortTensor(x, [k, S, S, 3]) }, ['nchw']).nchw;
          ort.dispose();
          const out = new Float32Array(ref.data.length);
          assert.deepEqual(addon!.netRun!(handle, x, k, S, out, wide), [ref.dims[1], ref.dims[2]]);
          const err = relMaxDiff(out, ref.data as Float32Array);
          assert.ok(err < 1e-5, `k=${k} S=${S} ${threads} threads wide ${wide}: ${err}`);
        }
      }
    }
  } finally {
    addon!.setThreads(threads0);
  }
});

test('the native engine answers what the onnxruntime engine answers, stacks templates, tracks the same boxes (siamfc, het)', { skip }, async () => {
  for (const model of ['siamfc', 'het-siamfc']) await sameAsOnnxruntime(model);
});

async function sameAsOnnxruntime(model: string): Promise<void> {
  const { net, manifest } = await loadTracker(model);
  const native = onnxEngineFor(net);
  const ort = onnxEngineFor(net, { runner: 'onnxruntime' });
  assert.ok(native instanceof NativeNetEngine, native.description);
  assert.ok(ort instanceof OnnxEngine);
  assert.match(native.description, /oneDNN in the native add-on/);
  const { exemplarSize: E, instanceSize: X } = net.geometry;
  const z = crops(1, E), x = crops(3, X);
  const rn = native.respond(native.exemplar(z), x, 3).slice(), ro = ort.respond(ort.exemplar(z), x, 3);
  assert.ok(relMaxDiff(rn, ro) < 1e-5, `${model} responses: ${relMaxDiff(rn, ro)}`);
  const z2 = z.map((v) => 255 - v);
  const sn = native.respond(native.stack!([native.exemplar(z), native.exemplar(z2)]), x, 3).slice();
  const so = ort.respond(ort.stack!([ort.exemplar(z), ort.exemplar(z2)]), x, 3);
  assert.equal(sn.length, 2 * rn.length);
  assert.ok(relMaxDiff(sn, so) < 1e-5, `${model} stacked: ${relMaxDiff(sn, so)}`);
  assert.throws(() => native.respond(ort.exemplar(z), x, 3), /native engine: exemplar features come from another engine/);
  assertSameBoxes(net, SiamFCConfig.parse(manifest?.tracker ?? {}), native, ort, 5);
  native.dispose();
  ort.dispose();
}

test('group pooling on NCHW features: max over each group\'s channels, blocks in order, sizes 4, 2 and 1', () => {
  // 1 crop, 7 channels of 2 values: a block of 2 groups × size 2 (channels 0–3), one of 1 group × size 2 (4–5), one of size 1 (6)
  const x = Float32Array.of(1, 8, 3, 2, /**/ -1, -2, -3, 5, /**/ 4, 0, 6, -1, /**/ 9, 9);
  const blocks = [{ size: 2, start: 0, channels: 4, groups: 2 }, { size: 2, start: 4, channels: 2, groups: 1 }, { size: 1, start: 6, channels: 1, groups: 1 }];
  const out = new Float32Array(8);
  groupPoolNchw(x, 1, 7, 2, blocks, out);
  assert.deepEqual([...out], [3, 8, -1, 5, 6, 0, 9, 9]);
  const two = new Float32Array(16);
  groupPoolNchw(Float32Array.from([...x, ...x.map((v) => -v)]), 2, 7, 2, blocks, two);
  assert.deepEqual([...two.subarray(8)], [-1, -2, 3, 2, -4, 1, -9, -9]);
  assert.throws(() => groupPoolNchw(x, 1, 7, 2, blocks, new Float32Array(7)), /group pooling: 14 values in, 7 out, expected 1×7×2 and 1×4×2/);
  // a NaN anywhere in a group gives NaN (tfjs's max), first or later
  const nan = Float32Array.from(x);
  nan[0] = NaN;
  nan[7] = NaN;
  groupPoolNchw(nan, 1, 7, 2, blocks, out);
  assert.deepEqual([...out].map((v) => (Number.isNaN(v) ? 'NaN' : v)), ['NaN', 8, -1, 'NaN', 6, 0, 9, 9]);
});

test('what the runner cannot run goes to onnxruntime, with the reason', { skip }, async () => {
  const { net: ien } = await loadTracker('ien-siamfc');
  const plan = backbonePlan(ien.backbone);
  assert.ok(onnxEngineFor(ien) instanceof NativeNetEngine, 'IEN: convs, then group pooling at the end');
  const early = { ...plan, layers: [plan.layers[0], plan.layers[plan.layers.length - 1], ...plan.layers.slice(1, -1)] };
  assert.equal(nativeNetSpec(early), 'layer 1: group pooling before the last layer');
  const made = NativeNet.create(addon, early);
  assert.equal(made.net, null);
  assert.match((made as { reason: string }).reason, /backbone "cpu-small-ien-r4" layer 1: group pooling before the last layer is not taken by the runner/);
  const wide = { ...plan, layers: [...plan.layers.slice(0, -1), { type: 'groupPool' as const, blocks: [{ size: 4, start: 4, channels: 64, groups: 16 }] }] };
  assert.match(String(nativeNetSpec(wide)), /layer 5: group pooling block .* does not fit 64 channels/);
  const { net } = await loadTracker('siamfc');
  const threads = addon!.getThreads();
  assert.ok(onnxEngineFor(net, { threads: threads + 1 }) instanceof OnnxEngine, 'another thread count than the add-on\'s');
  assert.ok(onnxEngineFor(net, { xcorr: 'graph' }) instanceof OnnxEngine);
  assert.equal(NativeNet.create(null, backbonePlan(net.backbone)).net, null);
  assert.throws(() => addon!.netCreate!(Int32Array.of(0, 1, 1, 3, 1, 1, 5), [new Float32Array(9)], [new Float32Array(1)], 1),
    /NetCreate: spec: layer 0 is not a conv or pool this runner takes/);
  assert.throws(() => addon!.netRun!({}, new Float32Array(3), 1, 1, new Float32Array(1), false), /NetRun: net: not a network made by netCreate/);
});

test('a runner that fails while its chains are built: onnxruntime runs the net, and the warning says why', { skip }, async () => {
  const { net } = await loadTracker('siamfc');
  const failing = Object.create(addon!, { netRun: { value: () => { throw new Error('oneDNN refused a layer (test)'); } } });
  const warnings: string[] = [];
  const engine = onnxEngineFor(net, { addon: failing, warn: (m) => warnings.push(m) }, 'siamfc');
  assert.ok(engine instanceof OnnxEngine, `got ${engine.constructor.name}`);
  assert.deepEqual(warnings, ['[engine] siamfc: the oneDNN runner failed (oneDNN refused a layer (test)); onnxruntime runs it']);
  // and it tracks: the same answer as onnxruntime asked for directly
  const ort = onnxEngineFor(net, { runner: 'onnxruntime' });
  const { exemplarSize: E, instanceSize: X } = net.geometry;
  const z = crops(1, E), x = crops(3, X);
  assert.deepEqual(engine.respond(engine.exemplar(z), x, 3).slice(), ort.respond(ort.exemplar(z), x, 3).slice());
  engine.dispose();
  ort.dispose();
});
