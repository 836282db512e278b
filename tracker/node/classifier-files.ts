/**
 * Classifier model folders on disk (Node only): `<dir>/model.json` + `<dir>/weights.bin`, written atomically (a
 * temporary folder renamed into place), read with errors that name the file and the field.
 */
import { readModelFolder, writeModelFolder } from './model-folder.js';
import type { Classifier } from '../classifier.js';
import {
  CLASSIFIER_WEIGHTS_FILE, ClassifierFileError, type ClassifierManifest, deserializeClassifier, parseClassifierManifest,
  serializeClassifier,
} from '../classifier/weights.js';

/** Save `model` into folder `dir` (created, or replaced atomically). Returns the manifest written. */
export async function saveClassifier(
  dir: string,
  model: Classifier,
  meta: Parameters<typeof serializeClassifier>[1],
): Promise<ClassifierManifest> {
  const { manifest, weights } = await serializeClassifier(model, meta);
  await writeModelFolder(dir, manifest, CLASSIFIER_WEIGHTS_FILE, weights);
  return manifest;
}

/** Load a classifier from a folder or a model.json path. Errors (ClassifierFileError) name the file and the field. */
export async function loadClassifier(where: string): Promise<{ model: Classifier; manifest: ClassifierManifest; dir: string }> {
  const r = await readModelFolder(where, parseClassifierManifest, (m) => m.weightsManifest[0].paths[0],
    (msg) => new ClassifierFileError(msg));
  return { model: deserializeClassifier(r.manifest, r.weights, r.binPath), manifest: r.manifest, dir: r.dir };
}
