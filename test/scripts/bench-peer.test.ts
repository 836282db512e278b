// The pure parts of `npm run bench:peer`: the weight export the PyTorch peer reads (round trip, and the network it
// describes computes what ours computes, evaluated here by a plain-JS interpreter of the format that follows the
// peer script's reading of it), the command line, the interleaving order, the statistics, the markdown, and the
// "torch missing" path (says so and exits 0). Offline, no torch needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf } from '../../tracker/tf.js';
import { parseBackboneSpec, pooledPixelsSpec } from '../../tracker/backbone-spec.js';
import { Backbone } from '../../tracker/backbones.js';
import { SiamFCNet } from '../../tracker/siamfc.js';
import { SiamFCConfig } from '../../tracker/siamfc/config.js';
import { toOnnxFilter } from '../../tracker/engine/backbone-plan.js';
import {
  exportPeerWeights, readPeerWeights, tensorOf, writePeerWeights, type PeerManifest,
} from '../../scripts/peer/peer-weights.js';
import {
  DEFAULT_PYTHONS, findTorch, maxRelativeError, parsePeerArgs, peerMarkdown, PEER_PIN_ENV, roundOrder, slowFrames, stats, underLoad, type PeerResult,
} from '../../scripts/peer/bench-peer-lib.js';

tf.setBackend('cpu');
const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** A small plain SiamFC with AlexNet-style groups, BN with non-trivial moving statistics, a pool and an elu. */
function smallNet(): SiamFCNet {
  const spec = parseBackboneSpec({
    name: 'tiny', exemplarSize: 15, instanceSize: 23,
    layers: [
      { type: 'conv', out: 4, kernel: 3, stride: 2 },
      { type: 'maxpool', size: 2, stride: 1 },
      { type: 'conv', out: 6, kernel: 3, groups: 2, act: 'elu' },
      { type: 'conv', out: 4, kernel: 1, bn: false, act: 'none' },
    ],
  });
  const net = new SiamFCNet(new Backbone(spec, 7));
  const w = Object.fromEntries(net.backbone.namedWeights().map((x) => [x.name, x.tensor]));
  let s = 1;
  for (const [k, t] of Object.entries(w)) {
    if (k.endsWith('/filter')) continue;
    const vals = tf.randomUniform(t.shape, k.endsWith('movingVar') || k.endsWith('gamma') ? 0.5 : -0.5, 1.5, 'float32', s++);
    (t as tf.Variable).assign(vals);
    vals.dispose();
  }
  return net;
}

/** The exported network evaluated as the peer script builds it (NCHW, Conv2d groups → BatchNorm2d eval → act → pool). */
function interpret(m: PeerManifest, data: Float32Array, nhwc: Float32Array, size: number): { c: number; h: number; v: Float32Array } {
  let c = 3;
  let h = size;
  let v = new Float32Array(c * h * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < h; x++) for (let k = 0; k < 3; k++) v[(k * h + y) * h + x] = nhwc[(y * h + x) * 3 + k];
  for (const l of m.layers) {
    if (l.type === 'conv') {
      const W = tensorOf({ data }, l.weight);
      const oh = Math.floor((h - l.kernel) / l.stride) + 1;
      const out = new Float32Array(l.out * oh * oh);
      const cinG = l.in / l.groups, coutG = l.out / l.groups;
      for (let o = 0; o < l.out; o++) {
        const g = Math.floor(o / coutG);
        for (let y = 0; y < oh; y++) for (let x = 0; x < oh; x++) {
          let s = l.bias ? tensorOf({ data }, l.bias)[o] : 0;
          for (let ci = 0; ci < cinG; ci++) for (let ky = 0; ky < l.kernel; ky++) for (let kx = 0; kx < l.kernel; kx++) {
            s += W[((o * cinG + ci) * l.kernel + ky) * l.kernel + kx] * v[((g * cinG + ci) * h + y * l.stride + ky) * h + x * l.stride + kx];
          }
          if (l.bn) {
            const [ga, be, mu, va] = [l.bn.gamma, l.bn.beta, l.bn.mean, l.bn.var].map((r) => tensorOf({ data }, r)[o]);
            s = ((s - mu) / Math.sqrt(va + m.bnEps)) * ga + be;
          }
          out[(o * oh + y) * oh + x] = l.act === 'relu' ? Math.max(0, s) : l.act === 'elu' ? (s > 0 ? s : Math.expm1(s)) : s;
        }
      }
      c = l.out; h = oh; v = out;
    } else {
      const oh = Math.floor((h - l.size) / l.stride) + 1;
      const out = new Float32Array(c * oh * oh);
      for (let k = 0; k < c; k++) for (let y = 0; y < oh; y++) for (let x = 0; x < oh; x++) {
        let s = l.type === 'maxpool' ? -Infinity : 0;
        for (let a = 0; a < l.size; a++) for (let b = 0; b < l.size; b++) {
          const t = v[(k * h + y * l.stride + a) * h + x * l.stride + b];
          s = l.type === 'maxpool' ? Math.max(s, t) : s + t / (l.size * l.size);
        }
        out[(k * oh + y) * oh + x] = s;
      }
      h = oh; v = out;
    }
  }
  return { c, h, v };
}

test('peer weights: written and read back value for value, filters in PyTorch layout', () => {
  const net = smallNet();
  const dir = mkdtempSync(path.join(tmpdir(), 'peer-w-'));
  try {
    const w = exportPeerWeights(net, SiamFCConfig.parse({ scaleNum: 5 }), 'tiny');
    const json = writePeerWeights(path.join(dir, 'tiny'), w);
    const back = readPeerWeights(json);
    assert.deepEqual(back.manifest, JSON.parse(JSON.stringify(w.manifest)));
    assert.deepEqual([...back.data], [...w.data]);
    assert.equal(back.manifest.tracker.scaleNum, 5);
    assert.equal(back.manifest.responseSize, net.geometry.responseSize);
    const conv2 = back.manifest.layers[2];
    assert.ok(conv2.type === 'conv');
    assert.deepEqual(conv2.weight.shape, [6, 2, 3, 3]); // [Cout, Cin/groups, k, k]
    const tfFilter = net.backbone.namedWeights().find((x) => x.name === 'layer2/filter')!.tensor;
    const src = tfFilter.dataSync(); // [3, 3, 2, 6]
    const dst = tensorOf(back, conv2.weight);
    for (const [o, c, y, x] of [[0, 0, 0, 0], [5, 1, 2, 1], [3, 0, 1, 2]]) {
      assert.equal(dst[((o * 2 + c) * 3 + y) * 3 + x], src[((y * 3 + x) * 2 + c) * 6 + o]);
    }
    writeFileSync(path.join(dir, 'tiny.f32'), Buffer.alloc(8));
    assert.throws(() => readPeerWeights(json), /holds 2 values, the manifest says/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    net.dispose();
  }
});

test('peer weights: the exported network computes our features (groups, unfolded BN, elu, pool)', () => {
  const net = smallNet();
  const size = net.backbone.spec.instanceSize;
  const input = tf.randomUniform([1, size, size, 3], 0, 255, 'float32', 3);
  const ours = net.backbone.apply(input as tf.Tensor4D, false);
  const { manifest, data } = exportPeerWeights(net, SiamFCConfig.parse({}), 'tiny');
  const peer = interpret(manifest, data, input.dataSync() as Float32Array, size);
  const [, h, , c] = ours.shape;
  assert.equal(peer.h, h);
  assert.equal(peer.c, c);
  const o = ours.dataSync();
  const asNhwc = new Float32Array(o.length);
  for (let k = 0; k < c; k++) for (let i = 0; i < h * h; i++) asNhwc[i * c + k] = peer.v[k * h * h + i];
  assert.ok(maxRelativeError(asNhwc, o) < 1e-5, `max relative error ${maxRelativeError(asNhwc, o)}`);
  tf.dispose([input, ours]);
  net.dispose();
});

test('peer weights: backbones the peer does not implement are refused by name', () => {
  const net = new SiamFCNet(new Backbone(pooledPixelsSpec(4, { exemplarSize: 16, instanceSize: 32 })));
  assert.throws(() => exportPeerWeights(net, SiamFCConfig.parse({}), 'tm'), /pooled-pixels-s4.*layer 1 is "center"/);
  net.dispose();
  assert.deepEqual([...toOnnxFilter(new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2], null)], [1, 3, 2, 4]);
});

test('bench:peer arguments: defaults, overrides, errors name the flag', () => {
  const d = parsePeerArgs([], 2);
  assert.deepEqual(d.variants, ['alexnet', 'siamfc']);
  assert.equal(d.threads, 2);
  assert.equal(d.rounds, 10);
  assert.equal(d.batch, 8);
  assert.deepEqual(d.python, DEFAULT_PYTHONS);
  const o = parsePeerArgs(['--variants', 'siamfc', '--rounds', '2', '--block=5', '--train-steps', '0', '--threads', '1', '--python', '/x/py'], 2,
    { PEER_PYTHON: '/ignored' });
  assert.deepEqual([o.variants, o.rounds, o.block, o.trainSteps, o.threads, o.python], [['siamfc'], 2, 5, 0, 1, ['/x/py']]);
  assert.deepEqual(parsePeerArgs([], 2, { PEER_PYTHON: '/env/py' }).python, ['/env/py']);
  assert.equal(parsePeerArgs(['--train-turn', '5'], 2).trainTurn, 5);
  assert.throws(() => parsePeerArgs(['--train-turn', '0'], 2), /--train-turn must be an integer ≥ 1/);
  assert.equal(d.trainWarmupS, 3);
  assert.equal(parsePeerArgs(['--train-warmup-s', '0.5'], 2).trainWarmupS, 0.5);
  assert.equal(parsePeerArgs(['--train-warmup-s', '0'], 2).trainWarmupS, 0);
  for (const bad of ['-1', 'x', '', 'Infinity']) {
    assert.throws(() => parsePeerArgs([`--train-warmup-s=${bad}`], 2), new RegExp(`--train-warmup-s must be a number of seconds ≥ 0, got "${bad}"`));
  }
  assert.throws(() => parsePeerArgs(['--variants', 'vgg'], 2), /--variants: unknown "vgg"/);
  assert.throws(() => parsePeerArgs(['--rounds', '0'], 2), /--rounds must be an integer ≥ 1/);
  assert.throws(() => parsePeerArgs(['--block', '2.5'], 2), /--block/);
  assert.throws(() => parsePeerArgs(['--frames', '3'], 2), /frames/);
  assert.equal(d.malloc, 'keep');
  assert.equal(parsePeerArgs(['--malloc', 'default'], 2).malloc, 'default');
  assert.throws(() => parsePeerArgs(['--malloc', 'jemalloc'], 2), /--malloc must be "keep" or "default", got "jemalloc"/);
  assert.equal(d.pin, false);
  assert.equal(parsePeerArgs(['--pin'], 2).pin, true);
  // both sides pin, each the way its runtime does
  assert.deepEqual(PEER_PIN_ENV, { node: { ROT_TRACK_PIN: 'all' }, torch: { OMP_PROC_BIND: 'true', OMP_PLACES: 'cores' } });
});

test('bench:peer interleaving, statistics and relative error', () => {
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
  assert.deepEqual(roundOrder(['a', 'b', 'c'], 5), ['c', 'a', 'b']);
  const s = stats([5, 1, 3, 2, 4]);
  assert.deepEqual([s.p50, s.p95, s.mean, s.min, s.n], [3, 5, 3, 1, 5]);
  assert.equal(stats([]).n, 0);
  assert.equal(maxRelativeError([1, 2.5], [1, 2]), 0.25);
  assert.equal(maxRelativeError([1], [1, 2]), Infinity);
  assert.equal(underLoad([1.2, 0, 0], 2), true);
  assert.equal(underLoad([0.4, 0, 0], 2), false);
});

test('bench:peer markdown: rows, ratios ours / PyTorch, and the load note', () => {
  const row = { variant: 'siamfc', crops: '65/129', scales: 3, frames: 40, fpsP50: 0, fpsP95: 0, msP50: 10, msP95: 12, rssMb: 200, peakMb: 210 };
  const r: PeerResult = {
    date: 'now', cores: 2, cpu: 'cpu', node: 'v20', torch: '1.13', python: '/usr/bin/python3', threads: { torch: '2' },
    loadavg: { before: [3, 2, 1], after: [3, 2, 1], duringMean1m: 3 },
    options: { variants: ['siamfc'], rounds: 4, block: 10, trainSteps: 3, trainTurn: 3, batch: 8, threads: 2, gapMs: 200 },
    parity: [{ variant: 'siamfc', vs: 'onnx', maxRelErr: 1e-6 }],
    track: [{ ...row, engine: 'onnx', description: 'onnx', fps: 100 }, { ...row, engine: 'torch', description: 'torch', fps: 50 }],
    train: [{ variant: 'siamfc', engine: 'tfjs', description: 'tfjs', crops: '65/121', batch: 8, steps: 3, msP50: 300, msMin: 290, peakMb: 1 },
      { variant: 'siamfc', engine: 'torch', description: 'torch', crops: '65/121', batch: 8, steps: 3, msP50: 150, msMin: 140, peakMb: 1 }],
    command: 'npm run bench:peer',
  };
  const md = peerMarkdown(r);
  assert.match(md, /tracking fps, onnx \/ torch \*\*2\.00×\*\* \(p50 1\.00×\)/);
  assert.match(md, /training step rate, tfjs \/ torch \*\*0\.50×\*\* \(best steps 0\.48×\)/);
  assert.match(md, /taken under load/);
  assert.match(md, /torch vs onnx 1\.0e-6/);
  assert.match(md, /\| 12\.0 \| — \| 200 \/ 210 \|/); // no frame times saved: no slow-frame count
  const timed = peerMarkdown({ ...r, track: [{ ...r.track[0], times: [10, 10, 10, 25, 19, 10] }] });
  assert.match(timed, /\| 12\.0 \| 1 \| 200 \/ 210 \|/); // 25 > 2 × p50 (10); 19 is not
  assert.equal(slowFrames([]), 0);
  assert.equal(slowFrames([1, 1, 1, 3, 2.5]), 2);
  assert.doesNotMatch(peerMarkdown({ ...r, loadavg: { before: [0.2, 0, 0], after: [2, 0, 0], duringMean1m: 2 } }), /taken under load/);
  // results saved before session 16: one warm-up step, no warm-up column figures
  assert.match(md, /after a warm-up step, in turns/);
  assert.match(md, /\| 8 \| — \| 3 \| 300 \| 290 \| 1 \|/);
  const warmed = peerMarkdown({ ...r, options: { ...r.options, trainWarmupS: 3 }, train: [{ ...r.train[0], warmupTimes: [400, 310, 305, 300] }, r.train[1]] });
  assert.match(warmed, /after a warm-up of 3 s of back-to-back steps, in turns/);
  assert.match(warmed, /\| 8 \| 4 \(310\) \| 3 \| 300 \| 290 \| 1 \|/);
});

test('bench:peer without torch: says so and exits 0, writes nothing', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'peer-missing-'));
  try {
    const fake = path.join(dir, 'python-without-torch');
    writeFileSync(fake, "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n");
    chmodSync(fake, 0o755);
    const probe = findTorch([path.join(dir, 'no-such-python'), fake]);
    assert.equal(probe.ok, false);
    assert.match(!probe.ok ? probe.reason : '', /no-such-python: not found; .*python-without-torch: ModuleNotFoundError: No module named 'torch'/);
    const out = path.join(dir, 'peer.json');
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'bench-peer.ts'), '--python', fake, '--out', out,
      '--md', path.join(dir, 'peer.md')], { encoding: 'utf8', cwd: ROOT });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /PyTorch is not available.*skipped \(exit 0\)/);
    assert.match(r.stdout, /apt-get install -y python3-torch/);
    assert.equal(existsSync(out), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
