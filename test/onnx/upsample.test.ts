// The tracker's sparse response upsampling is bit-identical to tracker/siamfc/response.ts `upsample`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cubicResizeMatrix, upsample } from '../../tracker/siamfc/response.js';
import { resizeTaps, upsampleTaps, upsampleTapsRange } from '../../tracker/engine/upsample.js';
import { mulberry32 } from '../../tracker/random.js';

test('upsampleTaps = upsample bit for bit (17→272, 17→17, 9→144, 22→352; random, negative, constant maps)', () => {
  const rand = mulberry32(3);
  for (const [n, u] of [[17, 272], [17, 17], [9, 144], [22, 352], [5, 7]]) {
    const M = cubicResizeMatrix(n, u);
    const taps = resizeTaps(M, n, u);
    assert.ok(taps.index.length <= 4 * u, `${n}→${u}: at most 4 taps per row`);
    const maps = [
      Float32Array.from({ length: n * n }, () => (rand() - 0.5) * 1e-3),
      Float32Array.from({ length: n * n }, () => rand() * 50 - 70),
      new Float32Array(n * n).fill(0.25),
      new Float32Array(n * n),
    ];
    for (const m of maps) {
      const a = upsample(m, n, u, M);
      const b = upsampleTaps(m, taps);
      // reused (dirty) buffers give the same numbers
      const c = upsampleTaps(m, taps, new Float64Array(u * u).fill(7), new Float64Array(u * n).fill(-3));
      const range = upsampleTapsRange(m, taps);
      assert.equal(range.min, a.reduce((x, y) => Math.min(x, y), Infinity));
      assert.equal(range.max, a.reduce((x, y) => Math.max(x, y), -Infinity));
      assert.equal(b.length, a.length);
      for (let i = 0; i < a.length; i++) {
        if (!Object.is(a[i], b[i]) || !Object.is(a[i], c[i])) assert.fail(`${n}→${u} entry ${i}: ${a[i]} vs ${b[i]} / ${c[i]}`);
      }
    }
  }
  assert.throws(() => resizeTaps(new Float64Array(3), 2, 2), /matrix has 3 entries, 2×2 expected/);
  const taps = resizeTaps(cubicResizeMatrix(3, 6), 3, 6);
  assert.throws(() => upsampleTaps(new Float32Array(9), taps, new Float64Array(5)), /output holds 5 values, 36 needed/);
  assert.throws(() => upsampleTaps(new Float32Array(9), taps, undefined, new Float64Array(5)), /scratch holds 5 values, 18 needed/);
});

test('resizeTaps: integer factors get the periodic interior the phase-by-phase path uses; others none', () => {
  assert.deepEqual(resizeTaps(cubicResizeMatrix(17, 272), 17, 272).periodic, { P: 16, lo: 24, hi: 248 });
  assert.deepEqual(resizeTaps(cubicResizeMatrix(9, 144), 9, 144).periodic, { P: 16, lo: 24, hi: 120 });
  assert.equal(resizeTaps(cubicResizeMatrix(5, 7), 5, 7).periodic, null);
  assert.equal(resizeTaps(cubicResizeMatrix(17, 17), 17, 17).periodic, null);
});
