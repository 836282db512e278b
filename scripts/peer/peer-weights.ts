/**
 * The weights of a plain SiamFC network in a format the PyTorch peer (scripts/peer/siamfc_torch.py) reads without
 * numpy's .npz or any tfjs code: `<name>.json` (layers, shapes, offsets, tracker hyper-parameters) next to
 * `<name>.f32` (every tensor as raw little-endian float32, one after the other).
 *
 * Conv filters are written in PyTorch's layout `[Cout, Cin/groups, k, k]` (ONNX's too: the ONNX export's `toOnnxFilter`;
 * ours is tfjs `[k, k, Cin/groups, Cout]`);
 * biases and BatchNorm γ, β, moving mean and moving variance unchanged and *not* folded, so that the peer runs the
 * network the way siamfc-pytorch does (Conv2d → BatchNorm2d → ReLU) and can train it with batch statistics.
 * Offsets and lengths count float32 values, not bytes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { SiamFCNet } from '../../tracker/siamfc/network.js';
import type { SiamFCConfig } from '../../tracker/siamfc/config.js';
import { scaledWidth } from '../../tracker/backbone-spec.js';
import { toOnnxFilter } from '../../tracker/engine/backbone-plan.js';

export const PEER_WEIGHTS_FORMAT = 'rot-track/peer-weights@1';

/** Where one tensor lives in the .f32 file (offset and length in float32 values). */
export interface TensorRef {
  offset: number;
  shape: number[];
}

/** One layer of the exported network. */
export type PeerLayer =
  | {
      type: 'conv'; in: number; out: number; kernel: number; stride: number; groups: number; act: 'relu' | 'elu' | 'none';
      weight: TensorRef; bias: TensorRef | null;
      bn: { gamma: TensorRef; beta: TensorRef; mean: TensorRef; var: TensorRef } | null;
    }
  | { type: 'maxpool' | 'avgpool'; size: number; stride: number };

/** The JSON half of the format. */
export interface PeerManifest {
  format: typeof PEER_WEIGHTS_FORMAT;
  name: string;
  exemplarSize: number;
  instanceSize: number;
  stride: number;
  responseSize: number;
  outScale: number;
  bnEps: number;
  bnMomentum: number;
  /** The tracker's inference hyper-parameters (scales, window, upsampling). */
  tracker: SiamFCConfig;
  layers: PeerLayer[];
  /** Total float32 values in the .f32 file. */
  values: number;
}

/**
 * Export a plain (equivariance kind `none`) SiamFC network: the manifest and the concatenated float32 values.
 * Throws naming the backbone for equivariant or `center` backbones, which the peer does not implement.
 */
export function exportPeerWeights(net: SiamFCNet, tracker: SiamFCConfig, name: string): { manifest: PeerManifest; data: Float32Array } {
  const spec = net.backbone.spec;
  if (spec.equivariance.kind !== 'none') {
    throw new Error(`peer weights: backbone "${spec.name}" is ${spec.equivariance.kind}; only plain SiamFC backbones are exported`);
  }
  const weights = new Map(net.backbone.namedWeights().map((w) => [w.name, w.tensor]));
  const chunks: Float32Array[] = [];
  let offset = 0;
  const put = (v: Float32Array, shape: number[]): TensorRef => {
    chunks.push(v);
    const ref = { offset, shape };
    offset += v.length;
    return ref;
  };
  const read = (key: string): Float32Array => {
    const t = weights.get(key);
    if (!t) throw new Error(`peer weights: backbone "${spec.name}" has no weight "${key}"`);
    return t.dataSync() as Float32Array;
  };
  const layers: PeerLayer[] = [];
  let cin = spec.inChannels;
  spec.layers.forEach((l, i) => {
    if (l.type === 'maxpool' || l.type === 'avgpool') {
      layers.push({ type: l.type, size: l.size, stride: l.stride });
      return;
    }
    if (l.type !== 'conv') throw new Error(`peer weights: backbone "${spec.name}" layer ${i} is "${l.type}", which the peer does not implement`);
    const cout = scaledWidth(l, spec.widthMultiplier, l.groups);
    const shape = [l.kernel, l.kernel, cin / l.groups, cout];
    const filter = read(`layer${i}/filter`);
    if (filter.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`peer weights: layer${i}/filter has ${filter.length} values, [${shape}] expected`);
    const weight = put(toOnnxFilter(filter, shape, null), [cout, cin / l.groups, l.kernel, l.kernel]);
    const bias = l.bias ? put(read(`layer${i}/bias`), [cout]) : null;
    const bn = l.bn
      ? { gamma: put(read(`layer${i}/gamma`), [cout]), beta: put(read(`layer${i}/beta`), [cout]),
          mean: put(read(`layer${i}/movingMean`), [cout]), var: put(read(`layer${i}/movingVar`), [cout]) }
      : null;
    layers.push({ type: 'conv', in: cin, out: cout, kernel: l.kernel, stride: l.stride, groups: l.groups, act: l.act, weight, bias, bn });
    cin = cout;
  });
  const data = new Float32Array(offset);
  let o = 0;
  for (const c of chunks) {
    data.set(c, o);
    o += c.length;
  }
  const g = net.geometry;
  const manifest: PeerManifest = {
    format: PEER_WEIGHTS_FORMAT, name, exemplarSize: g.exemplarSize, instanceSize: g.instanceSize, stride: g.stride,
    responseSize: g.responseSize, outScale: net.outScale, bnEps: spec.bnEps, bnMomentum: spec.bnMomentum, tracker, layers,
    values: offset,
  };
  return { manifest, data };
}

/** Write `<base>.json` and `<base>.f32`; returns the JSON path (what the peer script is given). */
export function writePeerWeights(base: string, w: { manifest: PeerManifest; data: Float32Array }): string {
  writeFileSync(`${base}.json`, JSON.stringify(w.manifest, null, 1) + '\n');
  writeFileSync(`${base}.f32`, Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  return `${base}.json`;
}

/** Read what `writePeerWeights` wrote (the checks the peer script makes, in TypeScript: format and total length). */
export function readPeerWeights(jsonPath: string): { manifest: PeerManifest; data: Float32Array } {
  const manifest = JSON.parse(readFileSync(jsonPath, 'utf8')) as PeerManifest;
  if (manifest.format !== PEER_WEIGHTS_FORMAT) throw new Error(`${jsonPath}: format "${manifest.format}", expected "${PEER_WEIGHTS_FORMAT}"`);
  const bin = readFileSync(jsonPath.replace(/\.json$/, '.f32'));
  if (bin.byteLength !== manifest.values * 4) {
    throw new Error(`${jsonPath}: the .f32 file holds ${bin.byteLength / 4} values, the manifest says ${manifest.values}`);
  }
  const data = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  return { manifest, data };
}

/** The values of one tensor of an exported network (a view). */
export function tensorOf(w: { data: Float32Array }, ref: TensorRef): Float32Array {
  return w.data.subarray(ref.offset, ref.offset + ref.shape.reduce((a, b) => a * b, 1));
}
