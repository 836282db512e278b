/**
 * Result files in the got10k toolkit layout, so that our results and the Python toolkit's interoperate:
 *
 *   <root>/<benchmark>/<tracker>/<seq>.txt              one box per line, `left,top,width,height`, `%.3f`
 *   <root>/<benchmark>/<tracker>/times/<seq>_time.txt   one time per line, seconds, `%.8f`
 *
 * Box convention in the files: the convention of the benchmark's ground truth, because the toolkit scores the file
 * against the raw ground-truth file without any conversion (got10k/datasets/otb.py loads groundtruth_rect.txt as is,
 * experiments/otb.py compares the loaded result rows with it directly). OTB ground truth is 1-based (Matlab), so by
 * default a file holds 1-based boxes: our 0-based `Box` is converted with `toOtb` on write and `fromOtb` on read.
 * Pass `{ oneBased: false }` for benchmarks whose ground truth is 0-based.
 *
 * Writes are atomic (temp file + rename), the times file first and the box file last, so the box file existing
 * with the right number of lines means the sequence is finished — the same test the toolkit's runner uses to skip.
 */
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type Box, fromOtb } from '../tracker/geometry.js';
import { formatBoxes, formatFixed } from './result-lines.js';

export { formatBoxes, formatFixed };
import { type SequenceInput, type TrackerEvaluation, evaluateTracker } from './metrics.js';

/** Error for a result or time file that cannot be read; names the file and (1-based) line. */
export class ResultFileError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
  ) {
    super(line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`);
    this.name = 'ResultFileError';
  }
}


const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parse one numeric token as numpy's loadtxt accepts it (decimal, exponent, `nan`, `inf`); `undefined` if it is not one. */
function parseToken(tok: string): number | undefined {
  if (NUMBER_RE.test(tok)) return Number(tok);
  const t = tok.toLowerCase().replace(/^\+/, '');
  if (t === 'nan' || t === '-nan') return NaN;
  if (t === 'inf' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  return undefined;
}

/**
 * Parse text of numeric rows separated by commas, tabs or spaces; blank lines and `#` comments are skipped (as
 * numpy.loadtxt does). Each row must hold exactly `columns` numbers. Throws `ResultFileError` naming file and line.
 */
export function parseRows(text: string, file: string, columns: number): number[][] {
  const rows: number[][] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/#.*$/, '').trim();
    if (line === '') continue;
    const toks = line.split(/\s*,\s*|\s+/);
    if (toks.length !== columns) {
      throw new ResultFileError(`expected ${columns} numbers, got ${toks.length}: "${lines[i].trim()}"`, file, i + 1);
    }
    const row: number[] = [];
    for (const tok of toks) {
      const v = parseToken(tok);
      if (v === undefined) throw new ResultFileError(`not a number: "${tok}" in "${lines[i].trim()}"`, file, i + 1);
      row.push(v);
    }
    rows.push(row);
  }
  return rows;
}


/** Result-file text → boxes (0-based); `file` names the source in errors. */
export function parseBoxes(text: string, file: string, oneBased = true): Box[] {
  return parseRows(text, file, 4).map((r) => (oneBased ? fromOtb(r) : { x: r[0], y: r[1], width: r[2], height: r[3] }));
}

/** Times (seconds) → times-file text, one `%.8f` line each (as the toolkit writes them). */
export function formatTimes(times: number[]): string {
  return times.map((t) => formatFixed(t, 8) + '\n').join('');
}

/** Times-file text → times in seconds. */
export function parseTimes(text: string, file: string): number[] {
  return parseRows(text, file, 1).map((r) => r[0]);
}

let tmpCounter = 0;

/**
 * Write `data` (text or bytes; a function producing them may throw) to `path` atomically: into a temp file next to it, then rename. If anything throws, the temp file is
 * removed and `path` is left as it was (absent or the previous complete version). Creates the parent folder.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array | (() => string | Uint8Array),
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${tmpCounter++}.tmp`);
  try {
    await writeFile(tmp, typeof data === 'function' ? data() : data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** What a result store reads back: boxes (0-based) and, when the times file exists, times in seconds. */
export interface StoredResult {
  boxes: Box[];
  times: number[] | null;
}

/** Options of a `ResultStore`. */
export interface ResultStoreOptions {
  /** Boxes in the files are 1-based like OTB ground truth (default true). */
  oneBased?: boolean;
}

/** The result files of one tracker on one benchmark: `<root>/<benchmark>/<tracker>/`. */
export class ResultStore {
  /** Folder holding `<seq>.txt` and `times/`. */
  readonly dir: string;
  private readonly oneBased: boolean;

  constructor(
    readonly root: string,
    readonly benchmark: string,
    readonly tracker: string,
    options: ResultStoreOptions = {},
  ) {
    for (const [what, v] of [['benchmark', benchmark], ['tracker', tracker]] as const) {
      if (!v || /[/\\]/.test(v) || v === '.' || v === '..') throw new Error(`invalid ${what} name "${v}"`);
    }
    this.dir = join(root, benchmark, tracker);
    this.oneBased = options.oneBased ?? true;
  }

  /** Path of the box file of `seq`. */
  boxFile(seq: string): string {
    checkSeqName(seq);
    return join(this.dir, `${seq}.txt`);
  }

  /** Path of the times file of `seq`. */
  timeFile(seq: string): string {
    checkSeqName(seq);
    return join(this.dir, 'times', `${seq}_time.txt`);
  }

  /** Write the boxes (0-based, converted to the file convention) and, if given, the per-frame times (seconds). */
  async write(seq: string, result: { boxes: Box[]; times?: number[] }): Promise<void> {
    if (result.times) {
      if (result.times.length !== result.boxes.length) {
        throw new Error(`${seq}: ${result.boxes.length} boxes but ${result.times.length} times`);
      }
      await writeFileAtomic(this.timeFile(seq), () => formatTimes(result.times ?? []));
    }
    await writeFileAtomic(this.boxFile(seq), () => formatBoxes(result.boxes, this.oneBased));
  }

  /** Read the boxes (0-based) and the times (null if there is no times file). Throws `ResultFileError`. */
  async read(seq: string): Promise<StoredResult> {
    const file = this.boxFile(seq);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new ResultFileError(`cannot read result file (${(err as NodeJS.ErrnoException).code ?? err})`, file);
    }
    const boxes = parseBoxes(text, file, this.oneBased);
    if (boxes.length === 0) throw new ResultFileError('result file holds no boxes', file);
    const tfile = this.timeFile(seq);
    const times = (await exists(tfile)) ? parseTimes(await readFile(tfile, 'utf8'), tfile) : null;
    return { boxes, times };
  }

  /**
   * True when `seq` has a readable box file with exactly `expectedFrames` boxes and, if a times file exists, the
   * same number of times. A missing, short or unparsable file is incomplete (never throws for those).
   */
  async isComplete(seq: string, expectedFrames: number): Promise<boolean> {
    try {
      const r = await this.read(seq);
      return r.boxes.length === expectedFrames && (r.times === null || r.times.length === expectedFrames);
    } catch (err) {
      if (err instanceof ResultFileError) return false;
      throw err;
    }
  }

  /** Names of the sequences that have a box file, sorted. */
  async sequences(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    return names.filter((n) => n.endsWith('.txt') && !n.startsWith('.')).map((n) => n.slice(0, -4)).sort();
  }
}

function checkSeqName(seq: string): void {
  if (!seq || /[/\\]/.test(seq) || seq === '.' || seq === '..') throw new Error(`invalid sequence name "${seq}"`);
}

/** Tracker folders under `<root>/<benchmark>/`, sorted; empty if the folder does not exist. */
export async function listTrackers(root: string, benchmark: string): Promise<string[]> {
  try {
    const ents = await readdir(join(root, benchmark), { withFileTypes: true });
    return ents.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** Options of `evaluateResultFiles`. */
export interface EvaluateFilesOptions extends ResultStoreOptions {
  /** Score only the sequences every listed tracker has a result file for (default: a missing file is an error). */
  skipMissing?: boolean;
  /** Receives warnings (length mismatches, skipped sequences). */
  warn?: (message: string) => void;
}

/**
 * Score result files `<root>/<benchmark>/<tracker>/<seq>.txt` (+ times) of each tracker against ground truth given as
 * a map sequence name → boxes (0-based), in the map's order. Missing files throw `ResultFileError` unless
 * `skipMissing`, which keeps only the sequences all trackers have, so every tracker is scored on the same set.
 */
export async function evaluateResultFiles(
  root: string,
  benchmark: string,
  trackers: string[],
  groundTruth: Map<string, Box[]>,
  options: EvaluateFilesOptions = {},
): Promise<TrackerEvaluation[]> {
  const warn = options.warn ?? (() => {});
  const stores = trackers.map((t) => new ResultStore(root, benchmark, t, options));
  let seqs = [...groundTruth.keys()];
  if (options.skipMissing) {
    const kept: string[] = [];
    for (const seq of seqs) {
      const missing: string[] = [];
      for (const s of stores) if (!(await exists(s.boxFile(seq)))) missing.push(s.tracker);
      if (missing.length) warn(`${seq}: skipped, no result file for ${missing.join(', ')}`);
      else kept.push(seq);
    }
    seqs = kept;
  }
  if (seqs.length === 0) throw new Error(`no sequence has results for all of ${trackers.join(', ')} in ${join(root, benchmark)}`);
  const out: TrackerEvaluation[] = [];
  for (const store of stores) {
    const inputs: SequenceInput[] = [];
    for (const seq of seqs) {
      const r = await store.read(seq);
      inputs.push({ name: seq, boxes: r.boxes, groundTruth: groundTruth.get(seq) ?? [], times: r.times });
    }
    out.push(evaluateTracker(store.tracker, inputs, warn));
  }
  return out;
}
