/**
 * The one place the server touches video I/O and image codecs (data/video.ts and data/frames.ts), so a change there
 * is wired here only.
 */
export { probeVideo, decodeVideo, annotateVideo, resolveFfmpeg, resolveFfprobe, VideoError } from '../data/video.js';
export type { VideoInfo } from '../data/video.js';
export { decodeImage } from '../data/frames.js';
