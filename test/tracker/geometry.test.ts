import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  iou, centerError, fromOtb, toOtb, toCenter, fromCenter, fromPolygon, validateBox, BoxError, rotateBoxBounds, clipBox,
} from '../../tracker/geometry.js';

test('IoU on continuous intervals (no +1), as the got10k toolkit', () => {
  assert.equal(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 0, y: 0, width: 10, height: 10 }), 1);
  // half overlap along x: inter 5·10 = 50, union 150
  assert.equal(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 5, y: 0, width: 10, height: 10 }), 50 / 150);
  // touching edges: zero overlap (a +1 convention would give > 0)
  assert.equal(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 10, y: 0, width: 10, height: 10 }), 0);
  assert.equal(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 50, y: 50, width: 10, height: 10 }), 0);
  assert.equal(iou({ x: 0, y: 0, width: 0, height: 0 }, { x: 0, y: 0, width: 0, height: 0 }), 0);
});

test('centre error uses xy + (wh - 1) / 2', () => {
  // same centre, different size: centres (4.5, 4.5) and (4.5, 4.5)
  assert.equal(centerError({ x: 0, y: 0, width: 10, height: 10 }, { x: 2, y: 2, width: 6, height: 6 }), 0);
  assert.equal(centerError({ x: 0, y: 0, width: 10, height: 10 }, { x: 3, y: 4, width: 10, height: 10 }), 5);
  assert.deepEqual(toCenter({ x: 0, y: 0, width: 10, height: 4 }), { cx: 4.5, cy: 1.5, width: 10, height: 4 });
});

test('conversions round-trip', () => {
  const b = { x: 10.5, y: 3, width: 20, height: 7 };
  assert.deepEqual(fromOtb(toOtb(b)), b);
  assert.deepEqual(fromCenter(toCenter(b)), b);
  assert.deepEqual(fromOtb([1, 1, 5, 5]), { x: 0, y: 0, width: 5, height: 5 });
  assert.deepEqual(fromPolygon([1, 2, 11, 2, 11, 8, 1, 8]), { x: 1, y: 2, width: 10, height: 6 });
  assert.deepEqual(fromPolygon([5, 0, 10, 5, 5, 10, 0, 5]), { x: 0, y: 0, width: 10, height: 10 });
  assert.throws(() => fromPolygon([1, 2, 3]), BoxError);
});

test('rotated box bounds: 90° about the box centre swaps the sides; 0° is the identity', () => {
  const b = { x: 10, y: 20, width: 40, height: 10 };
  const r = rotateBoxBounds(b, 90, 30, 25);
  for (const [k, v] of Object.entries({ x: 25, y: 5, width: 10, height: 40 })) {
    assert.ok(Math.abs((r as any)[k] - v) < 1e-9, `${k}: ${(r as any)[k]} vs ${v}`);
  }
  assert.deepEqual(rotateBoxBounds(b, 0, 0, 0), b);
});

test('validateBox names the problem', () => {
  assert.throws(() => validateBox({ x: NaN, y: 0, width: 5, height: 5 }, 100, 100), /x must be a finite number/);
  assert.throws(() => validateBox({ x: 0, y: 0, width: 0, height: 5 }, 100, 100), /positive size/);
  assert.throws(() => validateBox({ x: 0, y: 0, width: -3, height: 5 }, 100, 100), /positive size/);
  assert.throws(() => validateBox({ x: 200, y: 0, width: 5, height: 5 }, 100, 100), /entirely outside/);
  validateBox({ x: -2, y: -2, width: 5, height: 5 }, 100, 100); // partly inside is fine
  assert.deepEqual(clipBox({ x: -2, y: 95, width: 5, height: 10 }, 100, 100), { x: 0, y: 95, width: 3, height: 5 });
});
