/**
 * The onnxruntime-node engine (CPU execution provider, intra-op threads = cores by default): the exemplar model once
 * per `init`, the search model (backbone + xcorr head, all scales batched) once per frame. The exemplar features stay
 * an ort tensor between frames and are fed straight back as the xcorr weight; the search input tensor wraps the
 * tracker's reused crop buffer (no copy on the JS side). Models come from `exportSiamFCOnnx` (in memory) or from
 * `.onnx` files written by `writeOnnxModels`.
 *
 * With the native add-on (FrameKernels.xcorr) an engine made by `fromNet` runs only the backbone in onnxruntime and
 * the cross-correlation head in the add-on: onnxruntime runs that Conv — its weight is a graph input — through im2col,
 * 0.47 ms of a 2.7 ms CPU-scale search run for 2.7 M multiply-adds (reports/engines/README.md, "Session 12").
 */
import { availableParallelism } from 'node:os';
import type { SiamFCNet } from '../../siamfc/network.js';
import { exportSiamFCOnnx } from '../../engine/onnx-export.js';
import {
  type ExemplarFeatures, type SiamFCEngine, checkExemplarCrop, checkSearchCrops,
} from '../../engine/engine.js';
import { type FrameKernels, frameKernels } from '../../engine/frame-kernels.js';
import { OrtSession, type OrtTensor, loadOrt, ortTensor } from './ort.js';

/** Sizes the two models assume (from the network's spec). */
export interface OnnxGeometry {
  exemplarSize: number;
  instanceSize: number;
  responseSize: number;
}

class OrtExemplar implements ExemplarFeatures {
  constructor(public kernel: OrtTensor | null) {}
  dispose(): void {
    this.kernel = null; // ort tensors returned by a run are garbage-collected
  }
}

/** Options of the onnx engine. */
export interface OnnxEngineOptions {
  /** Intra-op threads per session (default: all cores). */
  threads?: number;
  /** Let idle onnxruntime threads spin (default false; see OrtSessionOptions.spin). */
  spin?: boolean;
  /**
   * Where `fromNet`'s engine runs the cross-correlation head: `'native'` in the add-on (the default when it is
   * loaded), `'graph'` inside onnxruntime's search model (always so without the add-on, and for model files).
   */
  xcorr?: 'native' | 'graph';
  /** Conv widths of the exported models padded to multiples of this (onnx-export.ts onnxPlan; default 8). */
  channelMultiple?: number;
}

/** The add-on's head: what a backbone-only search model needs to give responses. */
interface NativeHead {
  xcorr: FrameKernels['xcorr'];
  outScale: number;
  dims: Int32Array;
  out: Float32Array;
}

export class OnnxEngine implements SiamFCEngine {
  readonly name = 'onnx' as const;
  readonly description: string;
  readonly threads: number;
  private searchInput: { data: Float32Array; k: number; tensor: OrtTensor } | null = null;

  private constructor(
    private readonly exemplarSession: OrtSession,
    private readonly searchSession: OrtSession,
    readonly geometry: OnnxGeometry,
    threads: number,
    private readonly head: NativeHead | null,
  ) {
    this.threads = threads;
    const v = loadOrt();
    this.description = `onnxruntime-node${v.ok ? ` ${v.version}` : ''} (CPU, ${threads} thread${threads === 1 ? '' : 's'}` +
      `${head ? '; xcorr in the native add-on' : ''})`;
  }

  /** Export `net` to ONNX in memory and load both models. Throws when onnxruntime-node cannot load (with why). */
  static fromNet(net: SiamFCNet, opts: OnnxEngineOptions = {}, where = net.backbone.spec.name): OnnxEngine {
    const r = loadOrt();
    if (!r.ok) throw new Error(r.reason);
    // the kernels as they are now: the engine keeps them even if the slot is cleared later
    const native = opts.xcorr === 'graph' ? null : frameKernels();
    if (opts.xcorr === 'native' && !native) throw new Error('onnx engine: xcorr "native" needs the native add-on, which is not loaded');
    const m = exportSiamFCOnnx(net, { search: native ? 'backbone' : 'search', channelMultiple: opts.channelMultiple });
    const threads = opts.threads ?? availableParallelism();
    const head = native ? { xcorr: native.xcorr, outScale: net.outScale, dims: new Int32Array(7), out: new Float32Array(0) } : null;
    return OnnxEngine.fromBytes(m.exemplar, m.search, `${where} (exported exemplar model)`, `${where} (exported search model)`,
      { exemplarSize: m.exemplarSize, instanceSize: m.instanceSize, responseSize: m.responseSize }, threads, opts.spin, head);
  }

  /**
   * Load from model bytes; `exemplarWhere` / `searchWhere` name them (files) in errors. With `head` the search model is
   * the backbone alone (`nchw` output) and the add-on's xcorr gives the responses.
   */
  static fromBytes(exemplar: Uint8Array, search: Uint8Array, exemplarWhere: string, searchWhere: string, geometry: OnnxGeometry,
    threads = availableParallelism(), spin = false, head: NativeHead | null = null): OnnxEngine {
    const e = new OrtSession(exemplar, exemplarWhere, { threads, spin });
    let s: OrtSession;
    try {
      s = new OrtSession(search, searchWhere, { threads, spin });
    } catch (err) {
      e.dispose();
      throw err;
    }
    return OnnxEngine.checked(e, s, geometry, threads, head);
  }

  /** Wrap two loaded sessions after checking their inputs and outputs (errors name the session's source). */
  static checked(e: OrtSession, s: OrtSession, geometry: OnnxGeometry, threads: number, head: NativeHead | null = null): OnnxEngine {
    const want = (sess: OrtSession, inputs: string[], output: string) => {
      const missing = inputs.filter((n) => !sess.inputNames.includes(n));
      if (missing.length || !sess.outputNames.includes(output)) {
        e.dispose();
        s.dispose();
        throw new Error(`${sess.where}: expected inputs ${inputs.join(', ')} and output ${output}, ` +
          `got inputs ${sess.inputNames.join(', ') || '(none)'} and outputs ${sess.outputNames.join(', ') || '(none)'}`);
      }
    };
    want(e, ['x'], 'kernel');
    if (head) want(s, ['x'], 'nchw');
    else want(s, ['x', 'kernel'], 'response');
    return new OnnxEngine(e, s, geometry, threads, head);
  }

  exemplar(crop: Float32Array): ExemplarFeatures {
    const E = this.geometry.exemplarSize;
    checkExemplarCrop('onnx engine', crop, E);
    const out = this.exemplarSession.run({ x: ortTensor(crop, [1, E, E, 3]) }, ['kernel']);
    return new OrtExemplar(out.kernel);
  }

  respond(z: ExemplarFeatures, crops: Float32Array, k: number): Float32Array {
    const X = this.geometry.instanceSize;
    checkSearchCrops('onnx engine', crops, k, X);
    if (!(z instanceof OrtExemplar) || !z.kernel) throw new Error('onnx engine: exemplar features come from another engine or were disposed');
    // the same buffer frame after frame: wrap it once
    if (!this.searchInput || this.searchInput.data !== crops || this.searchInput.k !== k) {
      this.searchInput = { data: crops, k, tensor: ortTensor(crops, [k, X, X, 3]) };
    }
    if (this.head) return this.nativeHead(this.head, k, z.kernel);
    const out = this.searchSession.run({ x: this.searchInput.tensor, kernel: z.kernel }, ['response']);
    return out.response.data as Float32Array;
  }

  /** The backbone on the `k` crops, then the responses `[k, T, r, r]` with exemplar kernels `[T, C, h, w]` in the add-on. */
  private nativeHead(head: NativeHead, k: number, kernel: OrtTensor): Float32Array {
    // onnxruntime-node hands every output over as a fresh copy (a preallocated output is written, then copied too)
    const features = this.searchSession.run({ x: this.searchInput!.tensor }, ['nchw']).nchw;
    const [, C, H, W] = features.dims;
    const [T, Ck, h, w] = kernel.dims;
    if (Ck !== C) throw new Error(`onnx engine: exemplar features have ${Ck} channels, search features ${C}`);
    const n = k * T * (H - h + 1) * (W - w + 1);
    // a fresh buffer when the size changes; reused otherwise (the caller reads it before the next frame)
    if (head.out.length !== n) head.out = new Float32Array(n);
    head.dims.set([k, C, H, W, T, h, w]);
    head.xcorr(features.data as Float32Array, kernel.data as Float32Array, head.dims, head.outScale, head.out);
    return head.out;
  }

  stack(zs: readonly ExemplarFeatures[]): ExemplarFeatures {
    const kernels = zs.map((z) => {
      if (!(z instanceof OrtExemplar) || !z.kernel) throw new Error('onnx engine: exemplar features come from another engine or were disposed');
      return z.kernel;
    });
    const [, C, h, w] = kernels[0].dims;
    const per = C * h * w;
    const data = new Float32Array(per * kernels.length);
    kernels.forEach((k, t) => data.set(k.data as Float32Array, t * per));
    return new OrtExemplar(ortTensor(data, [kernels.length, C, h, w]));
  }

  dispose(): void {
    this.searchInput = null;
    this.exemplarSession.dispose();
    this.searchSession.dispose();
  }
}
