/**
 * CLI: write seeded synthetic tracking sequences in GOT-10k layout (training) or OTB layout (evaluation).
 *
 *   node --import tsx data/cli/synthetic.ts --out build/synth --layout got10k --count 20 --frames 80 --seed 1
 */
import { parseArgs } from 'node:util';
import { SyntheticConfigSchema, writeSyntheticDataset } from '../synthetic.js';
import { type Writer, UsageError, cliMain, runIfScript } from './cli-kit.js';

const HELP = `Usage: synthetic --out <dir> [options]

Seeded synthetic sequences (textured shapes rotating/moving over textured or photographic backgrounds, occlusion,
distractors, illumination change, blur). The same options give byte-identical files.

Options:
  --out <dir>            output folder (required)
  --layout <l>           got10k (default: <out>/train/list.txt + GOT-10k_Train_000001/...) or otb (<out>/Synthetic_0001/img/...)
  --count <n>            number of sequences (default 4)
  --frames <n>           frames per sequence (default 60)
  --seed <n>             integer seed (default 1)
  --rotation-rate <deg>  target rotation, degrees per frame (default 1)
  --rotation-sign <s>    positive (counter-clockwise), negative or random (default random)
  --backgrounds <dir>    folder of .jpg/.png stills used as backgrounds (default: procedural textures)
  --width <px>           frame width (default 320)
  --height <px>          frame height (default 240)
  --format <f>           jpg (default) or png
  --split <s>            GOT-10k split folder: train (default) or val
  --help                 show this help
`;

function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new UsageError(`${flag}: "${v}" is not a number`);
  return n;
}

const FLAG_OF: Record<string, string> = {
  count: '--count', frames: '--frames', seed: '--seed', rotationRate: '--rotation-rate', rotationSign: '--rotation-sign',
  backgrounds: '--backgrounds', width: '--width', height: '--height', format: '--format',
};

async function run(argv: string[], out: Writer, err: Writer): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        out: { type: 'string' },
        layout: { type: 'string', default: 'got10k' },
        count: { type: 'string' },
        frames: { type: 'string' },
        seed: { type: 'string' },
        'rotation-rate': { type: 'string' },
        'rotation-sign': { type: 'string' },
        backgrounds: { type: 'string' },
        width: { type: 'string' },
        height: { type: 'string' },
        format: { type: 'string' },
        split: { type: 'string', default: 'train' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) {
    out.write(HELP);
    return 0;
  }
  if (!values.out) throw new UsageError('--out is required');
  const layout = values.layout as string;
  if (layout !== 'got10k' && layout !== 'otb') throw new UsageError(`--layout must be got10k or otb, got "${layout}"`);
  const split = values.split as string;
  if (split !== 'train' && split !== 'val') throw new UsageError(`--split must be train or val, got "${split}"`);
  const raw = {
    count: num('--count', values.count as string | undefined),
    frames: num('--frames', values.frames as string | undefined),
    seed: num('--seed', values.seed as string | undefined),
    rotationRate: num('--rotation-rate', values['rotation-rate'] as string | undefined),
    rotationSign: values['rotation-sign'],
    backgrounds: values.backgrounds,
    width: num('--width', values.width as string | undefined),
    height: num('--height', values.height as string | undefined),
    format: values.format,
  };
  const defined = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  const parsed = SyntheticConfigSchema.safeParse(defined);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new UsageError(`${FLAG_OF[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`);
  }
  const t0 = performance.now();
  const r = await writeSyntheticDataset(values.out as string, parsed.data, layout, {
    split,
    onSequence: (n, i, total) => err.write(`${i + 1}/${total} ${n}\n`),
  });
  out.write(`wrote ${r.names.length} ${layout} sequences to ${r.root} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return 0;
}

/** Run the CLI on `argv` (without node and script); resolves to the exit code (0 ok, 2 usage error, 1 failure). */
export const main = cliMain('synthetic', run);

runIfScript(import.meta.url, main);
