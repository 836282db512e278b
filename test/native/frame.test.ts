// The native frame kernels (tracker/native/src/frame.cc) against the JavaScript they replace: the search crops of a
// byte frame (tracker/engine/crop.ts), the bicubic upsampling of the response maps (tracker/engine/upsample.ts) and
// the peak search on the chosen map (SiamFCCore.locate's finishMap), element by element and bit for bit, at 1 and 2
// threads; and a SiamFCCore tracking a sequence gives the same boxes with and without them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeAddon, setNativeThreads } from '../../tracker/node/native-backend.js';
import { cropPatchesInto } from '../../tracker/engine/crop.js';
import { resizeTaps, upsampleTapsRange } from '../../tracker/engine/upsample.js';
import { frameKernels, setFrameKernels, type FrameKernels } from '../../tracker/engine/frame-kernels.js';
import { cropBox } from '../../tracker/siamfc/crop-box.js';
import { cubicResizeMatrix } from '../../tracker/siamfc/response.js';
import { SiamFCCore, finishMap } from '../../tracker/siamfc/core.js';
import { SiamFCConfig } from '../../tracker/siamfc/config.js';
import { mulberry32 } from '../../tracker/random.js';
import { nativeOrSkip } from './util.js';

const reg = nativeOrSkip();
const addon = reg.ok ? loadNativeAddon() : null;
const kernels: FrameKernels | null = addon?.cropBytes && addon.upsampleMaps && addon.finishMap && addon.headXcorr
  ? { cropBytes: addon.cropBytes, upsampleMaps: addon.upsampleMaps, finishMap: addon.finishMap, xcorr: addon.headXcorr } : null;
const skip = !kernels;

function frame(rand: () => number, H: number, W: number): Uint8Array {
  return Uint8Array.from({ length: H * W * 3 }, () => Math.floor(rand() * 256));
}

test('the native add-on registers the frame kernels for the tracker', { skip: !reg.ok }, () => {
  assert.ok(kernels, 'the add-on exports cropBytes, upsampleMaps, finishMap and headXcorr');
  if (process.env.ROT_TRACK_FRAME_NATIVE !== '0') assert.ok(frameKernels(), 'registerNativeBackend set them');
});

test('native crops equal crop.ts bit for bit: inside, across and outside the frame, 1 and 2 threads', { skip }, () => {
  const rand = mulberry32(77);
  for (const threads of [1, 2]) {
    setNativeThreads(threads);
    for (let i = 0; i < 12; i++) {
      const H = 20 + Math.floor(rand() * 200), W = 20 + Math.floor(rand() * 300);
      const rgb = frame(rand, H, W);
      const avg = Float32Array.of(rand() * 255, rand() * 255, rand() * 255);
      const S = [1, 2, 31, 65, 129][i % 5];
      const crops = Array.from({ length: 1 + (i % 3) }, () => ({
        cx: rand() * W * 1.4 - W * 0.2, cy: rand() * H * 1.4 - H * 0.2, size: 1 + rand() * Math.max(H, W) * 1.5,
      }));
      const js = new Float32Array(crops.length * S * S * 3);
      cropPatchesInto(js, rgb, H, W, avg, crops, S);
      const boxes = new Float64Array(4 * crops.length);
      crops.forEach((c, b) => boxes.set(cropBox(H, W, c, S), 4 * b));
      const nat = new Float32Array(js.length).fill(NaN);
      kernels!.cropBytes(rgb, H, W, avg, boxes, S, nat);
      assert.deepEqual(nat, js, `case ${i} (${H}×${W}, ${crops.length} crops of ${S}) at ${threads} thread(s)`);
    }
  }
});

test('native upsampling equals upsample.ts bit for bit, with each map\'s min and max', { skip }, () => {
  const rand = mulberry32(78);
  for (const threads of [1, 2]) {
    setNativeThreads(threads);
    for (const [n, u, k] of [[17, 272, 3], [9, 144, 1], [22, 352, 5], [5, 17, 2], [17, 17, 3]] as const) {
      const taps = resizeTaps(cubicResizeMatrix(n, u), n, u);
      const maps = Float32Array.from({ length: k * n * n }, () => (rand() - 0.3) * 20);
      const out = new Float64Array(k * u * u).fill(NaN), minMax = new Float64Array(2 * k);
      kernels!.upsampleMaps(maps, k, n, u, taps.start, taps.index, taps.weight, out, minMax);
      for (let m = 0; m < k; m++) {
        const js = upsampleTapsRange(maps.subarray(m * n * n, (m + 1) * n * n), taps);
        assert.deepEqual(out.subarray(m * u * u, (m + 1) * u * u), js.map, `${n}→${u} map ${m} at ${threads} thread(s)`);
        assert.deepEqual([minMax[2 * m], minMax[2 * m + 1]], [js.min, js.max], `${n}→${u} map ${m}: min / max`);
      }
    }
  }
});

test('native upsampling equals upsample.ts also where a map holds an infinity or a NaN (the tap-by-tap rows)', { skip }, () => {
  const rand = mulberry32(80);
  const n = 17, u = 272, k = 3;
  const taps = resizeTaps(cubicResizeMatrix(n, u), n, u);
  const maps = Float32Array.from({ length: k * n * n }, () => (rand() - 0.5) * 4);
  maps[5 * n + 7] = Infinity; // map 0, row 5
  maps[n * n + 2 * n + 16] = NaN; // map 1, row 2
  maps[2 * n * n + 9 * n] = -Infinity; // map 2, row 9
  for (const threads of [1, 2]) {
    setNativeThreads(threads);
    const out = new Float64Array(k * u * u), minMax = new Float64Array(2 * k);
    kernels!.upsampleMaps(maps, k, n, u, taps.start, taps.index, taps.weight, out, minMax);
    for (let m = 0; m < k; m++) {
      const js = upsampleTapsRange(maps.subarray(m * n * n, (m + 1) * n * n), taps);
      assert.deepEqual(out.subarray(m * u * u, (m + 1) * u * u), js.map, `map ${m} at ${threads} thread(s)`);
      assert.deepEqual([minMax[2 * m], minMax[2 * m + 1]], [js.min, js.max], `map ${m}: min / max`);
    }
  }
});

test('native finishMap equals locate\'s passes bit for bit: the map it leaves and the peak it finds', { skip }, () => {
  const rand = mulberry32(81);
  const cases: { len: number; fill: (i: number) => number; penalty: number }[] = [
    { len: 272 * 272, fill: () => rand() * 3 - 1, penalty: 0.9745 },
    { len: 272 * 272, fill: () => rand(), penalty: 1 },
    { len: 17 * 17, fill: () => 2, penalty: 1 }, // all equal: the first index
    { len: 33, fill: (i) => (i % 7 === 3 ? NaN : rand()), penalty: 0.5 }, // NaNs never win; not a multiple of 8
    { len: 9, fill: () => NaN, penalty: 1 }, // nothing wins: 0
    { len: 100, fill: (i) => (i === 97 ? 50 : i === 13 ? 50 : rand()), penalty: 1.2 }, // a tie: the first
    { len: 0, fill: () => 0, penalty: 1 },
  ];
  for (const [c, { len, fill, penalty }] of cases.entries()) {
    const map = Float64Array.from({ length: len }, (_, i) => fill(i));
    const hann = Float64Array.from({ length: len }, () => rand());
    const min = len ? map.reduce((a, b) => (b < a ? b : a), Infinity) * penalty : 0;
    const js = map.slice(), nat = map.slice();
    const wi = 0.176;
    const locJs = finishMap(js, penalty, min, hann, wi);
    const locNat = kernels!.finishMap(nat, penalty, min, hann, wi);
    assert.equal(locNat, locJs, `case ${c}: peak index`);
    assert.deepEqual(nat, js, `case ${c}: the map left behind`);
  }
  assert.throws(() => kernels!.finishMap(new Float64Array(10), 1, 0, new Float64Array(9), 0.1), /FinishMap: hann: has 9 elements, needs 10/);
});

test('bad arguments name the array', { skip }, () => {
  const taps = resizeTaps(cubicResizeMatrix(5, 10), 5, 10);
  assert.throws(() => kernels!.upsampleMaps(new Float32Array(10), 1, 5, 10, taps.start, taps.index, taps.weight, new Float64Array(100), new Float64Array(2)),
    /UpsampleMaps: maps: has 10 elements, needs 25/);
  assert.throws(() => kernels!.cropBytes(new Uint8Array(11), 2, 2, new Float32Array(3), new Float64Array(4), 3, new Float32Array(27)),
    /CropBytes: rgb: has 11 elements, needs 12/);
});

test('SiamFCCore tracks the same boxes with and without the native frame kernels', { skip }, () => {
  const rand = mulberry32(79);
  const H = 180, W = 320;
  const frames = Array.from({ length: 8 }, () => frame(rand, H, W));
  const geometry = { exemplarSize: 31, instanceSize: 63, stride: 4, responseSize: 9 };
  const run = (native: boolean) => {
    const before = frameKernels();
    setFrameKernels(native ? kernels : null);
    try {
      const core = new SiamFCCore(geometry, SiamFCConfig.parse({}));
      core.exemplarCrop({ rgb: frames[0], width: W, height: H }, { x: 140, y: 70, width: 40, height: 30 });
      const out: unknown[] = [];
      const r = mulberry32(5);
      for (const f of frames.slice(1)) {
        const crops = core.searchCrops({ rgb: f, width: W, height: H });
        // a stand-in for the network: responses that depend on the crops (so crops and upsampling both matter)
        const responses = new Float32Array(3 * 9 * 9);
        for (let i = 0; i < responses.length; i++) responses[i] = crops[(i * 97) % crops.length] / 255 + r();
        out.push(core.locate(responses), Array.from(crops.subarray(0, 50)));
      }
      return out;
    } finally {
      setFrameKernels(before);
    }
  };
  assert.deepEqual(run(true), run(false));
});
