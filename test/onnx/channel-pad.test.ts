// Channel padding of the ONNX export's plan (tracker/engine/channel-pad.ts): widths of convs that feed convs become
// multiples of 8 (or the multiple asked for), the next conv gets zero input weights, the last conv and grouped plans are left alone. (That the
// padded export computes the same features is parity.test.ts's job: it runs on the padded plans.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { padPlanChannels } from '../../tracker/engine/channel-pad.js';
import type { BackbonePlan, PlanLayer } from '../../tracker/engine/backbone-plan.js';

const conv = (o: number, i: number, k: number, group = 1): PlanLayer => ({
  type: 'conv', weight: Float32Array.from({ length: o * (i / group) * k * k }, (_, j) => j + 1), dims: [o, i / group, k, k],
  bias: Float32Array.from({ length: o }, (_, j) => -j - 1), stride: 1, group, act: 'relu',
});
const plan = (layers: PlanLayer[]) => ({ spec: {}, layers, outChannels: 10 } as unknown as BackbonePlan);

test('padPlanChannels pads inner conv widths to multiples of 16 with zero filters and zero input weights (and of 8 by default)', () => {
  const src = plan([conv(22, 3, 5), { type: 'maxpool', size: 3, stride: 2 }, conv(44, 22, 3), conv(10, 44, 3), { type: 'groupPool', blocks: [] }]);
  assert.deepEqual(padPlanChannels(src).layers.filter((l) => l.type === 'conv').map((l) => (l as { dims: number[] }).dims[0]), [24, 48, 10]);
  const out = padPlanChannels(src, 16);
  const convs = out.layers.filter((l): l is Extract<PlanLayer, { type: 'conv' }> => l.type === 'conv');
  assert.deepEqual(convs.map((c) => c.dims), [[32, 3, 5, 5], [48, 32, 3, 3], [10, 48, 3, 3]]);
  const orig = src.layers[2] as Extract<PlanLayer, { type: 'conv' }>;
  const c = convs[1];
  // Output o, input i, tap t of the original at the same place; appended inputs and outputs are zero.
  for (let o = 0; o < 48; o++) {
    for (let i = 0; i < 32; i++) {
      for (let t = 0; t < 9; t++) {
        const v = c.weight[(o * 32 + i) * 9 + t];
        assert.equal(v, o < 44 && i < 22 ? orig.weight[(o * 22 + i) * 9 + t] : 0, `w[${o}, ${i}, ${t}]`);
      }
    }
    assert.equal(c.bias[o], o < 44 ? orig.bias[o] : 0);
  }
  assert.equal(out.outChannels, 10);
});

test('padPlanChannels leaves aligned widths, the last conv and grouped (AlexNet) plans as they are', () => {
  const aligned = plan([conv(32, 3, 5), conv(64, 32, 3), conv(10, 64, 3)]);
  assert.deepEqual(padPlanChannels(aligned).layers.map((l) => (l.type === 'conv' ? l.dims : null)), aligned.layers.map((l) => (l.type === 'conv' ? l.dims : null)));
  const grouped = plan([conv(24, 3, 5), conv(40, 24, 3, 2)]);
  assert.equal(padPlanChannels(grouped), grouped);
});
