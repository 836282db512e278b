/**
 * The SiamFC tracker: the inference logic of siamfc-pytorch's `TrackerSiamFC` (init/update), step for step —
 * context-padded exemplar, average-colour padded search crops at `scaleNum` scales, cross-correlation, bicubic
 * ×responseUp upsampling, scale penalty, min/sum normalisation, Hann window blending, displacement mapped from the
 * upsampled response to search-crop pixels and to image pixels, damped scale update. The reference works in
 * 1-based pixels and converts at both ends; we work in the project's 0-based boxes throughout, which is the same
 * arithmetic without the two conversions.
 */
import { tf } from '../tf.js';
import type { Tensor1D, Tensor3D, Tensor4D } from '../tf.js';
import type { Box } from '../geometry.js';
import { type Frame, type Tracker, type TrackResult, frameToTensor, validateInit } from '../tracker.js';
import { SiamFCConfig, type SiamFCConfigInput } from './config.js';
import { cropPatches } from './crop.js';
import type { SiamFCNet } from './network.js';
import { argmax, cubicResizeMatrix, hannWindow, upsample } from './response.js';

/** A SiamFC tracker over a (shared, not owned) SiamFC network. */
export class SiamFCTracker implements Tracker {
  readonly name: string;
  readonly config: SiamFCConfig;
  private readonly net: SiamFCNet;
  private readonly scaleFactors: number[];
  private readonly upSize: number;
  private readonly upMatrix: Float64Array;
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

  /** `net` stays owned by the caller (one network can serve many trackers); `dispose()` frees only tracker state. */
  constructor(net: SiamFCNet, config: SiamFCConfigInput = {}, name = 'siamfc') {
    this.net = net;
    this.name = name;
    this.config = SiamFCConfig.parse(config);
    const n = this.config.scaleNum;
    this.scaleFactors = Array.from({ length: n }, (_, i) => this.config.scaleStep ** (i - (n - 1) / 2));
    const r = net.geometry.responseSize;
    this.upSize = r * this.config.responseUp;
    this.upMatrix = cubicResizeMatrix(r, this.upSize);
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

  /** Locate the target in `frame`; `score` is the peak of the chosen scale's upsampled raw response. */
  update(frame: Frame): TrackResult {
    this.assertAlive();
    if (!this.kernel || !this.avgColor) throw new Error(`${this.name}: update() called before init()`);
    const { instanceSize, stride, responseSize: r } = this.net.geometry;
    const img = frameToTensor(frame);
    let responses: Float32Array;
    try {
      const resp = tf.tidy(() => {
        const crops = this.scaleFactors.map((f) => ({ cx: this.cx, cy: this.cy, size: this.xSize * f }));
        const x = cropPatches(img as Tensor3D, this.avgColor as Tensor1D, crops, instanceSize);
        return this.net.xcorr(this.kernel as Tensor4D, this.net.backbone.apply(x, false));
      });
      responses = resp.dataSync() as Float32Array;
      resp.dispose();
    } finally {
      img.dispose();
    }
    const n = this.config.scaleNum;
    const mid = (n - 1) / 2;
    const U = this.upSize;
    // Upsample every scale, apply the penalty to the non-unit scales, pick the scale with the highest peak.
    let best: { id: number; peak: number; map: Float64Array } = { id: mid, peak: -Infinity, map: new Float64Array(0) };
    for (let s = 0; s < n; s++) {
      const map = upsample(responses.subarray(s * r * r, (s + 1) * r * r), r, U, this.upMatrix);
      if (s !== mid) for (let i = 0; i < map.length; i++) map[i] *= this.config.scalePenalty;
      const peak = argmax(map).value;
      if (peak > best.peak) best = { id: s, peak, map };
    }
    const rawPeak = best.id === mid ? best.peak : best.peak / this.config.scalePenalty;
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
    return { box, score: rawPeak };
  }

  /** Release the exemplar kernel and the average colour; the network is not touched. */
  dispose(): void {
    this.releaseState();
    this.disposed = true;
  }

  private releaseState(): void {
    this.kernel?.dispose();
    this.avgColor?.dispose();
    this.kernel = null;
    this.avgColor = null;
  }

  private assertAlive(): void {
    if (this.disposed) throw new Error(`${this.name}: tracker was disposed`);
  }
}
