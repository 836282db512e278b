/**
 * `node --import tsx training/cli/eval-classifier.ts --help`: accuracy and per-layer L_G of trained Rot-MNIST
 * classifiers; optionally writes the report (eval/classifier-report.ts) and exports small models for the demo.
 * Exit codes: 0 done, 1 error, 2 bad usage.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../../tracker/node/backend.js';
import { loadClassifier, saveClassifier } from '../../tracker/node/classifier-files.js';
import { DIGIT_DATASETS } from '../../data/mnist.js';
import {
  CLASSIFIER_DATASETS, type ClassifierDataset, type ClassifierEvalResult, evaluateClassifier, writeClassifierReport,
} from '../../eval/classifier-report.js';
import { readReference, sortBySeedGroup } from '../../eval/classifier-seeds.js';

const HELP = `Evaluate Rot-MNIST / Scale-MNIST classifiers: test accuracy and the per-layer equivariance error L_G.

Usage: node --import tsx training/cli/eval-classifier.ts --model [<name>=]<dir> [--model ...] [options]

  --model [name=]dir     a model folder (model.json + weights.bin) or a training output folder (uses <dir>/model);
                         repeat for several models (the report keeps this order)
  --test-size <n>        accuracy on the first n of the 50k test digits (default 10000)
  --lg-count <n>         L_G on the first n test digits (default 200), rotations 90/180/270 and 45°…315°
  --no-c8                skip the 45° rotations
  --dataset <d>          rot-mnist | scale-mnist | r2-mnist (default rot-mnist); scale-mnist adds L_G for the S4
                         shrinks (2^(-k/3)), r2-mnist for the D4 elements (turns and mirrors); both drop the 45°
                         rotations. A model trained on another dataset is an error
  --data-seed <n>        split/transform seed (default 0, as training)
  --json <file>          write the results as JSON
  --results <f[,f…]>    do not evaluate: read results.json files written before and merge them (to re-render the
                         report; runs evaluated in several processes). A model name in two files is an error
  --report <dir>         write report.md, results.json, lg.svg, lg.png there
  --notes <file.md>      markdown appended to the report (reductions, analysis)
  --commands <file>      shell lines listed in the report as the commands that regenerate it
  --reference <file>     the paper's accuracies per model (JSON, eval/classifier-seeds.ts), shown in the seed summary
  --export <names>       comma-separated model names to save (with their metrics) into --export-dir/<name>
  --export-dir <dir>     default tracker/models/classifiers
  --backend <name>       auto | tensorflow | native-cpu | wasm | cpu
  --help                 this text
`;

class UsageError extends Error {}

function int(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} needs a non-negative integer, got "${v}"`);
  return Number(v);
}

const fmt = (v: number | undefined) => (v === undefined ? '–' : v.toExponential(2));

function printTable(results: ClassifierEvalResult[]): void {
  const w = Math.max(5, ...results.map((r) => r.name.length));
  const out: string[] = [];
  out.push(`${'model'.padEnd(w)}  acc(%)   params  ${Array.from({ length: 6 }, (_, i) => `L_G conv${i + 1}`.padStart(13)).join('')}`);
  for (const r of results) {
    out.push(`${r.name.padEnd(w)}  ${(r.accuracy * 100).toFixed(2).padStart(6)} ${String(r.parameters).padStart(8)}  ` +
      r.lgC4.map((v) => fmt(v).padStart(13)).join(''));
    if (r.lgD4) out.push(`${''.padEnd(w)}  ${'D4:'.padStart(15)}  ${r.lgD4.map((v) => fmt(v).padStart(13)).join('')}`);
    if (r.lgS4) out.push(`${''.padEnd(w)}  ${'S4:'.padStart(15)}  ${r.lgS4.map((v) => fmt(v).padStart(13)).join('')}`);
    if (r.lgC8) out.push(`${''.padEnd(w)}  ${'C8:'.padStart(15)}  ${r.lgC8.map((v) => fmt(v).padStart(13)).join('')}`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

/**
 * The dataset a model folder's training config names (`model.json` provenance.config.data.dataset; models trained
 * before the field existed: rot-mnist). Read before any data is built, so a wrong --dataset fails at once.
 */
async function trainedDataset(dir: string): Promise<string> {
  const file = path.join(dir, 'model.json');
  let manifest: { provenance?: { config?: { data?: { dataset?: unknown } } } };
  try {
    manifest = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read the model manifest (${(e as Error).message})`);
  }
  const d = manifest?.provenance?.config?.data?.dataset;
  return typeof d === 'string' ? d : 'rot-mnist';
}

async function main(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string', multiple: true }, 'test-size': { type: 'string' }, 'lg-count': { type: 'string' },
        'no-c8': { type: 'boolean' }, 'data-seed': { type: 'string' }, dataset: { type: 'string' }, json: { type: 'string' },
        results: { type: 'string' }, report: { type: 'string' }, notes: { type: 'string' },
        commands: { type: 'string' }, reference: { type: 'string' }, export: { type: 'string' }, 'export-dir': { type: 'string' },
        backend: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const s = (k: string) => values[k] as string | undefined;
  const models = ((values.model as string[] | undefined) ?? []).map((m) => {
    const eq = m.indexOf('=');
    const name = eq > 0 ? m.slice(0, eq) : path.basename(m.replace(/[\\/]+$/, ''));
    let dir = eq > 0 ? m.slice(eq + 1) : m;
    if (existsSync(path.join(dir, 'model', 'model.json'))) dir = path.join(dir, 'model');
    return { name, dir };
  });
  if (!models.length && !s('results')) throw new UsageError('give at least one --model (or --results)');
  const testSize = int('test-size', s('test-size'), 10000);
  const lgCount = int('lg-count', s('lg-count'), 200);
  const dataset = (s('dataset') ?? 'rot-mnist') as ClassifierDataset;
  if (!CLASSIFIER_DATASETS.includes(dataset)) throw new UsageError(`--dataset must be one of ${CLASSIFIER_DATASETS.join(', ')}, got "${dataset}"`);

  let results: ClassifierEvalResult[];
  if (s('results')) {
    results = [];
    const from = new Map<string, string>();
    for (const f of s('results')!.split(',').filter(Boolean)) {
      let part: ClassifierEvalResult[];
      try {
        part = (JSON.parse(await readFile(f, 'utf8')) as { results: ClassifierEvalResult[] }).results;
      } catch (e) {
        throw new Error(`${f}: cannot read results (${(e as Error).message})`);
      }
      if (!Array.isArray(part)) throw new Error(`${f}: field "results" must be an array`);
      for (const [i, r] of part.entries()) {
        if (typeof r?.name !== 'string') throw new Error(`${f}: field "results[${i}].name" must be a string`);
        if (from.has(r.name)) throw new Error(`${f}: model "${r.name}" is also in ${from.get(r.name)}`);
        from.set(r.name, f);
        results.push(r);
      }
    }
    results = sortBySeedGroup(results); // runs of one model together, whatever file each came from
  } else {
    for (const { name, dir } of models) {
      const trainedOn = await trainedDataset(dir);
      if (trainedOn !== dataset) {
        throw new Error(`${dir}: model "${name}" was trained on ${trainedOn} (model.json provenance.config.data.dataset), not --dataset ${dataset}`);
      }
    }
    await initBackend({ backend: (s('backend') as never) ?? 'auto' });
    const build = DIGIT_DATASETS[dataset];
    const data = build({ seed: int('data-seed', s('data-seed'), 0) });
    results = [];
    for (const { name, dir } of models) {
      const t0 = Date.now();
      const { model, manifest } = await loadClassifier(dir);
      try {
        const r = await evaluateClassifier(model, name, data.test, { testCount: testSize, lgCount, c8: !values['no-c8'], dataset });
        r.provenance = manifest.provenance;
        results.push(r);
        process.stderr.write(`[eval] ${name}: acc ${(r.accuracy * 100).toFixed(2)}% (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
        const exp = (s('export') ?? '').split(',').filter(Boolean);
        if (exp.includes(name)) {
          const to = path.join(s('export-dir') ?? 'tracker/models/classifiers', name);
          await saveClassifier(to, model, {
            name,
            provenance: manifest.provenance,
            metrics: {
              testAccuracy: r.accuracy, testCount: r.testCount, lgC4: r.lgC4, lgC4Variance: r.lgC4Variance, lgC8: r.lgC8, lgCount: r.lgCount,
              command: ['eval-classifier', ...argv].join(' '),
            },
          });
          process.stderr.write(`[eval] exported ${name} → ${to}\n`);
        }
      } finally {
        model.dispose();
      }
    }
  }
  printTable(results);
  if (s('json')) {
    const { writeFileAtomic } = await import('../../eval/results.js');
    await writeFileAtomic(s('json')!, JSON.stringify({ results }, null, 2) + '\n');
  }
  if (s('report')) {
    const notes = s('notes') ? await readFile(s('notes')!, 'utf8') : undefined;
    const commands = s('commands')
      ? (await readFile(s('commands')!, 'utf8')).split('\n').filter((l) => l.trim() !== '')
      : [`node --import tsx training/cli/eval-classifier.ts ${argv.join(' ')}`];
    const reference = s('reference') ? await readReference(s('reference')!) : undefined;
    const written = await writeClassifierReport(results, s('report')!, { notes, commands, reference });
    process.stderr.write(`[eval] wrote ${written.join(', ')}\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`eval-classifier: ${(err as Error).message}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
