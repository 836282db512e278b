/**
 * SiamFC model files on disk (Node only): `<dir>/model.json` + `<dir>/weights.bin` through tracker/node/model-folder.ts,
 * which writes them atomically and names the file at fault when reading.
 */
import { readModelFolder, writeModelFolder } from './model-folder.js';
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
  await writeModelFolder(dir, manifest, WEIGHTS_FILE, weights);
  return manifest;
}

/** Load a model from a folder or a `model.json` path. Errors name the file and the field at fault. */
export async function loadModel(where: string): Promise<{ net: SiamFCNet; manifest: ModelManifest; dir: string }> {
  const r = await readModelFolder(where, parseManifest, (m) => m.weightsManifest[0].paths[0], (msg) => new ModelFileError(msg));
  return { net: deserializeModel(r.manifest, r.weights, r.binPath), manifest: r.manifest, dir: r.dir };
}
