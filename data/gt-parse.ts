/**
 * The shared ground-truth / label text parser of every dataset reader, and the error type that names the file and
 * the 1-based line of bad input. Readers convert the parsed numbers to `Box` at their own boundary (OTB is 1-based,
 * GOT-10k 0-based), so this module knows numbers and lines, not box conventions.
 */
import { promises as fsp } from 'node:fs';
import type { Sequence, SequenceDataset } from './dataset.js';

/** Error for a bad dataset file: `file` (path) and, when it is about one line, `line` (1-based). */
export class DatasetError extends Error {
  readonly file: string;
  readonly line?: number;
  constructor(file: string, message: string, line?: number) {
    super(line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`);
    this.name = 'DatasetError';
    this.file = file;
    this.line = line;
  }
}

/** Options of `parseNumberRows`. */
export interface ParseRowsOptions {
  /** Allowed numbers of values per line (e.g. `[4]` for boxes, `[4, 8]` to also accept VOT 4-point polygons). */
  counts: readonly number[];
  /** What a row is called in messages ("box", "polygon"). */
  what?: string;
}

/**
 * Parse a text of number rows as the OTB/GOT-10k ground-truth files hold them: values separated by commas, tabs or
 * spaces (mixed within a file — BlurCar1 has one space-separated line among tab-separated ones), CRLF or LF line
 * ends, trailing blank lines ignored. Throws `DatasetError` naming `file` and the 1-based line for: an empty file,
 * a blank line before the last non-blank one, a wrong number of values, text, NaN or ±Infinity.
 */
export function parseNumberRows(text: string, file: string, options: ParseRowsOptions): number[][] {
  const what = options.what ?? 'row';
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  let last = lines.length - 1;
  while (last >= 0 && lines[last].trim() === '') last--;
  if (last < 0) throw new DatasetError(file, 'the file is empty (no ground truth)');
  const rows: number[][] = [];
  for (let i = 0; i <= last; i++) {
    const line = lines[i].trim();
    if (line === '') throw new DatasetError(file, 'blank line inside the ground truth', i + 1);
    const tokens = line.split(/[\s,;]+/).filter((t) => t !== '');
    if (!options.counts.includes(tokens.length)) {
      throw new DatasetError(
        file,
        `expected ${options.counts.join(' or ')} numbers per ${what}, got ${tokens.length} in "${line}"`,
        i + 1,
      );
    }
    const row = tokens.map((t) => {
      // Number('') and Number(' ') are 0 and Number('0x10') is 16: accept decimal/scientific notation only.
      const v = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : NaN;
      if (!Number.isFinite(v)) throw new DatasetError(file, `"${t}" is not a finite number in "${line}"`, i + 1);
      return v;
    });
    rows.push(row);
  }
  return rows;
}

/** Read `file` and parse it with `parseNumberRows`; a missing file gives a `DatasetError` naming it. */
export async function readNumberRows(file: string, options: ParseRowsOptions): Promise<number[][]> {
  return parseNumberRows(await readText(file), file, options);
}

/**
 * Parse a per-frame label file (GOT-10k `absence.label`, `cover.label`, `cut_by_image.label`): one integer per line in
 * `[min, max]`. Errors name the file and the 1-based line.
 */
export function parseIntLabels(text: string, file: string, min: number, max: number): number[] {
  const rows = parseNumberRows(text, file, { counts: [1], what: 'label' });
  return rows.map(([v], i) => {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new DatasetError(file, `label must be an integer in [${min}, ${max}], got ${v}`, i + 1);
    }
    return v;
  });
}

/** Read a text file, turning ENOENT and friends into a `DatasetError` naming the file. */
export async function readText(file: string): Promise<string> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DatasetError(file, code === 'ENOENT' ? 'file not found' : `cannot read: ${(e as Error).message}`);
  }
}

/** A sequence a reader skipped because its files were bad, with the reason. */
export interface SkippedSequence {
  name: string;
  error: string;
}

/** Options of `iterateSequences`. */
export interface IterateOptions {
  /** Skip a sequence whose files are bad (report it) instead of throwing. Default false. */
  skipBad?: boolean;
  /** Receives each skipped sequence (also pushed to `skipped` when given). */
  onSkip?: (s: SkippedSequence) => void;
  /** Array the skipped sequences are appended to, for a summary after the loop. */
  skipped?: SkippedSequence[];
  /** Restrict to these names (in this order). */
  names?: string[];
}

/**
 * Load every sequence of a dataset in order. With `skipBad`, a sequence whose loading throws is reported through
 * `onSkip`/`skipped` and the loop carries on; otherwise the first error propagates.
 */
export async function* iterateSequences(ds: SequenceDataset, options: IterateOptions = {}): AsyncGenerator<Sequence> {
  for (const name of options.names ?? ds.names()) {
    let seq: Sequence;
    try {
      seq = await ds.sequence(name);
    } catch (e) {
      if (!options.skipBad) throw e;
      const s = { name, error: (e as Error).message };
      options.skipped?.push(s);
      options.onSkip?.(s);
      continue;
    }
    yield seq;
  }
}

/** Format a number for a ground-truth text file: at most 4 decimals, integers without a decimal point. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`cannot write a non-finite number (${v}) to a ground-truth file`);
  const r = Number(v.toFixed(4));
  return (Object.is(r, -0) ? 0 : r).toString();
}
