import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseGroupSpec, applyGroupSpec, channelSaving, hetWidth, channelStep, makeGroupSpec, GroupSpecError, describeLayout,
  homogeneousSpec,
} from '../../tracker/ien/groups.js';

test('homogeneous specs R1/R2/R4/R8 split C into C/Λ groups', () => {
  for (const lam of [1, 2, 4, 8]) {
    const lay = applyGroupSpec(`R${lam}`, 64);
    assert.equal(lay.blocks.length, 1);
    assert.deepEqual(lay.blocks[0], { size: lam, start: 0, channels: 64, groups: 64 / lam });
    assert.equal(lay.pooledChannels, 64 / lam);
    assert.equal(channelSaving(lay).saved, 0);
  }
  assert.deepEqual(parseGroupSpec('CNN'), homogeneousSpec(1));
});

test('heterogeneous specs carry the reference code ratios', () => {
  assert.deepEqual(parseGroupSpec('R4-2-1'), { name: 'R4-2-1', sizes: [4, 2, 1], ratio: [8, 2, 1] });
  assert.deepEqual(parseGroupSpec('R8-4-2-1'), { name: 'R8-4-2-1', sizes: [8, 4, 2, 1], ratio: [32, 8, 2, 1] });
  assert.deepEqual(parseGroupSpec('R8-4-2'), { name: 'R8-4-2', sizes: [8, 4, 2], ratio: [8, 2, 1] });
  // explicit ratios are reduced by their gcd
  assert.deepEqual(makeGroupSpec([4, 2], [4, 2]).ratio, [2, 1]);
});

test('R4-2-1 at 88 channels: blocks 64|16|8, 32 pooled, 50%/25%/25% of the groups', () => {
  const lay = applyGroupSpec('R4-2-1', 88);
  assert.deepEqual(lay.blocks.map((b) => [b.size, b.start, b.channels, b.groups]), [[4, 0, 64, 16], [2, 64, 16, 8], [1, 80, 8, 8]]);
  assert.equal(lay.pooledChannels, 32);
  assert.equal(describeLayout(lay), 'R4-2-1×88 [4×16 | 2×8 | 1×8] → 32');
});

test('Het-IEN widths of method.md (88,132,176,176,264,352 for R4 128,192,256,256,384,512) save 31.25%', () => {
  const r4 = [128, 192, 256, 256, 384, 512];
  const het = r4.map((w) => hetWidth('R4-2-1', w));
  assert.deepEqual(het, [88, 132, 176, 176, 264, 352]);
  het.forEach((w, i) => {
    const lay = applyGroupSpec('R4-2-1', w);
    assert.equal(lay.pooledChannels, r4[i] / 4, 'same pooled width as R4');
    const s = channelSaving(lay);
    assert.equal(s.homogeneousChannels, r4[i]);
    assert.equal(s.saved, r4[i] - w);
    assert.equal(s.fraction, 0.3125);
  });
});

test('R8-4-2-1 keeps 43/64 ≈ 67% and R8-4-2 keeps 11/16 ≈ 69% of the R8 channels (paper Table 4)', () => {
  const a = applyGroupSpec('R8-4-2-1', hetWidth('R8-4-2-1', 64));
  assert.equal(a.channels, 43);
  assert.deepEqual(a.blocks.map((b) => b.groups), [4, 2, 1, 1]);
  assert.ok(Math.abs(1 - channelSaving(a).fraction - 0.67) < 0.005);
  const b = applyGroupSpec('R8-4-2', hetWidth('R8-4-2', 32));
  assert.equal(b.channels, 22);
  assert.deepEqual(b.blocks.map((x) => [x.size, x.channels, x.groups]), [[8, 16, 2], [4, 4, 1], [2, 2, 1]]);
  assert.ok(Math.abs(1 - channelSaving(b).fraction - 0.69) < 0.005);
});

test('impossible channel counts give an error naming the spec, the count and the valid step', () => {
  assert.equal(channelStep('R4-2-1'), 11);
  assert.equal(channelStep('R8-4-2'), 22); // 11 would leave 2 channels for groups of 4
  assert.throws(() => applyGroupSpec('R4-2-1', 100), (e: Error) =>
    e instanceof GroupSpecError && /R4-2-1/.test(e.message) && /100/.test(e.message) && /multiple of 11/.test(e.message)
      && /99 or 110/.test(e.message));
  assert.throws(() => applyGroupSpec('R8-4-2', 11), /R8-4-2.*11.*multiple of 22/);
  assert.throws(() => applyGroupSpec('R4', 6), /R4.*6/);
  assert.throws(() => applyGroupSpec('R4', 0), /positive integer/);
  assert.throws(() => parseGroupSpec('Q4'), /unknown group spec "Q4"/);
  assert.throws(() => makeGroupSpec([4, 4]), /distinct/);
  assert.throws(() => hetWidth('R8-4-2', 16), /R8-4-2/);
  assert.throws(() => hetWidth('R4-2-1', 130), /multiple of 4/);
});
