/**
 * The pure parts of `npm run bench:peer` (scripts/bench-peer.ts): its arguments, finding a Python with torch, the
 * interleaving order, the statistics, and the markdown table. No tfjs, no onnxruntime: tested offline.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

/** Variants the bench knows: the paper-size AlexNet SiamFC (random weights) and the shipped CPU-scale model. */
export const PEER_VARIANTS = ['alexnet', 'siamfc'] as const;
export type PeerVariant = (typeof PEER_VARIANTS)[number];
/** The engines, in the order of the first round. */
export const PEER_ENGINES = ['onnx', 'tfjs', 'torch'] as const;
export type PeerEngine = (typeof PEER_ENGINES)[number];

/** Options of a bench run. */
export interface PeerOptions {
  variants: PeerVariant[];
  /** Rounds of tracking blocks: every round runs a block on each engine, in a rotated order. Default 10 (100 frames per
   *  engine): with 4 rounds (40 frames, before session 14) two slow frames of one engine moved its mean fps by a quarter
   *  (reports/engines/README.md, session 13, r3). */
  rounds: number;
  /** Frames per block. */
  block: number;
  /** Timed training steps per engine (after the warm-up), interleaved in turns of `trainTurn`; 0 = no training. */
  trainSteps: number;
  /** Seconds each engine trains back to back before the timed steps (at least one step; 0: one step, as before
   *  session 16). A training run's rate is its steady state: a fresh node process's CPU-scale step ran at a median of
   *  26.5–27.4 ms over its first 50 steps and 21.6–23.3 ms over every later block of 50 (V8 still optimising the step's
   *  JS, 148 functions compiled in the first 50 steps, 6–8 per 50 after step 300), which a one-step warm-up timed. */
  trainWarmupS: number;
  /** Timed training steps per engine per turn, back to back (plus one uncounted step after the pause). */
  trainTurn: number;
  batch: number;
  /** Threads of every engine (torch.set_num_threads, onnxruntime intra-op, the native BLAS). */
  threads: number;
  /** Pause between blocks so that one engine's spinning threads have stopped before the next engine runs. */
  gapMs: number;
  /** glibc malloc of every engine process: `keep` fixes its mmap and trim thresholds high (PEER_MALLOC_ENV), `default`
   *  leaves glibc's dynamic thresholds. */
  malloc: 'keep' | 'default';
  /** Pin every engine's threads to CPUs (PEER_PIN_ENV: ours ROT_TRACK_PIN=all, PyTorch's OpenMP OMP_PROC_BIND). */
  pin: boolean;
  /** Python interpreters to try, in order. */
  python: string[];
  out: string;
  md: string;
}

/**
 * The environment `--malloc keep` gives every engine process, ours and PyTorch's alike. With glibc's dynamic thresholds
 * PyTorch's CPU-scale frame at 2 threads was either 5.4–7 ms or 14–20 ms on this machine, depending on the process's
 * allocation history: once a large block had been freed back to the system, every large tensor of a frame came from a
 * fresh mmap again (page faults). The bench's own parity step put it in the slow state (5.6 → 15.0 ms p50 after one
 * forward pass of the parity crops), which had inflated the CPU-scale ratios. Fixed high thresholds keep freed memory for
 * reuse: PyTorch then ran 5.4–6.8 ms in every run (numbers and commands in reports/engines/README.md, session 11).
 */
export const PEER_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(256 * 2 ** 20),
  MALLOC_TRIM_THRESHOLD_: String(512 * 2 ** 20),
};

/**
 * What `--pin` adds to each engine's environment: every thread pinned to a CPU, each the way its runtime does it — the
 * add-on's pool (tracker/native/src/pool.h: ROT_TRACK_PIN=all, its default) and PyTorch's OpenMP (OMP_PROC_BIND /
 * OMP_PLACES; unpinned by default).
 */
export const PEER_PIN_ENV: Readonly<Record<'node' | 'torch', Readonly<Record<string, string>>>> = {
  node: { ROT_TRACK_PIN: 'all' },
  torch: { OMP_PROC_BIND: 'true', OMP_PLACES: 'cores' },
};

/** Default interpreters: Debian's python3 (where apt's python3-torch lives) before whatever `python3` is on PATH. */
export const DEFAULT_PYTHONS = ['/usr/bin/python3', 'python3'];

/** Parse the bench's command line (argv without node and the script). Throws with the flag named on bad values. */
export function parsePeerArgs(argv: readonly string[], cores: number, env: Readonly<Record<string, string | undefined>> = {}): PeerOptions {
  const { values: a } = parseArgs({
    args: [...argv],
    options: {
      variants: { type: 'string', default: PEER_VARIANTS.join(',') },
      rounds: { type: 'string', default: '10' },
      block: { type: 'string', default: '10' },
      'train-steps': { type: 'string', default: '3' },
      'train-turn': { type: 'string', default: '3' },
      'train-warmup-s': { type: 'string', default: '3' },
      batch: { type: 'string', default: '8' },
      threads: { type: 'string', default: String(cores) },
      'gap-ms': { type: 'string', default: '200' },
      malloc: { type: 'string', default: 'keep' },
      pin: { type: 'boolean', default: false },
      python: { type: 'string' },
      out: { type: 'string', default: 'reports/engines/peer.json' },
      md: { type: 'string', default: 'reports/engines/peer.md' },
    },
    strict: true,
  });
  const int = (flag: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
  const variants = a.variants!.split(',').map((s) => s.trim()).filter(Boolean);
  for (const v of variants) {
    if (!(PEER_VARIANTS as readonly string[]).includes(v)) throw new Error(`--variants: unknown "${v}" (known: ${PEER_VARIANTS.join(', ')})`);
  }
  if (!variants.length) throw new Error('--variants: none given');
  const python = a.python ?? env.PEER_PYTHON;
  const warmup = Number(a['train-warmup-s']);
  if (!(a['train-warmup-s']!.trim() !== '' && Number.isFinite(warmup) && warmup >= 0)) throw new Error(`--train-warmup-s must be a number of seconds ≥ 0, got "${a['train-warmup-s']}"`);
  if (a.malloc !== 'keep' && a.malloc !== 'default') throw new Error(`--malloc must be "keep" or "default", got "${a.malloc}"`);
  return {
    variants: variants as PeerVariant[],
    rounds: int('rounds', a.rounds!, 1),
    block: int('block', a.block!, 1),
    trainSteps: int('train-steps', a['train-steps']!, 0),
    trainTurn: int('train-turn', a['train-turn']!, 1),
    trainWarmupS: warmup,
    batch: int('batch', a.batch!, 1),
    threads: int('threads', a.threads!, 1),
    gapMs: int('gap-ms', a['gap-ms']!, 0),
    malloc: a.malloc,
    pin: a.pin!,
    python: python ? [python] : DEFAULT_PYTHONS,
    out: a.out!,
    md: a.md!,
  };
}

/** A Python with torch and numpy, or why none was found (one reason per interpreter tried). */
export type TorchProbe = { ok: true; python: string; torch: string; numpy: string } | { ok: false; reason: string };

/** Try each interpreter: `import torch, numpy`. Never throws. */
export function findTorch(pythons: readonly string[]): TorchProbe {
  const reasons: string[] = [];
  for (const py of pythons) {
    const r = spawnSync(py, ['-c', 'import torch, numpy; print(torch.__version__, numpy.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.error) {
      reasons.push(`${py}: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : r.error.message}`);
      continue;
    }
    if (r.status === 0) {
      const [torch, numpy] = r.stdout.trim().split(/\s+/);
      return { ok: true, python: py, torch, numpy };
    }
    const last = (r.stderr || r.stdout).trim().split('\n').pop() ?? `exit ${r.status}`;
    reasons.push(`${py}: ${last}`);
  }
  return { ok: false, reason: reasons.join('; ') };
}

/** The message printed (and the bench's only output) when no Python with torch is found; the bench then exits 0. */
export function torchMissingMessage(reason: string): string {
  return `[bench:peer] PyTorch is not available, so there is nothing to compare against — skipped (exit 0).\n` +
    `[bench:peer] tried: ${reason}\n` +
    `[bench:peer] install Debian's build: apt-get install -y python3-torch (or pass --python /path/to/python with torch, or PEER_PYTHON)`;
}

/** Round `r`'s order of the engines: rotated by r, so that no engine always runs first (right after a pause) or last. */
export function roundOrder<T>(items: readonly T[], r: number): T[] {
  const n = items.length;
  return items.map((_, i) => items[(i + r) % n]);
}

/** Median, nearest-rank quantile, mean and min of a list of ms. */
export function stats(ms: readonly number[]): { p50: number; p95: number; mean: number; min: number; n: number } {
  if (!ms.length) return { p50: NaN, p95: NaN, mean: NaN, min: NaN, n: 0 };
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.round(p * (s.length - 1)))];
  return { p50: q(0.5), p95: q(0.95), mean: s.reduce((a, b) => a + b, 0) / s.length, min: s[0], n: s.length };
}

/** max |a − b| / max |ref| over two equally long arrays (the response maps of two engines); Infinity on a length mismatch. */
export function maxRelativeError(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (a.length !== ref.length) return Infinity;
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - ref[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  return m > 0 ? d / m : d;
}

/** One tracking row of the result. */
export interface TrackRow {
  variant: string; engine: PeerEngine; description: string; crops: string; scales: number;
  frames: number; fps: number; fpsP50: number; fpsP95: number; msP50: number; msP95: number;
  rssMb: number; peakMb: number;
  /** Every timed frame's ms, in the order run (absent in results saved before session 14). */
  times?: number[];
}

/** Frames that took more than twice the median frame: the tail that separates mean fps from fps at p50. */
export function slowFrames(times: readonly number[]): number {
  if (!times.length) return 0;
  const p50 = stats(times).p50;
  return times.filter((t) => t > 2 * p50).length;
}
/** One training row (ms of one batch step). */
export interface TrainRow {
  variant: string; engine: PeerEngine; description: string; crops: string; batch: number; steps: number;
  msP50: number; msMin: number; peakMb: number;
  /** Every counted step's ms, in the order run (absent in results saved before session 14). */
  times?: number[];
  /** The warm-up's steps, run back to back before the timed ones, and their ms (absent before session 16). */
  warmupTimes?: number[];
}
/** The whole result, as written to peer.json. */
export interface PeerResult {
  date: string; cores: number; cpu: string; node: string; torch: string; python: string; threads: Record<string, string>;
  loadavg: { before: number[]; after: number[]; duringMean1m: number };
  /** malloc is absent in results saved before session 11 */
  options: Omit<PeerOptions, 'python' | 'out' | 'md' | 'malloc' | 'pin' | 'trainWarmupS'> & { malloc?: PeerOptions['malloc']; pin?: boolean; trainWarmupS?: number };
  parity: { variant: string; vs: string; maxRelErr: number }[];
  track: TrackRow[]; train: TrainRow[];
  command: string;
}

/** Whether other jobs were loading the machine when the bench started: 1-min load average above half the cores. */
export function underLoad(before: readonly number[], cores: number): boolean {
  return before[0] > cores / 2;
}

const f = (v: number | undefined, d = 1) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

/**
 * Ours / PyTorch ratios: tracking fps (mean over the frames) and the same from the median frame time; training step
 * rate from the median and from the best step (under load a 2-thread OpenMP step can stall on a descheduled thread,
 * so the two can differ a lot).
 */
export function ratios(r: Pick<PeerResult, 'track' | 'train'>): { variant: string; what: string; ratio: number; other: number; otherName: string }[] {
  const out: { variant: string; what: string; ratio: number; other: number; otherName: string }[] = [];
  for (const v of [...new Set(r.track.map((x) => x.variant))]) {
    const torch = r.track.find((x) => x.variant === v && x.engine === 'torch');
    for (const x of r.track.filter((y) => y.variant === v && y.engine !== 'torch')) {
      if (torch) out.push({ variant: v, what: `tracking fps, ${x.engine} / torch`, ratio: x.fps / torch.fps, other: torch.msP50 / x.msP50, otherName: 'p50' });
    }
  }
  for (const v of [...new Set(r.train.map((x) => x.variant))]) {
    const torch = r.train.find((x) => x.variant === v && x.engine === 'torch');
    for (const x of r.train.filter((y) => y.variant === v && y.engine !== 'torch')) {
      if (torch) out.push({ variant: v, what: `training step rate, ${x.engine} / torch`, ratio: torch.msP50 / x.msP50, other: torch.msMin / x.msMin, otherName: 'best steps' });
    }
  }
  return out;
}

/** The markdown of a result (what goes into reports/engines/peer.md and, summarised, the README). */
export function peerMarkdown(r: PeerResult): string {
  const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const loaded = underLoad(r.loadavg.before, r.cores);
  const lines = [
    `Measured ${r.date} on ${r.cores} cores (${r.cpu}), node ${r.node}, torch ${r.torch} (${r.python}). Command: \`${r.command}\`.`,
    `Threads: ${Object.entries(r.threads).map(([k, v]) => `${k} ${v}`).join('; ')}.`,
    `Load average (1/5/15 min) ${la(r.loadavg.before)} before, ${la(r.loadavg.after)} after, 1-min mean during the run ` +
      `${r.loadavg.duringMean1m.toFixed(2)} (the bench's own ${r.options.threads} engine threads count in it)` +
      (loaded ? ` — **taken under load**: other jobs were running (1-min load ${r.loadavg.before[0].toFixed(2)} before the start, over half ` +
        'the cores); absolute numbers are low and tails wide; the engines ran interleaved, so the ratios are the comparable part.'
        : ' — the machine was otherwise quiet at the start.'),
    `Interleaved: ${r.options.rounds} rounds × ${r.options.block} frames per engine (order rotated each round, ` +
      `${r.options.gapMs} ms pause between blocks; glibc malloc ${r.options.malloc === 'keep' ? 'thresholds fixed high in every engine process (--malloc keep)' : r.options.malloc === 'default' ? 'left dynamic (--malloc default)' : 'not set by the bench (before session 11: PyTorch\'s CPU-scale frames may be in their slow state)'}); training ${r.options.trainSteps} timed steps per engine after ${r.options.trainWarmupS === undefined ? 'a warm-up step' : `a warm-up of ${r.options.trainWarmupS} s of back-to-back steps`}, in turns of ${r.options.trainTurn ?? 1} back-to-back steps (${r.options.trainTurn ? 'each turn\'s first, after the pause, not counted' : 'each after the pause'}).` +
      (r.options.pin ? ' Threads pinned to CPUs in every engine (--pin: ROT_TRACK_PIN=all for ours, OMP_PROC_BIND=true and OMP_PLACES=cores for PyTorch).' : ''),
    '',
    `Same computation: responses of the same exemplar + ${'3'} search crops, max |Δ| / max |ours|: ` +
      r.parity.map((p) => `${p.variant} torch vs ${p.vs} ${p.maxRelErr.toExponential(1)}`).join(', ') + '.',
    '',
    '| variant | engine | crops z/x | scales | frames | fps (mean) | fps at p50 / p95 ms | ms p50 | ms p95 | frames > 2× p50 | RSS / peak MB |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.track.map((x) => `| ${x.variant} | ${x.description} | ${x.crops} | ${x.scales} | ${x.frames} | ${f(x.fps)} | ` +
      `${f(x.fpsP50)} / ${f(x.fpsP95)} | ${f(x.msP50)} | ${f(x.msP95)} | ${x.times ? slowFrames(x.times) : '—'} | ${f(x.rssMb, 0)} / ${f(x.peakMb, 0)} |`),
  ];
  if (r.train.length) {
    const warm = (x: TrainRow) => (x.warmupTimes?.length ? `${x.warmupTimes.length} (${f(stats(x.warmupTimes).p50, 0)})` : '—');
    lines.push('', '| variant | training step on | crops z/x (train) | batch | warm-up steps (ms p50) | steps | ms p50 | ms best | peak MB |',
      '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...r.train.map((x) => `| ${x.variant} | ${x.description} | ${x.crops} | ${x.batch} | ${warm(x)} | ${x.steps} | ${f(x.msP50, 0)} | ${f(x.msMin, 0)} | ${f(x.peakMb, 0)} |`));
  }
  const rs = ratios(r);
  if (rs.length) {
    lines.push('', 'Ours / PyTorch (> 1: ours faster): ' +
      rs.map((x) => `${x.variant} ${x.what} **${x.ratio.toFixed(2)}×** (${x.otherName} ${x.other.toFixed(2)}×)`).join('; ') + '.');
  }
  return lines.join('\n') + '\n';
}
