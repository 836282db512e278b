/**
 * `node --import tsx eval/cli/report.ts --results <dir> --gt <path> --benchmark <name> [--trackers a,b] --out <dir>`
 *
 * Scores result files in the got10k toolkit layout (`<results>/<benchmark>/<tracker>/<seq>.txt`, 1-based boxes as
 * OTB ground truth; ours or another codebase's) against OTB ground truth and writes report.md, report.json and the
 * plots into `--out`.
 *
 * `--gt` is either a folder of `<Seq>/groundtruth_rect.txt` files (OTB layout; several non-empty
 * `groundtruth_rect.<k>.txt` give the sequences `<Seq>.1`, `<Seq>.2`, … and empty files are skipped, as the toolkit does) or a JSON file `{ "<seq>": [[x, y, w, h], …] }`
 * (also accepted: pysot's OTB2015.json, `{ key: { name, gt_rect } }`). Both are 1-based OTB convention.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { type Box, fromOtb } from '../../tracker/geometry.js';
import { type TrackerMeta, writeReport } from '../report.js';
import { ResultFileError, evaluateResultFiles, listTrackers, parseRows } from '../results.js';

/** Usage text printed by `--help`. */
export const USAGE = `Usage: node --import tsx eval/cli/report.ts --results <dir> --gt <path> --benchmark <name> --out <dir> [options]

Scores tracking results (got10k toolkit layout) against OTB ground truth and writes report.md, report.json and plots.

Required:
  --results <dir>     root of the result files: <dir>/<benchmark>/<tracker>/<seq>.txt (+ times/<seq>_time.txt)
  --gt <path>         OTB ground truth: a folder of <Seq>/groundtruth_rect.txt files, or a JSON file
                      {"<seq>": [[x,y,w,h], ...]} (1-based OTB convention, like the result files)
  --benchmark <name>  benchmark folder name under --results (e.g. OTB2015, RotOTB-d0.5)
  --out <dir>         where to write the report

Options:
  --trackers a,b      trackers to score (default: every folder under <results>/<benchmark>)
  --sequences s1,s2   score only these sequences (default: every sequence of the ground truth)
  --skip-missing      score only sequences every tracker has a result for (default: a missing file is an error)
  --meta <file.json>  per-tracker metadata {"<tracker>": {channelsPercent, params, backend, equivarianceError,
                      equivarianceErrorNormalised, layerNames}}
  --robustness <file.json>  [{"tracker": "...", "points": [{"delta": 0.5, "successAuc": 0.37}, ...]}, ...]
  --no-png            write SVG plots only
  --help              show this text
`;

const MetaSchema = z.record(
  z
    .object({
      channelsPercent: z.number().min(0).max(1000).optional(),
      params: z.number().int().nonnegative().optional(),
      backend: z.string().optional(),
      equivarianceError: z.array(z.number()).optional(),
      equivarianceErrorNormalised: z.array(z.number()).optional(),
      layerNames: z.array(z.string()).optional(),
    })
    .strict(),
);

const RobustnessSchema = z.array(
  z
    .object({
      tracker: z.string().min(1),
      points: z.array(z.object({ delta: z.number(), successAuc: z.number().min(0).max(1) }).strict()).min(1),
    })
    .strict(),
);

const list = z
  .string()
  .transform((s) => s.split(',').map((t) => t.trim()).filter(Boolean))
  .pipe(z.array(z.string()).min(1));

/** The CLI options after validation. */
export const OptionsSchema = z
  .object({
    results: z.string().min(1, '--results is required'),
    gt: z.string().min(1, '--gt is required'),
    benchmark: z.string().min(1, '--benchmark is required').regex(/^[^/\\]*$/, '--benchmark must be a folder name'),
    out: z.string().min(1, '--out is required'),
    trackers: list.optional(),
    sequences: list.optional(),
    skipMissing: z.boolean().default(false),
    meta: z.string().optional(),
    robustness: z.string().optional(),
    png: z.boolean().default(true),
  })
  .strict();

/** Validated CLI options. */
export type Options = z.infer<typeof OptionsSchema>;

/** Error for bad command-line input (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parse argv (without `node` and the script) into options; null when `--help` was asked. Throws `UsageError`. */
export function parseCli(argv: string[]): Options | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        results: { type: 'string' },
        gt: { type: 'string' },
        benchmark: { type: 'string' },
        out: { type: 'string' },
        trackers: { type: 'string' },
        sequences: { type: 'string' },
        'skip-missing': { type: 'boolean' },
        meta: { type: 'string' },
        robustness: { type: 'string' },
        'no-png': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return null;
  const r = OptionsSchema.safeParse({
    results: v.results ?? '',
    gt: v.gt ?? '',
    benchmark: v.benchmark ?? '',
    out: v.out ?? '',
    trackers: v.trackers,
    sequences: v.sequences,
    skipMissing: v['skip-missing'] ?? false,
    meta: v.meta,
    robustness: v.robustness,
    png: !v['no-png'],
  });
  if (!r.success) {
    throw new UsageError(r.error.issues.map((i) => `${i.path.join('.') || 'option'}: ${i.message}`).join('; '));
  }
  return r.data;
}

/** Parse one OTB ground-truth text (comma, tab or space separated, 1-based) into 0-based boxes. */
export function parseOtbGroundTruth(text: string, file: string): Box[] {
  return parseRows(text, file, 4).map((r) => fromOtb(r));
}

/**
 * Read OTB ground truth from a folder of `<Seq>/groundtruth_rect*.txt` files: sequence name → 0-based boxes. Named as
 * the toolkit names them: empty files are dropped first (Human4's `groundtruth_rect.1.txt`), then a folder with one
 * file gives `<Seq>` and a folder with several gives `<Seq>.1`, `<Seq>.2`, … in file-name order (Jogging, Skating2).
 */
async function readGtFolder(dir: string): Promise<Map<string, Box[]>> {
  const out = new Map<string, Box[]>();
  const seqs = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  for (const seq of seqs) {
    const files = (await readdir(join(dir, seq))).filter((f) => /^groundtruth_rect(\.\d+)?\.txt$/.test(f)).sort();
    const parsed: Box[][] = [];
    for (const f of files) {
      const path = join(dir, seq, f);
      const text = await readFile(path, 'utf8');
      if (text.trim() !== '') parsed.push(parseOtbGroundTruth(text, path));
    }
    parsed.forEach((boxes, i) => out.set(parsed.length === 1 ? seq : `${seq}.${i + 1}`, boxes));
  }
  if (out.size === 0) throw new Error(`${dir}: no <Seq>/groundtruth_rect.txt files found`);
  return out;
}

/** Read OTB ground truth from JSON `{seq: [[x,y,w,h],…]}` or pysot's `{key: {name, gt_rect}}` (1-based). */
function readGtJson(text: string, file: string): Map<string, Box[]> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error(`${file}: expected an object {seq: boxes}`);
  const out = new Map<string, Box[]>();
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    let name = key;
    let rows: unknown = value;
    if (value && typeof value === 'object' && !Array.isArray(value) && 'gt_rect' in value) {
      const v = value as { name?: unknown; gt_rect: unknown };
      if (typeof v.name === 'string' && v.name) name = v.name;
      rows = v.gt_rect;
    }
    if (!Array.isArray(rows)) throw new Error(`${file}: "${key}" must be an array of [x, y, w, h]`);
    out.set(
      name,
      rows.map((r, i) => {
        if (!Array.isArray(r) || r.length !== 4 || r.some((x) => typeof x !== 'number')) {
          throw new Error(`${file}: "${key}"[${i}] must be [x, y, w, h] numbers, got ${JSON.stringify(r)}`);
        }
        return fromOtb(r as number[]);
      }),
    );
  }
  if (out.size === 0) throw new Error(`${file}: holds no sequences`);
  return out;
}

/** Ground truth for `--gt`: a folder in OTB layout or a JSON file; sequence name → 0-based boxes. */
export async function loadGroundTruth(path: string): Promise<Map<string, Box[]>> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new Error(`--gt ${path}: no such file or folder`);
  }
  if (st.isDirectory()) return readGtFolder(path);
  return readGtJson(await readFile(path, 'utf8'), path);
}

async function readJsonFile<T>(path: string, schema: z.ZodType<T>, what: string): Promise<T> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`${what} ${path}: ${(err as Error).message}`);
  }
  const r = schema.safeParse(data);
  if (!r.success) {
    throw new Error(`${what} ${path}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

/** Run the CLI; returns the exit code (0 ok, 1 failure, 2 usage error). Messages go to `log` / `error`. */
export async function main(
  argv: string[],
  log: (s: string) => void = (s) => console.log(s),
  error: (s: string) => void = (s) => console.error(s),
): Promise<number> {
  let opts: Options | null;
  try {
    opts = parseCli(argv);
  } catch (err) {
    error(`error: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!opts) {
    log(USAGE);
    return 0;
  }
  try {
    let gt = await loadGroundTruth(opts.gt);
    if (opts.sequences) {
      const unknown = opts.sequences.filter((s) => !gt.has(s));
      if (unknown.length) throw new Error(`--sequences: not in the ground truth: ${unknown.join(', ')}`);
      gt = new Map(opts.sequences.map((s) => [s, gt.get(s) as Box[]]));
    }
    const trackers = opts.trackers ?? (await listTrackers(opts.results, opts.benchmark));
    if (trackers.length === 0) throw new Error(`no tracker folders under ${join(opts.results, opts.benchmark)}`);
    const meta: Record<string, TrackerMeta> = opts.meta ? await readJsonFile(opts.meta, MetaSchema, '--meta') : {};
    const robustness = opts.robustness ? await readJsonFile(opts.robustness, RobustnessSchema, '--robustness') : undefined;
    const evaluations = await evaluateResultFiles(opts.results, opts.benchmark, trackers, gt, {
      skipMissing: opts.skipMissing,
      warn: (m) => error(`warning: ${m}`),
    });
    const files = await writeReport({ benchmark: opts.benchmark, evaluations, meta, robustness }, opts.out, {
      png: opts.png,
    });
    for (const e of evaluations) {
      const o = e.overall;
      log(
        `${e.tracker}: success AUC ${o.successAuc.toFixed(3)}, precision@20 ${o.precision.toFixed(3)}, ` +
          `fps ${o.fps === null ? '–' : o.fps.toFixed(1)} (${e.sequences.length} sequences)`,
      );
    }
    log(`wrote ${files.map((f) => resolve(f)).join(', ')}`);
    return 0;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const hint =
      err instanceof ResultFileError && /cannot read result file/.test(msg)
        ? ' (score a subset with --sequences, or --skip-missing)'
        : '';
    error(`error: ${msg}${hint}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
