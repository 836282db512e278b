/**
 * Per-kernel timings behind the engines report's training-step section (issue 15): the CPU-scale backbone's forward
 * convs and input gradients (GFLOP/s), and the 3×3/2 max pool's forward and forward + gradient, on the active
 * backend (native-cpu when built). Thread count from ROT_TRACK_THREADS.
 *
 *   ROT_TRACK_THREADS=1 node --import tsx scripts/probe-train-kernels.ts
 */
import { tf } from '../tracker/tf.js';
import { initBackend } from '../tracker/node/backend.js';

const backend = await initBackend({ log: () => {} });
console.log(`backend ${backend}, ROT_TRACK_THREADS=${process.env.ROT_TRACK_THREADS ?? '(default)'}`);
// (tidy callbacks return nothing: a typed array returned from tf.tidy is walked key by key — 20–50× the conv's own time here)
const median = (f: () => void, n: number): number => {
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return ts.sort((a, b) => a - b)[Math.floor(n / 2)];
};
// [batch, input size, input channels, kernel, stride, output channels]: the search and exemplar branches of cpu-small ×0.25
const convs: [number, number, number, number, number, number][] = [
  [8, 121, 3, 5, 2, 24], [8, 29, 24, 5, 1, 64], [8, 25, 64, 3, 1, 96], [8, 23, 96, 3, 1, 64],
  [8, 65, 3, 5, 2, 24], [8, 15, 24, 5, 1, 64], [8, 11, 64, 3, 1, 96], [8, 9, 96, 3, 1, 64]];
let fwdMs = 0;
let fwdFlops = 0;
for (const [B, H, C, k, s, OC] of convs) {
  const x = tf.randomNormal([B, H, H, C]) as tf.Tensor4D;
  const w = tf.randomNormal([k, k, C, OC]) as tf.Tensor4D;
  const O = Math.floor((H - k) / s) + 1;
  const dy = tf.randomNormal([B, O, O, OC]) as tf.Tensor4D;
  const flops = 2 * B * O * O * OC * k * k * C;
  const fwd = median(() => tf.tidy(() => { tf.conv2d(x, w, s, 'valid').dataSync(); }), 20);
  const bwd = median(() => tf.tidy(() => { tf.conv2dTranspose(dy, w, [B, H, H, C], s, 'valid').dataSync(); }), 20);
  fwdMs += fwd;
  fwdFlops += flops;
  console.log(`conv ${B}×${H}²×${C} k${k} s${s} → ${O}²×${OC}: forward ${fwd.toFixed(2)} ms (${(flops / fwd / 1e6).toFixed(0)} GFLOP/s), ` +
    `input gradient ${bwd.toFixed(2)} ms (${(flops / bwd / 1e6).toFixed(0)} GFLOP/s)`);
  tf.dispose([x, w, dy]);
}
console.log(`forward convs in all: ${fwdMs.toFixed(1)} ms, ${(fwdFlops / fwdMs / 1e6).toFixed(0)} GFLOP/s`);
for (const [B, H, C] of [[8, 59, 24], [8, 31, 24]]) {
  const x = tf.randomNormal([B, H, H, C]) as tf.Tensor4D;
  const dy = tf.tidy(() => tf.randomNormal(tf.maxPool(x, 3, 2, 'valid').shape)) as tf.Tensor4D;
  const grad = tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 3, 2, 'valid'));
  for (let i = 0; i < 3; i++) tf.tidy(() => { grad(x, dy).dataSync(); });
  const fwd = median(() => tf.tidy(() => { tf.maxPool(x, 3, 2, 'valid').dataSync(); }), 30);
  const both = median(() => tf.tidy(() => { grad(x, dy).dataSync(); }), 30);
  console.log(`maxPool 3×3/2 of ${B}×${H}²×${C}: forward ${fwd.toFixed(2)} ms, forward + gradient ${both.toFixed(2)} ms`);
  tf.dispose([x, dy]);
}
