/**
 * GOT-10k layout: reader and writer.
 *
 * `root/{train,val,test}/list.txt` names the sequence folders; each folder holds `00000001.jpg …`, `groundtruth.txt`
 * (comma-separated `x,y,w,h`, taken as 0-based pixels like the got10k toolkit does; test split: first frame only),
 * `meta_info.ini` (`[METAINFO]` then `key: value` lines) and per-frame `absence.label` (0/1), `cover.label` (0–8,
 * visible-ratio bins) and `cut_by_image.label` (0/1) where the split has them.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { type Box, fromArray } from '../tracker/geometry.js';
import type { RawFrame } from '../tracker/tracker.js';
import type { Sequence, SequenceDataset } from './dataset.js';
import { DatasetError, formatNumber, parseIntLabels, readNumberRows, readText } from './gt-parse.js';
import { encodeFrame, readFrame } from './frames.js';

/** The three GOT-10k splits. */
export type Got10kSplit = 'train' | 'val' | 'test';

const FRAME_RE = /^(\d{8})\.(jpg|jpeg|png)$/i;

/** Parse `meta_info.ini`: `key: value` lines; `[section]` headers, blank lines and `;`/`#` comments are skipped. */
export function parseMetaInfo(text: string, file: string): Record<string, string> {
  const meta: Record<string, string> = {};
  text.split(/\r\n|\r|\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('[') || line.startsWith(';') || line.startsWith('#')) return;
    const k = line.indexOf(':');
    if (k <= 0) throw new DatasetError(file, `expected "key: value", got "${line}"`, i + 1);
    meta[line.slice(0, k).trim()] = line.slice(k + 1).trim();
  });
  return meta;
}

/** Text of a `meta_info.ini` for `meta` (keys without `:`/newlines, values without newlines). */
export function formatMetaInfo(meta: Record<string, string>): string {
  const lines = ['[METAINFO]'];
  for (const [k, v] of Object.entries(meta)) {
    if (k === '' || /[:\r\n]/.test(k) || k !== k.trim()) throw new Error(`meta key ${JSON.stringify(k)} cannot be written to meta_info.ini`);
    if (/[\r\n]/.test(String(v))) throw new Error(`meta value of "${k}" contains a newline`);
    lines.push(`${k}: ${v}`);
  }
  return lines.join('\n') + '\n';
}

/** Options of `Got10kDataset`. */
export interface Got10kOptions {
  /** Dataset name for result paths (default `GOT-10k-<split>`). */
  name?: string;
}

/** A GOT-10k split read lazily: `names()` from `list.txt`, `sequence(name)` parses the folder. */
export class Got10kDataset implements SequenceDataset {
  readonly name: string;
  readonly dir: string;
  private readonly list: string[];

  constructor(readonly root: string, readonly split: Got10kSplit, options: Got10kOptions = {}) {
    if (!['train', 'val', 'test'].includes(split)) throw new Error(`GOT-10k split must be train, val or test, got "${split}"`);
    this.dir = path.resolve(root, split);
    this.name = options.name ?? `GOT-10k-${split}`;
    const listFile = path.join(this.dir, 'list.txt');
    let text: string;
    try {
      text = fs.readFileSync(listFile, 'utf8');
    } catch {
      throw new DatasetError(listFile, 'file not found (a GOT-10k split needs list.txt)');
    }
    this.list = text.split(/\r\n|\r|\n/).map((s) => s.trim()).filter((s) => s !== '');
    const seen = new Set<string>();
    this.list.forEach((n, i) => {
      if (n.includes('/') || n.includes('\\') || n === '.' || n === '..') throw new DatasetError(listFile, `bad sequence name "${n}"`, i + 1);
      if (seen.has(n)) throw new DatasetError(listFile, `duplicate sequence name "${n}"`, i + 1);
      seen.add(n);
    });
  }

  /** Sequence names in `list.txt` order. */
  names(): string[] {
    return [...this.list];
  }

  /** Load one sequence; errors name the file and 1-based line. Test split: `groundTruth` holds the first box only. */
  async sequence(name: string): Promise<Sequence> {
    if (!this.list.includes(name)) throw new Error(`${this.name}: no sequence "${name}" in list.txt`);
    return readGot10kSequence(path.join(this.dir, name), this.split);
  }
}

async function readLabels(file: string, min: number, max: number): Promise<number[] | undefined> {
  if (!fs.existsSync(file)) return undefined;
  return parseIntLabels(await readText(file), file, min, max);
}

/** Read one GOT-10k sequence folder (`split` decides whether the ground truth covers every frame). */
export async function readGot10kSequence(dir: string, split: Got10kSplit = 'train'): Promise<Sequence> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    throw new DatasetError(dir, 'sequence folder not found');
  }
  const frames = names.filter((n) => FRAME_RE.test(n)).sort();
  if (frames.length === 0) throw new DatasetError(dir, 'no frame files (00000001.jpg …)');
  frames.forEach((f, i) => {
    if (Number(FRAME_RE.exec(f)![1]) !== i + 1) {
      const ext = path.extname(f);
      throw new DatasetError(path.join(dir, `${String(i + 1).padStart(8, '0')}${ext}`), 'missing frame file');
    }
  });
  const gtFile = path.join(dir, 'groundtruth.txt');
  const rows = await readNumberRows(gtFile, { counts: [4], what: 'box' });
  const n = frames.length;
  if (split === 'test') {
    if (rows.length < 1) throw new DatasetError(gtFile, 'no first-frame box');
  } else if (rows.length > n) {
    const ext = path.extname(frames[n - 1]);
    throw new DatasetError(
      path.join(dir, `${String(n + 1).padStart(8, '0')}${ext}`),
      `missing frame file: groundtruth.txt has ${rows.length} boxes but the folder has ${n} frames`,
    );
  } else if (rows.length < n) {
    throw new DatasetError(gtFile, `has ${rows.length} boxes but the folder has ${n} frames`);
  }
  const groundTruth = (split === 'test' ? rows.slice(0, 1) : rows).map((r) => fromArray(r));
  const seq: Sequence = {
    name: path.basename(dir),
    frames: frames.map((f) => path.join(dir, f)),
    groundTruth,
    meta: {},
  };
  const metaFile = path.join(dir, 'meta_info.ini');
  if (fs.existsSync(metaFile)) seq.meta = parseMetaInfo(await readText(metaFile), metaFile);
  const check = (labels: number[] | undefined, file: string): number[] | undefined => {
    if (labels && labels.length !== n) throw new DatasetError(file, `has ${labels.length} labels but the folder has ${n} frames`);
    return labels;
  };
  const absFile = path.join(dir, 'absence.label');
  const covFile = path.join(dir, 'cover.label');
  const cutFile = path.join(dir, 'cut_by_image.label');
  const absence = check(await readLabels(absFile, 0, 1), absFile);
  const cover = check(await readLabels(covFile, 0, 8), covFile);
  const cut = check(await readLabels(cutFile, 0, 1), cutFile);
  if (absence) seq.absence = absence.map((v) => v === 1);
  if (cover) seq.cover = cover;
  if (cut) seq.cutByImage = cut.map((v) => v === 1);
  return seq;
}

/** What `writeGot10kSequence` writes besides frames. */
export interface Got10kWritable {
  groundTruth: Box[];
  absence?: boolean[];
  cover?: number[];
  cutByImage?: boolean[];
  meta?: Record<string, string>;
}

/** Options of `writeGot10kSequence`. */
export interface WriteGot10kOptions {
  /** `test` writes only the first box to groundtruth.txt and no labels (default `train`). */
  split?: Got10kSplit;
  /** Image format (default `jpg`). */
  ext?: 'jpg' | 'png';
  /** JPEG quality 1–100 (default 90). */
  quality?: number;
}

/**
 * Write one sequence folder `dir` in GOT-10k layout: frames `00000001.jpg …` (RawFrames encoded, paths copied or
 * re-encoded, consumed one at a time), `groundtruth.txt` (`%.4f` comma-separated), labels and `meta_info.ini`.
 * Throws when the number of frames or labels differs from the number of boxes.
 */
export async function writeGot10kSequence(
  dir: string,
  seq: Got10kWritable,
  frames: Iterable<RawFrame | string> | AsyncIterable<RawFrame | string>,
  options: WriteGot10kOptions = {},
): Promise<void> {
  const ext = options.ext ?? 'jpg';
  const n = seq.groundTruth.length;
  if (n === 0) throw new Error(`writeGot10kSequence(${dir}): no ground-truth boxes`);
  for (const [k, v] of [['absence', seq.absence], ['cover', seq.cover], ['cutByImage', seq.cutByImage]] as const) {
    if (v && v.length !== n) throw new Error(`writeGot10kSequence(${dir}): ${k} has ${v.length} labels for ${n} boxes`);
  }
  if (seq.cover?.some((c) => !Number.isInteger(c) || c < 0 || c > 8)) throw new Error(`writeGot10kSequence(${dir}): cover labels must be integers 0–8`);
  await fsp.mkdir(dir, { recursive: true });
  let count = 0;
  for await (const f of frames as AsyncIterable<RawFrame | string>) {
    if (count >= n) throw new Error(`writeGot10kSequence(${dir}): more frames than the ${n} boxes`);
    const out = path.join(dir, `${String(count + 1).padStart(8, '0')}.${ext}`);
    if (typeof f === 'string') {
      if (path.extname(f).toLowerCase().replace('.jpeg', '.jpg') === `.${ext}`) await fsp.copyFile(f, out);
      else await encodeFrame(await readFrame(f), out, options.quality);
    } else {
      await encodeFrame(f, out, options.quality);
    }
    count++;
  }
  if (count !== n) throw new Error(`writeGot10kSequence(${dir}): ${count} frames for ${n} boxes`);
  const boxes = options.split === 'test' ? seq.groundTruth.slice(0, 1) : seq.groundTruth;
  const line = (b: Box): string => [b.x, b.y, b.width, b.height].map((v) => {
    if (!Number.isFinite(v)) throw new Error(`writeGot10kSequence(${dir}): non-finite box value ${v}`);
    return v.toFixed(4);
  }).join(',');
  await fsp.writeFile(path.join(dir, 'groundtruth.txt'), boxes.map(line).join('\n') + '\n');
  if (options.split !== 'test') {
    const write = (file: string, vals: number[]): Promise<void> => fsp.writeFile(path.join(dir, file), vals.map(formatNumber).join('\n') + '\n');
    if (seq.absence) await write('absence.label', seq.absence.map(Number));
    if (seq.cover) await write('cover.label', seq.cover);
    if (seq.cutByImage) await write('cut_by_image.label', seq.cutByImage.map(Number));
  }
  if (seq.meta) await fsp.writeFile(path.join(dir, 'meta_info.ini'), formatMetaInfo(seq.meta));
}

/** Write `root/<split>/list.txt` naming `names` (one per line). */
export async function writeGot10kList(root: string, split: Got10kSplit, names: string[]): Promise<void> {
  const dir = path.join(root, split);
  await fsp.mkdir(dir, { recursive: true });
  await fsp.writeFile(path.join(dir, 'list.txt'), names.join('\n') + '\n');
}

/** GOT-10k folder name of sequence `index` (1-based) of a split: `GOT-10k_Train_000001`. */
export function got10kSequenceName(split: Got10kSplit, index: number): string {
  const cap = split === 'train' ? 'Train' : split === 'val' ? 'Val' : 'Test';
  return `GOT-10k_${cap}_${String(index).padStart(6, '0')}`;
}
