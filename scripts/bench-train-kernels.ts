/**
 * GFLOP/s of the wasm backend's training kernels, ours next to the stock ones they replace, plus a 1024² matMul and a
 * batch-8 training step of a small conv net. Single-threaded wasm (as always in Node); numbers vary ±10% run to run.
 *
 *   node --import tsx scripts/bench-train-kernels.ts [--reps N] [--wall]
 */
import { tf } from '../tracker/tf.js';
import { describeBackend, setBackend, stockWasmKernel } from '../tracker/backend.js';

const repsArg = process.argv.indexOf('--reps');
const REPS = repsArg >= 0 ? Number(process.argv[repsArg + 1]) : 7;
const WALL = process.argv.includes('--wall');

/**
 * Median milliseconds of `f` (after one warm-up run): CPU time of this process by default, which other work on the
 * machine does not inflate (wasm runs on this one thread here); `--wall` for wall-clock time. wasm kernels run
 * synchronously, so no read-back is needed.
 */
function timeMs(f: () => void): number {
  f();
  const t: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = WALL ? performance.now() : 0;
    const c0 = WALL ? undefined : process.cpuUsage();
    f();
    if (c0 === undefined) t.push(performance.now() - t0);
    else {
      const c = process.cpuUsage(c0);
      t.push((c.user + c.system) / 1000);
    }
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

/** Runs `f` with the stock tfjs-backend-wasm kernel `name` registered instead of ours. */
function withStock<T>(name: string, f: () => T): T {
  const stock = stockWasmKernel(name);
  const ours = tf.getKernel(name, 'wasm');
  if (stock == null || ours == null) throw new Error(`no stock/our kernel for ${name}`);
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel(stock);
  // We replaced it before the wasm backend initialised, so its setup (binding the C++ function) never ran.
  stock.setupFunc?.(tf.backend());
  try {
    return f();
  } finally {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(ours);
  }
}

interface Row { what: string; shape: string; ms: number; gflops?: number; note?: string }
const rows: Row[] = [];
const add = (what: string, shape: string, ms: number, flops?: number, note?: string) =>
  rows.push({ what, shape, ms, gflops: flops ? flops / ms / 1e6 : undefined, note });

await setBackend('wasm');
console.log(`backend: ${describeBackend().summary}; median of ${REPS} runs, ${WALL ? 'wall-clock' : 'CPU'} time`);

// matMul 1024² as the yardstick of what XNNPACK's GEMM does on this machine.
{
  const a = tf.randomNormal([1024, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  add('matMul', '1024×1024 · 1024×1024', timeMs(() => tf.tidy(() => { tf.matMul(a, b); })), 2 * 1024 ** 3);
  tf.dispose([a, b]);
}

type ConvCase = { x: [number, number, number, number]; k: [number, number]; co: number; s: number; pad: 'same' | 'valid' };
const convs: ConvCase[] = [
  { x: [8, 32, 32, 32], k: [3, 3], co: 64, s: 1, pad: 'same' },
  { x: [8, 15, 15, 48], k: [5, 5], co: 128, s: 1, pad: 'valid' },
  { x: [8, 63, 63, 3], k: [11, 11], co: 48, s: 2, pad: 'valid' },
  { x: [8, 16, 16, 64], k: [3, 3], co: 64, s: 2, pad: 'same' },
  { x: [1, 32, 32, 32], k: [3, 3], co: 32, s: 1, pad: 'same' },
];
for (const c of convs) {
  const x = tf.randomNormal(c.x) as tf.Tensor4D;
  const w = tf.randomNormal([c.k[0], c.k[1], c.x[3], c.co]) as tf.Tensor4D;
  const y = tf.conv2d(x, w, c.s, c.pad);
  const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
  const flops = 2 * y.size * c.k[0] * c.k[1] * c.x[3];
  const shape = `x${JSON.stringify(c.x)} k${c.k.join('×')} →${c.co} s${c.s} ${c.pad}`;
  add('conv2d forward', shape, timeMs(() => tf.tidy(() => { tf.conv2d(x, w, c.s, c.pad); })), flops);
  const bpInput = () => tf.tidy(() => { tf.conv2dTranspose(dy, w, c.x, c.s, c.pad); });
  add('Conv2DBackpropInput (ours)', shape, timeMs(bpInput), flops);
  add('Conv2DBackpropInput (stock)', shape, withStock(tf.Conv2DBackpropInput, () => timeMs(bpInput)), flops);
  const bpFilter = () => tf.tidy(() => {
    tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: w.shape });
  });
  add('Conv2DBackpropFilter (ours)', shape, timeMs(bpFilter), flops, 'absent from stock wasm');
  tf.dispose([x, w, y, dy]);
}

{
  const x = tf.randomNormal([8, 32, 32, 64]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 64, 1]) as tf.Tensor4D;
  const y = tf.depthwiseConv2d(x, w, 1, 'same');
  const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
  const flops = 2 * y.size * 9;
  const shape = 'x[8,32,32,64] k3×3 ×1 s1 same';
  add('depthwise forward', shape, timeMs(() => tf.tidy(() => { tf.depthwiseConv2d(x, w, 1, 'same'); })), flops);
  add('DepthwiseBackpropInput (ours)', shape, timeMs(() => tf.tidy(() => {
    tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter: w }, { strides: 1, pad: 'same', dilations: 1, inputShape: x.shape });
  })), flops, 'absent from stock wasm');
  add('DepthwiseBackpropFilter (ours)', shape, timeMs(() => tf.tidy(() => {
    tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, { strides: 1, pad: 'same', dilations: 1, filterShape: w.shape });
  })), flops, 'absent from stock wasm');
  tf.dispose([x, w, y, dy]);
}

{
  const x = tf.randomNormal([8, 59, 59, 48]) as tf.Tensor4D;
  const shape = 'x[8,59,59,48] 3×3 s2 valid';
  const grad = () => tf.tidy(() => { tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 3, 2, 'valid'))(x); });
  add('maxPool grad (ours: correct)', shape, timeMs(grad));
  add('maxPool grad (stock: wrong ≤0)', shape, withStock(tf.MaxPoolGrad, () => timeMs(grad)));
  const t = tf.randomNormal([1, 1, 1, 64]);
  const tshape = '[1,1,1,64] → [8,32,32,64]';
  const tile = () => tf.tidy(() => { tf.tile(t, [8, 32, 32, 1]); });
  add('Tile (ours)', tshape, timeMs(tile), undefined, `${(8 * 32 * 32 * 64 * 4 / 2 ** 20).toFixed(0)} MiB written`);
  add('Tile (stock)', tshape, withStock(tf.Tile, () => timeMs(tile)));
  tf.dispose([x, t]);
}

// A batch-8 training step: conv 5×5 s2 → BN → relu → maxPool → conv 3×3 → BN → relu → conv 3×3 → loss; Adam.
{
  const x = tf.randomNormal([8, 63, 63, 3]) as tf.Tensor4D;
  const v = (s: number[], std = 0.1) => tf.variable(tf.randomNormal(s, 0, std));
  const w1 = v([5, 5, 3, 32]);
  const w2 = v([3, 3, 32, 64]);
  const w3 = v([3, 3, 64, 64]);
  const g1 = tf.variable(tf.ones([32]));
  const b1 = tf.variable(tf.zeros([32]));
  const g2 = tf.variable(tf.ones([64]));
  const b2 = tf.variable(tf.zeros([64]));
  const bn = (h: tf.Tensor4D, g: tf.Variable, b: tf.Variable) => {
    const m = tf.moments(h, [0, 1, 2]);
    return tf.relu(tf.batchNorm(h, m.mean, m.variance, b as tf.Tensor1D, g as tf.Tensor1D, 1e-5)) as tf.Tensor4D;
  };
  const opt = tf.train.adam(1e-3);
  let fwdFlops = 0;
  const loss = () => {
    const h1 = tf.conv2d(x, w1 as tf.Tensor4D, 2, 'valid'); // [8, 30, 30, 32]
    const p = tf.maxPool(bn(h1, g1, b1), 3, 2, 'valid'); // [8, 14, 14, 32]
    const h2 = tf.conv2d(p, w2 as tf.Tensor4D, 1, 'same'); // [8, 14, 14, 64]
    const h3 = tf.conv2d(bn(h2, g2, b2), w3 as tf.Tensor4D, 1, 'valid'); // [8, 12, 12, 64]
    fwdFlops = 2 * (h1.size * 25 * 3 + h2.size * 9 * 32 + h3.size * 9 * 64);
    return tf.mean(tf.square(h3)) as tf.Scalar;
  };
  const step = () => { tf.tidy(() => { opt.minimize(loss); }); };
  const ms = timeMs(step);
  // Backward ≈ 2× forward for convs except the first layer, whose input needs no gradient.
  add('training step (batch 8)', 'conv5×5/2→BN→relu→pool→conv3×3→BN→relu→conv3×3, Adam', ms, 3 * fwdFlops,
    'GFLOP/s counts 3× the forward conv FLOPs');
  const prof = await tf.profile(step);
  const by = new Map<string, number>();
  for (const k of prof.kernels) by.set(k.name, (by.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  const total = [...by.values()].reduce((a, b) => a + b, 0);
  const top = [...by].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, t]) => `${k} ${(100 * t / total).toFixed(0)}%`);
  rows.push({ what: '  kernel time share', shape: top.join(', '), ms: total });
}

const w = [32, 58, 9, 9];
console.log(['kernel'.padEnd(w[0]), 'shape'.padEnd(w[1]), 'ms'.padStart(w[2]), 'GFLOP/s'.padStart(w[3]), ' note'].join(' '));
for (const r of rows) {
  console.log([r.what.padEnd(w[0]), r.shape.padEnd(w[1]), r.ms.toFixed(2).padStart(w[2]),
    (r.gflops === undefined ? '' : r.gflops.toFixed(1)).padStart(w[3]), r.note ? ` ${r.note}` : ''].join(' '));
}
