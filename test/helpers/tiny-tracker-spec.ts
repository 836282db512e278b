/** A tiny SiamFC backbone for engine tests (47/95 crops, widths ×1/8): plain (`none`) or IEN with R4 groups. */
import { type BackboneSpec, parseBackboneSpec } from '../../tracker/backbone-spec.js';

/** The spec of a tiny tracker backbone of equivariance kind `kind`. */
export function tinyTrackerSpec(kind: 'none' | 'ien'): BackboneSpec {
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
