/**
 * Tracking in the browser (issue 18): a model's exported ONNX networks (served by the server, cached by the browser)
 * on onnxruntime-web's wasm backend (SIMD; threads when the page is cross-origin isolated), driven by the same SiamFC
 * loop as the server's onnx engine (tracker/engine/async-tracker.ts over tracker/siamfc/core.ts).
 */
import type { BrowserModel } from '../../../server/protocol.js';
import type { RawFrame } from '../../../tracker/tracker.js';
import { AsyncSiamFCTracker } from '../../../tracker/engine/async-tracker.js';
import { OrtAsyncEngine, type OrtApi } from '../../../tracker/engine/ort-async-engine.js';
import { api } from './api.js';

/** A tiny module using a SIMD instruction (v128): valid only where wasm SIMD exists (wasm-feature-detect's test). */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** Why this browser cannot track by itself, or null when it can (onnxruntime-web needs WebAssembly SIMD). */
export function browserTrackingUnavailable(): string | null {
  if (typeof WebAssembly !== 'object') return 'this browser has no WebAssembly';
  try {
    if (!WebAssembly.validate(SIMD_PROBE)) return 'this browser lacks WebAssembly SIMD, which onnxruntime-web needs';
  } catch {
    return 'this browser lacks WebAssembly SIMD, which onnxruntime-web needs';
  }
  return null;
}

type OrtWeb = OrtApi & { env: { wasm: { wasmPaths?: string; numThreads?: number; proxy?: boolean } }; env_version?: string };

let ortModule: Promise<OrtWeb> | null = null;

/** onnxruntime-web's wasm build from the server (`runtime` folder); threads only when cross-origin isolated. */
function loadOrtWeb(runtime: string): Promise<OrtWeb> {
  ortModule ??= (async () => {
    const url = `${runtime}ort.wasm.min.mjs`;
    const ort = (await import(/* webpackIgnore: true */ url)) as OrtWeb;
    ort.env.wasm.wasmPaths = runtime;
    ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
    return ort;
  })();
  ortModule.catch(() => (ortModule = null));
  return ortModule;
}

/** A model loaded in this browser: one engine, trackers on it. */
export interface BrowserTracker {
  meta: BrowserModel;
  engine: OrtAsyncEngine;
  tracker: AsyncSiamFCTracker;
  /** e.g. `onnxruntime-web (wasm SIMD, 2 threads)`. */
  description: string;
}

async function bytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: the server answered ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** Load model `name` into onnxruntime-web and make a tracker on it. Throws with the reason (no SIMD, a bad model…). */
export async function loadBrowserTracker(name: string): Promise<BrowserTracker> {
  const why = browserTrackingUnavailable();
  if (why) throw new Error(why);
  const meta = await api<BrowserModel>(`/api/models/${encodeURIComponent(name)}/browser`);
  const [ort, e, s] = await Promise.all([loadOrtWeb(meta.runtime), bytes(meta.files.exemplar), bytes(meta.files.search)]);
  const threads = ort.env.wasm.numThreads ?? 1;
  const description = `onnxruntime-web (wasm SIMD, ${threads} thread${threads === 1 ? '' : 's'})`;
  const engine = await OrtAsyncEngine.create(ort, e, s, meta, {
    description, where: `/api/models/${name}`,
    sessionOptions: { executionProviders: ['wasm'], graphOptimizationLevel: 'all' },
  });
  return { meta, engine, description, tracker: new AsyncSiamFCTracker(engine, meta, meta.tracker, name) };
}

/** RGBA pixels (canvas ImageData) → a RawFrame of RGB bytes, written into `out` when it has the right size. */
export function rgbaToFrame(rgba: Uint8ClampedArray, width: number, height: number, out?: Uint8Array): RawFrame {
  const n = width * height;
  if (rgba.length !== n * 4) throw new Error(`rgbaToFrame: ${rgba.length} values for ${width}×${height}×4`);
  const data = out && out.length === n * 3 ? out : new Uint8Array(n * 3);
  for (let p = 0, i = 0, o = 0; p < n; p++, i += 4, o += 3) {
    data[o] = rgba[i];
    data[o + 1] = rgba[i + 1];
    data[o + 2] = rgba[i + 2];
  }
  return { data, width, height };
}
