/**
 * A backbone for loss tests whose per-layer "features" are any function of the input: delegates the network itself to
 * a plain `Backbone` and exposes `forwardFeatures` (tracker/ien GroupedModel), so the IEN loss can be checked on maps
 * whose equivariance is known by construction.
 */
import type { Tensor4D } from '../../tracker/tf.js';
import type { Backbone } from '../../tracker/backbones.js';
import type { ForwardFeatures, GroupedModel } from '../../tracker/ien/equivariance.js';
import type { FeatureExtractor } from '../../tracker/siamfc/network.js';

/** A FeatureExtractor delegating to `inner`, with per-layer features `[B, H, W, C]` computed by `layers` from the input. */
export function withFeatures(inner: Backbone, layers: (x: Tensor4D) => Tensor4D[]): FeatureExtractor & GroupedModel {
  return {
    spec: inner.spec,
    outChannels: inner.outChannels,
    apply: (x, training) => inner.apply(x, training),
    trainableVariables: () => inner.trainableVariables(),
    namedWeights: () => inner.namedWeights(),
    loadWeights: (w, where) => inner.loadWeights(w, where),
    parameterCount: () => inner.parameterCount(),
    dispose: () => inner.dispose(),
    forwardFeatures: (x, training): ForwardFeatures => ({ layers: layers(x), out: inner.apply(x, training) }),
  };
}
