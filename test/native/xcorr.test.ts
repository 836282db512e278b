// The add-on's cross-correlation head (tracker/native/src/xcorr.cc) — what the onnx engine runs instead of the search
// model's last Conv when the add-on is loaded: against a double-precision reference on random geometries (several
// templates, odd sides, 1–3 threads), its argument checks, and the onnx engine with the head in the add-on against the
// same engine with the head inside onnxruntime (responses and tracked boxes).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeAddon, setNativeThreads } from '../../tracker/node/native-backend.js';
import { mulberry32 } from '../../tracker/random.js';
import { OnnxEngine } from '../../tracker/node/onnx/onnx-engine.js';
import { loadTracker } from '../../tracker/node/load-tracker.js';
import { SiamFCConfig } from '../../tracker/siamfc/config.js';
import { frameKernels } from '../../tracker/engine/frame-kernels.js';
import { nativeOrSkip } from './util.js';
import { assertSameBoxes } from './same-boxes.js';
import { ortSkip, referenceBackend, relMaxDiff } from '../onnx/ort-gate.js';

const reg = nativeOrSkip();
const addon = reg.ok ? loadNativeAddon() : null;
const skip = !addon?.headXcorr;

before(async () => {
  await referenceBackend(); // loading a tracker needs a tfjs backend
});

/** Σ_c Σ_ij features[n, c, y + i, x + j] · kernel[t, c, i, j] · scale in doubles, and Σ of the terms' magnitudes. */
function reference(f: Float32Array, k: Float32Array, [N, C, H, W, T, h, w]: number[], scale: number) {
  const R = H - h + 1, Q = W - w + 1;
  const out = new Float64Array(N * T * R * Q), mag = new Float64Array(out.length);
  for (let n = 0; n < N; n++) for (let t = 0; t < T; t++) for (let y = 0; y < R; y++) for (let x = 0; x < Q; x++) {
    let s = 0, m = 0;
    for (let c = 0; c < C; c++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
      const v = f[((n * C + c) * H + y + i) * W + x + j] * k[((t * C + c) * h + i) * w + j];
      s += v;
      m += Math.abs(v);
    }
    const o = ((n * T + t) * R + y) * Q + x;
    out[o] = s * scale;
    mag[o] = m * Math.abs(scale);
  }
  return { out, mag };
}

test('headXcorr equals a double-precision cross-correlation on random geometries, 1–3 threads', { skip }, () => {
  const rand = mulberry32(91);
  const int = (a: number, b: number) => a + Math.floor(rand() * (b - a + 1));
  for (let c = 0; c < 30; c++) {
    const N = int(1, 4), C = int(1, 70), T = int(1, 3), h = int(1, 8), w = int(1, 8);
    const H = h + int(0, 18), W = w + int(0, 18);
    const dims = [N, C, H, W, T, h, w];
    const f = Float32Array.from({ length: N * C * H * W }, () => rand() * 4 - 1);
    const k = Float32Array.from({ length: T * C * h * w }, () => rand() * 2 - 1);
    const scale = c % 2 ? 0.001 : 1;
    const ref = reference(f, k, dims, scale);
    for (const threads of [1, 2, 3]) {
      setNativeThreads(threads);
      const out = new Float32Array(ref.out.length).fill(NaN);
      addon!.headXcorr!(f, k, Int32Array.from(dims), scale, out);
      for (let i = 0; i < out.length; i++) {
        // float32 accumulation: a few ulps of the terms' magnitudes
        assert.ok(Math.abs(out[i] - ref.out[i]) <= 1e-6 * ref.mag[i] + 1e-30,
          `case ${c} [${dims}] at ${threads} thread(s): out[${i}] = ${out[i]}, reference ${ref.out[i]}`);
      }
    }
  }
  setNativeThreads(1);
});

test('headXcorr names a bad argument', { skip }, () => {
  const x = addon!.headXcorr!;
  assert.throws(() => x(new Float32Array(10), new Float32Array(4), Int32Array.of(1, 1, 4, 4, 1, 2, 2), 1, new Float32Array(9)),
    /HeadXcorr: features: has 10 elements, needs 16/);
  assert.throws(() => x(new Float32Array(16), new Float32Array(4), Int32Array.of(1, 1, 4, 4, 1, 5, 2), 1, new Float32Array(9)),
    /HeadXcorr: dims: features smaller than the kernel/);
  assert.throws(() => x(new Float32Array(16), new Float32Array(4), Int32Array.of(1, 1, 4, 4, 1, 2, 2), 1, new Float32Array(8)),
    /HeadXcorr: out: has 8 elements, needs 9/);
  assert.throws(() => x(new Float32Array(16), new Float32Array(4), Int32Array.of(1, 1, 4), 1, new Float32Array(9)),
    /HeadXcorr: dims: has 3 elements, needs 7/);
});

test('the onnx engine with the head in the add-on answers what the head in onnxruntime answers', { skip: skip || ortSkip.skip }, async () => {
  assert.ok(frameKernels(), 'registerNativeBackend set the frame kernels');
  const { net, manifest } = await loadTracker('siamfc');
  const native = OnnxEngine.fromNet(net, { threads: 2 });
  const graph = OnnxEngine.fromNet(net, { threads: 2, xcorr: 'graph' });
  try {
    assert.match(native.description, /xcorr in the native add-on/);
    assert.doesNotMatch(graph.description, /native add-on/);
    const { exemplarSize: E, instanceSize: X } = net.geometry;
    const rand = mulberry32(92);
    const z = Float32Array.from({ length: E * E * 3 }, () => rand() * 255);
    const crops = Float32Array.from({ length: 3 * X * X * 3 }, () => rand() * 255);
    const zn = native.exemplar(z), zg = graph.exemplar(z);
    const rn = native.respond(zn, crops, 3).slice(), rg = graph.respond(zg, crops, 3);
    assert.equal(rn.length, rg.length);
    assert.ok(relMaxDiff(rn, rg) < 1e-5, `responses differ by ${relMaxDiff(rn, rg)} of their largest value`);
    // two stacked templates (the rotated-template path): T = 2 maps per crop
    const zs = native.stack([zn, native.exemplar(z.map((v) => 255 - v))]);
    const gs = graph.stack([zg, graph.exemplar(z.map((v) => 255 - v))]);
    const sn = native.respond(zs, crops, 3).slice(), sg = graph.respond(gs, crops, 3);
    assert.equal(sn.length, 2 * rn.length);
    assert.ok(relMaxDiff(sn, sg) < 1e-5, `stacked responses differ by ${relMaxDiff(sn, sg)}`);
    // a tracked sequence: the same boxes to well below a pixel
    assertSameBoxes(net, SiamFCConfig.parse(manifest?.tracker ?? {}), native, graph);
  } finally {
    native.dispose();
    graph.dispose();
  }
});
