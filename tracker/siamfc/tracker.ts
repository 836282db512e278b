/**
 * The SiamFC tracker: the inference logic of siamfc-pytorch's `TrackerSiamFC` (init/update), step for step —
 * context-padded exemplar, average-colour padded search crops at `scaleNum` scales, cross-correlation, bicubic
 * ×responseUp upsampling, scale penalty, min/sum normalisation, Hann window blending, displacement mapped from the
 * upsampled response to search-crop pixels and to image pixels, damped scale update. The reference works in
 * 1-based pixels and converts at both ends; we work in the project's 0-based boxes throughout, which is the same
 * arithmetic without the two conversions.
 *
 * Networks run on tfjs by default (as they always did). With an inference engine (tracker/engine/engine.ts, e.g. the
 * onnxruntime-node one) the exemplar features come from `engine.exemplar` at `init`, and each `update` crops all
 * scales in plain JavaScript (tracker/engine/crop.ts, the same samples as `cropPatches`) into one buffer reused frame
 * after frame and gets the responses from one `engine.respond` call: no tfjs at all on that path (the average colour
 * and the exemplar crop are computed in JS too, bit-identical to tfjs-backend-cpu). The state, the JS crops and
 * everything after the responses live in core.ts, shared with the asynchronous tracker of the browser. The bicubic
 * upsampling skips the cubic matrix's zeros (tracker/engine/upsample.ts): the same numbers bit for bit as response.ts
 * `upsample`, ~4× cheaper.
 */
import { tf } from '../tf.js';
import type { Tensor1D, Tensor3D, Tensor4D } from '../tf.js';
import type { Box } from '../geometry.js';
import { type Frame, type RawFrame, type Tracker, type TrackResult, frameSize, frameToTensor, validateInit } from '../tracker.js';
import { type ExemplarFeatures, type SiamFCEngine, TfjsEngine } from '../engine/engine.js';
import { SiamFCConfig, type SiamFCConfigInput } from './config.js';
import { SiamFCCore, type RgbImage } from './core.js';
import { cropPatches } from './crop.js';
import type { SiamFCNet } from './network.js';

/** A SiamFC tracker over a (shared, not owned) SiamFC network. */
export class SiamFCTracker implements Tracker {
  readonly name: string;
  readonly config: SiamFCConfig;
  private readonly net: SiamFCNet;
  /** State, crops and the response → box step, shared with AsyncSiamFCTracker (core.ts). */
  private readonly core: SiamFCCore;
  private avgColor: Tensor1D | null = null;
  private kernel: Tensor4D | null = null;
  private disposed = false;
  // Engine path: the engine (shared, not owned) and the exemplar features.
  private readonly engine: SiamFCEngine | null;
  private engineKernel: ExemplarFeatures | null = null;
  // Rotated templates (config.templates > 1): every template's features, and the stacks of the current template with
  // its neighbours (built on first use, one per current template).
  private templateKernels: ExemplarFeatures[] = [];
  private templateStacks = new Map<number, ExemplarFeatures>();

  /**
   * `net` stays owned by the caller (one network can serve many trackers); `dispose()` frees only tracker state.
   * `engine` (optional, shared, not owned) runs the two branches instead of tfjs; it must be built from `net`.
   */
  constructor(net: SiamFCNet, config: SiamFCConfigInput = {}, name = 'siamfc', engine?: SiamFCEngine) {
    this.net = net;
    this.name = name;
    this.core = new SiamFCCore(net.geometry, SiamFCConfig.parse(config));
    this.config = this.core.config;
    // rotated templates run on an engine's batched kernels: the tfjs one when none is given (it owns nothing)
    this.engine = engine ?? (this.config.templates > 1 ? new TfjsEngine(net) : null);
  }

  /** Start tracking `box` (0-based x, y, w, h) on `frame`. */
  init(frame: Frame, box: Box): void {
    this.assertAlive();
    validateInit(frame, box);
    this.releaseState();
    if (this.config.templates > 1) {
      const engine = this.engine as SiamFCEngine;
      const all = this.core.templateCrops(rgbImage(frame), box);
      const per = all.length / this.config.templates;
      this.templateKernels = Array.from({ length: this.config.templates }, (_, t) => engine.exemplar(all.subarray(t * per, (t + 1) * per)));
      return;
    }
    if (this.engine) {
      // no tfjs: the average colour and the exemplar crop in JS (core.ts), the features from the engine
      this.engineKernel = this.engine.exemplar(this.core.exemplarCrop(rgbImage(frame), box));
      return;
    }
    const { exemplarSize } = this.net.geometry;
    const req = this.core.start(box);
    const img = frameToTensor(frame);
    try {
      this.avgColor = tf.keep(tf.mean(img, [0, 1]) as Tensor1D);
      this.kernel = tf.keep(
        tf.tidy(() => this.net.backbone.apply(cropPatches(img, this.avgColor as Tensor1D, [req], exemplarSize), false)),
      );
    } finally {
      img.dispose();
    }
  }

  /** Locate the target in `frame`; `score` is the peak of the chosen scale's upsampled raw response. */
  update(frame: Frame): TrackResult {
    this.assertAlive();
    if (this.templateKernels.length) {
      const templates = this.core.candidateTemplates();
      return this.core.locate(this.templateResponses(frame, templates), templates);
    }
    return this.core.locate(this.engine ? this.engineResponses(frame) : this.tfjsResponses(frame));
  }

  /** Responses `[n, T, r, r]` of all scales against the candidate templates, in one engine call when it stacks. */
  private templateResponses(frame: Frame, templates: number[]): Float32Array {
    const engine = this.engine as SiamFCEngine;
    const crops = this.core.searchCrops(rgbImage(frame));
    const n = this.core.scaleFactors.length;
    if (engine.stack) {
      let stacked = this.templateStacks.get(templates[0]);
      if (!stacked) {
        stacked = engine.stack(templates.map((t) => this.templateKernels[t]));
        this.templateStacks.set(templates[0], stacked);
      }
      return engine.respond(stacked, crops, n);
    }
    // no batched kernels: one search pass per template, interleaved into [n, T, r, r]
    const r = this.net.geometry.responseSize;
    const T = templates.length;
    const out = new Float32Array(n * T * r * r);
    templates.forEach((t, j) => {
      const resp = engine.respond(this.templateKernels[t], crops, n);
      for (let s = 0; s < n; s++) out.set(resp.subarray(s * r * r, (s + 1) * r * r), (s * T + j) * r * r);
    });
    return out;
  }

  /** Responses of all scales `[n, r, r]` on the tfjs path. */
  private tfjsResponses(frame: Frame): Float32Array {
    if (!this.kernel || !this.avgColor) throw new Error(`${this.name}: update() called before init()`);
    const { instanceSize } = this.net.geometry;
    const img = frameToTensor(frame);
    try {
      const resp = tf.tidy(() => {
        const x = cropPatches(img as Tensor3D, this.avgColor as Tensor1D, this.core.searchRequests(), instanceSize);
        return this.net.xcorr(this.kernel as Tensor4D, this.net.backbone.apply(x, false));
      });
      const responses = resp.dataSync() as Float32Array;
      resp.dispose();
      return responses;
    } finally {
      img.dispose();
    }
  }

  /** Responses of all scales `[n, r, r]` on the engine path: JS crops into the reused buffer, one engine call. */
  private engineResponses(frame: Frame): Float32Array {
    if (!this.engineKernel) throw new Error(`${this.name}: update() called before init()`);
    const crops = this.core.searchCrops(rgbImage(frame));
    return (this.engine as SiamFCEngine).respond(this.engineKernel, crops, this.core.scaleFactors.length);
  }

  /** Release the exemplar kernel and the average colour; the network is not touched. */
  dispose(): void {
    this.releaseState();
    this.disposed = true;
  }

  private releaseState(): void {
    this.kernel?.dispose();
    this.avgColor?.dispose();
    this.engineKernel?.dispose();
    for (const k of this.templateKernels) k.dispose();
    for (const k of this.templateStacks.values()) k.dispose();
    this.templateKernels = [];
    this.templateStacks.clear();
    this.kernel = null;
    this.avgColor = null;
    this.engineKernel = null;
    this.core.reset();
  }

  private assertAlive(): void {
    if (this.disposed) throw new Error(`${this.name}: tracker was disposed`);
  }
}

/** A frame's RGB values as the JS crops read them (a tensor frame is read once with dataSync). */
function rgbImage(frame: Frame): RgbImage {
  const { width, height } = frameSize(frame);
  return { rgb: frame instanceof tf.Tensor ? frame.dataSync() : (frame as RawFrame).data, width, height };
}
