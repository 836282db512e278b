/**
 * `npm run train -- --help`: train a SiamFC tracker (training/train-tracker.ts) from an experiment config and
 * command-line overrides. Exit codes: 0 done, 1 error (message names the file/field), 2 bad usage.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { ConfigError, type TrainConfig, loadTrainConfig, mergeDeep, parseTrainConfig } from '../config.js';

const HELP = `Train a SiamFC tracker (siamfc-pytorch's recipe; see training/train-tracker.ts).

Usage: npm run train -- --out <dir> [options]

  --config <file.json>   experiment config (training/experiments/*.json); unspecified fields take the defaults
                         of training/config.ts (AlexNet 127/255, batch 8, SGD 1e-2 → 1e-5 over 50 epochs)
  --data <root>          data root (config data.root)
  --layout <layout>      got10k | otb | synthetic (config data.layout; synthetic generates GOT-10k-layout
                         sequences into <root> when it holds none)
  --val-data <root>      validation data root (config validation.root; default: the data root, whose
                         validation.split — 'val' for GOT-10k — must differ from the training split)
  --out <dir>            output folder: checkpoint/, model/ (final), best/, curves/, log.jsonl
  --resume               continue from <out>/checkpoint after a crash or to extend --steps
  --steps <n>            total optimiser steps (default: epochs × steps per epoch)
  --variant <name>       siamfc | cnn4-siamfc | re-siamfc | ien-siamfc | het-siamfc
  --seed <n>             seed of initialisation, sampling and augmentation
  --backend <name>       auto | tensorflow | native-cpu | wasm | cpu (config backend)
  --help                 this text

Example (tiny synthetic run on the cpu backend):
  npm run train -- --config training/experiments/tiny-synthetic.json --data /tmp/syn --layout synthetic \\
    --out /tmp/run --steps 20 --backend cpu
`;

class UsageError extends Error {}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name} needs an integer, got "${v}"`);
  return Number(v);
}

async function main(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' }, data: { type: 'string' }, layout: { type: 'string' }, out: { type: 'string' },
        resume: { type: 'boolean' }, steps: { type: 'string' }, variant: { type: 'string' }, seed: { type: 'string' },
        backend: { type: 'string' }, 'val-data': { type: 'string' }, help: { type: 'boolean', short: 'h' },
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
  if (typeof values.out !== 'string') throw new UsageError('--out <dir> is required');
  const over: Record<string, unknown> = {};
  const data: Record<string, unknown> = {};
  if (typeof values.data === 'string') data.root = values.data;
  if (typeof values.layout === 'string') data.layout = values.layout;
  if (Object.keys(data).length) over.data = data;
  if (typeof values['val-data'] === 'string') over.validation = { root: values['val-data'] };
  const steps = int('steps', values.steps as string | undefined);
  if (steps !== undefined) over.steps = steps;
  const seed = int('seed', values.seed as string | undefined);
  if (seed !== undefined) over.seed = seed;
  if (typeof values.variant === 'string') over.variant = values.variant;
  if (typeof values.backend === 'string') over.backend = values.backend;
  const cfg: TrainConfig =
    typeof values.config === 'string'
      ? loadTrainConfig(values.config, over)
      : parseTrainConfig(mergeDeep({}, over), 'command line');
  // TensorFlow.js loads only now, so that --help and usage errors answer at once
  const { initBackend } = await import('../../tracker/node/backend.js');
  const { trainTracker } = await import('../train-tracker.js');
  await initBackend({ backend: cfg.backend, argv: [], env: {} });
  const res = await trainTracker({
    config: cfg,
    outDir: path.resolve(values.out),
    resume: values.resume === true,
    commandLine: process.argv.slice(1),
  });
  process.stdout.write(JSON.stringify({ model: res.modelDir, steps: res.steps, secondsPerStep: res.secondsPerStep }) + '\n');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\nRun with --help for usage.\n`);
      process.exit(2);
    }
    const msg = e instanceof ConfigError || e instanceof Error ? e.message : String(e);
    process.stderr.write(`error: ${msg}\n`);
    process.exit(1);
  },
);
