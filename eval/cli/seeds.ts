/**
 * `npm run eval:seeds -- --out <eval dir>[,<eval dir>…] [--pairs a:b,…] [--runs <train dir>] [--json <file>]`: results
 * over training seeds from the report.json files `npm run eval` wrote. Trackers named `<config>-s<seed>` are grouped
 * by config: mean ± sd over seeds of success AUC and precision@20, a 95% bootstrap interval over sequences, per-layer
 * L_G (absolute and ÷ σ²), paired differences between configs, and with `--runs` the last-100-step training losses of
 * each run's log.jsonl (`<train dir>/<config>-s<seed>/log.jsonl`).
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type ReportTracker, pairedConfigs, sampleSd, splitSeed, summariseConfigs } from '../seeds.js';

const USAGE = `Usage: npm run eval:seeds -- --out <eval dir>[,<eval dir>…] [options]

  --out a,b        eval output folders (each with report-<benchmark>/report.json)
  --pairs a:b,…    configs to compare (a − b, paired over sequences, seed-averaged)
  --runs <dir>     training folders <dir>/<config>-s<seed>/log.jsonl: last-100-step mean of each loss term
  --json <file>    also write everything as JSON
  --help           this text`;

function fail(msg: string, code: number): never {
  console.error(`eval:seeds: ${msg}`);
  process.exit(code);
}

let values: { out?: string; pairs?: string; runs?: string; json?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: { out: { type: 'string' }, pairs: { type: 'string' }, runs: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
  }));
} catch (e) {
  fail(`${(e as Error).message}\n${USAGE}`, 2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.out) fail(`--out is required\n${USAGE}`, 2);
const pairs = (values.pairs ?? '').split(',').filter(Boolean).map((p) => p.split(':'));
if (pairs.some((p) => p.length !== 2 || !p[0] || !p[1])) fail(`--pairs: give a:b pairs, got "${values.pairs}"`, 2);

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '—');
const signed = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;
const sci = (v: number) => (Number.isFinite(v) ? v.toExponential(1) : '—');
const json: Record<string, unknown> = {};
// one column per benchmark read (`<eval dir>/<benchmark>`), one row per config: success AUC mean ± sd (seeds)
const matrix = new Map<string, Map<string, string>>();
const columns: string[] = [];

for (const out of values.out.split(',')) {
  if (!existsSync(out)) fail(`${out}: no such folder`, 1);
  const dirs = readdirSync(out).filter((d) => d.startsWith('report-') && existsSync(path.join(out, d, 'report.json'))).sort();
  if (!dirs.length) fail(`${out}: no report-*/report.json (run npm run eval first)`, 1);
  for (const d of dirs) {
    const file = path.join(out, d, 'report.json');
    let report: { benchmark: string; trackers: ReportTracker[] };
    try {
      report = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      fail(`${file}: not valid JSON (${(e as Error).message})`, 1);
    }
    if (!Array.isArray(report.trackers)) fail(`${file}: field "trackers" is missing`, 1);
    const configs = summariseConfigs(report.trackers);
    const column = `${path.basename(path.resolve(out))}/${report.benchmark}`;
    columns.push(column);
    for (const c of configs) {
      const row = matrix.get(c.config) ?? new Map<string, string>();
      row.set(column, `${f3(c.auc.mean)} ± ${f3(c.auc.sd)} (${c.seeds.length})`);
      matrix.set(c.config, row);
    }
    const nSeq = report.trackers[0]?.sequences.length ?? 0;
    console.log(`\n### ${report.benchmark} (${nSeq} sequences; ${file})\n`);
    console.log('| config | seeds | success AUC mean ± sd | [95% interval over sequences] | precision@20 mean ± sd |');
    console.log('|---|---:|---|---|---|');
    for (const c of configs) {
      console.log(`| ${c.config} | ${c.seeds.length} | ${f3(c.auc.mean)} ± ${f3(c.auc.sd)} | [${f3(c.interval.lo)}, ${f3(c.interval.hi)}] | ${f3(c.precision.mean)} ± ${f3(c.precision.sd)} |`);
    }
    const byName = new Map(configs.map((c) => [c.config, c]));
    const diffs = pairs.flatMap(([a, b]) => {
      const ca = byName.get(a);
      const cb = byName.get(b);
      if (!ca || !cb) {
        console.log(`(pair ${a}:${b}: no config ${!ca ? a : b} in ${report.benchmark})`);
        return [];
      }
      const i = pairedConfigs(ca, cb);
      // the gap against the seed spread: the larger of the two configs' sd over seeds
      const spread = Math.max(ca.auc.sd, cb.auc.sd);
      // with one seed on either side the spread is not measured
      const measured = ca.seeds.length > 1 && cb.seeds.length > 1;
      return [{ a, b, ...i, spread: measured ? spread : NaN, clear: i.lo > 0 || i.hi < 0,
        beyondSpread: measured ? Math.abs(ca.auc.mean - cb.auc.mean) > spread : null }];
    });
    if (diffs.length) {
      console.log('\n| a − b | paired mean [95% interval] | sequences | seed sd (larger) | gap > seed sd |');
      console.log('|---|---|---:|---:|---|');
      for (const x of diffs) {
        console.log(`| ${x.a} − ${x.b} | ${signed(x.mean)} [${signed(x.lo)}, ${signed(x.hi)}]${x.clear ? ' clear' : ''} | ${x.sequences} | ${f3(x.spread)} | ${x.beyondSpread === null ? 'one seed' : x.beyondSpread ? 'yes' : 'no'} |`);
      }
    }
    const withLg = configs.filter((c) => c.lg);
    if (withLg.length) {
      const layers = withLg[0].lg!.layers;
      console.log(`\n| config | L_G ${layers.join(' | ')} | ÷σ² ${layers.join(' | ')} |`);
      console.log(`|---|${layers.map(() => '---:').join('|')}|${layers.map(() => '---:').join('|')}|`);
      for (const c of withLg) console.log(`| ${c.config} | ${c.lg!.absolute.map(sci).join(' | ')} | ${c.lg!.normalised.map(sci).join(' | ')} |`);
    }
    json[column] = { configs: configs.map(({ perSequence, ...c }) => ({ ...c, perSequence: Object.fromEntries(perSequence) })), pairs: diffs };
  }
}

console.log('\n### Success AUC, mean ± sd over seeds (number of seeds), every benchmark\n');
console.log(`| config | ${columns.join(' | ')} |\n|---|${columns.map(() => '---').join('|')}|`);
for (const [config, row] of [...matrix].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`| ${config} | ${columns.map((c) => row.get(c) ?? '—').join(' | ')} |`);
}

if (values.runs) {
  const dir = values.runs;
  if (!existsSync(dir)) fail(`--runs ${dir}: no such folder`, 1);
  const groups = new Map<string, Record<string, number>[]>();
  for (const run of readdirSync(dir).sort()) {
    const log = path.join(dir, run, 'log.jsonl');
    if (!existsSync(log)) continue;
    if (!existsSync(path.join(dir, run, 'model', 'model.json'))) {
      console.error(`eval:seeds: ${run} has no final model yet: its losses are left out`);
      continue;
    }
    const steps = readFileSync(log, 'utf8').split('\n').filter(Boolean).flatMap((l, i) => {
      try {
        const r = JSON.parse(l) as { event?: string; losses?: Record<string, number> };
        return r.event === 'step' && r.losses ? [r.losses] : [];
      } catch {
        fail(`${log}: line ${i + 1} is not valid JSON`, 1);
      }
    });
    if (!steps.length) continue;
    const last = steps.slice(-100);
    const means: Record<string, number> = {};
    for (const k of Object.keys(last[0])) means[k] = last.reduce((a, s) => a + (s[k] ?? 0), 0) / last.length;
    const { config } = splitSeed(run);
    groups.set(config, [...(groups.get(config) ?? []), means]);
  }
  console.log('\n### Training losses (mean of the last 100 steps; mean ± sd over seeds)\n');
  console.log('| config | runs | logistic | equivariance (β·L, z + x) |');
  console.log('|---|---:|---|---|');
  const losses: Record<string, unknown> = {};
  for (const [config, runs] of groups) {
    const lg = runs.map((r) => r.logistic ?? NaN);
    const eq = runs.map((r) => (r.equiv_z ?? 0) + (r.equiv_x ?? 0));
    const m = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    console.log(`| ${config} | ${runs.length} | ${f3(m(lg))} ± ${f3(sampleSd(lg))} | ${eq.some((v) => v > 0) ? `${sci(m(eq))} ± ${sci(sampleSd(eq))}` : '—'} |`);
    losses[config] = runs;
  }
  json.trainingLosses = losses;
}
if (values.json) writeFileSync(values.json, JSON.stringify(json, null, 2) + '\n');

