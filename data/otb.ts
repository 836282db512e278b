/**
 * OTB-2015 layout: reader (every quirk of the got10k/pysot toolkits, see /work/shared/design/tracking.md) and writer.
 *
 * Layout: `<root>/<Seq>/img/0001.jpg …` + `<Seq>/groundtruth_rect.txt` (1-based Matlab pixels, `x,y,w,h` separated
 * by commas, tabs or spaces). Two-target sequences (Jogging, Skating2) hold `groundtruth_rect.1.txt`/`.2.txt` and are
 * named `Jogging.1`/`Jogging.2`; empty extra files (Human4) are ignored when another file has boxes.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { type Box, fromOtb, fromPolygon, toOtb } from '../tracker/geometry.js';
import type { RawFrame } from '../tracker/tracker.js';
import type { Sequence, SequenceDataset } from './dataset.js';
import { DatasetError, formatNumber, readNumberRows, type SkippedSequence } from './gt-parse.js';
import { encodeFrame, readFrame } from './frames.js';

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png']);
const GT_RE = /^groundtruth_rect\.?(\d+)?\.txt$/i;

/**
 * Frame ranges of the OTB-2015 sequences whose `img/` holds more frames than the ground truth (frame numbers as in
 * the file names, inclusive) — applied only when the counts disagree, so renumbered copies (Rot-OTB) read plainly.
 */
const TRUNCATED: Record<string, { first: number; last: number }> = {
  david: { first: 300, last: 770 },
  football1: { first: 1, last: 74 },
  freeman3: { first: 1, last: 460 },
  freeman4: { first: 1, last: 283 },
  diving: { first: 1, last: 215 },
};

/** Tiger1: the toolkits start at frame 6 (pysot's JSON lists 0006–0354; pytracking `initOmit: 5`). */
const TIGER1_FULL = 354;
const TIGER1_OMIT = 5;

/** One target of one sequence folder, as found by the scan. */
interface OtbEntry {
  name: string;
  dir: string;
  gtFile: string;
  /** Empty extra ground-truth files ignored (Human4). */
  ignored: string[];
}

/** Options of `OtbDataset`. */
export interface OtbOptions {
  /** Dataset name for result paths (default `OTB2015`). */
  name?: string;
  /** Apply the OTB-2015 frame-range quirks (default true). */
  quirks?: boolean;
}

interface FrameFile {
  file: string;
  num: number | null;
}

function listFrames(imgDir: string): FrameFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(imgDir);
  } catch {
    throw new DatasetError(imgDir, 'frame folder not found');
  }
  const frames = names
    .filter((n) => IMAGE_EXT.has(path.extname(n).toLowerCase()))
    .map((n) => {
      const stem = path.basename(n, path.extname(n));
      return { file: path.join(imgDir, n), num: /^\d+$/.test(stem) ? Number(stem) : null };
    });
  frames.sort((a, b) =>
    a.num !== null && b.num !== null ? a.num - b.num : a.file < b.file ? -1 : a.file > b.file ? 1 : 0,
  );
  return frames;
}

function frameName(like: string, num: number): string {
  const base = path.basename(like);
  const stem = path.basename(base, path.extname(base));
  return path.join(path.dirname(like), String(num).padStart(stem.length, '0') + path.extname(base));
}

/** Throw naming the first missing file when numbered frames have a gap. */
function checkContiguous(frames: FrameFile[]): void {
  for (let i = 1; i < frames.length; i++) {
    const a = frames[i - 1].num, b = frames[i].num;
    if (a !== null && b !== null && b !== a + 1) {
      throw new DatasetError(frameName(frames[i - 1].file, a + 1), 'missing frame file (the numbering has a gap)');
    }
  }
}

/** Is `dir` an OTB sequence folder (an `img/` folder and at least one `groundtruth_rect*.txt`)? */
export function isOtbSequenceDir(dir: string): boolean {
  try {
    return fs.statSync(path.join(dir, 'img')).isDirectory() && fs.readdirSync(dir).some((n) => GT_RE.test(n));
  } catch {
    return false;
  }
}

function scanSequenceDir(dir: string): OtbEntry[] {
  const seqName = path.basename(path.resolve(dir));
  const gts = fs
    .readdirSync(dir)
    .filter((n) => GT_RE.test(n))
    .map((n) => ({ n, idx: Number(GT_RE.exec(n)![1] ?? 0) }))
    .sort((a, b) => a.idx - b.idx);
  const isEmpty = (n: string): boolean => fs.readFileSync(path.join(dir, n), 'utf8').trim() === '';
  const nonEmpty = gts.filter((g) => !isEmpty(g.n));
  // Only when every file is empty do we keep them, so that loading reports the empty ground truth.
  const used = nonEmpty.length > 0 ? nonEmpty : gts;
  const ignored = gts.filter((g) => !used.includes(g)).map((g) => path.join(dir, g.n));
  return used.map((g, k) => ({
    name: used.length === 1 ? seqName : `${seqName}.${g.idx || k + 1}`,
    dir,
    gtFile: path.join(dir, g.n),
    ignored,
  }));
}

/**
 * An OTB-layout dataset: `root` is either a folder of sequence folders or a single sequence folder. Folders without
 * `img/` (licenses, results) are ignored; sequence folders are scanned once, sequences are loaded lazily.
 */
export class OtbDataset implements SequenceDataset {
  readonly name: string;
  readonly root: string;
  private readonly entries = new Map<string, OtbEntry>();
  private readonly quirks: boolean;

  constructor(root: string, options: OtbOptions = {}) {
    this.root = path.resolve(root);
    this.name = options.name ?? 'OTB2015';
    this.quirks = options.quirks ?? true;
    if (!fs.existsSync(this.root)) throw new DatasetError(this.root, 'OTB root folder not found');
    const dirs = isOtbSequenceDir(this.root)
      ? [this.root]
      : fs
          .readdirSync(this.root, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => path.join(this.root, d.name))
          .filter((d) => fs.existsSync(path.join(d, 'img')))
          .sort();
    for (const d of dirs) {
      const found = scanSequenceDir(d);
      // A folder with img/ but no ground truth is still listed, so that loading it names the missing file.
      if (found.length === 0) {
        this.entries.set(path.basename(d), { name: path.basename(d), dir: d, gtFile: path.join(d, 'groundtruth_rect.txt'), ignored: [] });
      }
      for (const e of found) this.entries.set(e.name, e);
    }
    if (this.entries.size === 0) throw new DatasetError(this.root, 'no OTB sequence folders (<Seq>/img/ + groundtruth_rect.txt)');
  }

  /** Sequence names, sorted (two-target sequences as `Jogging.1`, `Jogging.2`). */
  names(): string[] {
    return [...this.entries.keys()].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0));
  }

  /** Load one sequence: frames (absolute paths) and 0-based boxes; throws DatasetError naming the file and line. */
  async sequence(name: string): Promise<Sequence> {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.name}: no sequence "${name}" (have ${this.names().length}: ${this.names().slice(0, 5).join(', ')}…)`);
    const rows = await readNumberRows(e.gtFile, { counts: [4, 8], what: 'box' });
    const meta: Record<string, string> = { dataset: this.name, groundTruthFile: path.basename(e.gtFile) };
    if (e.ignored.length) meta.ignoredEmptyFiles = e.ignored.map((f) => path.basename(f)).join(',');
    let frames = listFrames(path.join(e.dir, 'img'));
    if (frames.length === 0) throw new DatasetError(path.join(e.dir, 'img'), 'no frame files (.jpg/.png)');
    const dirKey = path.basename(e.dir).toLowerCase();
    let gt = rows;
    if (this.quirks) {
      const cut = TRUNCATED[dirKey];
      if (cut && frames.length !== gt.length) {
        frames = frames.filter((f) => f.num === null || (f.num >= cut.first && f.num <= cut.last));
        meta.frameRange = `${cut.first}-${cut.last}`;
      }
      if (dirKey === 'tiger1' && frames.length === TIGER1_FULL && frames[0].num === 1) {
        frames = frames.slice(TIGER1_OMIT);
        if (gt.length === TIGER1_FULL) gt = gt.slice(TIGER1_OMIT);
        meta.frameRange = `${TIGER1_OMIT + 1}-${TIGER1_FULL}`;
      }
    }
    checkContiguous(frames);
    if (frames.length < gt.length) {
      const last = frames[frames.length - 1];
      const missing = last.num !== null ? frameName(last.file, last.num + 1) : path.join(e.dir, 'img');
      throw new DatasetError(
        missing,
        `missing frame file: ${path.basename(e.gtFile)} has ${gt.length} boxes but img/ has ${frames.length} frames`,
      );
    }
    if (frames.length > gt.length) {
      throw new DatasetError(e.gtFile, `has ${gt.length} boxes but img/ has ${frames.length} frames`);
    }
    // VOT-style 8-value polygons (Bag's original) become their axis-aligned hull, then 1-based → 0-based.
    const groundTruth = gt.map((r) => fromOtb(r.length === 4 ? r : toOtbArray(fromPolygon(r))));
    return { name, frames: frames.map((f) => f.file), groundTruth, meta };
  }
}

function toOtbArray(b: Box): number[] {
  return [b.x, b.y, b.width, b.height];
}

/** Options of `writeOtbSequence`. */
export interface WriteOtbOptions {
  /** Image format of the written frames (default `jpg`). */
  ext?: 'jpg' | 'png';
  /** JPEG quality 1–100 (default 90). */
  quality?: number;
}

/**
 * Write a sequence in OTB layout under `dir`: `img/0001.jpg …` (4 digits, more beyond 9999 frames) and a 1-based
 * comma-separated `groundtruth_rect.txt`. `frames` are RawFrames (encoded) or image paths (copied when the extension
 * matches, else re-encoded), consumed one at a time. Throws when the frame count differs from the box count.
 * Returns the written sequence as the reader will see it.
 */
export async function writeOtbSequence(
  dir: string,
  seq: { name?: string; groundTruth: Box[]; meta?: Record<string, string> },
  frames: Iterable<RawFrame | string> | AsyncIterable<RawFrame | string>,
  options: WriteOtbOptions = {},
): Promise<Sequence> {
  const ext = options.ext ?? 'jpg';
  const n = seq.groundTruth.length;
  if (n === 0) throw new Error(`writeOtbSequence(${dir}): no ground-truth boxes`);
  const digits = Math.max(4, String(n).length);
  const imgDir = path.join(dir, 'img');
  await fsp.mkdir(imgDir, { recursive: true });
  const paths: string[] = [];
  for await (const f of frames as AsyncIterable<RawFrame | string>) {
    if (paths.length >= n) throw new Error(`writeOtbSequence(${dir}): more frames than the ${n} boxes`);
    const out = path.join(imgDir, `${String(paths.length + 1).padStart(digits, '0')}.${ext}`);
    if (typeof f === 'string') {
      const srcExt = path.extname(f).toLowerCase().replace('.jpeg', '.jpg');
      if (srcExt === `.${ext}`) await fsp.copyFile(f, out);
      else await encodeFrame(await readFrame(f), out, options.quality);
    } else {
      await encodeFrame(f, out, options.quality);
    }
    paths.push(out);
  }
  if (paths.length !== n) throw new Error(`writeOtbSequence(${dir}): ${paths.length} frames for ${n} boxes`);
  const lines = seq.groundTruth.map((b) => toOtb(b).map(formatNumber).join(','));
  await fsp.writeFile(path.join(dir, 'groundtruth_rect.txt'), lines.join('\n') + '\n');
  return {
    name: seq.name ?? path.basename(path.resolve(dir)),
    frames: paths,
    groundTruth: seq.groundTruth.map((b) => ({ ...b })),
    meta: { ...(seq.meta ?? {}) },
  };
}
