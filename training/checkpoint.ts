/**
 * Training checkpoints: `<out>/checkpoint/` holds the model (tracker/node/model-files.ts saveModel: model.json +
 * weights.bin, BN moving statistics included), `optimizer.bin` (tfjs weight encoding of the optimiser state) and
 * `state.json` (step, RNG state, config, optimiser manifest, validation history). Written atomically, read with a
 * fallback to checkpoint.old (training/checkpoint-folder.ts, shared with the classifier's loop).
 */
import { ValidationRecord } from './validation.js';
import path from 'node:path';
import { z } from 'zod';
import { tf } from '../tracker/tf.js';
import type { Tensor } from '../tracker/tf.js';
import type { SiamFCNet } from '../tracker/siamfc/network.js';
import { loadModel, saveModel } from '../tracker/node/model-files.js';
import type { Optimizer } from './optimizers.js';
import { checkpointDir, findCheckpoint, readCheckpoint, writeCheckpoint } from './checkpoint-folder.js';

export { checkpointDir, findCheckpoint };

/** Format tag of state.json. */
export const CHECKPOINT_FORMAT = 'rot-track/train-checkpoint@1';

/** Contents of state.json. */
export const CheckpointState = z
  .object({
    format: z.literal(CHECKPOINT_FORMAT),
    /** Steps completed; training resumes at this step index. */
    step: z.number().int().nonnegative(),
    /** RNG state: every draw is derived from (seed, step) (training/rng.ts), so these two restore it exactly. */
    rng: z.object({ seed: z.number().int(), step: z.number().int().nonnegative() }).strict(),
    /** The parsed training config the run used. */
    config: z.record(z.unknown()),
    /** Seconds of training before this checkpoint (over all resumed segments). */
    elapsedSeconds: z.number().nonnegative(),
    /** Steps at which earlier segments resumed. */
    resumes: z.array(z.number().int().nonnegative()).default([]),
    /** Validations so far (training/validation.ts). */
    validation: z.array(ValidationRecord).default([]),
    savedAt: z.string(),
    optimizer: z.object({ kind: z.string(), weights: z.array(z.object({ name: z.string() }).passthrough()) }).strict(),
  })
  .strict();
export type CheckpointState = z.infer<typeof CheckpointState>;

/** Save a checkpoint atomically. `state` without the optimiser manifest, which is filled in here. */
export async function saveCheckpoint(
  outDir: string,
  net: SiamFCNet,
  optimizer: Optimizer,
  optimizerKind: string,
  state: Omit<CheckpointState, 'format' | 'optimizer' | 'savedAt'>,
  variant: string,
): Promise<string> {
  return writeCheckpoint(
    outDir,
    (dir) => saveModel(dir, net, { variant, provenance: { checkpointStep: state.step } }),
    optimizer.state(),
    (specs) => CheckpointState.parse({
      ...state,
      format: CHECKPOINT_FORMAT,
      savedAt: new Date().toISOString(),
      optimizer: { kind: optimizerKind, weights: specs },
    }),
  );
}

/** A loaded checkpoint: its state, the model's named weights and the optimiser tensors (caller disposes both). */
export interface LoadedCheckpoint {
  dir: string;
  state: CheckpointState;
  weights: Record<string, Tensor>;
  optimizer: Record<string, Tensor>;
}

/** Load the checkpoint of `outDir`; errors name the file at fault. */
export async function loadCheckpoint(outDir: string): Promise<LoadedCheckpoint> {
  const { dir, state, optimizer } = await readCheckpoint(outDir, CheckpointState, (s) => s.optimizer.weights);
  try {
    const { net } = await loadModel(path.join(dir, 'model'));
    const weights: Record<string, Tensor> = {};
    for (const { name, tensor } of net.backbone.namedWeights()) weights[name] = tf.clone(tensor);
    net.dispose();
    return { dir, state, weights, optimizer };
  } catch (e) {
    tf.dispose(Object.values(optimizer));
    throw e;
  }
}
