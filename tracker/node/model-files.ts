/**
 * Model files on disk (Node only): `<dir>/model.json` + `<dir>/weights.bin`, written atomically (a temp folder renamed
 * into place) so a crash never leaves a half-written model that looks complete.
 */
import { mkdir, readFile, rename, rm, writeFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SiamFCNet } from '../siamfc/network.js';
import {
  WEIGHTS_FILE, ModelFileError, type ModelManifest, deserializeModel, parseManifest, serializeModel,
} from '../weights.js';

/** Save `net` into folder `dir` (created or replaced atomically). Returns the manifest written. */
export async function saveModel(
  dir: string,
  net: SiamFCNet,
  meta: Parameters<typeof serializeModel>[1],
): Promise<ModelManifest> {
  const { manifest, weights } = await serializeModel(net, meta);
  const tmp = `${dir.replace(/[\\/]+$/, '')}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    await writeFile(path.join(tmp, WEIGHTS_FILE), Buffer.from(weights));
    await writeFile(path.join(tmp, 'model.json'), JSON.stringify(manifest, null, 2) + '\n');
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return manifest;
}

/** Load a model from a folder or a `model.json` path. Errors name the file and the field at fault. */
export async function loadModel(where: string): Promise<{ net: SiamFCNet; manifest: ModelManifest; dir: string }> {
  let jsonPath = where;
  try {
    if ((await stat(where)).isDirectory()) jsonPath = path.join(where, 'model.json');
  } catch {
    throw new ModelFileError(`${where}: model file or folder does not exist`);
  }
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch {
    throw new ModelFileError(`${jsonPath}: cannot read model manifest`);
  }
  const manifest = parseManifest(text, jsonPath);
  const dir = path.dirname(jsonPath);
  const binPath = path.join(dir, manifest.weightsManifest[0].paths[0]);
  let bin: Buffer;
  try {
    bin = await readFile(binPath);
  } catch {
    throw new ModelFileError(`${binPath}: weights file named in ${jsonPath} is missing`);
  }
  const ab = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  return { net: deserializeModel(manifest, ab, binPath), manifest, dir };
}
