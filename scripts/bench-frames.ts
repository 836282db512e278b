/** The benchmarks' input: a 640×360 textured frame sequence with a bright square drifting right. */
import type { RawFrame } from '../tracker/tracker.js';

export function benchFrames(n: number): RawFrame[] {
  const W = 640, H = 360;
  return Array.from({ length: n }, (_, t) => {
    const data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const inObj = x >= 300 + t * 2 && x < 360 + t * 2 && y >= 150 && y < 210;
        const v = inObj ? 230 : 100 + 40 * Math.sin(x * 0.05) * Math.cos(y * 0.07);
        const i = (y * W + x) * 3;
        data[i] = v;
        data[i + 1] = v * 0.8;
        data[i + 2] = 255 - v;
      }
    }
    return { data, width: W, height: H };
  });
}
