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
 * after frame and gets the responses from one `engine.respond` call: no tfjs per frame. Everything after the
 * responses is the same code on both paths. The bicubic upsampling skips the cubic matrix's zeros
 * (tracker/engine/upsample.ts): the same numbers bit for bit as response.ts `upsample`, ~4× cheaper.
 */
import { tf } from '../tf.js';
import type { Tensor1D, Tensor3D, Tensor4D } from '../tf.js';
import type { Box } from '../geometry.js';
import { type Frame, type RawFrame, type Tracker, type TrackResult, frameSize, frameToTensor, validateInit } from '../tracker.js';
import { type ExemplarFeatures, type SiamFCEngine, TfjsEngine } from '../engine/engine.js';
import { cropPatchesInto } from '../engine/crop.js';
import { marginSide, rotatedTemplates, templateAngles } from '../engine/rotate-crop.js';
import { SiamFCConfig, type SiamFCConfigInput } from './config.js';
import { cropPatches } from './crop.js';
import type { SiamFCNet } from './network.js';
import { argmax, cubicResizeMatrix, hannWindow } from './response.js';
import { type ResizeTaps, resizeTaps, upsampleTaps } from '../engine/upsample.js';

/** A SiamFC tracker over a (shared, not owned) SiamFC network. */
export class SiamFCTracker implements Tracker {
  readonly name: string;
  readonly config: SiamFCConfig;
  private readonly net: SiamFCNet;
  private readonly scaleFactors: number[];
  private readonly upSize: number;
  /** The cubic resize matrix's non-zero taps: `upsampleTaps` is `upsample` bit for bit, 4× fewer multiply-adds (engine/upsample.ts). */
  private readonly upTaps: ResizeTaps;
  /** One upsampled map per scale and the upsampling scratch, reused frame after frame. */
  private readonly upMaps: Float64Array[];
  private readonly upScratch: Float64Array;
  private readonly hann: Float64Array;
  // State (the reference's center, target_sz, z_sz, x_sz, avg_color, kernel).
  private cx = 0;
  private cy = 0;
  private w = 0;
  private h = 0;
  private xSize = 0;
  private avgColor: Tensor1D | null = null;
  private kernel: Tensor4D | null = null;
  private disposed = false;
  // Engine path: the engine (shared, not owned), the exemplar features, the average colour and the reused crop buffer.
  private readonly engine: SiamFCEngine | null;
  private engineKernel: ExemplarFeatures | null = null;
  private avgColorData: Float32Array | null = null;
  private searchCrops: Float32Array | null = null;
  // Rotated templates (config.templates > 1): every template's features, the current one, and the stacks of the
  // current template with its neighbours (built on first use, one per current template).
  private templateKernels: ExemplarFeatures[] = [];
  private templateStacks = new Map<number, ExemplarFeatures>();
  private template = 0;

  /**
   * `net` stays owned by the caller (one network can serve many trackers); `dispose()` frees only tracker state.
   * `engine` (optional, shared, not owned) runs the two branches instead of tfjs; it must be built from `net`.
   */
  constructor(net: SiamFCNet, config: SiamFCConfigInput = {}, name = 'siamfc', engine?: SiamFCEngine) {
    this.net = net;
    this.name = name;
    this.config = SiamFCConfig.parse(config);
    // rotated templates run on an engine's batched kernels; the tfjs one when none is given (it owns nothing)
    this.engine = engine ?? (this.config.templates > 1 ? new TfjsEngine(net) : null);
    const n = this.config.scaleNum;
    this.scaleFactors = Array.from({ length: n }, (_, i) => this.config.scaleStep ** (i - (n - 1) / 2));
    const r = net.geometry.responseSize;
    this.upSize = r * this.config.responseUp;
    this.upTaps = resizeTaps(cubicResizeMatrix(r, this.upSize), r, this.upSize);
    const slots = n * Math.min(3, this.config.templates);
    this.upMaps = Array.from({ length: slots }, () => new Float64Array(this.upSize * this.upSize));
    this.upScratch = new Float64Array(this.upSize * r);
    this.hann = hannWindow(this.upSize);
  }

  /** Start tracking `box` (0-based x, y, w, h) on `frame`. */
  init(frame: Frame, box: Box): void {
    this.assertAlive();
    validateInit(frame, box);
    this.releaseState();
    const { exemplarSize, instanceSize } = this.net.geometry;
    this.cx = box.x + (box.width - 1) / 2;
    this.cy = box.y + (box.height - 1) / 2;
    this.w = box.width;
    this.h = box.height;
    const p = this.config.context * (this.w + this.h);
    const zSize = Math.sqrt((this.w + p) * (this.h + p));
    this.xSize = (zSize * instanceSize) / exemplarSize;
    const img = frameToTensor(frame);
    try {
      this.avgColor = tf.keep(tf.mean(img, [0, 1]) as Tensor1D);
      if (this.engine && this.config.templates > 1) {
        this.avgColorData = this.avgColor.dataSync() as Float32Array;
        this.initTemplates(img, zSize);
        return;
      }
      if (this.engine) {
        // the exemplar crop and the average colour exactly as on the tfjs path; the features from the engine
        this.avgColorData = this.avgColor.dataSync() as Float32Array;
        const z = tf.tidy(() => cropPatches(img, this.avgColor as Tensor1D, [{ cx: this.cx, cy: this.cy, size: zSize }], exemplarSize));
        const crop = z.dataSync() as Float32Array;
        z.dispose();
        this.engineKernel = this.engine.exemplar(crop);
        return;
      }
      this.kernel = tf.keep(
        tf.tidy(() => {
          const z = cropPatches(img, this.avgColor as Tensor1D, [{ cx: this.cx, cy: this.cy, size: zSize }], exemplarSize);
          return this.net.backbone.apply(z, false);
        }),
      );
    } finally {
      img.dispose();
    }
  }

  /**
   * The templates: one exemplar crop with a margin (same pixel pitch), turned to each angle, features from the engine.
   */
  private initTemplates(img: Tensor3D, zSize: number): void {
    const engine = this.engine as SiamFCEngine;
    const E = this.net.geometry.exemplarSize;
    const S = marginSide(E);
    const big = tf.tidy(() => cropPatches(img, this.avgColor as Tensor1D, [{ cx: this.cx, cy: this.cy, size: (zSize * S) / E }], S));
    const src = big.dataSync() as Float32Array;
    big.dispose();
    const angles = templateAngles(this.config.templates);
    const all = rotatedTemplates(src, S, E, angles);
    const per = E * E * 3;
    this.templateKernels = angles.map((_, t) => engine.exemplar(all.subarray(t * per, (t + 1) * per)));
    this.template = 0;
  }

  /** Indices of the templates searched this frame: the current one first, then its neighbours (all when T ≤ 3). */
  private candidateTemplates(): number[] {
    const T = this.config.templates;
    if (T === 1) return [0];
    if (T <= 3) return [this.template, ...Array.from({ length: T }, (_, t) => t).filter((t) => t !== this.template)];
    return [this.template, (this.template + 1) % T, (this.template + T - 1) % T];
  }

  /** Locate the target in `frame`; `score` is the peak of the chosen scale's upsampled raw response. */
  update(frame: Frame): TrackResult {
    this.assertAlive();
    const { instanceSize, stride, responseSize: r } = this.net.geometry;
    const templates = this.config.templates > 1 ? this.candidateTemplates() : [0];
    const responses = this.templateKernels.length
      ? this.templateResponses(frame, templates)
      : this.engine ? this.engineResponses(frame) : this.tfjsResponses(frame);
    const n = this.config.scaleNum;
    const mid = (n - 1) / 2;
    const U = this.upSize;
    const T = templates.length;
    // Upsample every scale (× template), apply the penalties to the non-unit scales and the neighbouring templates,
    // pick the highest peak. responses: [n, T, r, r]; template j = 0 is the current one.
    let best: { id: number; tpl: number; peak: number; penalty: number; map: Float64Array } = {
      id: mid, tpl: 0, peak: -Infinity, penalty: 1, map: new Float64Array(0),
    };
    for (let s = 0; s < n; s++) {
      for (let j = 0; j < T; j++) {
        const slot = s * T + j;
        const map = upsampleTaps(responses.subarray(slot * r * r, (slot + 1) * r * r), this.upTaps, this.upMaps[slot], this.upScratch);
        const penalty = (s !== mid ? this.config.scalePenalty : 1) * (j !== 0 ? this.config.rotationPenalty : 1);
        if (penalty !== 1) for (let i = 0; i < map.length; i++) map[i] *= penalty;
        const peak = argmax(map).value;
        if (peak > best.peak) best = { id: s, tpl: j, peak, penalty, map };
      }
    }
    this.template = templates[best.tpl];
    const rawPeak = best.peak / best.penalty;
    const map = best.map;
    let min = Infinity;
    for (let i = 0; i < map.length; i++) if (map[i] < min) min = map[i];
    let sum = 0;
    for (let i = 0; i < map.length; i++) sum += map[i] -= min;
    const wi = this.config.windowInfluence;
    for (let i = 0; i < map.length; i++) map[i] = (1 - wi) * (map[i] / (sum + 1e-16)) + wi * this.hann[i];
    const loc = argmax(map).index;
    const row = Math.floor(loc / U);
    const col = loc % U;
    const scale = this.scaleFactors[best.id];
    // displacement: upsampled response → search crop pixels → image pixels
    const toImage = ((stride / this.config.responseUp) * this.xSize * scale) / instanceSize;
    this.cy += (row - (U - 1) / 2) * toImage;
    this.cx += (col - (U - 1) / 2) * toImage;
    const damped = 1 - this.config.scaleLr + this.config.scaleLr * scale;
    this.w *= damped;
    this.h *= damped;
    this.xSize *= damped;
    const box = { x: this.cx - (this.w - 1) / 2, y: this.cy - (this.h - 1) / 2, width: this.w, height: this.h };
    if (this.config.templates === 1) return { box, score: rawPeak };
    return { box, score: rawPeak, angle: (360 * this.template) / this.config.templates };
  }

  /** Responses of all scales `[n, r, r]` on the tfjs path. */
  private tfjsResponses(frame: Frame): Float32Array {
    if (!this.kernel || !this.avgColor) throw new Error(`${this.name}: update() called before init()`);
    const { instanceSize } = this.net.geometry;
    const img = frameToTensor(frame);
    try {
      const resp = tf.tidy(() => {
        const crops = this.scaleFactors.map((f) => ({ cx: this.cx, cy: this.cy, size: this.xSize * f }));
        const x = cropPatches(img as Tensor3D, this.avgColor as Tensor1D, crops, instanceSize);
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
    const engine = this.engine as SiamFCEngine;
    if (!this.engineKernel || !this.avgColorData) throw new Error(`${this.name}: update() called before init()`);
    return engine.respond(this.engineKernel, this.fillSearchCrops(frame), this.scaleFactors.length);
  }

  /** The search crops of all scales, written in plain JavaScript into the reused buffer. */
  private fillSearchCrops(frame: Frame): Float32Array {
    if (!this.avgColorData) throw new Error(`${this.name}: update() called before init()`);
    const { instanceSize } = this.net.geometry;
    const { width, height } = frameSize(frame);
    const rgb = frame instanceof tf.Tensor ? frame.dataSync() : (frame as RawFrame).data;
    const n = this.scaleFactors.length;
    this.searchCrops ??= new Float32Array(n * instanceSize * instanceSize * 3);
    const crops = this.scaleFactors.map((f) => ({ cx: this.cx, cy: this.cy, size: this.xSize * f }));
    cropPatchesInto(this.searchCrops, rgb, height, width, this.avgColorData, crops, instanceSize);
    return this.searchCrops;
  }

  /** Responses `[n, T, r, r]` of all scales against the `templates` (indices), in one engine call when it stacks. */
  private templateResponses(frame: Frame, templates: readonly number[]): Float32Array {
    const engine = this.engine as SiamFCEngine;
    const r = this.net.geometry.responseSize;
    const crops = this.fillSearchCrops(frame);
    const n = this.scaleFactors.length;
    const T = templates.length;
    if (engine.stack) {
      let stacked = this.templateStacks.get(this.template);
      if (!stacked) {
        stacked = engine.stack(templates.map((t) => this.templateKernels[t]));
        this.templateStacks.set(this.template, stacked);
      }
      return engine.respond(stacked, crops, n);
    }
    // no batched kernels: one search pass per template, interleaved into [n, T, r, r]
    const out = new Float32Array(n * T * r * r);
    templates.forEach((t, j) => {
      const resp = engine.respond(this.templateKernels[t], crops, n);
      for (let s = 0; s < n; s++) out.set(resp.subarray(s * r * r, (s + 1) * r * r), (s * T + j) * r * r);
    });
    return out;
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
    this.avgColorData = null;
  }

  private assertAlive(): void {
    if (this.disposed) throw new Error(`${this.name}: tracker was disposed`);
  }
}
