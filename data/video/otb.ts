/** Turning a video into an OTB-style image folder: `<dst>/img/0001.jpg, 0002.jpg, …`. */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeVideo, type DecodeOptions } from './decode.js';
import { VideoError } from './errors.js';

/** Options of `videoToOtbFolder`: those of `decodeVideo` plus JPEG quality and overwriting. */
export interface OtbFolderOptions extends DecodeOptions {
  /** JPEG quality 1–100; default 90. */
  quality?: number;
  /** Remove `.jpg` files already in `<dst>/img` instead of failing (stale frames would join the sequence). */
  overwrite?: boolean;
}

/**
 * Decode `src` and write every frame as `<dstDir>/img/NNNN.jpg` (1-based, at least 4 digits, like OTB), one at a time
 * (backpressure: the next frame is decoded when the previous file is written). Returns the number of frames written.
 */
export async function videoToOtbFolder(src: string, dstDir: string, options: OtbFolderOptions = {}): Promise<number> {
  const { quality = 90, overwrite = false, ...decode } = options;
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) {
    throw new VideoError(src, `${src}: JPEG quality must be an integer 1–100, got ${quality}`);
  }
  const imgDir = join(dstDir, 'img');
  await mkdir(imgDir, { recursive: true });
  const stale = (await readdir(imgDir)).filter((n) => n.toLowerCase().endsWith('.jpg'));
  if (stale.length) {
    if (!overwrite) {
      throw new VideoError(imgDir, `${imgDir} already holds ${stale.length} .jpg files; pass overwrite: true to replace them`);
    }
    await Promise.all(stale.map((n) => rm(join(imgDir, n), { force: true })));
  }
  let n = 0;
  for await (const frame of decodeVideo(src, decode)) {
    n++;
    const file = join(imgDir, `${String(n).padStart(4, '0')}.jpg`);
    await sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
      .jpeg({ quality })
      .toFile(file);
  }
  return n;
}
