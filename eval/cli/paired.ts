/**
 * `npm run eval:paired -- --out <eval dir> --pairs a:b,c:d`: paired bootstrap differences of success AUC between
 * trackers, per benchmark, from the report.json files `npm run eval` wrote under `<eval dir>/report-*`.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pairedBootstrap, sequenceAucs } from '../bootstrap.js';
import type { TrackerEvaluation } from '../metrics.js';

const USAGE = 'Usage: npm run eval:paired -- --out <eval dir> --pairs a:b[,c:d…]   (a − b, 95% paired bootstrap over sequences)';

function fail(msg: string, code: number): never {
  console.error(`eval:paired: ${msg}`);
  process.exit(code);
}

let values: { out?: string; pairs?: string; help?: boolean };
try {
  ({ values } = parseArgs({ options: { out: { type: 'string' }, pairs: { type: 'string' }, help: { type: 'boolean' } }, strict: true }));
} catch (e) {
  fail(`${(e as Error).message}\n${USAGE}`, 2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.out || !values.pairs) fail(`--out and --pairs are required\n${USAGE}`, 2);
const pairs = values.pairs.split(',').map((p) => p.split(':'));
if (pairs.some((p) => p.length !== 2 || !p[0] || !p[1])) fail(`--pairs: give a:b pairs, got "${values.pairs}"`, 2);
if (!existsSync(values.out)) fail(`${values.out}: no such folder`, 1);
const dirs = readdirSync(values.out).filter((d) => d.startsWith('report-') && existsSync(path.join(values.out!, d, 'report.json'))).sort();
if (!dirs.length) fail(`${values.out}: no report-*/report.json (run npm run eval first)`, 1);
console.log(`| benchmark | ${pairs.map(([a, b]) => `${a} − ${b}`).join(' | ')} |\n|---|${pairs.map(() => '---').join('|')}|`);
for (const d of dirs) {
  const file = path.join(values.out, d, 'report.json');
  const r = JSON.parse(readFileSync(file, 'utf8')) as { benchmark: string; trackers: { tracker: string; sequences: { name: string; successAuc: number }[] }[] };
  const cells = pairs.map(([a, b]) => {
    const ta = r.trackers.find((t) => t.tracker === a);
    const tb = r.trackers.find((t) => t.tracker === b);
    if (!ta || !tb) fail(`${file}: no tracker ${!ta ? a : b} (has ${r.trackers.map((t) => t.tracker).join(', ')})`, 1);
    const names = ta.sequences.map((s) => s.name).filter((n) => tb.sequences.some((s) => s.name === n));
    const i = pairedBootstrap(sequenceAucs(ta as TrackerEvaluation, names), sequenceAucs(tb as TrackerEvaluation, names));
    const s = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;
    return `${s(i.mean)} [${s(i.lo)}, ${s(i.hi)}]${i.lo > 0 || i.hi < 0 ? ' clear' : ''}`;
  });
  console.log(`| ${r.benchmark} | ${cells.join(' | ')} |`);
}
