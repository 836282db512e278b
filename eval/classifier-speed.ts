/**
 * Training speed of the digit classifiers in the terms of the engine bench: the conv arithmetic of one training epoch
 * (counted from the resolved spec: the six convs' multiply-adds, ×2 for FLOPs, forward + filter gradient + input
 * gradient — none for the first conv, whose input is the image — times the copies an IEN step runs: 2 with the
 * equivariance loss, the original and its transformed copy) over the measured seconds per epoch (median of the epochs
 * in `log.jsonl`, so a pause for a quiet benchmark does not count) = effective GFLOP/s, to set beside the bench's sgemm
 * GFLOP/s. The FC head (≤ 0.1% of the arithmetic) is left out.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CONV_KERNELS, CONV_PADDINGS, MAXPOOL_AFTER, resolveClassifierSpec } from '../tracker/classifier/spec.js';
import type { ClassifierSpecInput, ResolvedClassifier } from '../tracker/classifier/spec.js';

/** Multiply-adds of each of the six convs for one `size`×`size` input. */
export function convMacs(r: ResolvedClassifier, size = 28): number[] {
  let hw = size;
  let cin = r.spec.inputChannels;
  return r.channels.map((cout, i) => {
    const k = CONV_KERNELS[i];
    hw = hw + 2 * CONV_PADDINGS[i] - k + 1;
    if (hw < 1) throw new Error(`a ${size}×${size} input leaves no pixels after conv${i + 1}`);
    const macs = hw * hw * k * k * cin * cout;
    cin = cout;
    if ((MAXPOOL_AFTER as readonly number[]).includes(i)) hw = Math.floor(hw / 2);
    return macs;
  });
}

/** FLOPs of one training sample's convs: forward, filter gradient and input gradient (not for the first conv). */
export function trainFlopsPerSample(r: ResolvedClassifier, size = 28): number {
  return convMacs(r, size).reduce((a, m, i) => a + 2 * m * (i === 0 ? 2 : 3), 0);
}

/** Speed of one training run. */
export interface RunSpeed {
  name: string;
  variant: string;
  groups: string;
  /** Forward passes per training digit: 2 with the equivariance loss (β > 0), else 1. */
  copies: number;
  epochs: number;
  /** Median wall seconds of the logged epochs. */
  secPerEpoch: number;
  /** Conv FLOPs of one epoch (steps × batch × copies × per-sample FLOPs). */
  flopsPerEpoch: number;
  gflops: number;
}

interface LogLine {
  type: string;
  seconds?: number;
  config?: {
    model: ClassifierSpecInput;
    batchSize: number;
    betas: number | number[];
    data: { trainSize: number; dataset?: string };
  };
}

/** Read `<dir>/log.jsonl` of a classifier training run; errors name the file and line. */
export async function runSpeed(dir: string, name = path.basename(dir)): Promise<RunSpeed> {
  const file = path.join(dir, 'log.jsonl');
  const text = await readFile(file, 'utf8').catch((e: Error) => {
    throw new Error(`${file}: cannot read the training log (${e.message})`);
  });
  const lines: LogLine[] = text.split('\n').filter((l) => l.trim()).map((l, i) => {
    try {
      return JSON.parse(l) as LogLine;
    } catch {
      throw new Error(`${file}:${i + 1}: not JSON`);
    }
  });
  const start = lines.find((l) => l.type === 'start');
  if (!start?.config) throw new Error(`${file}: no "start" line with the training config`);
  const cfg = start.config;
  const r = resolveClassifierSpec(cfg.model);
  const epochSecs = lines.filter((l) => l.type === 'epoch' && typeof l.seconds === 'number').map((l) => l.seconds!);
  if (epochSecs.length === 0) throw new Error(`${file}: no finished epoch logged`);
  const durations = epochSecs.map((s, i) => s - (i ? epochSecs[i - 1] : 0)).sort((a, b) => a - b);
  const secPerEpoch = durations[Math.floor((durations.length - 1) / 2)];
  const betas = typeof cfg.betas === 'number' ? [cfg.betas] : cfg.betas;
  const copies = betas.some((b) => b > 0) ? 2 : 1;
  const steps = Math.floor(cfg.data.trainSize / cfg.batchSize);
  const flopsPerEpoch = steps * cfg.batchSize * copies * trainFlopsPerSample(r);
  return {
    name, variant: r.spec.variant, groups: r.groups, copies, epochs: epochSecs.length, secPerEpoch, flopsPerEpoch,
    gflops: flopsPerEpoch / secPerEpoch / 1e9,
  };
}

/** Markdown table of run speeds. */
export function renderSpeedTable(rows: RunSpeed[]): string {
  const L = [
    '| run | variant | groups | copies / digit | epochs | s / epoch (median) | conv TFLOP / epoch | GFLOP/s |',
    '|---|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const s of rows) {
    L.push(`| ${s.name} | ${s.variant} | ${s.groups} | ${s.copies} | ${s.epochs} | ${s.secPerEpoch.toFixed(0)} | ` +
      `${(s.flopsPerEpoch / 1e12).toFixed(2)} | ${s.gflops.toFixed(1)} |`);
  }
  return L.join('\n');
}
