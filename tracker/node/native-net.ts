/**
 * A backbone of convs (with bias and relu), max / average pooling and at most a final group pooling (BatchNorm folded
 * — backbone-plan.ts) run by the native add-on as one chain of oneDNN primitives (tracker/native/src/net.cc; 3×3 stride-1 convs on Winograd kernels):
 * crops `[k, S, S, C]` NHWC in, features `[k, C', s, s]` NCHW out. The final group pooling of IEN / Het / C4 / C8
 * backbones (max over each group's orientation channels, blocks concatenated) runs here in JS on the runner's NCHW
 * output — a few tens of thousands of values a frame. `NativeNet.create` returns null when the add-on has no runner
 * (not built with oneDNN) or the plan holds a layer it does not take (elu, centering, group pooling before the end).
 */
import { type BackbonePlan, convFlops } from '../engine/backbone-plan.js';
import type { GroupBlock } from '../ien/groups.js';

/** The add-on's runner functions (src/net.cc). */
export interface NativeNetAddon {
  netCreate?(spec: Int32Array, weights: Float32Array[], biases: Float32Array[], inChannels: number): unknown;
  netRun?(net: unknown, crops: Float32Array, k: number, side: number, out: Float32Array, wide: boolean): [number, number];
}

/** What the runner runs for a plan: its layer list, and the group pooling done after it (null: none). */
export interface NativeNetSpec {
  spec: Int32Array;
  weights: Float32Array[];
  biases: Float32Array[];
  /** The runner's output channels (before the pooling). */
  channels: number;
  pool: readonly GroupBlock[] | null;
  /** The feature channels the net ends with (after the pooling, if any). */
  outChannels: number;
}

/** The runner's layer list for `plan`, or why it cannot run it. */
export function nativeNetSpec(plan: BackbonePlan): NativeNetSpec | string {
  const spec: number[] = [];
  const weights: Float32Array[] = [];
  const biases: Float32Array[] = [];
  let channels = plan.spec.inChannels;
  let pool: readonly GroupBlock[] | null = null;
  for (const [i, l] of plan.layers.entries()) {
    if (l.type === 'groupPool') {
      if (i !== plan.layers.length - 1) return `layer ${i}: group pooling before the last layer`;
      const bad = l.blocks.find((b) => b.groups * b.size !== b.channels || b.start < 0 || b.start + b.channels > channels);
      if (bad) return `layer ${i}: group pooling block ${JSON.stringify(bad)} does not fit ${channels} channels`;
      pool = l.blocks;
    } else if (l.type === 'conv') {
      if (l.act === 'elu') return `layer ${i}: elu`;
      const [O, I, kh, kw] = l.dims;
      if (kh !== kw) return `layer ${i}: a ${kh}×${kw} kernel`;
      spec.push(0, O, I, kh, l.stride, l.group, l.act === 'relu' ? 1 : 0);
      weights.push(l.weight);
      biases.push(l.bias);
      channels = O;
    } else if (l.type === 'maxpool' || l.type === 'avgpool') {
      spec.push(l.type === 'maxpool' ? 1 : 2, 1, 1, l.size, l.stride, 1, 0);
    } else {
      return `layer ${i}: ${l.type}`;
    }
  }
  const outChannels = pool ? pool.reduce((c, b) => c + b.groups, 0) : channels;
  return { spec: Int32Array.from(spec), weights, biases, channels, pool, outChannels };
}

/**
 * Group pooling on NCHW features: `x` `[k, C, s²]` → `out` `[k, Σ groups, s²]`, channel `start + q·size + r` of a block
 * pooled (max over r) into its q-th output channel, blocks in order (what backbone-plan's groupPool and the ONNX
 * export's Slice → Reshape → ReduceMax → Concat compute); a NaN among a group's values gives NaN, as tfjs's max.
 */
export function groupPoolNchw(x: Float32Array, k: number, C: number, area: number, blocks: readonly GroupBlock[], out: Float32Array): void {
  const Cout = blocks.reduce((n, b) => n + b.groups, 0);
  if (x.length !== k * C * area || out.length !== k * Cout * area) {
    throw new Error(`group pooling: ${x.length} values in, ${out.length} out, expected ${k}×${C}×${area} and ${k}×${Cout}×${area}`);
  }
  for (let i = 0; i < k; i++) {
    let o = i * Cout * area;
    for (const b of blocks) {
      for (let q = 0; q < b.groups; q++, o += area) {
        const first = (i * C + b.start + q * b.size) * area;
        out.set(x.subarray(first, first + area), o);
        for (let r = 1; r < b.size; r++) {
          const from = first + r * area;
          for (let j = 0; j < area; j++) {
            const v = x[from + j];
            if (v > out[o + j] || v !== v) out[o + j] = v;
          }
        }
      }
    }
  }
}

/**
 * Conv work per crop (multiply-adds × 2) from which a batch runs as one chain on oneDNN's OpenMP threads rather than
 * split over the add-on's threads (src/net.cc netRun): AlexNet's 5.4 GFLOP per 255² crop ran 49.7 → 38.0 ms per 3-scale
 * search at 2 threads that way, the CPU-scale net's 0.2 GFLOP per 129² crop 1.59 → 1.94 ms (slower).
 */
export const WIDE_FLOP_PER_CROP = 1e9;

export class NativeNet {
  private out = new Float32Array(0);
  /** The runner's output before the group pooling (plans that end in one). */
  private pre = new Float32Array(0);
  /** Per crop side: whether a batch runs wide (see WIDE_FLOP_PER_CROP). */
  private readonly wide = new Map<number, boolean>();

  private constructor(
    private readonly addon: Required<NativeNetAddon>, private readonly handle: unknown, readonly inChannels: number,
    private readonly plan: BackbonePlan, private readonly made: NativeNetSpec,
  ) {}

  /** The runner for `plan`, or null with the reason (see the file comment). */
  static create(addon: NativeNetAddon | null, plan: BackbonePlan): { net: NativeNet } | { net: null; reason: string } {
    if (!addon?.netCreate || !addon.netRun) return { net: null, reason: 'the native add-on has no oneDNN runner' };
    const s = nativeNetSpec(plan);
    if (typeof s === 'string') return { net: null, reason: `backbone "${plan.spec.name}" ${s} is not taken by the runner` };
    const handle = addon.netCreate(s.spec, s.weights, s.biases, plan.spec.inChannels);
    return { net: new NativeNet(addon as Required<NativeNetAddon>, handle, plan.spec.inChannels, plan, s) };
  }

  /**
   * Features of `k` crops of side `side` (NHWC, `k·side²·C` values): `[k, C', s, s]` NCHW in a buffer reused by the next
   * call of the same size (copy what must outlive it).
   */
  run(crops: Float32Array, k: number, side: number, channels: number, outSide: number): Float32Array {
    const area = outSide * outSide;
    const n = k * channels * area;
    if (this.out.length !== n) this.out = new Float32Array(n);
    let wide = this.wide.get(side);
    if (wide === undefined) this.wide.set(side, (wide = convFlops(this.plan, side) >= WIDE_FLOP_PER_CROP));
    const { pool, channels: convChannels, outChannels } = this.made;
    if (outChannels !== channels) throw new Error(`native runner: the net makes ${outChannels} feature channels, expected ${channels}`);
    if (pool && this.pre.length !== k * convChannels * area) this.pre = new Float32Array(k * convChannels * area);
    const [C, s] = this.addon.netRun(this.handle, crops, k, side, pool ? this.pre : this.out, wide);
    if (C !== convChannels || s !== outSide) throw new Error(`native runner: features [${C}, ${s}, ${s}], expected [${convChannels}, ${outSide}, ${outSide}]`);
    if (pool) groupPoolNchw(this.pre, k, convChannels, area, pool, this.out);
    return this.out;
  }
}
