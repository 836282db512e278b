/**
 * `node --import tsx training/cli/train-classifier.ts --help`: train a Rot-MNIST classifier (training/train-classifier.ts).
 * Exit codes: 0 done, 1 error (message names the file/field), 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { initBackend } from '../../tracker/node/backend.js';
import { CLASSIFIER_VARIANTS } from '../../tracker/classifier.js';
import { type ClassifierTrainConfigInput, parseClassifierTrainConfig, trainClassifier } from '../train-classifier.js';

const HELP = `Train a Rot-MNIST / Scale-MNIST / R2-MNIST classifier (the 6-conv network of method.md; see training/train-classifier.ts).

Usage: node --import tsx training/cli/train-classifier.ts --variant <v> --out <dir> [options]

  --variant <v>          ${CLASSIFIER_VARIANTS.join(' | ')}
  --groups <spec>        group spec of cnn / ien / het-ien (defaults R1 / R4 / R4-2-1; e.g. R8, R8-4-2-1)
  --width <m>            width multiplier of the R4 widths 128,192,256,256,384,512 (default 1; e.g. 0.125)
  --out <dir>            output folder: checkpoint/ (every epoch), model/ (final), log.jsonl
  --name <name>          model name stored in the manifest (default: the variant)
  --epochs <n>           epochs (default 90: one-cycle over 70, then 20 at the minimum rate)
  --train-size <n>       use the first n of the 10k training digits (default 10000)
  --val-size <n>         validation digits evaluated after each epoch (default 2000; 0 = none)
  --batch <n>            batch size (default 64)
  --lr-max <x>           peak learning rate (default 5e-3); --lr-min <x> start/end rate (default 1e-5)
  --tail <f>             fraction of steps at --lr-min after the cycle (default 20/90; 0 = cycle only)
  --weight-decay <x>     Adam L2 weight decay (default 1e-7)
  --augment <a>          none | rotate (random angle U[0,360) per digit: CNN-aug) | rotate-flip (and a mirror with
                         probability 1/2: CNN-aug for r2-mnist)   (default none)
  --beta <b>             equivariance-loss β: one value for all 6 layers, or 6 comma-separated (default 0)
  --loss-group <g>       C4 | C8: the rotated copy of the loss; D4: turned and/or mirrored (R4R); S4: a shrunk copy
                         (2^(-k/3), Scale-MNIST) (default C4)
  --dataset <d>          rot-mnist | scale-mnist | r2-mnist (rotated, half mirrored) (default rot-mnist)
  --data-seed <n>        dataset split/transform seed (default 0); --seed <n> init/shuffle seed (default 1)
  --resume               continue from <out>/checkpoint (the saved config; --epochs may extend it)
  --backend <name>       auto | tensorflow | native-cpu | wasm | cpu
  --quiet                no progress line
  --help                 this text

Example (IEN, 1/8 width, 3 epochs on 5000 digits):
  nice -n 10 node --import tsx training/cli/train-classifier.ts --variant ien --width 0.125 --beta 1 \\
    --epochs 3 --train-size 5000 --tail 0 --out runs/rot-mnist/ien-b1
`;

class UsageError extends Error {}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new UsageError(`--${name} needs a number, got "${v}"`);
  return x;
}

async function main(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        variant: { type: 'string' }, groups: { type: 'string' }, width: { type: 'string' }, out: { type: 'string' },
        name: { type: 'string' }, epochs: { type: 'string' }, 'train-size': { type: 'string' },
        'val-size': { type: 'string' }, batch: { type: 'string' }, 'lr-max': { type: 'string' },
        'lr-min': { type: 'string' }, tail: { type: 'string' }, 'weight-decay': { type: 'string' },
        augment: { type: 'string' }, beta: { type: 'string' }, 'loss-group': { type: 'string' },
        'data-seed': { type: 'string' }, dataset: { type: 'string' }, seed: { type: 'string' }, resume: { type: 'boolean' },
        backend: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
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
  const out = values.out as string | undefined;
  if (!out) throw new UsageError('--out <dir> is required');
  const s = (k: string) => values[k] as string | undefined;
  let betas: number | number[] | undefined;
  if (s('beta') !== undefined) {
    const parts = s('beta')!.split(',').map((p, i) => num(`beta[${i}]`, p)!);
    betas = parts.length === 1 ? parts[0] : parts;
  }
  if (!values.resume && !s('variant')) throw new UsageError('--variant is required (or --resume)');
  const variant = s('variant') ?? 'cnn';
  const lr: Record<string, number | undefined> = { max: num('lr-max', s('lr-max')), min: num('lr-min', s('lr-min')), tailFraction: num('tail', s('tail')) };
  const input: ClassifierTrainConfigInput = {
    name: s('name') ?? variant,
    model: { variant: variant as never, groups: s('groups'), widthMultiplier: num('width', s('width')), seed: num('seed', s('seed')) ?? 1 },
    data: { dataset: s('dataset') as never, seed: num('data-seed', s('data-seed')), trainSize: num('train-size', s('train-size')), valSize: num('val-size', s('val-size')) },
    epochs: num('epochs', s('epochs')),
    batchSize: num('batch', s('batch')),
    lr: Object.fromEntries(Object.entries(lr).filter(([, v]) => v !== undefined)),
    weightDecay: num('weight-decay', s('weight-decay')),
    augment: s('augment') as never,
    betas,
    lossGroup: s('loss-group') as never,
    seed: num('seed', s('seed')),
  };
  // drop undefined leaves so zod defaults apply
  const clean = JSON.parse(JSON.stringify(input)) as ClassifierTrainConfigInput;
  try {
    parseClassifierTrainConfig(clean);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const backend = await initBackend({ backend: (s('backend') as never) ?? 'auto' });
  const r = await trainClassifier(clean, {
    outDir: out,
    resume: Boolean(values.resume),
    progress: values.quiet ? null : undefined,
    provenance: { command: ['train-classifier', ...argv].join(' '), backend },
  });
  process.stdout.write(`${JSON.stringify({ ...r, valAccuracy: r.valAccuracy })}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`\ntrain-classifier: ${(err as Error).message}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
