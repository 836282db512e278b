/**
 * SiamFC over an asynchronous inference engine — onnxruntime-web in the browser, whose `run` only exists as a
 * Promise. The same loop as `SiamFCTracker` on its engine path (core.ts: JS average colour and crops, the response →
 * box step); only the two network calls are awaited. Frames are RawFrames (RGB bytes). Browser-safe: no tfjs, no Node.
 */
import { validateBox, type Box } from '../geometry.js';
import type { RawFrame, TrackResult } from '../tracker.js';
import type { SiamFCConfig } from '../siamfc/config.js';
import { SiamFCCore, type RgbImage, type SiamFCGeometry } from '../siamfc/core.js';
import type { ExemplarFeatures } from './engine-types.js';

/** `SiamFCEngine` with Promises: the exemplar branch once per init, the search branch once per frame (all scales). */
export interface AsyncSiamFCEngine {
  /** One line for logs and the page, e.g. `onnxruntime-web (wasm, SIMD, 1 thread)`. */
  readonly description: string;
  /** Features of one exemplar crop `[1, E, E, 3]` (NHWC float32, 0–255). */
  exemplar(crop: Float32Array): Promise<ExemplarFeatures>;
  /** Responses `[k, r, r]` float32 of `k` search crops `[k, X, X, 3]` against `z`. */
  respond(z: ExemplarFeatures, crops: Float32Array, k: number): Promise<Float32Array>;
  /** Release the sessions. */
  dispose(): Promise<void>;
}

/** The RGB image of a RawFrame, validated (a clear error naming the problem). */
export function rawImage(frame: RawFrame): RgbImage {
  if (!frame || !(frame.data instanceof Uint8Array)) throw new Error('frame.data must be a Uint8Array of RGB bytes');
  const { width, height, data } = frame;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`frame size must be positive integers, got ${width}×${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new Error(`frame.data has ${data.length} bytes but ${width}×${height}×3 = ${width * height * 3} were expected`);
  }
  return { rgb: data, width, height };
}

/** A SiamFC tracker whose networks run on an `AsyncSiamFCEngine` (not owned: one engine can serve many trackers). */
export class AsyncSiamFCTracker {
  private readonly core: SiamFCCore;
  private kernel: ExemplarFeatures | null = null;
  private busy = false;

  /** `config`: complete settings (SiamFCConfig.parse in Node, or the server's `BrowserModel.tracker`). */
  constructor(private readonly engine: AsyncSiamFCEngine, geometry: SiamFCGeometry, config: SiamFCConfig, readonly name = 'siamfc') {
    this.core = new SiamFCCore(geometry, config);
    if (this.core.config.templates > 1) {
      throw new Error(`${name}: rotated templates (templates ${this.core.config.templates}) are not supported by the asynchronous tracker yet`);
    }
  }

  /** Start tracking `box` (0-based x, y, w, h) on `frame`. */
  async init(frame: RawFrame, box: Box): Promise<void> {
    const img = rawImage(frame);
    validateBox(box, img.width, img.height, 'initial box');
    this.enter();
    try {
      this.kernel?.dispose();
      this.kernel = null;
      this.kernel = await this.engine.exemplar(this.core.exemplarCrop(img, box));
    } finally {
      this.busy = false;
    }
  }

  /** Locate the target in `frame`. */
  async update(frame: RawFrame): Promise<TrackResult> {
    const img = rawImage(frame);
    if (!this.kernel) throw new Error(`${this.name}: update() called before init()`);
    this.enter();
    try {
      const crops = this.core.searchCrops(img);
      return this.core.locate(await this.engine.respond(this.kernel, crops, this.core.scaleFactors.length));
    } finally {
      this.busy = false;
    }
  }

  /** Forget the target (the engine stays). */
  dispose(): void {
    this.kernel?.dispose();
    this.kernel = null;
    this.core.reset();
  }

  /** The crop buffers are reused: one call at a time (a caller that overlaps frames has a bug). */
  private enter(): void {
    if (this.busy) throw new Error(`${this.name}: a frame is still being tracked; await it before the next one`);
    this.busy = true;
  }
}
