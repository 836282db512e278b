/**
 * ONNX model files of a SiamFC network on disk: `<dir>/exemplar.onnx`, `<dir>/search.onnx` and `<dir>/onnx.json`
 * (the geometry both models assume). Errors name the file at fault.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { SiamFCNet } from '../../siamfc/network.js';
import { exportSiamFCOnnx } from '../../engine/onnx-export.js';
import { OnnxEngine, type OnnxEngineOptions } from './onnx-engine.js';

export const EXEMPLAR_ONNX = 'exemplar.onnx';
export const SEARCH_ONNX = 'search.onnx';
export const ONNX_META = 'onnx.json';

const Meta = z.object({
  format: z.literal('rot-track/siamfc-onnx@1'),
  exemplarSize: z.number().int().positive(),
  instanceSize: z.number().int().positive(),
  responseSize: z.number().int().positive(),
  channels: z.number().int().positive(),
}).strict();

/** Export `net` and write the three files into `dir` (created). Returns the paths written. */
export async function writeOnnxModels(net: SiamFCNet, dir: string): Promise<string[]> {
  const m = exportSiamFCOnnx(net);
  await mkdir(dir, { recursive: true });
  const files = [path.join(dir, EXEMPLAR_ONNX), path.join(dir, SEARCH_ONNX), path.join(dir, ONNX_META)];
  await writeFile(files[0], m.exemplar);
  await writeFile(files[1], m.search);
  await writeFile(files[2], JSON.stringify({
    format: 'rot-track/siamfc-onnx@1', exemplarSize: m.exemplarSize, instanceSize: m.instanceSize,
    responseSize: m.responseSize, channels: m.channels,
  }, null, 2) + '\n');
  return files;
}

async function read(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new Error(`${file}: ${code === 'ENOENT' ? 'file does not exist' : (e as Error).message}`);
  }
}

/** Load an onnx engine from a folder written by `writeOnnxModels`. Errors name the file and the field at fault. */
export async function loadOnnxModels(dir: string, opts: OnnxEngineOptions = {}): Promise<OnnxEngine> {
  const metaFile = path.join(dir, ONNX_META);
  let json: unknown;
  try {
    json = JSON.parse((await read(metaFile)).toString('utf8'));
  } catch (e) {
    throw new Error((e as Error).message.startsWith(metaFile) ? (e as Error).message : `${metaFile}: not valid JSON (${(e as Error).message})`);
  }
  const r = Meta.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${metaFile}: field "${i.path.join('.') || '(root)'}": ${i.message}`);
  }
  const exemplarFile = path.join(dir, EXEMPLAR_ONNX);
  const searchFile = path.join(dir, SEARCH_ONNX);
  const [e, s] = [await read(exemplarFile), await read(searchFile)];
  const { exemplarSize, instanceSize, responseSize } = r.data;
  return OnnxEngine.fromBytes(e, s, exemplarFile, searchFile, { exemplarSize, instanceSize, responseSize }, opts.threads, opts.spin);
}
