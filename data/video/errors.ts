/** The one error type of the video I/O layer (data/video.ts). */

/** Error for a video that cannot be probed, decoded or encoded; the message names the file and quotes ffmpeg. */
export class VideoError extends Error {
  /** The file the error is about (may be empty for binary-resolution errors). */
  readonly file: string;
  /** The tail of ffmpeg's/ffprobe's stderr, when a child process was involved. */
  readonly stderr: string;
  constructor(file: string, message: string, stderr = '', options?: { cause?: unknown }) {
    const said = stderr.trim();
    super(said ? `${message}\n${indent(said)}` : message, options);
    this.name = 'VideoError';
    this.file = file;
    this.stderr = said;
  }
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `  | ${l}`)
    .join('\n');
}
