import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { parseIdx, readIdx, IdxError } from '../../data/idx.js';
import { loadMnist, stratifiedSplit, buildRotMnist, buildScaleMnist, buildR2Mnist, bundledMnistDir } from '../../data/mnist.js';
import { mirrorDigit, rotateDigit, scaleDigit } from '../../data/digit-transform.js';
import { mulberry32 } from '../../tracker/random.js';

function idx(shape: number[], data: number[]): Uint8Array {
  const head = new Uint8Array(4 + 4 * shape.length);
  head.set([0, 0, 8, shape.length]);
  const v = new DataView(head.buffer);
  shape.forEach((s, i) => v.setUint32(4 + 4 * i, s, false));
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(data, head.length);
  return out;
}

test('IDX: parses plain and gzipped; rejects bad magic, unsupported type, truncated data — naming the file', () => {
  const ok = idx([2, 2], [1, 2, 3, 4]);
  assert.deepEqual(parseIdx(ok, 'a'), { shape: [2, 2], data: new Uint8Array([1, 2, 3, 4]) });
  assert.deepEqual(parseIdx(gzipSync(ok), 'a.gz').shape, [2, 2]);
  assert.throws(() => parseIdx(new Uint8Array([1, 2, 3, 4]), 'x.idx'), /x\.idx: not an IDX file/);
  assert.throws(() => parseIdx(new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]), 'f.idx'), /f\.idx: IDX data type 0xd/);
  assert.throws(() => parseIdx(ok.subarray(0, ok.length - 1), 't.idx'), /t\.idx: .* \(truncated\)/);
  assert.throws(() => readIdx('/nonexistent/file'), IdxError);
});

test('MNIST: 70k digits from the bundled files; mislabelled or truncated user files are rejected clearly', () => {
  const all = loadMnist();
  assert.equal(all.count, 70000);
  assert.equal(all.size, 28);
  assert.equal(all.images.length, 70000 * 784);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mnist-'));
  try {
    const src = bundledMnistDir();
    for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte']) {
      copyFileSync(path.join(src, f), path.join(dir, f));
    }
    // labels: right count but a value 12 → a clear error with file and index
    writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx([10000], Array.from({ length: 10000 }, (_, i) => (i === 5 ? 12 : 1)))));
    assert.throws(() => loadMnist(dir), /t10k-labels-idx1-ubyte\.gz: label 12 at index 5/);
    // label count does not match the images
    writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx([9], Array(9).fill(1))));
    assert.throws(() => loadMnist(dir), /9 labels for 10000 images/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stratified split: exact sizes, disjoint, class proportions kept', () => {
  const labels = new Uint8Array(1000).map((_, i) => (i < 500 ? 0 : 1 + (i % 9)));
  const [a, b, c] = stratifiedSplit(labels, [100, 20, 500], 3);
  assert.deepEqual([a.length, b.length, c.length], [100, 20, 500]);
  assert.equal(new Set([...a, ...b, ...c]).size, 620);
  assert.equal(a.filter((i) => labels[i] === 0).length, 50); // class 0 is half of the data
  assert.deepEqual(stratifiedSplit(labels, [100, 20, 500], 3), [a, b, c]); // seeded
});

test('digit rotation: four 90° turns are the identity; 90° moves a pixel counter-clockwise on screen', () => {
  const S = 28;
  const img = new Uint8Array(S * S).map((_, i) => (i * 7) % 256);
  let r: Uint8Array = img;
  for (let k = 0; k < 4; k++) r = rotateDigit(r, S, Math.PI / 2);
  assert.deepEqual(r, img);
  const dot = new Uint8Array(S * S);
  dot[13 * S + 20] = 255; // right of centre (13.5, 13.5), row 13
  const rot = rotateDigit(dot, S, Math.PI / 2);
  // counter-clockwise: right → up; (20, 13) → (13, 7) about (13.5, 13.5)
  assert.equal(rot[7 * S + 13], 255);
});

test('digit scaling: factor 1 is the identity, factor 0.5 shrinks the ink towards the centre', () => {
  const S = 28;
  const img = new Uint8Array(S * S);
  for (let y = 4; y < 24; y++) for (let x = 4; x < 24; x++) img[y * S + x] = 200;
  assert.deepEqual(scaleDigit(img, S, 1), img);
  const half = scaleDigit(img, S, 0.5);
  assert.equal(half[0 * S + 4], 0);
  assert.ok(half[13 * S + 13] > 190);
  let ink = 0;
  for (const v of half) if (v > 100) ink++;
  assert.ok(ink > 80 && ink < 120, `ink ${ink} ≈ 400/4`);
});

test('Rot-MNIST and Scale-MNIST build deterministic, stratified, transformed splits', () => {
  const a = buildRotMnist({ sizes: [200, 50, 100], seed: 1, cacheDir: null });
  const b = buildRotMnist({ sizes: [200, 50, 100], seed: 1, cacheDir: null });
  assert.deepEqual(a.train.labels, b.train.labels);
  assert.deepEqual(a.test.images, b.test.images);
  assert.equal(a.train.count, 200);
  const s = buildScaleMnist({ sizes: [20, 10, 10], seed: 2, size: 56, cacheDir: null });
  assert.equal(s.train.images.length, 20 * 56 * 56);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mnist-cache-'));
  try {
    const c1 = buildRotMnist({ sizes: [30, 10, 10], seed: 4, cacheDir: dir });
    const c2 = buildRotMnist({ sizes: [30, 10, 10], seed: 4, cacheDir: dir }); // from the cache
    assert.deepEqual(c1.val.images, c2.val.images);
    assert.deepEqual(c1.train.labels, c2.train.labels);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('R2-MNIST: each digit rotated by U[0, 2π), then mirrored with probability 1/2 (same split as Rot-MNIST)', () => {
  const sizes: [number, number, number] = [200, 50, 100];
  const r2 = buildR2Mnist({ sizes, seed: 3, cacheDir: null });
  const rot = buildRotMnist({ sizes, seed: 3, cacheDir: null });
  assert.equal(r2.meta.kind, 'r2');
  assert.deepEqual(r2.train.labels, rot.train.labels, 'the split does not depend on the transform');
  // replay the transform stream: per digit one angle draw, then one mirror draw
  const all = loadMnist(bundledMnistDir());
  const [trainIdx] = stratifiedSplit(all.labels, sizes, 3);
  const rand = mulberry32(3 ^ 0x9e3779b9);
  let mirrored = 0;
  trainIdx.forEach((i, k) => {
    const turned = rotateDigit(all.images.subarray(i * 784, (i + 1) * 784), 28, rand() * 2 * Math.PI);
    const m = rand() < 0.5;
    if (m) mirrored++;
    assert.deepEqual(r2.train.images.subarray(k * 784, (k + 1) * 784), m ? mirrorDigit(turned, 28) : turned, `train digit ${k}`);
  });
  assert.ok(mirrored > 70 && mirrored < 130, `${mirrored} of 200 mirrored`);
  assert.deepEqual(mirrorDigit(mirrorDigit(r2.test.images.subarray(0, 784), 28), 28), r2.test.images.subarray(0, 784));
});
