/**
 * A plain backbone (convs with bias and relu, max / average pooling; BatchNorm folded — backbone-plan.ts) run by the
 * native add-on as one chain of oneDNN primitives (tracker/native/src/net.cc; 3×3 stride-1 convs on Winograd kernels):
 * crops `[k, S, S, C]` NHWC in, features `[k, C', s, s]` NCHW out. `NativeNet.create` returns null when the add-on has
 * no runner (not built with oneDNN) or the plan holds a layer it does not take (elu, centering, group pooling).
 */
import { type BackbonePlan, convFlops } from '../engine/backbone-plan.js';

/** The add-on's runner functions (src/net.cc). */
export interface NativeNetAddon {
  netCreate?(spec: Int32Array, weights: Float32Array[], biases: Float32Array[], inChannels: number): unknown;
  netRun?(net: unknown, crops: Float32Array, k: number, side: number, out: Float32Array, wide: boolean): [number, number];
}

/** The runner's layer list for `plan`, or why it cannot run it. */
export function nativeNetSpec(plan: BackbonePlan): { spec: Int32Array; weights: Float32Array[]; biases: Float32Array[] } | string {
  const spec: number[] = [];
  const weights: Float32Array[] = [];
  const biases: Float32Array[] = [];
  for (const [i, l] of plan.layers.entries()) {
    if (l.type === 'conv') {
      if (l.act === 'elu') return `layer ${i}: elu`;
      const [O, I, kh, kw] = l.dims;
      if (kh !== kw) return `layer ${i}: a ${kh}×${kw} kernel`;
      spec.push(0, O, I, kh, l.stride, l.group, l.act === 'relu' ? 1 : 0);
      weights.push(l.weight);
      biases.push(l.bias);
    } else if (l.type === 'maxpool' || l.type === 'avgpool') {
      spec.push(l.type === 'maxpool' ? 1 : 2, 1, 1, l.size, l.stride, 1, 0);
    } else {
      return `layer ${i}: ${l.type}`;
    }
  }
  return { spec: Int32Array.from(spec), weights, biases };
}

/**
 * Conv work per crop (multiply-adds × 2) from which a batch runs as one chain on oneDNN's OpenMP threads rather than
 * split over the add-on's threads (src/net.cc netRun): AlexNet's 5.4 GFLOP per 255² crop ran 49.7 → 38.0 ms per 3-scale
 * search at 2 threads that way, the CPU-scale net's 0.2 GFLOP per 129² crop 1.59 → 1.94 ms (slower).
 */
export const WIDE_FLOP_PER_CROP = 1e9;

export class NativeNet {
  private out = new Float32Array(0);
  /** Per crop side: whether a batch runs wide (see WIDE_FLOP_PER_CROP). */
  private readonly wide = new Map<number, boolean>();

  private constructor(
    private readonly addon: Required<NativeNetAddon>, private readonly handle: unknown, readonly inChannels: number,
    private readonly plan: BackbonePlan,
  ) {}

  /** The runner for `plan`, or null with the reason (see the file comment). */
  static create(addon: NativeNetAddon | null, plan: BackbonePlan): { net: NativeNet } | { net: null; reason: string } {
    if (!addon?.netCreate || !addon.netRun) return { net: null, reason: 'the native add-on has no oneDNN runner' };
    const s = nativeNetSpec(plan);
    if (typeof s === 'string') return { net: null, reason: `backbone "${plan.spec.name}" ${s} is not taken by the runner` };
    const handle = addon.netCreate(s.spec, s.weights, s.biases, plan.spec.inChannels);
    return { net: new NativeNet(addon as Required<NativeNetAddon>, handle, plan.spec.inChannels, plan) };
  }

  /**
   * Features of `k` crops of side `side` (NHWC, `k·side²·C` values): `[k, C', s, s]` NCHW in a buffer reused by the next
   * call of the same size (copy what must outlive it).
   */
  run(crops: Float32Array, k: number, side: number, channels: number, outSide: number): Float32Array {
    const n = k * channels * outSide * outSide;
    if (this.out.length !== n) this.out = new Float32Array(n);
    let wide = this.wide.get(side);
    if (wide === undefined) this.wide.set(side, (wide = convFlops(this.plan, side) >= WIDE_FLOP_PER_CROP));
    const [C, s] = this.addon.netRun(this.handle, crops, k, side, this.out, wide);
    if (C !== channels || s !== outSide) throw new Error(`native runner: features [${C}, ${s}, ${s}], expected [${channels}, ${outSide}, ${outSide}]`);
    return this.out;
  }
}
