/**
 * `npm run eval -- --trackers <a,b> --otb <root> [--deltas 0,0.5,1] --out <dir>`: the OTB one-pass evaluation of
 * named trackers (or model paths) over an OTB-layout dataset (rotated on the fly into Rot-OTB at each Δ) or a GOT-10k
 * split, then a report per benchmark and a robustness report (success AUC against Δ). Resumable: run it again after
 * an interruption and finished sequences are not redone.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { z } from 'zod';
import { DatasetRef, openDataset } from '../datasets.js';
import { runOpe, type OpeProgress } from '../ope.js';
import { evaluateResultFiles } from '../results.js';
import { writeReport, type TrackerMeta } from '../report.js';
import type { TrackerEvaluation } from '../metrics.js';
import { loadTracker } from '../../tracker/node/load-tracker.js';
import { initBackend, type BackendRequest } from '../../tracker/node/backend.js';
import { chooseEngine } from '../../tracker/node/onnx/choose-engine.js';
import { availableParallelism } from 'node:os';
import { channelsPercent, trackerEquivariance } from '../tracker-equivariance.js';
import { trainedOn } from '../training-overlap.js';
import { trackerIntervals } from '../bootstrap.js';
import { splitSequences } from '../../data/split.js';

const USAGE = `Usage: npm run eval -- --trackers <names|paths> (--otb <root> | --got10k <root> [--split val]) --out <dir> [options]

Runs each tracker over each sequence (OTB one-pass evaluation), writes result files in the got10k toolkit layout
(<out>/results/<benchmark>/<tracker>/<seq>.txt + times/), and reports with plots (<out>/report-<benchmark>/).

  --trackers a,b       template-matching, a shipped model (tracker/models/<name>), or a path to a model folder
  --otb <root>         OTB-layout root (e.g. ../shared/data/otb-mini)
  --got10k <root>      GOT-10k root (with --split val|test|train)
  --deltas 0,0.5,1     Rot-OTB rotation rates in °/frame (one benchmark each, RotOTB-d<Δ>); omit for the plain dataset
  --sequences s1,s2    only these sequences
  --split-file <f>     only the 'test' sequences of each --otb root in this split file (data/splits/real-sequences.json)
                       --otb may name several roots, comma-separated: they are evaluated as one benchmark
                       A model whose manifest lists an evaluated sequence as training data is refused.
  --out <dir>          output folder (default runs/eval)
  --workers N          worker threads (default: one per core; 0 = in this thread)
  --backend NAME       tfjs backend of the workers (auto, tensorflow, native-cpu, wasm, cpu)
  --engine NAME        inference engine: auto (default: onnxruntime-node when it loads, else tfjs), onnx, tfjs;
                       also ROT_TRACK_ENGINE. With N workers each onnx session gets cores/N threads
  --no-png             SVG plots only
  --help               this text
`;

const Args = z
  .object({
    trackers: z.string().min(1, '--trackers is required'),
    otb: z.string().optional(),
    got10k: z.string().optional(),
    split: z.enum(['train', 'val', 'test']).default('val'),
    deltas: z.string().optional(),
    sequences: z.string().optional(),
    'split-file': z.string().optional(),
    out: z.string().default('runs/eval'),
    workers: z.coerce.number().int().min(0).optional(),
    backend: z.string().default('auto'),
    engine: z.enum(['auto', 'tfjs', 'onnx']).optional(),
    png: z.boolean().default(true),
  })
  .refine((a) => Boolean(a.otb) !== Boolean(a.got10k), { message: 'give exactly one of --otb or --got10k' });

function fail(msg: string, code = 2): never {
  console.error(`eval: ${msg}`);
  if (code === 2) console.error('run with --help for usage');
  process.exit(code);
}

function parse(): z.infer<typeof Args> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      options: {
        trackers: { type: 'string' }, otb: { type: 'string' }, got10k: { type: 'string' }, split: { type: 'string' },
        deltas: { type: 'string' }, sequences: { type: 'string' }, 'split-file': { type: 'string' }, out: { type: 'string' }, workers: { type: 'string' },
        backend: { type: 'string' }, engine: { type: 'string' }, 'no-png': { type: 'boolean' }, help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const r = Args.safeParse({ ...values, png: !values['no-png'] });
  if (!r.success) fail(r.error.issues.map((i) => `${i.path.join('.') ? `--${i.path.join('.')}: ` : ''}${i.message}`).join('; '));
  return r.data;
}

let lastLine = 0;
function progressLine(p: OpeProgress): void {
  const eta = p.etaSeconds === null ? '?' : `${Math.round(p.etaSeconds)}s`;
  const text = `[eval] sequences ${p.sequencesDone}/${p.sequencesTotal} (${p.skipped} already done) · ` +
    `${p.frames} frames · ${p.framesPerSecond.toFixed(1)} frames/s · ETA ${eta}`;
  if (process.stderr.isTTY) {
    process.stderr.write(`\r${text}   `);
  } else if (p.last || performance.now() - lastLine > 5000) {
    // logs and pipes get a line every few seconds, not a carriage-return animation
    lastLine = performance.now();
    process.stderr.write(`${text}\n`);
  }
}

async function main(): Promise<void> {
  const a = parse();
  const deltas = a.deltas === undefined ? [undefined] : a.deltas.split(',').map((d) => {
    const v = Number(d);
    if (!Number.isFinite(v) || v < 0) fail(`--deltas: "${d}" is not a non-negative number`);
    return v;
  });
  const trackers = a.trackers.split(',').map((s) => s.trim()).filter(Boolean);
  // this thread only loads models to read their sizes; the workers track (each picks the same backend)
  const backendName = await initBackend({ backend: a.backend as BackendRequest }).catch((e: Error) => fail(e.message, 1));
  // the engine of the workers: each onnx session gets cores / workers intra-op threads
  const cores = availableParallelism();
  const nWorkers = a.workers ?? cores;
  const engineThreads = nWorkers > 0 ? Math.max(1, Math.floor(cores / nWorkers)) : cores;
  let engine: ReturnType<typeof chooseEngine>;
  try {
    engine = chooseEngine({
      engine: a.engine, threads: engineThreads, tfjsBackend: backendName,
      note: nWorkers > 1 ? `per worker × ${nWorkers} workers` : undefined,
    });
  } catch (e) {
    fail((e as Error).message, 1);
  }
  const roots = (a.otb ?? a.got10k ?? '').split(',').map((r) => r.trim()).filter(Boolean);
  const root: string | string[] = roots.length === 1 ? roots[0] : roots;
  let sequences = a.sequences?.split(',').map((s) => s.trim());
  if (a['split-file']) {
    if (!a.otb) fail('--split-file: only with --otb roots', 2);
    try {
      const fromSplit = roots.flatMap((r) => splitSequences(a['split-file']!, r, 'test', openDataset(DatasetRef.parse({ layout: 'otb', root: r })).names()));
      sequences = sequences ? sequences.filter((s) => fromSplit.includes(s)) : fromSplit;
    } catch (e) {
      fail((e as Error).message, 1);
    }
    if (!sequences.length) fail(`--split-file: no test sequence of ${roots.join(', ')} is left to evaluate`, 1);
  }
  const meta: Record<string, TrackerMeta> = {};
  // Sizes, channel share and the per-layer equivariance error L_G of every grouped backbone, on first-frame exemplar
  // crops of the (unrotated) evaluation sequences.
  const lgRef = DatasetRef.parse({ layout: a.otb ? 'otb' : 'got10k', root, split: a.split, sequences });
  let lgData: ReturnType<typeof openDataset>;
  try {
    lgData = openDataset(lgRef);
  } catch (e) {
    fail((e as Error).message, 1);
  }
  for (const t of trackers) {
    const loaded = await loadTracker(t).catch((e: Error) => fail(e.message, 1));
    const seen = trainedOn(loaded.manifest, lgData.names());
    if (seen.length) {
      loaded.dispose();
      fail(`${t}: refused — its manifest lists ${seen.join(', ')} as training data (provenance.data); ` +
        'evaluate it on sequences it did not train on (e.g. --split-file data/splits/real-sequences.json)', 1);
    }
    const lg = await trackerEquivariance(loaded.net.backbone, lgData);
    meta[loaded.name] = {
      params: loaded.net.backbone.parameterCount(),
      channelsPercent: channelsPercent(loaded.net.backbone),
      backend: engine.engine === 'onnx' ? `onnxruntime (${engineThreads} thread${engineThreads === 1 ? '' : 's'})` : `tfjs ${backendName}`,
      ...(lg ? { equivarianceError: lg.perLayer, equivarianceErrorNormalised: lg.normalised, layerNames: lg.layerNames } : {}),
    };
    loaded.dispose();
  }
  const robustness = new Map<string, { delta: number; successAuc: number; lo: number; hi: number; precision: number }[]>();
  for (const delta of deltas) {
    const ref = DatasetRef.parse({ layout: a.otb ? 'otb' : 'got10k', root, split: a.split, delta, sequences });
    let benchmark: string;
    try {
      benchmark = openDataset(ref).name;
    } catch (e) {
      fail((e as Error).message, 1);
    }
    const resultsRoot = path.join(a.out, 'results');
    console.error(`[eval] ${benchmark}: ${trackers.join(', ')}`);
    const res = await runOpe({ trackers, dataset: ref, resultsRoot, workers: a.workers, backend: a.backend,
      engine: engine.engine, engineThreads, engineAuto: engine.auto, onProgress: progressLine });
    if (process.stderr.isTTY) process.stderr.write('\n');
    for (const f of res.failed) console.error(`[eval] FAILED ${f.tracker}/${f.seq}: ${f.error}`);
    const ds = openDataset(ref);
    const gt = new Map<string, import('../../tracker/geometry.js').Box[]>();
    for (const n of ds.names()) gt.set(n, (await ds.sequence(n)).groundTruth);
    const evaluations: TrackerEvaluation[] = await evaluateResultFiles(resultsRoot, benchmark, res.trackerNames, gt, {
      skipMissing: res.failed.length > 0,
      warn: (m) => console.error(`[eval] warning: ${m}`),
    });
    const outDir = path.join(a.out, `report-${benchmark}`);
    await writeReport({ benchmark, evaluations, meta }, outDir, { png: a.png });
    for (const e of evaluations) {
      console.log(`${benchmark}\t${e.tracker}\tsuccess AUC ${e.overall.successAuc.toFixed(3)}\tprecision@20 ${e.overall.precision.toFixed(3)}\tfps ${e.overall.fps?.toFixed(1) ?? '—'}`);
      if (delta !== undefined) {
        const pts = robustness.get(e.tracker) ?? [];
        const ci = trackerIntervals(e).successAuc;
        pts.push({ delta, successAuc: e.overall.successAuc, lo: ci.lo, hi: ci.hi, precision: e.overall.precision });
        robustness.set(e.tracker, pts);
      }
    }
    console.error(`[eval] report: ${outDir}/report.md`);
    if (res.failed.length) process.exitCode = 1;
  }
  if (deltas.length > 1) {
    // the robustness report: success AUC against Δ over the sweep
    const { writeFile, mkdir } = await import('node:fs/promises');
    const { robustnessPlotSvg, writePlot } = await import('../plots.js');
    const series = [...robustness.entries()].map(([tracker, points]) => ({ tracker, points }));
    const dir = path.join(a.out, 'robustness');
    await mkdir(dir, { recursive: true });
    await writePlot(robustnessPlotSvg(series), path.join(dir, 'robustness'), a.png);
    await writeFile(path.join(dir, 'robustness.json'), JSON.stringify(series, null, 2) + '\n');
    const rows = series.map((s) => `| ${s.tracker} | ${s.points.map((p) => `${p.successAuc.toFixed(3)} [${p.lo.toFixed(3)}, ${p.hi.toFixed(3)}] · ${p.precision.toFixed(3)}`).join(' | ')} |`);
    const head = `| tracker | ${deltas.map((d) => `Δ=${d}°/frame`).join(' | ')} |\n|---|${deltas.map(() => '---').join('|')}|`;
    await writeFile(path.join(dir, 'robustness.md'), '# Success AUC against rotation rate\n\n' +
      'Each cell: success AUC [95% bootstrap interval over sequences] · precision@20px.\n\n' +
      `${head}\n${rows.join('\n')}\n\n![robustness](robustness.${a.png ? 'png' : 'svg'})\n`);
    console.error(`[eval] robustness: ${dir}/robustness.md`);
  }
}

main().catch((e: Error) => fail(e.message, 1));
