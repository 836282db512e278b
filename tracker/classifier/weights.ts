/**
 * Classifier model files, browser-safe part: `model.json` (our manifest: spec, provenance, metrics, and a tfjs
 * `weightsManifest`) + `weights.bin` (tfjs binary weight format, tf.io.encodeWeights), as tracker/weights.ts does for
 * SiamFC. Node file I/O is in tracker/node/classifier-files.ts; a browser can fetch the same two files.
 */
import { z } from 'zod';
import { tf } from '../tf.js';
import type { Tensor } from '../tf.js';
import { Classifier } from '../classifier.js';
import { ClassifierSpec } from './spec.js';

/** Format tag of a classifier's model.json. */
export const CLASSIFIER_FORMAT = 'rot-track/classifier@1';

/** Name of the weights file next to model.json. */
export const CLASSIFIER_WEIGHTS_FILE = 'weights.bin';

const WeightEntry = z
  .object({ name: z.string(), shape: z.array(z.number().int().nonnegative()), dtype: z.literal('float32') })
  .passthrough();

/** Everything in a classifier's model.json. */
export const ClassifierManifest = z
  .object({
    format: z.literal(CLASSIFIER_FORMAT),
    /** Display name (e.g. `ien-r4`, `cnn`). */
    name: z.string().min(1),
    spec: ClassifierSpec,
    /** Parameter count and channel counts (informative; recomputed on load and checked). */
    parameters: z.number().int().nonnegative(),
    channels: z.array(z.number().int().positive()).length(6),
    /** How the weights came to be: command, data, epochs, time, backend. */
    provenance: z.record(z.unknown()).default({}),
    /** Measured numbers (accuracy, per-layer L_G) with the command that produced them. */
    metrics: z.record(z.unknown()).default({}),
    weightsManifest: z.array(z.object({ paths: z.array(z.string()).length(1), weights: z.array(WeightEntry) })).length(1),
  })
  .strict();
export type ClassifierManifest = z.infer<typeof ClassifierManifest>;

/** Error for a bad classifier file, naming the file and the field. */
export class ClassifierFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClassifierFileError';
  }
}

/** Serialise a classifier: the manifest for model.json and the bytes of weights.bin (all tensors incl. BN statistics). */
export async function serializeClassifier(
  model: Classifier,
  meta: { name: string; provenance?: Record<string, unknown>; metrics?: Record<string, unknown> },
): Promise<{ manifest: ClassifierManifest; weights: ArrayBuffer }> {
  const named = model.namedWeights().map((w) => ({ name: w.name, tensor: w.variable as Tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  const manifest = ClassifierManifest.parse({
    format: CLASSIFIER_FORMAT,
    name: meta.name,
    spec: model.spec,
    parameters: model.parameterCount(),
    channels: model.channelCounts().channels,
    provenance: meta.provenance ?? {},
    metrics: meta.metrics ?? {},
    weightsManifest: [{ paths: [CLASSIFIER_WEIGHTS_FILE], weights: specs }],
  });
  return { manifest, weights: data };
}

/** Parse model.json text; `where` names the file in errors (the field that is wrong, or that it is not JSON). */
export function parseClassifierManifest(text: string, where: string): ClassifierManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ClassifierFileError(`${where}: not valid JSON (${(e as Error).message})`);
  }
  const r = ClassifierManifest.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ClassifierFileError(`${where}: field "${i.path.join('.') || '(root)'}": ${i.message}`);
  }
  return r.data;
}

/** Rebuild a classifier from its manifest and weight bytes; errors name `where` and the field or weight at fault. */
export function deserializeClassifier(manifest: ClassifierManifest, weights: ArrayBuffer, where: string): Classifier {
  const specs = manifest.weightsManifest[0].weights;
  const expected = specs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (weights.byteLength !== expected) {
    throw new ClassifierFileError(`${where}: ${CLASSIFIER_WEIGHTS_FILE} has ${weights.byteLength} bytes, the manifest describes ${expected}`);
  }
  let model: Classifier;
  try {
    model = new Classifier(manifest.spec);
  } catch (e) {
    throw new ClassifierFileError(`${where}: field "spec": ${(e as Error).message}`);
  }
  const chans = model.channelCounts().channels;
  if (chans.join() !== manifest.channels.join()) {
    model.dispose();
    throw new ClassifierFileError(`${where}: field "channels": [${manifest.channels}] does not match the spec's [${chans}]`);
  }
  const tensors = tf.io.decodeWeights(weights, specs as Parameters<typeof tf.io.decodeWeights>[1]) as Record<string, Tensor>;
  try {
    model.loadWeights(tensors, where);
  } catch (e) {
    model.dispose();
    throw new ClassifierFileError((e as Error).message);
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return model;
}
