/**
 * CLI: build Rot-OTB from an OTB-layout root (or one sequence folder): frame t rotated by t·Δ degrees
 * counter-clockwise about the centre, ground truth = bounds of the rotated box. A comma-separated Δ list writes one
 * dataset per Δ under `--out/RotOTB-d<Δ>/`.
 *
 *   node --import tsx data/cli/rot-otb.ts --src ../shared/data/otb-mini --out build/rot-otb --delta 0,0.5,1,2
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { OtbDataset } from '../otb.js';
import { RotOtbConfigSchema, type RotOtbConfig, rotOtbName, writeRotOtb } from '../rotate.js';
import { type Writer, UsageError, cliMain, runIfScript } from './cli-kit.js';

const HELP = `Usage: rot-otb --src <otb root or sequence dir> --out <dir> [options]

Writes Rot-OTB in OTB layout: <out>/RotOTB-d<delta>/<Seq>/img/0001.jpg + groundtruth_rect.txt (1-based).
Frame t (0-based) is rotated by t*delta degrees counter-clockwise on screen; same size; uncovered corners filled.

Options:
  --src <dir>          OTB root (folders <Seq>/img + groundtruth_rect*.txt) or one sequence folder (required)
  --out <dir>          output folder (required); one sub-folder per delta
  --delta <list>       rotation rate(s) in degrees per frame, comma-separated (default 0.5), e.g. 0,0.5,1,2
  --center <c>         rotation centre: "image" (default, W/2,H/2) or "cx,cy" in pixels
  --fill <f>           fill colour: "mean" (default, each frame's mean colour) or "r,g,b" (0-255)
  --box-rule <r>       "bounds" (default: box of the 4 rotated corners) or "area-preserving"
  --names <list>       only these sequences, comma-separated
  --quality <q>        JPEG quality 1-100 (default 90)
  --skip-bad           skip sequences with bad files (reported) instead of stopping
  --help               show this help
`;

function numbers(flag: string, v: string, count?: number): number[] {
  const parts = v.split(',').map((s) => s.trim());
  const out = parts.map((p) => {
    const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(p) ? Number(p) : NaN;
    if (!Number.isFinite(n)) throw new UsageError(`${flag}: "${p}" is not a number`);
    return n;
  });
  if (count !== undefined && out.length !== count) throw new UsageError(`${flag}: expected ${count} comma-separated numbers, got "${v}"`);
  return out;
}

async function run(argv: string[], out: Writer, err: Writer): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        src: { type: 'string' },
        out: { type: 'string' },
        delta: { type: 'string', default: '0.5' },
        center: { type: 'string', default: 'image' },
        fill: { type: 'string', default: 'mean' },
        'box-rule': { type: 'string', default: 'bounds' },
        names: { type: 'string' },
        quality: { type: 'string', default: '90' },
        'skip-bad': { type: 'boolean', default: false },
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
  if (!values.src) throw new UsageError('--src is required');
  if (!values.out) throw new UsageError('--out is required');
  const deltas = numbers('--delta', values.delta as string);
  const center = values.center === 'image' ? 'image' : numbers('--center', values.center as string, 2);
  const fill = values.fill === 'mean' ? 'mean' : numbers('--fill', values.fill as string, 3);
  const [quality] = numbers('--quality', values.quality as string, 1);
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new UsageError('--quality must be an integer 1-100');
  const configs: RotOtbConfig[] = deltas.map((delta) => {
    const r = RotOtbConfigSchema.safeParse({ delta, center, fill, boxRule: values['box-rule'] });
    if (!r.success) {
      const i = r.error.issues[0];
      const flag = { boxRule: '--box-rule', fill: '--fill', center: '--center', delta: '--delta' }[String(i.path[0])] ?? String(i.path[0]);
      throw new UsageError(`${flag}: ${i.message}`);
    }
    return r.data;
  });
  const src = new OtbDataset(values.src as string);
  const names = values.names ? (values.names as string).split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  for (const n of names ?? []) if (!src.names().includes(n)) throw new UsageError(`--names: no sequence "${n}" in ${src.root}`);
  let failed = 0;
  for (const cfg of configs) {
    const dir = path.join(values.out as string, rotOtbName(cfg));
    const t0 = performance.now();
    const r = await writeRotOtb(src, dir, cfg, {
      names,
      quality,
      skipBad: values['skip-bad'] as boolean,
      onSequence: (n, i, total) => err.write(`[${rotOtbName(cfg)}] ${i + 1}/${total} ${n}\n`),
    });
    out.write(`${r.name}: wrote ${r.written.length} sequences to ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    for (const s of r.skipped) out.write(`  skipped ${s.name}: ${s.error}\n`);
    failed += r.skipped.length;
  }
  // Exit 3: some sequences were skipped (--skip-bad); the others were written.
  return failed > 0 ? 3 : 0;
}

/** Run the CLI on `argv` (without node and script); resolves to the exit code (0 ok, 2 usage error, 1 failure). */
export const main = cliMain('rot-otb', run);

runIfScript(import.meta.url, main);
