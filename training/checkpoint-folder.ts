/**
 * The checkpoint folder both training loops (trackers and classifiers) write: `<out>/checkpoint/` holding `model/`
 * (written by the caller), `optimizer.bin` (tfjs weight encoding of the optimiser state) and `state.json` (written
 * last: a folder without it is never taken for a checkpoint). Atomic: everything goes to a temporary folder, which
 * then replaces the previous checkpoint by two renames (old → checkpoint.old, new → checkpoint); a crash between
 * them leaves checkpoint.old, which reading falls back to. Errors name the file at fault.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { tf } from '../tracker/tf.js';
import type { Tensor } from '../tracker/tf.js';

type WeightSpecs = Parameters<typeof tf.io.decodeWeights>[1];

/** Folder of the current checkpoint under an output folder. */
export function checkpointDir(outDir: string): string {
  return path.join(outDir, 'checkpoint');
}

/** The checkpoint folder to resume from (`checkpoint`, else `checkpoint.old`), or undefined when there is none. */
export function findCheckpoint(outDir: string): string | undefined {
  for (const d of [checkpointDir(outDir), `${checkpointDir(outDir)}.old`]) {
    if (existsSync(path.join(d, 'state.json'))) return d;
  }
  return undefined;
}

/**
 * Write a checkpoint atomically: `writeModel(dir)` saves the model into `<tmp>/model`; `makeState(specs)` returns the
 * state.json object given the optimiser's weight specs. Returns the checkpoint folder.
 */
export async function writeCheckpoint(
  outDir: string,
  writeModel: (modelDir: string) => Promise<unknown>,
  optimizerState: Parameters<typeof tf.io.encodeWeights>[0],
  makeState: (optimizerSpecs: tf.io.WeightsManifestEntry[]) => unknown,
): Promise<string> {
  const final = checkpointDir(outDir);
  const old = `${final}.old`;
  const tmp = `${final}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    await writeModel(path.join(tmp, 'model'));
    const { data, specs } = await tf.io.encodeWeights(optimizerState);
    await writeFile(path.join(tmp, 'optimizer.bin'), Buffer.from(data));
    await writeFile(path.join(tmp, 'state.json'), JSON.stringify(makeState(specs), null, 2) + '\n');
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

/**
 * Read the checkpoint of `outDir`: state.json checked by `schema`, and the optimiser tensors (specs from
 * `specsOf(state)`; the caller disposes them). The model is left to the caller (`<dir>/model`).
 */
export async function readCheckpoint<S>(
  outDir: string,
  schema: z.ZodType<S, z.ZodTypeDef, unknown>,
  specsOf: (state: S) => unknown[],
): Promise<{ dir: string; state: S; optimizer: Record<string, Tensor> }> {
  const dir = findCheckpoint(outDir);
  if (!dir) throw new Error(`${checkpointDir(outDir)}: no checkpoint to resume from (state.json not found)`);
  const stateFile = path.join(dir, 'state.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(stateFile, 'utf8'));
  } catch (e) {
    throw new Error(`${stateFile}: cannot read checkpoint state (${(e as Error).message})`);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${stateFile}: field "${i.path.join('.') || '(root)'}": ${i.message}`);
  }
  const binFile = path.join(dir, 'optimizer.bin');
  let bin: Buffer;
  try {
    bin = await readFile(binFile);
  } catch {
    throw new Error(`${binFile}: optimizer state missing`);
  }
  const ab = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  let optimizer: Record<string, Tensor>;
  try {
    optimizer = tf.io.decodeWeights(ab, specsOf(r.data) as unknown as WeightSpecs) as Record<string, Tensor>;
  } catch (e) {
    throw new Error(`${binFile}: cannot decode the optimizer state (${(e as Error).message})`);
  }
  return { dir, state: r.data, optimizer };
}
