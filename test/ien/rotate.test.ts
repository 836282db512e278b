import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../tracker/tf.js';
import {
  rot90, rotate, rotateBatch, rotationMask, rotationSampling, flipHorizontal, isGridAligned, normalizeDegrees,
} from '../../tracker/ien/rotate.js';
import { rotateBoxBounds } from '../../tracker/geometry.js';

before(async () => {
  await tf.setBackend('cpu');
});

function noLeak(fn: () => tf.Tensor | tf.Tensor[] | void): void {
  const n0 = tf.memory().numTensors;
  const r = fn();
  if (r) tf.dispose(r);
  assert.equal(tf.memory().numTensors, n0, 'tensor leak');
}

const arr = (t: tf.Tensor) => Array.from(t.dataSync());
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** Smooth test map: a sum of wide Gaussian blobs, [1, n, n, 1]. */
function smoothMap(n: number): tf.Tensor4D {
  const v = new Float32Array(n * n);
  const c = (n - 1) / 2;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const x = j - c, y = i - c;
    v[i * n + j] = Math.exp(-((x - 3) ** 2 + (y + 2) ** 2) / 18) - 0.7 * Math.exp(-((x + 4) ** 2 + (y - 1) ** 2) / 12);
  }
  return tf.tensor4d(v, [1, n, n, 1]);
}

test('rot90 by hand: 2×3 map, k = 1 gives np.rot90 (counter-clockwise on screen) and shape [B, W, H, C]', () => {
  // [[1, 2, 3],
  //  [4, 5, 6]]  → rot90 → [[3, 6], [2, 5], [1, 4]]
  const x = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 2, 3, 1]);
  const y = rot90(x, 1);
  assert.deepEqual(y.shape, [1, 3, 2, 1]);
  assert.deepEqual(arr(y), [3, 6, 2, 5, 1, 4]);
  const z = rot90(x, -1);
  assert.deepEqual(arr(z), [4, 1, 5, 2, 6, 3]);
  const h = flipHorizontal(x);
  assert.deepEqual(arr(h), [3, 2, 1, 6, 5, 4]);
  tf.dispose([x, y, z, h]);
});

test('rotating 4 times by 90° is the identity (exactly), twice is 180°', () => {
  const x = tf.randomNormal([2, 5, 7, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const r = tf.tidy(() => rot90(rot90(rot90(rot90(x, 1), 1), 1), 1));
  assert.deepEqual(arr(r), arr(x));
  const a = tf.tidy(() => rot90(rot90(x, 1), 1));
  const b = rot90(x, 2);
  assert.deepEqual(arr(a), arr(b));
  tf.dispose([x, r, a, b]);
});

test('resampled rotation by multiples of 90° on square maps equals rot90 exactly, mask all ones', () => {
  const x = tf.randomNormal([1, 6, 6, 2], 0, 1, 'float32', 2) as tf.Tensor4D;
  for (const k of [1, 2, 3]) {
    const a = rotate(x, 90 * k);
    const b = rot90(x, k);
    // per-sample path (gather, one tap) too
    const c = tf.tidy(() => tf.slice(rotateBatch(tf.concat([x, x]), [0, 90 * k]), [1, 0, 0, 0], [1, 6, 6, 2]));
    assert.deepEqual(arr(a), arr(b));
    assert.deepEqual(arr(c), arr(b));
    tf.dispose([a, b, c]);
  }
  assert.ok(isGridAligned(6, 6, [90, 180, 270, -90]));
  assert.ok(!isGridAligned(6, 6, 45));
  assert.equal(rotationSampling(6, 6, 90).taps, 1);
  assert.equal(rotationSampling(6, 6, 45).taps, 4);
  // tables are cached per (H, W, angle), the angle taken modulo 360°
  assert.equal(rotationSampling(6, 6, 30), rotationSampling(6, 6, 390));
  assert.equal(rotationSampling(6, 6, -90), rotationSampling(6, 6, 270));
  x.dispose();
});

test('rotation sense agrees with geometry.rotateBoxBounds (a bright block moves where the rotated box says)', () => {
  const H = 21, W = 21;
  const box = { x: 13, y: 4, width: 4, height: 3 }; // continuous pixel box: cols 13..16, rows 4..6
  const v = new Float32Array(H * W);
  for (let i = box.y; i < box.y + box.height; i++) for (let j = box.x; j < box.x + box.width; j++) v[i * W + j] = 1;
  const x = tf.tensor4d(v, [1, H, W, 1]);
  // the map centre (W−1)/2 in pixel-centre coordinates is W/2 in continuous box coordinates
  for (const deg of [90, 180, 270]) {
    const y = rotate(x, deg);
    const d = y.dataSync();
    const exp = rotateBoxBounds(box, deg, W / 2, H / 2);
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity, n = 0;
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) if (d[i * W + j] > 0.5) {
      x0 = Math.min(x0, j); x1 = Math.max(x1, j + 1); y0 = Math.min(y0, i); y1 = Math.max(y1, i + 1); n++;
    }
    assert.equal(n, 12);
    const got = [x0, y0, x1 - x0, y1 - y0], want = [exp.x, exp.y, exp.width, exp.height];
    got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-9, `rotation by ${deg}°: [${got}] vs [${want}]`));
    y.dispose();
  }
  // 30°: the centroid of the rotated mass lands on the rotated box centre
  const y = rotate(x, 30);
  const d = y.dataSync();
  let sx = 0, sy = 0, s = 0;
  for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) { sx += d[i * W + j] * (j + 0.5); sy += d[i * W + j] * (i + 0.5); s += d[i * W + j]; }
  const e = rotateBoxBounds(box, 30, W / 2, H / 2);
  assert.ok(Math.abs(sx / s - (e.x + e.width / 2)) < 0.1, `cx ${sx / s} vs ${e.x + e.width / 2}`);
  assert.ok(Math.abs(sy / s - (e.y + e.height / 2)) < 0.1, `cy ${sy / s} vs ${e.y + e.height / 2}`);
  tf.dispose([x, y]);
});

test('bilinear rotation matches an independent per-pixel implementation (30°, non-square map)', () => {
  const H = 5, W = 7;
  const x = tf.randomUniform([1, H, W, 1], -1, 1, 'float32', 4) as tf.Tensor4D;
  const xv = x.dataSync();
  const y = rotate(x, 30);
  const yv = y.dataSync();
  const t = Math.PI / 6, cx = (W - 1) / 2, cy = (H - 1) / 2;
  const px = (r: number, c: number) => (r >= 0 && r < H && c >= 0 && c < W ? xv[r * W + c] : 0);
  for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
    // inverse rotation of the output pixel: counter-clockwise on screen means the source is clockwise from it
    const dx = j - cx, dy = i - cy;
    const sx = cx + Math.cos(t) * dx - Math.sin(t) * dy, sy = cy + Math.sin(t) * dx + Math.cos(t) * dy;
    const c0 = Math.floor(sx), r0 = Math.floor(sy), fx = sx - c0, fy = sy - r0;
    const ref = px(r0, c0) * (1 - fx) * (1 - fy) + px(r0, c0 + 1) * fx * (1 - fy) + px(r0 + 1, c0) * (1 - fx) * fy
      + px(r0 + 1, c0 + 1) * fx * fy;
    assert.ok(Math.abs(yv[i * W + j] - ref) < 1e-6, `pixel (${i}, ${j}): ${yv[i * W + j]} vs ${ref}`);
  }
  // the centre pixel of an odd map is the rotation centre: unchanged
  const xc = tf.randomUniform([1, 5, 5, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
  const yc = rotate(xc, 37);
  assert.ok(Math.abs(yc.dataSync()[12] - xc.dataSync()[12]) < 1e-6);
  tf.dispose([x, y, xc, yc]);
});

// bilinear resampling smooths: measured max error 0.047 of the peak for Gaussian blobs of σ ≈ 3.5 px (33×33 map)
test('rotation by 45° twice ≈ one rotation by 90° for a smooth map inside the valid mask (tol 0.06 of the peak)', () => {
  const n = 33;
  const x = smoothMap(n);
  const twice = tf.tidy(() => rotate(rotate(x, 45), 45));
  const once = rot90(x, 1);
  const m = tf.tidy(() => tf.mul(rotationMask(n, n, 45), rotate(rotationMask(n, n, 45), 45))); // valid after both steps
  const err = tf.tidy(() => tf.max(tf.mul(tf.abs(tf.sub(twice, once)), m)).dataSync()[0]);
  const peak = tf.tidy(() => tf.max(tf.abs(x)).dataSync()[0]);
  const frac = tf.tidy(() => tf.mean(m).dataSync()[0]);
  assert.ok(frac > 0.6, `valid region ${frac}`);
  assert.ok(err / peak < 0.06, `45°+45° vs 90°: max error ${err} (peak ${peak})`);
  // and the comparison is meaningful: the map itself differs from its 90° rotation by far more
  const moved = tf.tidy(() => tf.max(tf.mul(tf.abs(tf.sub(x, once)), m)).dataSync()[0]);
  assert.ok(moved / peak > 0.5, `unrotated vs 90°: ${moved}`);
  assert.ok(err > 0, 'bilinear interpolation is not exact');
  tf.dispose([x, twice, once, m]);
});

test('validity mask: all ones at 0°/90°, corners out at 45°, inner disk in', () => {
  const m90 = rotationMask(8, 8, [0, 90]);
  assert.deepEqual(m90.shape, [2, 8, 8, 1]);
  assert.ok(arr(m90).every((v) => v === 1));
  const m45 = rotationMask(9, 9, 45);
  const v = m45.dataSync();
  assert.equal(v[0], 0); // corner: source point outside
  assert.equal(v[4 * 9 + 4], 1); // centre
  assert.equal(v[4 * 9 + 0], 1); // middle of the left edge: source at distance 4 from the centre, inside
  tf.dispose([m90, m45]);
});

test('per-sample angles in one batch equal rotating each sample separately', () => {
  const x = tf.randomNormal([3, 7, 7, 2], 0, 1, 'float32', 6) as tf.Tensor4D;
  const angles = [45, 90, -30];
  const y = rotateBatch(x, angles);
  angles.forEach((a, i) => {
    const xi = tf.slice(x, [i, 0, 0, 0], [1, 7, 7, 2]);
    const yi = rotate(xi, a);
    const gi = tf.slice(y, [i, 0, 0, 0], [1, 7, 7, 2]);
    assert.ok(maxAbsDiff(yi, gi) < 1e-6, `sample ${i}`);
    tf.dispose([xi, yi, gi]);
  });
  tf.dispose([x, y]);
  assert.throws(() => rotateBatch(tf.zeros([2, 3, 3, 1]) as tf.Tensor4D, [1, 2, 3]), /3 angles for a batch of 2/);
  assert.throws(() => rotate(tf.zeros([3, 3, 1]) as unknown as tf.Tensor4D, 10), /\[B, H, W, C\]/);
  assert.throws(() => normalizeDegrees(NaN), /finite/);
});

test('gradient through rotate equals the transposed resampling (R^T w built from rotated one-hot maps)', () => {
  const n = 5, c = 1;
  for (const deg of [30, 90]) {
    const x = tf.randomNormal([1, n, n, c], 0, 1, 'float32', 7) as tf.Tensor4D;
    const w = tf.randomNormal([1, n, n, c], 0, 1, 'float32', 8) as tf.Tensor4D;
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(rotate(t as tf.Tensor4D, deg), w)))(x);
    // column j of R is rotate(e_j): (R^T w)_j = Σ_i w_i · rotate(e_j)_i
    const rtw = tf.tidy(() => {
      const eye = tf.reshape(tf.eye(n * n), [n * n, n, n, 1]) as tf.Tensor4D;
      return tf.reshape(tf.sum(tf.mul(rotate(eye, deg), w), [1, 2, 3]), [1, n, n, 1]);
    });
    assert.ok(maxAbsDiff(g, rtw) < 1e-6, `deg ${deg}`);
    assert.ok(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) > 0.1);
    tf.dispose([x, w, g, rtw]);
  }
});

test('no tensor leaks in rot90, rotate, rotateBatch, rotationMask, flipHorizontal', () => {
  const x = tf.randomNormal([2, 6, 6, 3]) as tf.Tensor4D;
  noLeak(() => rot90(x, 1));
  noLeak(() => rot90(x, 0));
  noLeak(() => rotate(x, 0));
  noLeak(() => rotate(x, 90));
  noLeak(() => rotate(x, 33));
  noLeak(() => rotateBatch(x, [45, 90]));
  noLeak(() => rotateBatch(x, [90, 270]));
  noLeak(() => rotationMask(6, 6, [45, 10]));
  noLeak(() => flipHorizontal(x));
  x.dispose();
});
