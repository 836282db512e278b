/**
 * Builds a still-image training set: photographs from the Debian sources and user folders (data/image-sources.ts),
 * stills taken from videos every few seconds, object-like targets in each (data/still-targets.ts) and one GOT-10k
 * layout sequence per target (data/stills.ts) under `<out>/train/`, plus `<out>/stills-manifest.json` naming every
 * photograph used (source, package, licence), every file skipped and why, and the parameters.
 *
 * Images are held out by name: `holdOut` (a fraction) of the photographs go to `<out>/val/` instead, so validation
 * never sees a photograph the training saw.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import sharp, { type Metadata } from 'sharp';
import type { RawFrame } from '../tracker/tracker.js';
import { SeededRandom } from '../tracker/random.js';
import { got10kSequenceName, writeGot10kList, writeGot10kSequence } from './got10k.js';
import {
  type FoundFile, type ImageCheckLimits, type ImageSource, DEFAULT_IMAGE_LIMITS, checkImageContent, checkImageHeader, discoverFiles,
} from './image-sources.js';
import { proposeTargets } from './still-targets.js';
import { type StillsConfig, StillsConfigSchema, planStillSequence, renderStillSequence } from './stills.js';
import { sequenceSeed } from './synthetic.js';
import { decodeVideo } from './video.js';

/** Options of `buildStillsDataset`. */
export interface BuildStillsOptions {
  out: string;
  sources: readonly ImageSource[];
  config?: Partial<StillsConfig>;
  /** Use at most this many photographs (after the checks, in a seeded order); all when absent. */
  maxImages?: number;
  /** Stills taken from each video: one every `videoStride` frames, at most `maxPerVideo`. */
  videoStride?: number;
  maxPerVideo?: number;
  /** Share of the photographs written to the `val` split instead of `train` (0–0.5). */
  holdOut?: number;
  limits?: ImageCheckLimits;
  log?: (line: string) => void;
}

/** One photograph used, as the manifest records it. */
export interface UsedImage {
  file: string;
  /** Frame index for a still taken from a video. */
  videoFrame?: number;
  source: string;
  package?: string;
  licence: string;
  split: 'train' | 'val';
  sequences: string[];
  sha1: string;
}

/** What `buildStillsDataset` wrote. */
export interface StillsManifest {
  generator: 'rot-track stills';
  config: StillsConfig;
  images: UsedImage[];
  skipped: { file: string; reason: string }[];
  missingSources: string[];
  counts: { train: number; val: number; images: number; skipped: number };
}

/** Resize a decoded photograph so its longer side is `side` px and its aspect at most 2:1 (centre crop). */
async function loadPhoto(input: string | RawFrame, side: number): Promise<RawFrame> {
  const img = typeof input === 'string'
    ? sharp(input, { failOn: 'error' }).rotate()
    : sharp(Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength), { raw: { width: input.width, height: input.height, channels: 3 } });
  const meta = typeof input === 'string' ? await sharp(input).metadata() : { width: input.width, height: input.height };
  let w = meta.width ?? 1, h = meta.height ?? 1;
  // EXIF orientations 5–8 swap the sides
  if (typeof input === 'string' && (meta as Metadata).orientation && (meta as Metadata).orientation! >= 5) [w, h] = [h, w];
  const aspect = Math.min(2, Math.max(0.5, w / h));
  const W = aspect >= 1 ? side : Math.round(side * aspect);
  const H = aspect >= 1 ? Math.round(side / aspect) : side;
  const { data, info } = await img.removeAlpha().toColourspace('srgb').resize(W, H, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

async function thumbnailCheck(file: string, frame: RawFrame): Promise<string | null> {
  const { data } = await sharp(Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength), { raw: { width: frame.width, height: frame.height, channels: 3 } })
    .resize(64, 64, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  return checkImageContent(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** Stills of a video: every `stride`-th frame, at most `max`, decoded at the frame size. */
async function videoStills(file: string, stride: number, max: number, side: number): Promise<{ frame: RawFrame; index: number }[]> {
  const out: { frame: RawFrame; index: number }[] = [];
  let i = 0;
  for await (const f of decodeVideo(file, { scale: { maxSide: side }, maxFrames: stride * max })) {
    if (i % stride === 0) out.push({ frame: f, index: i });
    i++;
  }
  return out;
}

/** Build the still-image training set (see the file comment); returns the manifest it wrote. */
export async function buildStillsDataset(opts: BuildStillsOptions): Promise<StillsManifest> {
  const cfg = StillsConfigSchema.parse(opts.config ?? {});
  const log = opts.log ?? (() => undefined);
  const limits = opts.limits ?? DEFAULT_IMAGE_LIMITS;
  const holdOut = Math.min(0.5, Math.max(0, opts.holdOut ?? 0));
  const { files, missing } = await discoverFiles(opts.sources);
  for (const m of missing) log(m);
  const skipped: { file: string; reason: string }[] = [];
  const skip = (file: string, reason: string): void => {
    skipped.push({ file, reason });
    log(`[data] skipped ${reason}`);
  };
  // the candidates: photographs that pass the checks, and stills of videos
  const photos: { found: FoundFile; frame: RawFrame; videoFrame?: number; sha1: string }[] = [];
  const seen = new Set<string>();
  const add = async (found: FoundFile, frame: RawFrame, videoFrame?: number): Promise<void> => {
    const name = videoFrame === undefined ? found.file : `${found.file}#${videoFrame}`;
    const bad = await thumbnailCheck(name, frame);
    if (bad) return skip(name, bad);
    const sha1 = createHash('sha1').update(frame.data).digest('hex');
    if (seen.has(sha1)) return skip(name, `${name}: duplicate of an image already used`);
    seen.add(sha1);
    photos.push({ found, frame, videoFrame, sha1 });
  };
  for (const f of files) {
    if (f.kind === 'video') {
      try {
        for (const s of await videoStills(f.file, opts.videoStride ?? 60, opts.maxPerVideo ?? 8, cfg.frameSide)) {
          await add(f, await loadPhoto(s.frame, cfg.frameSide), s.index);
        }
      } catch (e) {
        skip(f.file, `${f.file}: unreadable video (${(e as Error).message.split('\n')[0]})`);
      }
      continue;
    }
    const bad = await checkImageHeader(f.file, limits);
    if (bad) {
      skip(f.file, bad);
      continue;
    }
    try {
      await add(f, await loadPhoto(f.file, cfg.frameSide));
    } catch (e) {
      skip(f.file, `${f.file}: unreadable (${(e as Error).message.split('\n')[0]})`);
    }
  }
  if (photos.length === 0) {
    throw new Error(`no usable photograph among ${files.length} files of ${opts.sources.length} source(s)` +
      (missing.length ? ` (${missing.length} source(s) not installed)` : ''));
  }
  const order = new SeededRandom(sequenceSeed(cfg.seed, -1)).shuffle(photos.map((_, i) => i));
  const chosen = order.slice(0, opts.maxImages ?? order.length);
  const nVal = Math.round(chosen.length * holdOut);
  const images: UsedImage[] = [];
  const names = { train: [] as string[], val: [] as string[] };
  const bySource = new Map(opts.sources.map((s) => [s.id, s]));
  for (let k = 0; k < chosen.length; k++) {
    const p = photos[chosen[k]];
    const split: 'train' | 'val' = k < nVal ? 'val' : 'train';
    const rng = new SeededRandom(sequenceSeed(cfg.seed, 100000 + k));
    const targets = proposeTargets(p.frame, cfg.sequencesPerImage, rng, { side: cfg.targetSide });
    const src = bySource.get(p.found.source);
    const used: UsedImage = {
      file: p.found.file, ...(p.videoFrame !== undefined ? { videoFrame: p.videoFrame } : {}), source: p.found.source,
      ...(src?.package ? { package: src.package } : {}), licence: src?.licence ?? 'unknown', split, sequences: [], sha1: p.sha1,
    };
    for (const [j, t] of targets.entries()) {
      const index = names[split].length;
      const seqName = got10kSequenceName(split, index + 1);
      const plan = planStillSequence(cfg, p.frame.width, p.frame.height, t.box, k * 100 + j);
      const meta: Record<string, string> = {
        generator: 'rot-track stills', source: p.found.source, image: path.basename(p.found.file),
        ...(p.videoFrame !== undefined ? { video_frame: String(p.videoFrame) } : {}),
        licence: used.licence, objectness: t.score.toFixed(4), rotation_rate_deg_per_frame: plan.rotationRate.toFixed(3),
        distractors: String(plan.distractors.length), occlusion: plan.occluder ? `${plan.occluder.start}-${plan.occluder.end - 1}` : 'none',
        resolution: `(${plan.width}, ${plan.height})`,
      };
      await writeGot10kSequence(path.join(opts.out, split, seqName), { ...plan, meta }, renderStillSequence(plan, p.frame), { ext: 'jpg', quality: cfg.quality, split });
      names[split].push(seqName);
      used.sequences.push(`${split}/${seqName}`);
    }
    images.push(used);
    log(`[data] ${k + 1}/${chosen.length} ${split} ${path.basename(p.found.file)}${p.videoFrame !== undefined ? `#${p.videoFrame}` : ''}: ${targets.length} sequence(s)`);
  }
  await fsp.mkdir(path.join(opts.out, 'train'), { recursive: true });
  await writeGot10kList(opts.out, 'train', names.train);
  if (names.val.length) await writeGot10kList(opts.out, 'val', names.val);
  const manifest: StillsManifest = {
    generator: 'rot-track stills', config: cfg, images, skipped, missingSources: missing,
    counts: { train: names.train.length, val: names.val.length, images: images.length, skipped: skipped.length },
  };
  await fsp.writeFile(path.join(opts.out, 'stills-manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
