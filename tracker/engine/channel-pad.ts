/**
 * Channel padding of an inference plan for onnxruntime's CPU provider. Its fast conv path (the blocked NCHWc layout of
 * MLAS) takes a conv only when its input channels come in multiples of 8 (it pads further to its own block itself); a
 * conv whose input has 22 or 66 channels (Het-SiamFC's R4-2-1 widths) falls back to im2col + sgemm at about half the
 * GFLOP/s (reports/engines/README.md, "Het vs IEN"). Here every conv whose output feeds another conv gets zero filters (and
 * zero biases) appended up to a multiple of `multiple` output channels, and the next conv zero weights for them: the
 * appended channels are 0 after relu / elu / pooling and add nothing, so the features are unchanged. The last conv
 * (group pooling, the cross-correlation) keeps its width. Plans with channel groups (AlexNet) are returned as they are.
 */
import type { BackbonePlan, PlanLayer } from './backbone-plan.js';

type ConvLayer = Extract<PlanLayer, { type: 'conv' }>;

/** Index of the conv that `layers[i]`'s output reaches next through pooling only, or -1. */
function nextConv(layers: readonly PlanLayer[], i: number): number {
  for (let j = i + 1; j < layers.length; j++) {
    const t = layers[j].type;
    if (t === 'conv') return j;
    if (t !== 'maxpool' && t !== 'avgpool') return -1;
  }
  return -1;
}

/** `conv` with `outPad` zero output channels appended and `inPad` zero input channels (weights `[O, I, kh, kw]`). */
function padConv(conv: ConvLayer, outPad: number, inPad: number): ConvLayer {
  if (outPad === 0 && inPad === 0) return conv;
  const [O, I, kh, kw] = conv.dims;
  const k = kh * kw;
  const I2 = I + inPad;
  const weight = new Float32Array((O + outPad) * I2 * k);
  for (let o = 0; o < O; o++) weight.set(conv.weight.subarray(o * I * k, (o + 1) * I * k), o * I2 * k);
  const bias = new Float32Array(O + outPad);
  bias.set(conv.bias);
  return { ...conv, weight, bias, dims: [O + outPad, I2, kh, kw] };
}

/** The plan with conv widths padded to multiples of `multiple` where a conv feeds another (see the file comment). */
export function padPlanChannels(plan: BackbonePlan, multiple = 8): BackbonePlan {
  if (plan.layers.some((l) => l.type === 'conv' && l.group !== 1)) return plan;
  let inPad = 0;
  const layers = plan.layers.map((l, i) => {
    if (l.type !== 'conv') return l;
    const O = l.dims[0];
    const outPad = nextConv(plan.layers, i) >= 0 ? (multiple - (O % multiple)) % multiple : 0;
    const padded = padConv(l, outPad, inPad);
    inPad = outPad;
    return padded;
  });
  return { ...plan, layers };
}
