/**
 * Model files, browser-safe part: a SiamFC model is a `model.json` (our manifest plus a tfjs `weightsManifest`) and a
 * `weights.bin` in the tfjs binary weight format (tf.io.encodeWeights). Node file I/O is in tracker/node/model-files.ts;
 * a browser can fetch the same two files.
 */
import { z } from 'zod';
import { tf } from './tf.js';
import type { Tensor } from './tf.js';
import { BackboneSpec } from './backbone-spec.js';
import { SiamFCConfig } from './siamfc/config.js';
import { SiamFCNet, type FeatureExtractor } from './siamfc/network.js';
import { Backbone } from './backbones.js';
import { EquivariantBackbone } from './equivariant-backbone.js';

/** Name of the weights file next to `model.json`. */
export const WEIGHTS_FILE = 'weights.bin';

/** Format tag of our model.json. */
export const MODEL_FORMAT = 'rot-track/siamfc@1';

const WeightEntry = z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()), dtype: z.string() }).passthrough();

/** Everything in model.json: variant, specs, provenance, metrics, and the tfjs weights manifest. */
export const ModelManifest = z
  .object({
    format: z.literal(MODEL_FORMAT),
    /** Registry variant name (`siamfc`, `cnn4-siamfc`, `re-siamfc`, `ien-siamfc`, `het-siamfc`, or a custom one). */
    variant: z.string().min(1),
    backbone: BackboneSpec,
    tracker: SiamFCConfig,
    /** How the weights came to be: config, data, steps, time, backend, git commit, command line. */
    provenance: z.record(z.unknown()).default({}),
    /** Measured numbers (success AUC, precision, fps...) with the command that produced them. */
    metrics: z.record(z.unknown()).default({}),
    weightsManifest: z
      .array(z.object({ paths: z.array(z.string()), weights: z.array(WeightEntry) }))
      .length(1),
  })
  .strict();

export type ModelManifest = z.infer<typeof ModelManifest>;

/** Error for a bad model file, naming the file and the field. */
export class ModelFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFileError';
  }
}

/** Build the feature extractor a spec describes: the plain backbone, or an IEN / C4 / C8 one. */
export function createBackbone(spec: BackboneSpec, seed = 1): FeatureExtractor {
  return spec.equivariance.kind === 'none' ? new Backbone(spec, seed) : new EquivariantBackbone(spec, seed);
}

/** Serialise a network: the manifest object for model.json and the weight bytes for weights.bin. */
export async function serializeModel(
  net: SiamFCNet,
  meta: { variant: string; tracker?: z.input<typeof SiamFCConfig>; provenance?: Record<string, unknown>; metrics?: Record<string, unknown> },
): Promise<{ manifest: ModelManifest; weights: ArrayBuffer }> {
  const named = net.backbone.namedWeights();
  const { data, specs } = await tf.io.encodeWeights(named);
  const manifest = ModelManifest.parse({
    format: MODEL_FORMAT,
    variant: meta.variant,
    backbone: net.backbone.spec,
    tracker: SiamFCConfig.parse({ ...meta.tracker, outScale: net.outScale }),
    provenance: meta.provenance ?? {},
    metrics: meta.metrics ?? {},
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: specs }],
  });
  return { manifest, weights: data };
}

/** Parse model.json text; `where` names the file in errors (which field is wrong, or that it is not JSON). */
export function parseManifest(text: string, where: string): ModelManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(`${where}: not valid JSON (${(e as Error).message})`);
  }
  const r = ModelManifest.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ModelFileError(`${where}: field "${i.path.join('.') || '(root)'}": ${i.message}`);
  }
  return r.data;
}

/** Rebuild a network from a manifest and its weight bytes; errors name `where` and the weight that does not fit. */
export function deserializeModel(manifest: ModelManifest, weights: ArrayBuffer, where: string): SiamFCNet {
  const specs = manifest.weightsManifest[0].weights;
  const expected = specs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (weights.byteLength !== expected) {
    throw new ModelFileError(`${where}: ${WEIGHTS_FILE} has ${weights.byteLength} bytes, the manifest describes ${expected}`);
  }
  const tensors = tf.io.decodeWeights(weights, specs as Parameters<typeof tf.io.decodeWeights>[1]) as Record<string, Tensor>;
  const backbone = createBackbone(manifest.backbone);
  try {
    backbone.loadWeights(tensors, where);
  } catch (e) {
    backbone.dispose();
    throw new ModelFileError((e as Error).message);
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return new SiamFCNet(backbone, manifest.tracker.outScale);
}
