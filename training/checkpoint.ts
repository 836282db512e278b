/**
 * Training checkpoints: `<out>/checkpoint/` holds the model (tracker/node/model-files.ts saveModel: model.json +
 * weights.bin, BN moving statistics included), `optimizer.bin` (tfjs weight encoding of the optimiser state) and
 * `state.json` (step, RNG state, config, optimiser manifest). Written atomically: everything goes to a temporary
 * folder first, which then replaces the previous checkpoint by two renames (old → checkpoint.old, new → checkpoint);
 * a crash between them leaves checkpoint.old, which `loadCheckpoint` falls back to.
 */
import { ValidationRecord } from './validation.js';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { tf } from '../tracker/tf.js';
import type { Tensor } from '../tracker/tf.js';
import type { SiamFCNet } from '../tracker/siamfc/network.js';
import { loadModel, saveModel } from '../tracker/node/model-files.js';
import type { Optimizer } from './optimizers.js';

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

/** Folder of the current checkpoint under an output folder. */
export function checkpointDir(outDir: string): string {
  return path.join(outDir, 'checkpoint');
}

/** Save a checkpoint atomically. `state` without the optimiser manifest, which is filled in here. */
export async function saveCheckpoint(
  outDir: string,
  net: SiamFCNet,
  optimizer: Optimizer,
  optimizerKind: string,
  state: Omit<CheckpointState, 'format' | 'optimizer' | 'savedAt'>,
  variant: string,
): Promise<string> {
  const final = checkpointDir(outDir);
  const old = `${final}.old`;
  const tmp = `${final}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    await saveModel(path.join(tmp, 'model'), net, { variant, provenance: { checkpointStep: state.step } });
    const { data, specs } = await tf.io.encodeWeights(optimizer.state());
    await writeFile(path.join(tmp, 'optimizer.bin'), Buffer.from(data));
    const full: CheckpointState = CheckpointState.parse({
      ...state,
      format: CHECKPOINT_FORMAT,
      savedAt: new Date().toISOString(),
      optimizer: { kind: optimizerKind, weights: specs },
    });
    // state.json last: a folder without it is never taken for a checkpoint
    await writeFile(path.join(tmp, 'state.json'), JSON.stringify(full, null, 2) + '\n');
    await rm(old, { recursive: true, force: true });
    if (existsSync(final)) await rename(final, old);
    await rename(tmp, final);
    await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return final;
}

/** A loaded checkpoint: its state, the model's named weights and the optimiser tensors (caller disposes both). */
export interface LoadedCheckpoint {
  dir: string;
  state: CheckpointState;
  weights: Record<string, Tensor>;
  optimizer: Record<string, Tensor>;
}

/** The checkpoint folder to resume from (`checkpoint`, else `checkpoint.old`), or undefined when there is none. */
export function findCheckpoint(outDir: string): string | undefined {
  for (const d of [checkpointDir(outDir), `${checkpointDir(outDir)}.old`]) {
    if (existsSync(path.join(d, 'state.json'))) return d;
  }
  return undefined;
}

/** Load the checkpoint of `outDir`; errors name the file at fault. */
export async function loadCheckpoint(outDir: string): Promise<LoadedCheckpoint> {
  const dir = findCheckpoint(outDir);
  if (!dir) throw new Error(`${checkpointDir(outDir)}: no checkpoint to resume from (state.json not found)`);
  const stateFile = path.join(dir, 'state.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(stateFile, 'utf8'));
  } catch (e) {
    throw new Error(`${stateFile}: cannot read checkpoint state (${(e as Error).message})`);
  }
  const r = CheckpointState.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${stateFile}: field "${i.path.join('.') || '(root)'}": ${i.message}`);
  }
  const { net } = await loadModel(path.join(dir, 'model'));
  const weights: Record<string, Tensor> = {};
  for (const { name, tensor } of net.backbone.namedWeights()) weights[name] = tf.clone(tensor);
  net.dispose();
  const binFile = path.join(dir, 'optimizer.bin');
  let bin: Buffer;
  try {
    bin = await readFile(binFile);
  } catch {
    tf.dispose(Object.values(weights));
    throw new Error(`${binFile}: optimizer state missing`);
  }
  const ab = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  const optimizer = tf.io.decodeWeights(ab, r.data.optimizer.weights as unknown as Parameters<typeof tf.io.decodeWeights>[1]) as Record<string, Tensor>;
  return { dir, state: r.data, weights, optimizer };
}
