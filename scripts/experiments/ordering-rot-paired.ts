/**
 * Issue 14: what rotated templates change, per run — for every tracker `<name>+rot<T>` of `<rot dir>`, the paired
 * bootstrap difference of success AUC against `<name>` of `<plain dir>` over the same sequences, per benchmark; then
 * per config over its seeds (`<config>-s<seed>`): the seed-averaged per-sequence AUC with and without rotated
 * templates, paired over the sequences, with the mean ± sd over seeds of each run's own difference.
 *
 *   node --import tsx scripts/experiments/ordering-rot-paired.ts runs/ordering/eval/real runs/ordering/eval/real-rot8
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pairedBootstrap } from '../../eval/bootstrap.js';
import { sampleSd, splitSeed } from '../../eval/seeds.js';

type Report = { benchmark: string; trackers: { tracker: string; overall: { successAuc: number }; sequences: { name: string; successAuc: number }[] }[] };
const [plainDir, rotDir] = process.argv.slice(2);
if (!plainDir || !rotDir) {
  console.error('usage: ordering-rot-paired.ts <plain eval dir> <rotated-template eval dir>');
  process.exit(2);
}
const read = (dir: string, d: string): Report => JSON.parse(readFileSync(path.join(dir, d, 'report.json'), 'utf8'));
const s = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;
console.log('| benchmark | tracker | AUC plain | AUC +rot | difference [95% paired interval] |\n|---|---|---:|---:|---|');
const perConfig: string[] = [];
for (const d of readdirSync(rotDir).filter((x) => x.startsWith('report-')).sort()) {
  if (!existsSync(path.join(plainDir, d, 'report.json'))) continue;
  const rot = read(rotDir, d);
  const plain = read(plainDir, d);
  const runs = new Map<string, { names: string[]; rot: Map<string, number>[]; plain: Map<string, number>[]; diffs: number[] }>();
  for (const t of rot.trackers) {
    const base = plain.trackers.find((p) => p.tracker === t.tracker.replace(/\+rot\d+$/, ''));
    if (!base) continue;
    const names = t.sequences.map((q) => q.name).filter((n) => base.sequences.some((q) => q.name === n));
    const auc = (r: typeof t, n: string) => r.sequences.find((q) => q.name === n)!.successAuc;
    const i = pairedBootstrap(names.map((n) => auc(t, n)), names.map((n) => auc(base, n)));
    console.log(`| ${rot.benchmark} | ${t.tracker} | ${base.overall.successAuc.toFixed(3)} | ${t.overall.successAuc.toFixed(3)} | ${s(i.mean)} [${s(i.lo)}, ${s(i.hi)}]${i.lo > 0 || i.hi < 0 ? ' clear' : ''} |`);
    const { config } = splitSeed(t.tracker);
    const g = runs.get(config) ?? { names, rot: [], plain: [], diffs: [] };
    g.rot.push(new Map(names.map((n) => [n, auc(t, n)])));
    g.plain.push(new Map(names.map((n) => [n, auc(base, n)])));
    g.diffs.push(t.overall.successAuc - base.overall.successAuc);
    runs.set(config, g);
  }
  for (const [config, g] of runs) {
    const names = g.names.filter((n) => g.rot.every((m) => m.has(n)) && g.plain.every((m) => m.has(n)));
    const avg = (ms: Map<string, number>[], n: string) => ms.reduce((a, m) => a + m.get(n)!, 0) / ms.length;
    const r = names.map((n) => avg(g.rot, n));
    const p = names.map((n) => avg(g.plain, n));
    const i = pairedBootstrap(r, p);
    const m = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    perConfig.push(`| ${rot.benchmark} | ${config} | ${g.diffs.length} | ${m(p).toFixed(3)} | ${m(r).toFixed(3)} | ${s(i.mean)} [${s(i.lo)}, ${s(i.hi)}]${i.lo > 0 || i.hi < 0 ? ' clear' : ''} | ${s(m(g.diffs))} ± ${sampleSd(g.diffs).toFixed(3)} |`);
  }
}
console.log('\n| benchmark | config | seeds | AUC plain (seed mean) | AUC +rot | difference [95% paired interval, seed-averaged] | difference per run, mean ± sd |');
console.log('|---|---|---:|---:|---:|---|---|');
for (const l of perConfig) console.log(l);
