/**
 * Video input/output through ffmpeg: binary resolution, probing, decoding to raw RGB frames, H.264 encoding,
 * annotated videos and OTB image folders. The implementation lives in data/video/; this is the entry point.
 */
export { VideoError } from './video/errors.js';
export { resolveFfmpeg, resolveFfprobe } from './video/binaries.js';
export type { ResolvedBinary, BinaryKind, BinarySource, ResolveOptions } from './video/binaries.js';
export { probeVideo } from './video/probe.js';
export type { VideoInfo, ProbeOptions } from './video/probe.js';
export { decodeVideo, outputSize } from './video/decode.js';
export type { DecodeOptions, DecodedFrames, ScaleOption } from './video/decode.js';
export { encodeVideo } from './video/encode.js';
export type { EncodeOptions, EncodeResult } from './video/encode.js';
export { annotateVideo } from './video/annotate.js';
export type { AnnotateOptions } from './video/annotate.js';
export { videoToOtbFolder } from './video/otb.js';
export type { OtbFolderOptions } from './video/otb.js';
export type { Rgb } from './video/draw.js';
