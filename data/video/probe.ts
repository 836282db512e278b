/** Reading a video's geometry, frame rate, frame count and codec with ffprobe. */
import { stat } from 'node:fs/promises';
import { resolveFfprobe } from './binaries.js';
import { VideoError } from './errors.js';
import { describeExit, runToEnd } from './process.js';

/** What `probeVideo` reports about the first video stream. */
export interface VideoInfo {
  /** Display width and height in pixels — the size of decoded frames (a ±90° rotation tag is already applied). */
  width: number;
  height: number;
  /** Frames per second (avg_frame_rate, else r_frame_rate); 0 when ffprobe knows neither. */
  fps: number;
  /** Number of frames: the container's nb_frames, else counted by decoding (`-count_frames`). */
  frames: number;
  /** True when `frames` was counted by decoding rather than read from the container header. */
  framesCounted: boolean;
  /** Duration in seconds (stream duration, else the container's); NaN when unknown. */
  duration: number;
  /** ffprobe codec name, e.g. `h264`, `vp8`, `msmpeg4v3`. */
  codec: string;
  /** Container format name(s) as ffprobe reports them, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  format: string;
  /** Display rotation in degrees as ffprobe reports it (display matrix or `rotate` tag; 0 when none). Its sign
   * convention differs between ffprobe versions; only whether it is a quarter turn matters to `width`/`height`. */
  rotation: number;
}

/** Options of `probeVideo`. */
export interface ProbeOptions {
  /** Decode the whole stream to count frames when the container does not say (default true). */
  countFrames?: boolean;
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  nb_read_frames?: string;
  duration?: string;
  tags?: Record<string, string>;
  side_data_list?: Array<{ rotation?: number | string }>;
}
interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { format_name?: string; duration?: string };
}

/**
 * Probe `path` with ffprobe: size, fps, frame count, duration, codec of the first video stream. The content decides,
 * never the file name. Throws VideoError naming the file and quoting ffprobe for a missing, non-video or broken file.
 */
export async function probeVideo(path: string, options: ProbeOptions = {}): Promise<VideoInfo> {
  await assertReadableFile(path);
  const out = await ffprobeJson(path, ['-show_format', '-show_streams', '-select_streams', 'v:0']);
  const s = out.streams?.[0];
  if (!s || s.codec_type !== 'video') {
    throw new VideoError(path, `${path}: no video stream (ffprobe found format "${out.format?.format_name ?? '?'}")`);
  }
  if (!(Number(s.width) > 0 && Number(s.height) > 0)) {
    throw new VideoError(path, `${path}: video stream has no valid size (${s.width}×${s.height})`);
  }
  const rotation = readRotation(s);
  const swap = Math.abs(rotation) % 180 === 90;
  const width = swap ? s.height! : s.width!;
  const height = swap ? s.width! : s.height!;
  const fps = parseRate(s.avg_frame_rate) || parseRate(s.r_frame_rate);
  const duration = finiteOr(Number(s.duration), Number(out.format?.duration));

  let frames = Number(s.nb_frames);
  let framesCounted = false;
  if (!(Number.isInteger(frames) && frames > 0) && options.countFrames !== false) {
    const counted = await ffprobeJson(path, [
      '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames',
    ]);
    const n = Number(counted.streams?.[0]?.nb_read_frames ?? 0);
    frames = Number.isInteger(n) && n >= 0 ? n : 0;
    framesCounted = true;
  }
  if (!Number.isFinite(frames) || frames < 0) frames = 0;

  return {
    width,
    height,
    fps,
    frames,
    framesCounted,
    duration,
    codec: s.codec_name ?? 'unknown',
    format: out.format?.format_name ?? 'unknown',
    rotation,
  };
}

/** Throw VideoError naming `path` unless it is an existing regular, non-empty file. */
export async function assertReadableFile(path: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new VideoError(path, `${path}: cannot read video file (${why})`);
  }
  if (!st.isFile()) throw new VideoError(path, `${path}: not a regular file`);
  if (st.size === 0) throw new VideoError(path, `${path}: empty file (0 bytes)`);
}

async function ffprobeJson(path: string, args: string[]): Promise<FfprobeOutput> {
  const bin = await resolveFfprobe();
  // "file:" stops a name like "http://…" or "concat:…" from being read as a protocol.
  const argv = ['-v', 'error', '-print_format', 'json', ...args, `file:${path}`];
  const { exit, stdout, stderr } = await runToEnd(bin.path, argv);
  if (exit.error || exit.code !== 0) {
    throw new VideoError(path, `${path}: not a readable video (ffprobe ${describeExit(exit)})`, stderr);
  }
  try {
    return JSON.parse(stdout) as FfprobeOutput;
  } catch {
    throw new VideoError(path, `${path}: ffprobe printed output that is not JSON`, stderr);
  }
}

/** "30000/1001" → 29.97; "0/0", "", undefined → 0. */
export function parseRate(r: string | undefined): number {
  if (!r) return 0;
  const [n, d = '1'] = r.split('/');
  const v = Number(n) / Number(d);
  return Number.isFinite(v) && v > 0 ? v : 0;
}

function finiteOr(a: number, b: number): number {
  return Number.isFinite(a) ? a : Number.isFinite(b) ? b : NaN;
}

/** Rotation in degrees from the display matrix side data (new ffprobe) or the `rotate` tag (old muxers). */
function readRotation(s: FfprobeStream): number {
  for (const sd of s.side_data_list ?? []) {
    const r = Number(sd.rotation);
    if (sd.rotation !== undefined && Number.isFinite(r)) return r;
  }
  const tag = Number(s.tags?.rotate);
  return Number.isFinite(tag) ? tag : 0;
}
