/**
 * The SiamFC tracker's state and arithmetic without tfjs: the target state (centre, size, search side), the crops of
 * `init` and `update` in plain JavaScript (tracker/engine/crop.ts, into buffers reused frame after frame; the search
 * crops and the upsampling run in the native add-on instead when Node registered it, tracker/engine/frame-kernels.ts,
 * with the same values), and the step from the raw responses to the next box (bicubic ×responseUp upsampling, scale
 * penalty, min/sum normalisation, Hann window, displacement, damped scale update). `SiamFCTracker` (tfjs or a
 * synchronous engine) and `AsyncSiamFCTracker` (an asynchronous engine: onnxruntime-web in the browser) both run this
 * one loop.
 * Browser-safe: no tfjs, no Node.
 */
import type { Box } from '../geometry.js';
import type { TrackResult } from '../tracker.js';
import { cropPatchesInto, meanColor } from '../engine/crop.js';
import { type ResizeTaps, resizeTaps, upsampleTapsRange } from '../engine/upsample.js';
import { frameKernels } from '../engine/frame-kernels.js';
import { marginSide, rotatedTemplates, templateAngles } from '../engine/rotate-crop.js';
import type { SiamFCConfig } from './config.js';
import { cropBox, type CropRequest } from './crop-box.js';
import { cubicResizeMatrix, hannWindow } from './response.js';

/** Sizes a SiamFC network assumes (SiamFCNet.geometry): crop sides, total stride, response side, in pixels. */
export interface SiamFCGeometry {
  exemplarSize: number;
  instanceSize: number;
  stride: number;
  responseSize: number;
}

/** An RGB image as the crops read it: `height × width × 3` values 0–255, row-major. */
export interface RgbImage {
  rgb: ArrayLike<number>;
  width: number;
  height: number;
}

/** State and per-frame arithmetic of one SiamFC tracker (see the file comment). */
export class SiamFCCore {
  readonly config: SiamFCConfig;
  readonly scaleFactors: number[];
  private readonly upSize: number;
  /** The cubic resize matrix's non-zero taps: `upsampleTaps` is `upsample` bit for bit, 4× fewer multiply-adds. */
  private readonly upTaps: ResizeTaps;
  /** One upsampled map per scale and the upsampling scratch, reused frame after frame. */
  private readonly upMaps: Float64Array[];
  private readonly upScratch: Float64Array;
  /** All maps of a frame and their [min, max], when the native frame kernels upsample them (upsampleAll). */
  private upAll: { maps: Float64Array; minMax: Float64Array } | null = null;
  private readonly hann: Float64Array;
  // The reference's center, target_sz and x_sz (0-based pixels), avg_color.
  private cx = 0;
  private cy = 0;
  private w = 0;
  private h = 0;
  private xSize = 0;
  private zSize = 0;
  private avg: Float32Array | null = null;
  private exemplarBuf: Float32Array | null = null;
  private searchBuf: Float32Array | null = null;
  /** Rotated templates (config.templates > 1): the index of the current one. */
  private template = 0;

  /**
   * `config`: complete, already validated settings (`SiamFCConfig.parse` in Node; the server's parsed copy in the
   * browser, which keeps zod out of the page's bundle); only their presence is checked here.
   */
  constructor(readonly geometry: SiamFCGeometry, config: SiamFCConfig) {
    for (const k of ['exemplarSize', 'instanceSize', 'stride', 'responseSize'] as const) {
      if (!Number.isInteger(geometry[k]) || geometry[k] < 1) throw new Error(`SiamFC geometry: ${k} must be a positive integer, got ${geometry[k]}`);
    }
    for (const k of ['context', 'scaleNum', 'scaleStep', 'scaleLr', 'scalePenalty', 'windowInfluence', 'responseUp'] as const) {
      if (typeof config?.[k] !== 'number' || !Number.isFinite(config[k])) throw new Error(`SiamFC settings: ${k} must be a number, got ${config?.[k]}`);
    }
    for (const k of ['scalePenalty', 'rotationPenalty'] as const) {
      if (config[k] !== undefined && !(config[k] > 0)) throw new Error(`SiamFC settings: ${k} must be positive, got ${config[k]}`);
    }
    this.config = config;
    const n = this.config.scaleNum;
    this.scaleFactors = Array.from({ length: n }, (_, i) => this.config.scaleStep ** (i - (n - 1) / 2));
    const r = geometry.responseSize;
    this.upSize = r * this.config.responseUp;
    this.upTaps = resizeTaps(cubicResizeMatrix(r, this.upSize), r, this.upSize);
    // one upsampled map per scale and searched template (the current one and its two neighbours at most)
    this.upMaps = Array.from({ length: n * Math.min(3, this.config.templates) }, () => new Float64Array(this.upSize * this.upSize));
    this.upScratch = new Float64Array(this.upSize * r);
    this.hann = hannWindow(this.upSize);
  }

  /** Set the state from the initial box (0-based x, y, w, h; validated by the caller); returns the exemplar crop request. */
  start(box: Box): CropRequest {
    const { exemplarSize, instanceSize } = this.geometry;
    this.cx = box.x + (box.width - 1) / 2;
    this.cy = box.y + (box.height - 1) / 2;
    this.w = box.width;
    this.h = box.height;
    const p = this.config.context * (this.w + this.h);
    this.zSize = Math.sqrt((this.w + p) * (this.h + p));
    this.xSize = (this.zSize * instanceSize) / exemplarSize;
    return { cx: this.cx, cy: this.cy, size: this.zSize };
  }

  /** `start(box)`, the image's average colour, and the exemplar crop `[1, E, E, 3]` (a buffer reused by the next init). */
  exemplarCrop(img: RgbImage, box: Box): Float32Array {
    const req = this.start(box);
    const E = this.geometry.exemplarSize;
    this.avg = meanColor(img.rgb, img.height, img.width);
    this.exemplarBuf ??= new Float32Array(E * E * 3);
    cropPatchesInto(this.exemplarBuf, img.rgb, img.height, img.width, this.avg, [req], E);
    return this.exemplarBuf;
  }

  /**
   * `start(box)`, the image's average colour, and the T rotated templates `[T, E, E, 3]` (config.templates): one
   * exemplar crop with a margin at the exemplar's pixel pitch, turned by 0, 360/T, … degrees (engine/rotate-crop.ts).
   */
  templateCrops(img: RgbImage, box: Box): Float32Array {
    const req = this.start(box);
    const E = this.geometry.exemplarSize;
    const S = marginSide(E);
    this.avg = meanColor(img.rgb, img.height, img.width);
    const big = new Float32Array(S * S * 3);
    cropPatchesInto(big, img.rgb, img.height, img.width, this.avg, [{ ...req, size: (req.size * S) / E }], S);
    this.template = 0;
    return rotatedTemplates(big, S, E, templateAngles(this.config.templates));
  }

  /** Templates correlated this frame (indices): the current one first, then its neighbours (all when T ≤ 3). */
  candidateTemplates(): number[] {
    const T = this.config.templates;
    if (T <= 3) return [this.template, ...Array.from({ length: T }, (_, t) => t).filter((t) => t !== this.template)];
    return [this.template, (this.template + 1) % T, (this.template + T - 1) % T];
  }

  /** The search crop requests of the next frame, one per scale (smallest scale first). */
  searchRequests(): CropRequest[] {
    return this.scaleFactors.map((f) => ({ cx: this.cx, cy: this.cy, size: this.xSize * f }));
  }

  /** The search crops `[k, X, X, 3]` of `img` at every scale (k = scaleNum), in a buffer reused frame after frame. */
  searchCrops(img: RgbImage): Float32Array {
    if (!this.avg) throw new Error('SiamFC: update() called before init()');
    const X = this.geometry.instanceSize;
    const n = this.scaleFactors.length;
    this.searchBuf ??= new Float32Array(n * X * X * 3);
    const native = frameKernels();
    if (native && img.rgb instanceof Uint8Array) {
      // the same crops, threaded in the native add-on (tracker/engine/frame-kernels.ts)
      const boxes = new Float64Array(4 * n);
      this.searchRequests().forEach((req, i) => boxes.set(cropBox(img.height, img.width, req, X), 4 * i));
      native.cropBytes(img.rgb, img.height, img.width, this.avg, boxes, X, this.searchBuf);
    } else {
      cropPatchesInto(this.searchBuf, img.rgb, img.height, img.width, this.avg, this.searchRequests(), X);
    }
    return this.searchBuf;
  }

  /**
   * The next box from the raw responses `[k, T, r, r]` of the search crops (k scales; T = the candidate templates,
   * `candidateTemplates()` — pass the list the responses were computed with; 1 without rotated templates); `score` =
   * the chosen response's raw peak, and with rotated templates `angle` = the chosen template's.
   */
  locate(responses: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }, candidates?: number[]): TrackResult {
    const { instanceSize, stride, responseSize: r } = this.geometry;
    const n = this.config.scaleNum;
    const templates = this.config.templates > 1 ? (candidates ?? this.candidateTemplates()) : [0];
    const T = templates.length;
    if (responses.length !== n * T * r * r) {
      throw new Error(`SiamFC: expected ${n}×${T === 1 ? '' : `${T}×`}${r}×${r} response values, got ${responses.length}`);
    }
    const mid = (n - 1) / 2;
    const U = this.upSize;
    // Upsample every scale (× template), apply the penalties to the non-unit scales and the neighbouring templates,
    // pick the highest peak; template j = 0 is the current one.
    let best: { id: number; tpl: number; peak: number; penalty: number; min: number; map: Float64Array } = {
      id: mid, tpl: 0, peak: -Infinity, penalty: 1, min: 0, map: new Float64Array(0),
    };
    // every map at once in the native add-on when it is there (the same values, one map per thread)
    const native = frameKernels();
    const all = native && responses instanceof Float32Array ? this.upsampleAll(native, responses, n * T) : null;
    for (let s = 0; s < n; s++) {
      for (let j = 0; j < T; j++) {
        const slot = s * T + j;
        const up = all
          ? { map: all.maps.subarray(slot * U * U, (slot + 1) * U * U), min: all.minMax[2 * slot], max: all.minMax[2 * slot + 1] }
          : upsampleTapsRange(responses.subarray(slot * r * r, (slot + 1) * r * r), this.upTaps, this.upMaps[slot], this.upScratch);
        const penalty = (s !== mid ? this.config.scalePenalty : 1) * (j !== 0 ? this.config.rotationPenalty : 1);
        // The penalties are positive (checked in the constructor), and a positive factor keeps the order of the
        // rounded products: the penalised map's peak and minimum are the penalised peak and minimum, so a map is only
        // multiplied if it is chosen.
        const peak = up.max * penalty;
        if (peak > best.peak) best = { id: s, tpl: j, peak, penalty, min: up.min * penalty, map: up.map };
      }
    }
    this.template = templates[best.tpl];
    const rawPeak = best.peak / best.penalty;
    const map = best.map;
    const { penalty, min } = best;
    // the same operations as penalise → subtract the minimum → sum → normalise and blend with the window → argmax,
    // in two passes instead of five (in the add-on when it is there: the same values)
    const wi = this.config.windowInfluence;
    const loc = native ? native.finishMap(map, penalty, min, this.hann, wi) : finishMap(map, penalty, min, this.hann, wi);
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

  /** All `k` response maps upsampled by the native frame kernels, into buffers reused frame after frame. */
  private upsampleAll(native: NonNullable<ReturnType<typeof frameKernels>>, responses: Float32Array, k: number): { maps: Float64Array; minMax: Float64Array } {
    const U = this.upSize;
    if (!this.upAll || this.upAll.maps.length !== k * U * U) this.upAll = { maps: new Float64Array(k * U * U), minMax: new Float64Array(2 * k) };
    const t = this.upTaps;
    native.upsampleMaps(responses, k, t.src, U, t.start, t.index, t.weight, this.upAll.maps, this.upAll.minMax);
    return this.upAll;
  }

  /** Forget the target (the buffers stay for the next init). */
  reset(): void {
    this.avg = null;
  }
}

/** SiamFCCore.locate's last two passes on the chosen map, in place (FrameKernels.finishMap); the peak's index. */
export function finishMap(map: Float64Array, penalty: number, min: number, hann: Float64Array, wi: number): number {
  let sum = 0;
  if (penalty !== 1) for (let i = 0; i < map.length; i++) sum += map[i] = map[i] * penalty - min;
  else for (let i = 0; i < map.length; i++) sum += map[i] -= min;
  let loc = 0;
  let top = -Infinity;
  for (let i = 0; i < map.length; i++) {
    const v = (map[i] = (1 - wi) * (map[i] / (sum + 1e-16)) + wi * hann[i]);
    if (v > top) {
      top = v;
      loc = i;
    }
  }
  return loc;
}
