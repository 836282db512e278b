/**
 * The models' ONNX networks for browsers (issue 18): each model is exported once (tracker/engine/onnx-export.ts, in
 * memory, from the registry's shared network) and kept with a content hash that versions its URLs and is its ETag.
 */
import { createHash } from 'node:crypto';
import { exportSiamFCOnnx } from '../tracker/engine/onnx-export.js';
import { SiamFCConfig } from '../tracker/siamfc/config.js';
import { AppError } from './errors.js';
import type { ModelRegistry } from './models.js';
import type { BrowserModel } from './protocol.js';

/** The two network files a browser loads. */
export const BROWSER_FILES = ['exemplar.onnx', 'search.onnx'] as const;
export type BrowserFile = (typeof BROWSER_FILES)[number];

interface Exported {
  meta: BrowserModel;
  bytes: Record<BrowserFile, Uint8Array>;
}

/** Exports on demand and caches per model name (a refreshed model folder with new weights gets a new hash). */
export class BrowserModels {
  private cache = new Map<string, Promise<Exported>>();

  /** `runtime`: where onnxruntime-web's files are served (routes/browser.ts ORT_WEB.base). */
  constructor(private readonly models: ModelRegistry, private readonly runtime: string) {}

  /** What a browser needs to load model `name` (undefined: the default model). */
  async describe(name: string | undefined): Promise<BrowserModel> {
    return (await this.exported(name)).meta;
  }

  /** One network file of model `name`, with its content hash. */
  async file(name: string, file: string): Promise<{ bytes: Uint8Array; version: string }> {
    if (!(BROWSER_FILES as readonly string[]).includes(file)) {
      throw new AppError('not_found', `no model file "${file.slice(0, 60)}": the files are ${BROWSER_FILES.join(', ')}`, 404);
    }
    const e = await this.exported(name);
    return { bytes: e.bytes[file as BrowserFile], version: e.meta.version };
  }

  private async exported(name: string | undefined): Promise<Exported> {
    const loaded = await this.models.network(name);
    let p = this.cache.get(loaded.name);
    if (!p) {
      p = Promise.resolve().then(() => build(loaded.name, loaded, this.runtime));
      p.catch(() => this.cache.delete(loaded.name));
      this.cache.set(loaded.name, p);
    }
    const e = await p.catch((err: Error) => {
      throw new AppError('unavailable', `model "${loaded.name}" cannot be exported to ONNX for the browser: ${err.message}`, 503);
    });
    return e;
  }
}

function build(name: string, loaded: Awaited<ReturnType<ModelRegistry['network']>>, runtime: string): Exported {
  const m = exportSiamFCOnnx(loaded.net);
  const version = createHash('sha256').update(m.exemplar).update(m.search).digest('hex').slice(0, 16);
  const url = (f: BrowserFile) => `/api/models/${encodeURIComponent(name)}/${f}?v=${version}`;
  const tracker = SiamFCConfig.parse({ ...loaded.tracker, outScale: loaded.net.outScale });
  return {
    bytes: { 'exemplar.onnx': m.exemplar, 'search.onnx': m.search },
    meta: {
      name, format: 'rot-track/siamfc-onnx@1', exemplarSize: m.exemplarSize, instanceSize: m.instanceSize,
      responseSize: m.responseSize, stride: loaded.net.geometry.stride, channels: m.channels, tracker,
      files: { exemplar: url('exemplar.onnx'), search: url('search.onnx') },
      bytes: { exemplar: m.exemplar.length, search: m.search.length }, version, runtime,
    },
  };
}
