// oneDNN's conv primitives (tracker/native/src/dnnl_conv.h) against the add-on's im2col + sgemm convs, the batch split
// over 1–3 threads: forward (with bias and each fused activation), input and filter gradients, on random geometries —
// strides 1–3, dilations, same / valid / explicit padding (also padding as wide as the kernel, which oneDNN 2.6's
// filter gradient cannot run and the add-on leaves to im2col), batches that split evenly and that do not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeAddon } from '../../tracker/node/native-backend.js';
import { nativeOrSkip, relErr, rng, int } from './util.js';

const reg = nativeOrSkip();
const addon = reg.ok ? loadNativeAddon()! : null;
const dnnl = !!addon && addon.blasInfo().startsWith('oneDNN') && typeof addon.setConvEngine === 'function';
// ROT_TRACK_CONV as a mask (−1: unset, auto)
const envMask = ({ dnnl: 7, im2col: 0, 'dnnl-forward': 1 } as Record<string, number>)[process.env.ROT_TRACK_CONV ?? ''] ?? -1;

test('a oneDNN build runs its conv primitives (CI installs libdnnl-dev)', { skip: !reg.ok }, (t) => {
  if (!dnnl) {
    assert.notEqual(process.env.CI, 'true', `CI=true but the add-on has no oneDNN convs (${addon!.blasInfo()})`);
    t.skip('this build has no oneDNN: only im2col convs to test');
    return;
  }
  const a = addon!;
  const threads0 = a.getThreads();
  try {
    for (const threads of [1, 2]) {
      a.setThreads(threads);
      assert.equal(a.convEngine!(), envMask >= 0 ? envMask : 7,
        `the mask at ${threads} thread(s) (ROT_TRACK_CONV ${process.env.ROT_TRACK_CONV ?? 'unset'}): all three at any thread count`);
    }
    a.setConvEngine!(1);
    assert.equal(a.convEngine!(), 1, 'an explicit mask holds whatever the thread count');
    a.setConvEngine!(-1);
    assert.equal(a.convEngine!(), 7, 'auto again at 2 threads');
  } finally {
    a.setConvEngine!(envMask);
    a.setThreads(threads0);
  }
});

interface ConvCase { p: Int32Array; x: Float32Array; w: Float32Array; dy: Float32Array; bias: Float32Array | null; act: number; alpha: number }

/** The forward pass and both gradients of one conv with the convs of `mask` on oneDNN (0: all im2col), at `threads`. */
function convAll(c: ConvCase, mask: number, threads: number): { y: Float32Array; dx: Float32Array; dwt: Float32Array } {
  const a = addon!;
  a.setConvEngine!(mask);
  a.setThreads(threads);
  const y = new Float32Array(c.dy.length), dx = new Float32Array(c.x.length), dwt = new Float32Array(c.w.length);
  a.conv2d(c.x, c.w, y, c.p, c.bias, c.act, c.alpha);
  a.conv2dBackpropInput(c.dy, c.w, dx, c.p);
  a.conv2dBackpropFilter(c.x, c.dy, dwt, c.p);
  return { y, dx, dwt };
}

test('oneDNN convs and their gradients equal the im2col ones on random geometries at 1–3 threads', { skip: !dnnl }, () => {
  const a = addon!;
  const rand = rng(9001);
  const threads0 = a.getThreads();
  const r = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);
  try {
    for (let i = 0; i < 60; i++) {
      const B = int(rand, 1, 4), H = int(rand, 3, 19), W = int(rand, 3, 19), C = int(rand, 1, 9), OC = int(rand, 1, 17);
      const G = i % 3 === 2 ? int(rand, 2, 3) : 1; // C, OC per group (oneDNN's grouped primitive)
      const KH = int(rand, 1, Math.min(5, H)), KW = int(rand, 1, Math.min(5, W));
      const dil = rand() < 0.25;
      const sh = dil ? 1 : int(rand, 1, 3), sw = dil ? 1 : int(rand, 1, 3);
      const dh = dil ? 2 : 1, dw = dil ? int(rand, 1, 2) : 1;
      const kh = (KH - 1) * dh + 1, kw = (KW - 1) * dw + 1;
      if (kh > H || kw > W) continue;
      // explicit pads 0–kernel (a pad as wide as the kernel included); 'valid' when 0
      const pt = rand() < 0.5 ? 0 : int(rand, 0, kh), pb = rand() < 0.5 ? 0 : int(rand, 0, kh);
      const pl = rand() < 0.5 ? 0 : int(rand, 0, kw), pr = rand() < 0.5 ? 0 : int(rand, 0, kw);
      const OH = Math.floor((H + pt + pb - kh) / sh) + 1, OW = Math.floor((W + pl + pr - kw) / sw) + 1;
      const p = Int32Array.from([B, H, W, C * G, OH, OW, OC * G, KH, KW, sh, sw, dh, dw, pt, pl, G]);
      const x = r(B * H * W * C * G), w = r(KH * KW * C * OC * G), dy = r(B * OH * OW * OC * G), bias = r(OC * G);
      const act = i % 4, alpha = 0.2;
      const label = `#${i} x[${B},${H},${W},${C * G}] k${KH}x${KW}→${OC * G} groups ${G} s${sh},${sw} d${dh},${dw} pad ${pt},${pb},${pl},${pr} act ${act}`;
      const c: ConvCase = { p, x, w, dy, bias: i % 3 === 0 ? null : bias, act, alpha };
      const threads = 1 + (i % 3);
      const ref = convAll(c, 0, threads);
      const got = convAll(c, 7, threads);
      for (const k of ['y', 'dx', 'dwt'] as const) {
        const e = relErr(got[k], ref[k]);
        assert.ok(e < 1e-5, `${label} at ${threads} thread(s): ${k} differs from im2col by ${e.toExponential(2)}`);
      }
    }
  } finally {
    a.setConvEngine!(envMask);
    a.setThreads(threads0);
  }
});

test('3×3 stride-1 convs with large outputs (grouped too) run on Winograd kernels and equal the im2col ones, at 1–2 threads', { skip: !dnnl }, () => {
  const a = addon!;
  const rand = rng(9002);
  const threads0 = a.getThreads();
  const r = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);
  const wino = process.env.ROT_TRACK_TRAIN_WINO !== '0';
  try {
    for (let i = 0; i < 12; i++) {
      const threads = 1 + (i % 2);
      const B = threads * int(rand, 1, 3), H = int(rand, 16, 30), W = int(rand, 16, 30);
      // groups: one Winograd primitive over each group's channels in turn (dnnl_conv.h)
      const G = 1 + (i % 3), C = int(rand, 1, 24), OC = int(rand, 1, 24), same = i % 4 === 0;
      const pad = same ? 1 : 0, OH = H + 2 * pad - 2, OW = W + 2 * pad - 2;
      const p = Int32Array.from([B, H, W, C * G, OH, OW, OC * G, 3, 3, 1, 1, 1, 1, pad, pad, G]);
      const x = r(B * H * W * C * G), w = r(9 * C * OC * G), dy = r(B * OH * OW * OC * G), bias = r(OC * G);
      const act = i % 4, alpha = 0.2;
      const label = `#${i} x[${B},${H},${W},${C * G}] 3x3→${OC * G} groups ${G} pad ${pad} act ${act} at ${threads} thread(s)`;
      const c: ConvCase = { p, x, w, dy, bias: i % 2 === 0 ? null : bias, act, alpha };
      const ref = convAll(c, 0, threads);
      const got = convAll(c, 7, threads);
      for (const [k, kind] of [['y', 'f'], ['dx', 'd'], ['dwt', 'w']] as const) {
        const impl = a.convImpl!(p, kind);
        if (wino) assert.match(impl ?? 'im2col', /wino/, `${label}: ${k} on ${impl}`);
        // Winograd rounds differently from a direct conv: ~1e-6 of the largest value here, 1e-5 allowed as for the others
        const e = relErr(got[k], ref[k]);
        assert.ok(e < 1e-5, `${label}: ${k} (${impl}) differs from im2col by ${e.toExponential(2)}`);
      }
    }
    a.setConvEngine!(7);
    a.setThreads(1);
    const small = Int32Array.from([2, 9, 9, 8, 7, 7, 8, 3, 3, 1, 1, 1, 1, 0, 0]);
    assert.doesNotMatch(a.convImpl!(small, 'f') ?? 'im2col', /wino/, 'a 7×7 output stays on the direct kernel (slower on Winograd)');
    assert.throws(() => a.convImpl!(small, 'x' as 'f'), /kind: expected 'f', 'd' or 'w'/);
    const rgb = Int32Array.from([2, 31, 31, 3, 11, 11, 8, 11, 11, 2, 2, 1, 1, 0, 0]);
    assert.equal(a.convImpl!(rgb, 'd'), null, 'the input gradient of a 3-channel conv stays on im2col (oneDNN\'s is 4× slower)');
    assert.notEqual(a.convImpl!(rgb, 'f'), null);
  } finally {
    a.setConvEngine!(envMask);
    a.setThreads(threads0);
  }
});
