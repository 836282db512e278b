/**
 * Where one tracked frame goes on the onnx engine: the search crops (`core.searchCrops`), the engine call on the
 * 3 search crops (`engine.respond`: search branch + xcorr in onnxruntime) and the post-processing (`core.locate`:
 * bicubic upsampling, penalties, window, argmax) — crops and upsampling in the native add-on's frame kernels when it is
 * built (tracker/engine/frame-kernels.ts; ROT_TRACK_FRAME_NATIVE=0 runs the JavaScript), at `--threads` threads — mean ms per frame over 4 passes of a 60-frame synthetic 640×360
 * sequence (bench-frames.ts) after one untimed pass. Answers "how fast could a frame be if the JS work were free".
 *
 * `--gap-ms G --block B`: a pause of G ms before every B frames (bench:peer's pattern: blocks of 10 after 200 ms);
 * `--runner onnxruntime`: onnxruntime even where the add-on's oneDNN runner could run the net (native-net-engine.ts);
 * `--spin`: onnxruntime's idle threads spin; `--addon-threads N`: the add-on's threads (crops, upsampling, head) apart
 * from onnxruntime's. Also prints the frames' p50 / p90.
 *
 *   node --import tsx scripts/profile-track-frame.ts [--variant siamfc | alexnet (paper size, random weights)] [--threads 1]
 *     [--xcorr native | graph (the cross-correlation head in the add-on, or in onnxruntime)] [--channel-multiple 8]
 *     [--gap-ms 0 --block 10] [--spin] [--addon-threads <threads>] [--runner auto | onnxruntime]
 */
import { parseArgs } from 'node:util';
import { initBackend } from '../tracker/node/backend.js';
import { setNativeThreads } from '../tracker/node/native-backend.js';
import { loadTracker } from '../tracker/node/load-tracker.js';
import { SiamFCNet, SiamFCTracker } from '../tracker/siamfc.js';
import { SiamFCConfig } from '../tracker/siamfc/config.js';
import { onnxEngineFor } from '../tracker/node/native-net-engine.js';
import { alexnetSpec } from '../tracker/backbone-spec.js';
import { Backbone } from '../tracker/backbones.js';
import { benchFrames } from './bench-frames.js';

const { values: a } = parseArgs({
  options: {
    variant: { type: 'string', default: 'siamfc' }, threads: { type: 'string', default: '1' },
    xcorr: { type: 'string', default: 'native' }, 'channel-multiple': { type: 'string', default: '8' },
    'gap-ms': { type: 'string', default: '0' }, block: { type: 'string', default: '10' }, spin: { type: 'boolean', default: false },
    'addon-threads': { type: 'string' }, runner: { type: 'string', default: 'auto' },
  },
});
if (a.xcorr !== 'native' && a.xcorr !== 'graph') throw new Error(`--xcorr: "native" or "graph", got "${a.xcorr}"`);
if (a.runner !== 'auto' && a.runner !== 'onnxruntime') throw new Error(`--runner: "auto" or "onnxruntime", got "${a.runner}"`);
const backend = await initBackend({ log: () => {} });
const threads = Number(a.threads);
// the native add-on's threads too (its frame kernels: crops and upsampling, tracker/engine/frame-kernels.ts)
if (backend === 'native-cpu') setNativeThreads(Number(a['addon-threads'] ?? threads));
const gapMs = Number(a['gap-ms']), block = Number(a.block);
if (!(gapMs >= 0) || !(block >= 1)) throw new Error(`--gap-ms must be ≥ 0 and --block ≥ 1, got ${a['gap-ms']} and ${a.block}`);
const loaded = a.variant === 'alexnet'
  ? { net: new SiamFCNet(new Backbone(alexnetSpec(), 1)), config: SiamFCConfig.parse({}) }
  : await loadTracker(a.variant!).then((l) => ({ net: l.net, config: SiamFCConfig.parse(l.manifest?.tracker ?? {}) }));
// the head in the add-on when it is loaded (the engine's default), or inside onnxruntime's search model
const engine = onnxEngineFor(loaded.net, {
  threads, xcorr: backend === 'native-cpu' ? a.xcorr : 'graph', channelMultiple: Number(a['channel-multiple']), spin: a.spin,
  runner: a.runner,
});
const tracker = new SiamFCTracker(loaded.net, loaded.config, a.variant!, engine);
const ms = { crops: 0, respond: 0, locate: 0, frame: 0 };
let timing = false;
/** Wrap `obj[name]` so that its wall time adds to `ms[key]` while `timing`. */
function timed<K extends keyof typeof ms>(obj: Record<string, unknown>, name: string, key: K): void {
  const f = (obj[name] as (...args: unknown[]) => unknown).bind(obj);
  obj[name] = (...args: unknown[]) => {
    const t0 = performance.now();
    const r = f(...args);
    if (timing) ms[key] += performance.now() - t0;
    return r;
  };
}
// the tracker's internals are reached on purpose: this is a profile, not an API
const core = (tracker as unknown as { core: Record<string, unknown> }).core;
timed(core, 'searchCrops', 'crops');
timed(engine as unknown as Record<string, unknown>, 'respond', 'respond');
timed(core, 'locate', 'locate');
const seq = benchFrames(60);
/** Per timed frame: whether a pause came right before it, and its parts (for `--gap-ms`: cold frames apart). */
const rows: { cold: boolean; crops: number; respond: number; locate: number; frame: number }[] = [];
for (let pass = 0; pass < 5; pass++) {
  timing = pass > 0;
  tracker.init(seq[0], { x: 300, y: 150, width: 60, height: 60 });
  for (let i = 1; i < seq.length; i++) {
    const cold = gapMs > 0 && i % block === 0;
    if (cold) await new Promise((r) => setTimeout(r, gapMs));
    const before = { ...ms };
    const t0 = performance.now();
    tracker.update(seq[i]);
    if (timing) {
      const t = performance.now() - t0;
      ms.frame += t;
      rows.push({ cold, crops: ms.crops - before.crops, respond: ms.respond - before.respond, locate: ms.locate - before.locate, frame: t });
    }
  }
}
const frames = rows.length;
const each = rows.map((r) => r.frame);
const per = (v: number) => (v / frames).toFixed(2);
const quantile = (v: number[], q: number) => v.slice().sort((x, y) => x - y)[Math.floor(q * (v.length - 1))];
process.stdout.write(`${a.variant} on ${engine.description}: ${frames} frames, ms per frame — crops ${per(ms.crops)}, ` +
  `engine ${per(ms.respond)}, locate ${per(ms.locate)}, whole frame ${per(ms.frame)}` +
  ` (p50 ${quantile(each, 0.5).toFixed(2)}, p90 ${quantile(each, 0.9).toFixed(2)})\n`);
if (gapMs > 0) {
  for (const cold of [true, false]) {
    const g = rows.filter((r) => r.cold === cold);
    const m = (k: 'crops' | 'respond' | 'locate' | 'frame') => (g.reduce((s, r) => s + r[k], 0) / g.length).toFixed(2);
    process.stdout.write(`  ${cold ? `right after a ${gapMs} ms pause` : 'the other frames'}: ${g.length} frames — crops ${m('crops')}, engine ${m('respond')}, ` +
      `locate ${m('locate')}, whole frame ${m('frame')} (p50 ${quantile(g.map((r) => r.frame), 0.5).toFixed(2)})\n`);
  }
}
tracker.dispose();
engine.dispose();
