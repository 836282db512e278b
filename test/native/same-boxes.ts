// Shared by the engine tests of the add-on's head and runner (not a test file itself): two engines over one network
// track a synthetic 160×120 sequence to the same boxes, to well below a pixel.
import assert from 'node:assert/strict';
import type { SiamFCNet } from '../../tracker/siamfc/network.js';
import type { SiamFCEngine } from '../../tracker/engine/engine.js';
import { SiamFCTracker } from '../../tracker/siamfc.js';
import type { SiamFCConfig } from '../../tracker/siamfc/config.js';

export function assertSameBoxes(net: SiamFCNet, config: SiamFCConfig, a: SiamFCEngine, b: SiamFCEngine, seed = 7): void {
  const frames = Array.from({ length: 6 }, (_, i) => ({
    width: 160, height: 120,
    data: Uint8Array.from({ length: 160 * 120 * 3 }, (_, p) => ((p * seed + i * 13) ^ (p >> 5)) & 255),
  }));
  const boxes = (engine: SiamFCEngine) => {
    const t = new SiamFCTracker(net, config, 'siamfc', engine);
    t.init(frames[0], { x: 60, y: 40, width: 30, height: 24 });
    return frames.slice(1).map((f) => t.update(f).box);
  };
  const ba = boxes(a), bb = boxes(b);
  ba.forEach((box, i) => {
    for (const key of ['x', 'y', 'width', 'height'] as const) {
      assert.ok(Math.abs(box[key] - bb[i][key]) < 1e-3, `frame ${i + 1} ${key}: ${box[key]} vs ${bb[i][key]}`);
    }
  });
}
