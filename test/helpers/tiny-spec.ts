/** A tiny SiamFC backbone (47/95 crops, widths ×0.125) for engine tests: plain (`none`) or IEN R4. */
import { type BackboneSpec, parseBackboneSpec } from '../../tracker/backbone-spec.js';

/** The tiny spec of the engine tests, plain or IEN (R4 groups). */
export function tinySpec(kind: 'none' | 'ien'): BackboneSpec {
  return parseBackboneSpec({
    name: `tiny-${kind}`,
    layers: [
      { type: 'conv', out: 96, kernel: 5, stride: 2 },
      { type: 'maxpool', size: 3, stride: 2 },
      { type: 'conv', out: 128, kernel: 5 },
      { type: 'conv', out: 128, kernel: 3, bn: false, act: 'none' },
    ],
    widthMultiplier: 0.125, exemplarSize: 47, instanceSize: 95, equivariance: { kind, groups: 'R4' },
  });
}
