/**
 * Classifier model folders on disk (Node only): `<dir>/model.json` + `<dir>/weights.bin`, written atomically (a
 * temporary folder renamed into place), read with errors that name the file and the field.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
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
  const clean = dir.replace(/[\\/]+$/, '');
  const tmp = `${clean}.tmp-${process.pid}-${Date.now()}`;
  const old = `${clean}.old-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    await writeFile(path.join(tmp, CLASSIFIER_WEIGHTS_FILE), Buffer.from(weights));
    await writeFile(path.join(tmp, 'model.json'), JSON.stringify(manifest, null, 2) + '\n');
    let hadOld = false;
    try {
      await rename(clean, old);
      hadOld = true;
    } catch {
      // no previous folder
    }
    await rename(tmp, clean);
    if (hadOld) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return manifest;
}

/** Load a classifier from a folder or a model.json path. Errors (ClassifierFileError) name the file and the field. */
export async function loadClassifier(where: string): Promise<{ model: Classifier; manifest: ClassifierManifest; dir: string }> {
  let jsonPath = where;
  try {
    if ((await stat(where)).isDirectory()) jsonPath = path.join(where, 'model.json');
  } catch {
    throw new ClassifierFileError(`${where}: model file or folder does not exist`);
  }
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch {
    throw new ClassifierFileError(`${jsonPath}: cannot read the model manifest`);
  }
  const manifest = parseClassifierManifest(text, jsonPath);
  const dir = path.dirname(jsonPath);
  const binPath = path.join(dir, manifest.weightsManifest[0].paths[0]);
  let bin: Buffer;
  try {
    bin = await readFile(binPath);
  } catch {
    throw new ClassifierFileError(`${binPath}: weights file named in ${jsonPath} is missing`);
  }
  const ab = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  return { model: deserializeClassifier(manifest, ab, binPath), manifest, dir };
}
