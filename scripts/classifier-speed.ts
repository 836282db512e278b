/**
 * Effective training GFLOP/s of classifier runs (eval/classifier-speed.ts): conv FLOPs per epoch from each run's spec
 * over its median seconds per epoch. Also prints the paper-width (×1) figures for the same variants.
 *
 *   node --import tsx scripts/classifier-speed.ts runs/rot-mnist-quarter/*-s1 [--full]
 */
import { parseArgs } from 'node:util';
import { renderSpeedTable, runSpeed, trainFlopsPerSample } from '../eval/classifier-speed.js';
import { CLASSIFIER_VARIANTS, resolveClassifierSpec } from '../tracker/classifier/spec.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { full: { type: 'boolean', default: false } } });
if (!positionals.length) {
  process.stderr.write('usage: node --import tsx scripts/classifier-speed.ts <run dir>... [--full]\n');
  process.exit(2);
}
const rows = [];
for (const dir of positionals) {
  try {
    rows.push(await runSpeed(dir));
  } catch (e) {
    process.stderr.write(`classifier-speed: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
process.stdout.write(renderSpeedTable(rows) + '\n');
if (values.full) {
  process.stdout.write('\nConv arithmetic of one epoch (10k digits) at the paper widths (×1) and ×1/4:\n\n| variant | ×1 TFLOP / epoch (1 copy) | ×1/4 |\n|---|---:|---:|\n');
  for (const variant of CLASSIFIER_VARIANTS) {
    const f = (m: number) => (10000 * trainFlopsPerSample(resolveClassifierSpec({ variant, widthMultiplier: m })) / 1e12).toFixed(2);
    process.stdout.write(`| ${variant} | ${f(1)} | ${f(0.25)} |\n`);
  }
}
