// The soak's RSS statistics (training/soak.ts): the point growth bench:soak reports, and the windowed median growth the
// RSS test bounds — which must see a steady leak and must not see one sample caught before the heap settled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rssGrowth, rssWindowGrowth, type SoakSample } from '../../training/soak.js';

const MB = 2 ** 20;
const samples = (rss: (step: number) => number, steps = 300): SoakSample[] =>
  Array.from({ length: steps }, (_, i) => ({ step: i + 1, rss: rss(i + 1), numTensors: 35, numDataBuffers: 35, ms: 1 }));

test('a steady leak shows in the windowed growth; a heap that settles after the warm-up does not', () => {
  // one step's activations (0.75 MB) kept per step: +150 MB over steps 100–300
  const leak = samples((s) => (280 + 0.75 * s) * MB);
  assert.ok(rssWindowGrowth(leak, 100, 300) > 0.1, `leak: ${rssWindowGrowth(leak, 100, 300)}`);
  // the CI run's shape: 235 MB at step 100, settled at ~282 MB from step 130 on
  const settling = samples((s) => (s < 130 ? 235 + ((s - 100) * 47) / 30 : 282 + (s % 7) * 0.5) * MB);
  assert.ok(rssGrowth(settling, 100, 300) > 0.1, 'the point samples read it as growth');
  assert.ok(Math.abs(rssWindowGrowth(settling, 100, 300)) < 0.02, `settling: ${rssWindowGrowth(settling, 100, 300)}`);
  // a sawtooth without a trend
  const saw = samples((s) => (370 + (s % 50) * 2.4) * MB);
  assert.ok(Math.abs(rssWindowGrowth(saw, 100, 300)) < 0.05, `sawtooth: ${rssWindowGrowth(saw, 100, 300)}`);
});

test('a missing sample is an error that names the step', () => {
  const some = samples(() => 300 * MB).filter((s) => s.step !== 150);
  assert.throws(() => rssWindowGrowth(some, 100, 300), /rssWindowGrowth: no sample at step 150/);
  assert.throws(() => rssGrowth(some, 150, 300), /rssGrowth: no sample at step 150/);
});
