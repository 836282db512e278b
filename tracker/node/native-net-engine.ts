/**
 * The onnx engine's native runner: when the add-on is built with oneDNN and the backbone is plain (convs with relu,
 * pooling), both branches run as oneDNN primitive chains in the add-on (native-net.ts; 3×3 stride-1 convs on Winograd
 * kernels) and the cross-correlation head in the add-on too — no onnxruntime session, nothing but the responses
 * crossing into JavaScript. `onnxEngineFor` (what `--engine onnx` / `auto` build) picks it where it can and falls back
 * to onnxruntime (OnnxEngine) with the reason otherwise. Its name stays 'onnx': it runs the network the ONNX export
 * describes (backbonePlan, BatchNorm folded), on another runtime; `description` says which.
 */
import type { SiamFCNet } from '../siamfc/network.js';
import { backbonePlan } from '../engine/backbone-plan.js';
import { outputSize } from '../backbone-spec.js';
import { type FrameKernels, frameKernels } from '../engine/frame-kernels.js';
import { type ExemplarFeatures, type SiamFCEngine, checkExemplarCrop, checkSearchCrops } from '../engine/engine.js';
import { loadNativeAddon, type NativeAddon } from './native-backend.js';
import { NativeNet } from './native-net.js';
import { OnnxEngine, type OnnxEngineOptions } from './onnx/onnx-engine.js';

class NativeExemplar implements ExemplarFeatures {
  constructor(public kernel: Float32Array | null, readonly templates: number) {}
  dispose(): void {
    this.kernel = null;
  }
}

export class NativeNetEngine implements SiamFCEngine {
  readonly name = 'onnx' as const;
  readonly description: string;
  private readonly dims = new Int32Array(7);
  private out = new Float32Array(0);

  constructor(
    private readonly net: NativeNet,
    private readonly xcorr: FrameKernels['xcorr'],
    private readonly geometry: { exemplarSize: number; instanceSize: number; channels: number; hz: number; hx: number; outScale: number },
    readonly threads: number,
  ) {
    this.description = `oneDNN in the native add-on (CPU, ${threads} thread${threads === 1 ? '' : 's'}; Winograd 3×3, xcorr native)`;
  }

  exemplar(crop: Float32Array): ExemplarFeatures {
    const { exemplarSize: E, channels: C, hz } = this.geometry;
    checkExemplarCrop('native engine', crop, E);
    return new NativeExemplar(this.net.run(crop, 1, E, C, hz).slice(), 1);
  }

  respond(z: ExemplarFeatures, crops: Float32Array, k: number): Float32Array {
    const { instanceSize: X, channels: C, hz, hx, outScale } = this.geometry;
    checkSearchCrops('native engine', crops, k, X);
    if (!(z instanceof NativeExemplar) || !z.kernel) throw new Error('native engine: exemplar features come from another engine or were disposed');
    const features = this.net.run(crops, k, X, C, hx);
    const r = hx - hz + 1;
    const n = k * z.templates * r * r;
    if (this.out.length !== n) this.out = new Float32Array(n);
    this.dims.set([k, C, hx, hx, z.templates, hz, hz]);
    this.xcorr(features, z.kernel, this.dims, outScale, this.out);
    return this.out;
  }

  stack(zs: readonly ExemplarFeatures[]): ExemplarFeatures {
    const parts = zs.map((z) => {
      if (!(z instanceof NativeExemplar) || !z.kernel) throw new Error('native engine: exemplar features come from another engine or were disposed');
      return z;
    });
    const per = parts[0].kernel!.length / parts[0].templates;
    const data = new Float32Array(parts.reduce((s, p) => s + p.kernel!.length, 0));
    let at = 0;
    for (const p of parts) {
      data.set(p.kernel!, at);
      at += p.kernel!.length;
    }
    return new NativeExemplar(data, data.length / per);
  }

  dispose(): void {
    // the runner's memory goes with its handle (garbage-collected)
  }
}

/** Options of `onnxEngineFor`: OnnxEngine's, and `runner` ('auto': the native runner where it can run the net). */
export interface OnnxEngineForOptions extends OnnxEngineOptions {
  runner?: 'auto' | 'onnxruntime';
  /** Where a failed runner is reported before the fallback (default console.error). */
  warn?: (msg: string) => void;
  /** The add-on the runner comes from (default: the loaded one; tests pass one whose runner fails). */
  addon?: NativeAddon | null;
}

/** The engine `--engine onnx` builds over `net`: the native runner when possible (see the file comment), else OnnxEngine. */
export function onnxEngineFor(net: SiamFCNet, opts: OnnxEngineForOptions = {}, where?: string): SiamFCEngine {
  const kernels = opts.xcorr === 'graph' ? null : frameKernels();
  const addon = opts.addon === undefined ? loadNativeAddon() : opts.addon;
  // the runner works on the add-on's threads (process-wide): only when the caller asks for that many
  const threads = addon?.getThreads() ?? 1;
  // (a build without oneDNN has no runner: no plan is folded for nothing)
  if (opts.runner !== 'onnxruntime' && kernels && addon?.netCreate && !opts.spin && (opts.threads ?? threads) === threads) {
    const plan = backbonePlan(net.backbone);
    const made = NativeNet.create(addon, plan);
    if (made.net) {
      const spec = net.backbone.spec;
      const g = {
        exemplarSize: spec.exemplarSize, instanceSize: spec.instanceSize, channels: plan.outChannels,
        hz: outputSize(spec, spec.exemplarSize), hx: outputSize(spec, spec.instanceSize), outScale: net.outScale,
      };
      // build the chains now (JIT; an exemplar and a 3-scale search) so that oneDNN refusing a layer falls back here
      try {
        const C = spec.inChannels;
        made.net.run(new Float32Array(g.exemplarSize ** 2 * C), 1, g.exemplarSize, g.channels, g.hz);
        made.net.run(new Float32Array(3 * g.instanceSize ** 2 * C), 3, g.instanceSize, g.channels, g.hx);
        return new NativeNetEngine(made.net, kernels.xcorr, g, threads);
      } catch (e) {
        (opts.warn ?? ((m: string) => console.error(m)))(`[engine] ${where ?? spec.name}: the oneDNN runner failed (${(e as Error).message}); onnxruntime runs it`);
      }
    }
  }
  return OnnxEngine.fromNet(net, opts, where);
}
