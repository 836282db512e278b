/**
 * The on-disk shape shared by every model of the project (trackers and classifiers): a folder with `model.json` and
 * the weight file it names. Writes are atomic (a temp folder renamed into place, the previous folder moved aside
 * first), so a crash never leaves a half-written model that looks complete; reads name the file at fault.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Write `model.json` (the manifest, pretty-printed) and the weight bytes as `weightsFile` into `dir`, atomically. */
export async function writeModelFolder(dir: string, manifest: unknown, weightsFile: string, weights: ArrayBuffer): Promise<void> {
  const clean = dir.replace(/[\\/]+$/, '');
  const stamp = `${process.pid}-${Date.now()}`;
  const tmp = `${clean}.tmp-${stamp}`;
  const old = `${clean}.old-${stamp}`;
  await mkdir(tmp, { recursive: true });
  try {
    await writeFile(path.join(tmp, weightsFile), Buffer.from(weights));
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
}

/**
 * Read a model folder (or a model.json path): the manifest is parsed by `parse(text, jsonPath)`, then the weight file
 * it names (`weightsPath(manifest)`) is read. Missing files throw `makeError(message)` naming the path.
 */
export async function readModelFolder<M>(
  where: string,
  parse: (text: string, jsonPath: string) => M,
  weightsPath: (manifest: M) => string,
  makeError: (message: string) => Error,
): Promise<{ manifest: M; weights: ArrayBuffer; jsonPath: string; binPath: string; dir: string }> {
  let jsonPath = where;
  try {
    if ((await stat(where)).isDirectory()) jsonPath = path.join(where, 'model.json');
  } catch {
    throw makeError(`${where}: model file or folder does not exist`);
  }
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch {
    throw makeError(`${jsonPath}: cannot read the model manifest`);
  }
  const manifest = parse(text, jsonPath);
  const dir = path.dirname(jsonPath);
  const binPath = path.join(dir, weightsPath(manifest));
  let bin: Buffer;
  try {
    bin = await readFile(binPath);
  } catch {
    throw makeError(`${binPath}: weights file named in ${jsonPath} is missing`);
  }
  const weights = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  return { manifest, weights, jsonPath, binPath, dir };
}
