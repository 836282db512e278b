/**
 * Issue 14: what rotated templates change, per run — for every tracker `<name>+rot<T>` of `<rot dir>`, the paired
 * bootstrap difference of success AUC against `<name>` of `<plain dir>` over the same sequences, per benchmark.
 *
 *   node --import tsx scripts/experiments/ordering-rot-paired.ts runs/ordering/eval/real runs/ordering/eval/real-rot8
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pairedBootstrap } from '../../eval/bootstrap.js';

type Report = { benchmark: string; trackers: { tracker: string; overall: { successAuc: number }; sequences: { name: string; successAuc: number }[] }[] };
const [plainDir, rotDir] = process.argv.slice(2);
if (!plainDir || !rotDir) {
  console.error('usage: ordering-rot-paired.ts <plain eval dir> <rotated-template eval dir>');
  process.exit(2);
}
const read = (dir: string, d: string): Report => JSON.parse(readFileSync(path.join(dir, d, 'report.json'), 'utf8'));
const s = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;
console.log('| benchmark | tracker | AUC plain | AUC +rot | difference [95% paired interval] |\n|---|---|---:|---:|---|');
for (const d of readdirSync(rotDir).filter((x) => x.startsWith('report-')).sort()) {
  if (!existsSync(path.join(plainDir, d, 'report.json'))) continue;
  const rot = read(rotDir, d);
  const plain = read(plainDir, d);
  for (const t of rot.trackers) {
    const base = plain.trackers.find((p) => p.tracker === t.tracker.replace(/\+rot\d+$/, ''));
    if (!base) continue;
    const names = t.sequences.map((q) => q.name).filter((n) => base.sequences.some((q) => q.name === n));
    const auc = (r: typeof t, n: string) => r.sequences.find((q) => q.name === n)!.successAuc;
    const i = pairedBootstrap(names.map((n) => auc(t, n)), names.map((n) => auc(base, n)));
    console.log(`| ${rot.benchmark} | ${t.tracker} | ${base.overall.successAuc.toFixed(3)} | ${t.overall.successAuc.toFixed(3)} | ${s(i.mean)} [${s(i.lo)}, ${s(i.hi)}]${i.lo > 0 || i.hi < 0 ? ' clear' : ''} |`);
  }
}
