/**
 * `npm run bench:peer`: our SiamFC against the tracker people would pick instead — a PyTorch SiamFC as
 * siamfc-pytorch runs it (scripts/peer/siamfc_torch.py, on Debian's python3-torch) — in one run on the same machine,
 * with the same weights (exported by scripts/peer/peer-weights.ts) and the same per-frame work (3 scale crops, one
 * forward pass, ×16 bicubic upsampled responses, scale penalty, Hann window).
 *
 * Variants: `alexnet` (the paper's AlexNet, 127/255, random Xavier weights: speed does not depend on the values) and
 * `siamfc` (the shipped CPU-scale model tracker/models/siamfc, 65/129). Engines, one long-lived worker process each
 * (so RSS is per engine): `onnx` (our onnxruntime engine), `tfjs` (the tracker's own tfjs path on the auto backend,
 * native-cpu here) and `torch`. Tracking runs interleaved: `--rounds` rounds, each a block of `--block` frames on
 * every engine in a rotated order, so load from other jobs falls on all engines alike. Then one training step
 * (forward + backward + SGD update, batch `--batch`, BN batch statistics, balanced logistic loss) on our training
 * path (training/objective.ts `stepLosses` + training/optimizers.ts `SgdMomentum`, on the auto backend) and in
 * PyTorch, again interleaved in turns, after each engine has trained back to back for `--train-warmup-s` seconds (the
 * steady state a training run sees; V8 is still optimising the step's JS in a fresh process). Before timing, both
 * networks answer the same crops and the bench prints the max relative difference of the response maps (the same
 * computation, not just the same name).
 *
 * When no Python with torch is found it says so and exits 0.
 *
 *   npm run bench:peer -- [--variants alexnet,siamfc] [--rounds 10] [--block 10] [--train-steps 3] [--train-turn 3] [--train-warmup-s 3]
 *                         [--batch 8] [--threads <cores>] [--malloc keep|default] [--python /usr/bin/python3] [--out reports/engines/peer.json]
 *                         [--md reports/engines/peer.md]
 *   npm run bench:peer -- --render reports/engines/peer.json reports/engines/peer.md   (markdown from a saved result)
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tf } from '../tracker/tf.js';
import { initBackend } from '../tracker/node/backend.js';
import { setNativeThreads } from '../tracker/node/native-backend.js';
import { loadTracker } from '../tracker/node/load-tracker.js';
import { alexnetSpec } from '../tracker/backbone-spec.js';
import { Backbone } from '../tracker/backbones.js';
import { SiamFCNet, SiamFCTracker } from '../tracker/siamfc.js';
import { SiamFCConfig } from '../tracker/siamfc/config.js';
import { TfjsEngine, type SiamFCEngine } from '../tracker/engine/engine.js';
import { cropPatchesInto } from '../tracker/engine/crop.js';
import { loadOrt } from '../tracker/node/onnx/ort.js';
import { onnxEngineFor } from '../tracker/node/native-net-engine.js';
import { trainingGeometry, trainingLabels } from '../training/labels.js';
import { stepLosses } from '../training/objective.js';
import { SgdMomentum } from '../training/optimizers.js';
import { Rng } from '../training/rng.js';
import { benchFrames } from './bench-frames.js';
import { exportPeerWeights, writePeerWeights } from './peer/peer-weights.js';
import {
  findTorch, maxRelativeError, parsePeerArgs, peerMarkdown, PEER_ENGINES, PEER_MALLOC_ENV, PEER_PIN_ENV, roundOrder, stats, torchMissingMessage,
  type PeerEngine, type PeerResult, type PeerVariant, type TrackRow, type TrainRow,
} from './peer/bench-peer-lib.js';

const SELF = fileURLToPath(import.meta.url);
const PEER_SCRIPT = path.join(path.dirname(SELF), 'peer', 'siamfc_torch.py');
/** The bench sequence: frames of scripts/bench-frames.ts, the target box of bench:engines. */
const FRAMES = 43;
const BOX = { x: 300, y: 150, width: 60, height: 60 };

/** The network of a variant and its tracker hyper-parameters (the same in every process: seeded / shipped). */
async function loadVariant(variant: PeerVariant): Promise<{ net: SiamFCNet; config: SiamFCConfig; dispose: () => void }> {
  if (variant === 'alexnet') {
    const net = new SiamFCNet(new Backbone(alexnetSpec(), 1));
    return { net, config: SiamFCConfig.parse({}), dispose: () => net.dispose() };
  }
  const l = await loadTracker(variant);
  return { net: l.net, config: SiamFCConfig.parse(l.manifest?.tracker ?? {}), dispose: () => l.dispose() };
}

function memoryMb(): { rssMb: number; peakMb: number } {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)\\s+kB`, 'm').exec(s)?.[1] ?? 0) / 1024;
  return { rssMb: kb('VmRSS'), peakMb: kb('VmHWM') };
}

/** A raw little-endian float32 file (a copy: a Buffer may sit at any offset of a shared pool). */
function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

// ---------------------------------------------------------------------------------------------------------------
// Node worker: the onnx or tfjs engine, answering the same JSON-line commands as the Python peer.

type Command = { cmd: string; [k: string]: unknown };

async function nodeWorker(engineName: 'onnx' | 'tfjs', variant: PeerVariant, threads: number): Promise<void> {
  const backend = await initBackend({ log: () => {} });
  if (backend === 'native-cpu') setNativeThreads(threads);
  const { net, config, dispose } = await loadVariant(variant);
  // what `--engine onnx` builds (the native oneDNN runner where the add-on can run the net, else onnxruntime)
  const engine: SiamFCEngine | null = engineName === 'onnx' ? onnxEngineFor(net, { threads }) : null;
  const description = engine ? engine.description : `tfjs (${backend}, ${threads} threads)`;
  const seq = benchFrames(FRAMES);
  let tracker: SiamFCTracker | null = null;
  let index = 0;
  let train: { step: () => number; responseSize: number } | null = null;
  const send = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
  send({ ok: true, description, backend });
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const c = JSON.parse(line) as Command;
    try {
      if (c.cmd === 'respond') {
        const { exemplarSize: E, instanceSize: X } = net.geometry;
        const eng = engine ?? new TfjsEngine(net);
        const z = eng.exemplar(readF32(c.z as string));
        const x = readF32(c.x as string);
        if (x.length !== (c.k as number) * X * X * 3) throw new Error(`respond: ${x.length} crop values for ${c.k} crops of ${X}²`);
        const r = eng.respond(z, x, c.k as number);
        z.dispose();
        writeFileSync(c.out as string, Buffer.from(r.buffer.slice(r.byteOffset, r.byteOffset + r.byteLength)));
        send({ ok: true, exemplarSize: E });
      } else if (c.cmd === 'track') {
        tracker ??= new SiamFCTracker(net, config, variant, engine ?? undefined);
        const times: number[] = [];
        for (let i = 0; i < (c.n as number); i++) {
          if (index === 0 || index >= seq.length) {
            tracker.init(seq[0], BOX); // (re)start the sequence, not timed
            index = 1;
          }
          const t0 = performance.now();
          tracker.update(seq[index++]);
          times.push(performance.now() - t0);
        }
        send({ ok: true, times, scales: tracker.config.scaleNum });
      } else if (c.cmd === 'train') {
        train ??= await trainStep(variant, c.batch as number);
        const times: number[] = [];
        let loss = NaN;
        for (let i = 0; i < (c.n as number); i++) {
          const t0 = performance.now();
          loss = train.step();
          times.push(performance.now() - t0);
        }
        send({ ok: true, times, loss, responseSize: train.responseSize });
      } else if (c.cmd === 'rss') {
        send({ ok: true, ...memoryMb() });
      } else if (c.cmd === 'quit') {
        tracker?.dispose();
        engine?.dispose();
        dispose();
        send({ ok: true });
        return;
      } else {
        send({ ok: false, error: `unknown command "${c.cmd}"` });
      }
    } catch (e) {
      send({ ok: false, error: String((e as Error).stack ?? e) });
    }
  }
}

/**
 * One training step as training/train-tracker.ts runs it (variableGrads over stepLosses, our SGD with momentum 0.9 and
 * weight decay 5e-4), on random crops of the training geometry (search X − 2·stride), on a separate copy of the net.
 */
async function trainStep(variant: PeerVariant, batch: number): Promise<{ step: () => number; responseSize: number }> {
  const { net } = await loadVariant(variant);
  const spec = net.backbone.spec;
  const g = trainingGeometry(spec);
  const labels = trainingLabels(spec);
  const vars = net.backbone.trainableVariables();
  const opt = new SgdMomentum(vars, 0.9, 5e-4);
  const z = tf.randomUniform([batch, g.exemplarSize, g.exemplarSize, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
  const x = tf.randomUniform([batch, g.searchSize, g.searchSize, 3], 0, 255, 'float32', 2) as tf.Tensor4D;
  const rng = new Rng(1);
  return {
    responseSize: g.responseSize,
    step: () => tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => stepLosses(net, z, x, labels, [], 0, rng).total, vars);
      opt.apply(vars.map((v) => grads[v.name] ?? tf.zerosLike(v)), 1e-3);
      return value.dataSync()[0];
    }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The parent: workers, interleaving, parity, the tables.

class Worker {
  private readonly waiting: ((v: Record<string, unknown>) => void)[] = [];
  private stderr = '';
  readonly ready: Promise<Record<string, unknown>>;

  constructor(readonly engine: PeerEngine, private readonly proc: ChildProcessWithoutNullStreams) {
    proc.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    createInterface({ input: proc.stdout }).on('line', (l) => {
      if (!l.startsWith('{')) return;
      this.waiting.shift()?.(JSON.parse(l) as Record<string, unknown>);
    });
    this.ready = new Promise((resolve, reject) => {
      this.waiting.push(resolve);
      proc.on('exit', (code) => {
        for (const w of this.waiting.splice(0)) w({ ok: false, error: `${engine} worker exited (${code}): ${this.stderr.trim().split('\n').slice(-4).join(' | ')}` });
        reject(new Error(`${engine} worker exited (${code})`));
      });
    });
    this.ready.catch(() => {});
  }

  async request(c: Command): Promise<Record<string, unknown>> {
    const p = new Promise<Record<string, unknown>>((resolve) => this.waiting.push(resolve));
    this.proc.stdin.write(JSON.stringify(c) + '\n');
    const r = await p;
    if (!r.ok) throw new Error(`${this.engine}: ${String(r.error)}`);
    return r;
  }

  async quit(): Promise<void> {
    await this.request({ cmd: 'quit' }).catch(() => {});
    this.proc.stdin.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function benchPeer(argv: string[]): Promise<void> {
  const cores = availableParallelism();
  const opts = parsePeerArgs(argv, cores, process.env);
  const probe = findTorch(opts.python);
  if (!probe.ok) {
    console.log(torchMissingMessage(probe.reason));
    return;
  }
  const ort = loadOrt();
  const engines = PEER_ENGINES.filter((e) => e !== 'onnx' || ort.ok);
  if (!ort.ok) console.log(`[bench:peer] onnx engine skipped: ${ort.reason}`);
  const command = `npm run bench:peer${argv.length ? ' -- ' + argv.join(' ') : ''}`;
  const before = loadavg();
  const during: number[] = [before[0]];
  console.log(`[bench:peer] ${cores} cores (${cpus()[0]?.model}); load average ${before.map((l) => l.toFixed(2)).join(' ')} ` +
    '(a shared machine: other jobs slow every engine; they run interleaved so that the ratios stay comparable)');
  console.log(`[bench:peer] torch ${probe.torch} (${probe.python}), numpy ${probe.numpy}; threads = ${opts.threads} for every engine`);
  const dir = mkdtempSync(path.join(tmpdir(), 'rot-bench-peer-'));
  const seq = benchFrames(FRAMES);
  const framesFile = path.join(dir, 'frames.u8');
  writeFileSync(framesFile, Buffer.concat(seq.map((f) => Buffer.from(f.data))));
  const track: TrackRow[] = [];
  const train: TrainRow[] = [];
  const parity: PeerResult['parity'] = [];
  const threads: Record<string, string> = {};
  let torchVersion = probe.torch;
  try {
    for (const variant of opts.variants) {
      await tf.setBackend('cpu'); // the parent only exports weights and crops (not timed)
      const { net, config, dispose } = await loadVariant(variant);
      const weights = writePeerWeights(path.join(dir, variant), exportPeerWeights(net, config, variant));
      const { exemplarSize: E, instanceSize: X } = net.geometry;
      const trainCrops = (() => { const g = trainingGeometry(net.backbone.spec); return `${g.exemplarSize}/${g.searchSize}`; })();
      // the parity crops: our own JS crops of the first frame, exemplar + 3 scales
      const avg = new Float32Array([100, 80, 155]);
      const zc = new Float32Array(E * E * 3);
      const xc = new Float32Array(3 * X * X * 3);
      const size = Math.sqrt((60 + 60) * (60 + 60));
      cropPatchesInto(zc, seq[0].data, seq[0].height, seq[0].width, avg, [{ cx: 329.5, cy: 179.5, size }], E);
      cropPatchesInto(xc, seq[0].data, seq[0].height, seq[0].width, avg,
        [0.96, 1, 1.04].map((s) => ({ cx: 329.5, cy: 179.5, size: (size * X * s) / E })), X);
      dispose();
      writeFileSync(path.join(dir, 'z.f32'), zc);
      writeFileSync(path.join(dir, 'x.f32'), xc);

      const workers = new Map<PeerEngine, Worker>();
      const env = opts.malloc === 'keep' ? { ...process.env, ...PEER_MALLOC_ENV } : process.env;
      const envOf = (e: PeerEngine) => (opts.pin ? { ...env, ...PEER_PIN_ENV[e === 'torch' ? 'torch' : 'node'] } : env);
      for (const e of engines) {
        const proc = e === 'torch'
          ? spawn(probe.python, [PEER_SCRIPT, '--weights', weights, '--threads', String(opts.threads)], { env: envOf(e) })
          : spawn(process.execPath, ['--import', 'tsx', SELF, '--worker', `${e},${variant}`, '--threads', String(opts.threads)], { env: envOf(e) });
        workers.set(e, new Worker(e, proc));
      }
      const desc = new Map<PeerEngine, string>();
      for (const [e, w] of workers) {
        const r = await w.ready;
        if (e === 'torch') {
          torchVersion = String(r.torch);
          desc.set(e, `PyTorch ${r.torch} (CPU, ${r.threads} threads)`);
          threads.torch = `torch.get_num_threads() = ${r.threads}`;
        } else {
          desc.set(e, String(r.description));
          threads[e] = e === 'onnx' ? `${opts.threads} intra-op` : `${r.backend}, ${opts.threads} BLAS threads`;
        }
      }
      try {
        // the same computation: responses of the same crops
        const resp: Partial<Record<PeerEngine, Float32Array>> = {};
        for (const [e, w] of workers) {
          const out = path.join(dir, `r-${e}.f32`);
          await w.request({ cmd: 'respond', z: path.join(dir, 'z.f32'), x: path.join(dir, 'x.f32'), k: 3, out });
          resp[e] = readF32(out);
        }
        for (const ours of ['tfjs', 'onnx'] as const) {
          if (!resp[ours] || !resp.torch) continue;
          const err = maxRelativeError(resp.torch, resp[ours]!);
          parity.push({ variant, vs: ours, maxRelErr: err });
          console.log(`[bench:peer] ${variant}: response maps (3 × ${Math.round(Math.sqrt(resp[ours]!.length / 3))}²) torch vs ${ours}: max |Δ| / max |${ours}| = ${err.toExponential(2)}`);
        }
        // tracking, interleaved
        const times = new Map<PeerEngine, number[]>(engines.map((e) => [e, []]));
        let scales = 3;
        for (const w of workers.values()) await w.request({ cmd: 'track', frames: framesFile, count: FRAMES, width: seq[0].width, height: seq[0].height, box: [BOX.x, BOX.y, BOX.width, BOX.height], n: 3 });
        for (let r = 0; r < opts.rounds; r++) {
          for (const e of roundOrder(engines, r)) {
            await sleep(opts.gapMs);
            const res = await workers.get(e)!.request({ cmd: 'track', n: opts.block });
            times.get(e)!.push(...(res.times as number[]));
            if (res.scales) scales = res.scales as number;
          }
          during.push(loadavg()[0]);
        }
        for (const [e, w] of workers) {
          const m = await w.request({ cmd: 'rss' });
          const s = stats(times.get(e)!);
          const row: TrackRow = {
            variant, engine: e, description: desc.get(e)!, crops: `${E}/${X}`, scales, frames: s.n, fps: 1000 / s.mean,
            fpsP50: 1000 / s.p50, fpsP95: 1000 / s.p95, msP50: s.p50, msP95: s.p95, rssMb: m.rssMb as number, peakMb: m.peakMb as number,
            times: times.get(e)!.map((t) => Math.round(t * 1000) / 1000),
          };
          track.push(row);
          console.log(`  ${variant.padEnd(8)} ${row.description.padEnd(40)} ${row.fps.toFixed(1).padStart(6)} fps  p50 ${row.msP50.toFixed(1)} ms  ` +
            `p95 ${row.msP95.toFixed(1)} ms  RSS ${row.rssMb.toFixed(0)} MB (peak ${row.peakMb.toFixed(0)})`);
        }
        // training, interleaved in turns of back-to-back steps (onnx has no training). A training run steps without
        // pauses; the first step of each turn, after the pause between engines, is not counted: it measured 4–6 ms
        // slower on both engines at 1 thread and ~20 ms slower on ours at 2 (its threads wake from idle), which
        // timing lone steps between pauses charged to every step.
        if (opts.trainSteps > 0) {
          const trainers = (['tfjs', 'torch'] as const).filter((e) => workers.has(e));
          const steps = new Map<PeerEngine, number[]>(trainers.map((e) => [e, []]));
          // warm-up: each engine steps back to back for opts.trainWarmupS (at least one step), in requests sized from
          // the last step's time so that the IPC round trips do not pause it
          const warmups = new Map<PeerEngine, number[]>(trainers.map((e) => [e, []]));
          for (const e of trainers) {
            const done = warmups.get(e)!;
            const t0 = performance.now();
            let n = 1;
            for (;;) {
              const res = await workers.get(e)!.request({ cmd: 'train', batch: opts.batch, n });
              done.push(...(res.times as number[]));
              const left = opts.trainWarmupS * 1000 - (performance.now() - t0);
              if (left <= 0) break;
              n = Math.max(1, Math.min(100, Math.ceil(left / done[done.length - 1])));
            }
          }
          for (let i = 0; i * opts.trainTurn < opts.trainSteps; i++) {
            const n = Math.min(opts.trainTurn, opts.trainSteps - i * opts.trainTurn);
            for (const e of roundOrder(trainers, i)) {
              await sleep(opts.gapMs);
              const res = await workers.get(e)!.request({ cmd: 'train', batch: opts.batch, n: n + 1 });
              steps.get(e)!.push(...(res.times as number[]).slice(1));
            }
            during.push(loadavg()[0]);
          }
          for (const e of trainers) {
            const m = await workers.get(e)!.request({ cmd: 'rss' });
            const s = stats(steps.get(e)!);
            const row: TrainRow = {
              variant, engine: e, description: desc.get(e)!, crops: trainCrops, batch: opts.batch, steps: s.n,
              msP50: s.p50, msMin: s.min, peakMb: m.peakMb as number, times: steps.get(e)!.map((t) => Math.round(t * 100) / 100),
              warmupTimes: warmups.get(e)!.map((t) => Math.round(t * 100) / 100),
            };
            train.push(row);
            console.log(`  ${variant.padEnd(8)} training step b${opts.batch} ${trainCrops} ${row.description.padEnd(36)} ${row.msP50.toFixed(0).padStart(6)} ms p50 ` +
              `(best ${row.msMin.toFixed(0)})  peak RSS ${row.peakMb.toFixed(0)} MB`);
          }
        }
      } finally {
        for (const w of workers.values()) await w.quit();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const after = loadavg();
  during.push(after[0]);
  const result: PeerResult = {
    date: new Date().toISOString(), cores, cpu: cpus()[0]?.model ?? '?', node: process.version, torch: torchVersion, python: probe.python,
    threads, loadavg: { before, after, duringMean1m: during.reduce((a, b) => a + b, 0) / during.length },
    options: { variants: opts.variants, rounds: opts.rounds, block: opts.block, trainSteps: opts.trainSteps, trainTurn: opts.trainTurn, trainWarmupS: opts.trainWarmupS, batch: opts.batch, threads: opts.threads, gapMs: opts.gapMs, malloc: opts.malloc, pin: opts.pin },
    parity, track, train, command,
  };
  const md = peerMarkdown(result);
  console.log('\n' + md);
  for (const [file, text] of [[opts.out, JSON.stringify(result, null, 2) + '\n'], [opts.md, md]]) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    console.log(`[bench:peer] wrote ${file}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const argv = process.argv.slice(2);
  const wi = argv.indexOf('--worker');
  if (argv[0] === '--render') {
    // markdown from a saved result, no measuring: --render peer.json out.md
    writeFileSync(argv[2], peerMarkdown(JSON.parse(readFileSync(argv[1], 'utf8')) as PeerResult));
    console.log(`[bench:peer] wrote ${argv[2]} from ${argv[1]}`);
  } else if (wi >= 0) {
    const [engine, variant] = argv[wi + 1].split(',');
    const ti = argv.indexOf('--threads');
    await nodeWorker(engine as 'onnx' | 'tfjs', variant as PeerVariant, ti >= 0 ? Number(argv[ti + 1]) : availableParallelism());
  } else {
    await benchPeer(argv);
  }
}
