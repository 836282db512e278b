/**
 * Live webcam tracking: one session per socket holding that socket's tracker. A frame is decoded (JPEG/PNG through
 * sharp, or raw RGB), then `init` (when the frame carries a box) or `update`. At most one frame is in flight per
 * socket: a frame arriving while the previous one is being processed is refused with `busy` (the client drops frames
 * while it waits, so nothing queues up). The tracker's tensors are freed when the socket goes away.
 */
import type { Tracker, RawFrame } from '../tracker/tracker.js';
import { AppError } from './errors.js';
import type { ModelRegistry } from './models.js';
import type { CamFrame, CamResult } from './protocol.js';
import { checkBox } from './box-check.js';
import { checkPixels, imageHeader } from './limits.js';
import { decodeImage } from './video.js';

/** The webcam state of one socket. */
export class CamSession {
  private tracker: Tracker | null = null;
  private modelName: string;
  private busy = false;
  private initialised = false;
  private closed = false;
  /** Frames processed and frames refused as busy (for logs and tests). */
  frames = 0;
  refused = 0;

  constructor(
    private readonly models: ModelRegistry,
    private readonly maxFrameBytes: number,
    /** Largest frame in pixels, checked against the image header before decoding. */
    private readonly maxFramePixels: number,
  ) {
    this.modelName = models.resolve(undefined);
  }

  /** Choose the model (the current tracker, if any, is dropped: the next frame must carry a box again). */
  setModel(name: string | undefined): string {
    if (this.busy) throw new AppError('busy', 'a frame is being processed; try again when it is answered', 409);
    this.modelName = this.models.resolve(name);
    this.reset();
    return this.modelName;
  }

  /** Process one frame; see the file comment. */
  async frame(msg: CamFrame): Promise<CamResult> {
    const t0 = performance.now();
    if (this.closed) throw new AppError('unavailable', 'the webcam session is closed', 410);
    if (this.busy) {
      this.refused++;
      throw new AppError('busy', 'the previous frame is still being processed; send one frame at a time', 429);
    }
    this.busy = true;
    try {
      const frame = await this.decode(msg);
      if (this.closed) throw new AppError('unavailable', 'the webcam session is closed', 410);
      let result: { box: CamResult['box']; score: number };
      if (msg.init) {
        checkBox(msg.init, frame.width, frame.height, 'init');
        if (!this.tracker) this.tracker = await this.models.createTracker(this.modelName);
        if (this.closed) throw new AppError('unavailable', 'the webcam session is closed', 410);
        this.tracker.init(frame, msg.init);
        this.initialised = true;
        result = { box: { ...msg.init }, score: 1 };
      } else {
        if (!this.tracker || !this.initialised) {
          throw new AppError('not_ready', 'draw a box first: the first frame must carry an initial box ("init")', 409);
        }
        result = this.tracker.update(frame);
      }
      this.frames++;
      return { seq: msg.seq, box: result.box, score: result.score, latencyMs: performance.now() - t0, initialised: this.initialised };
    } catch (e) {
      // A failed init leaves no half-initialised tracker behind.
      if (msg.init) this.initialised = false;
      throw e;
    } finally {
      this.busy = false;
      if (this.closed) this.release();
    }
  }

  /** Forget the target (keeps the session). */
  reset(): void {
    this.release();
    this.initialised = false;
  }

  /** Free the tracker; the session refuses frames afterwards. Safe while a frame is in flight. */
  close(): void {
    this.closed = true;
    if (!this.busy) this.release();
  }

  /** The model this session tracks with. */
  get model(): string {
    return this.modelName;
  }

  private release(): void {
    this.tracker?.dispose();
    this.tracker = null;
  }

  private async decode(msg: CamFrame): Promise<RawFrame> {
    const bytes = msg.image instanceof Uint8Array ? msg.image : new Uint8Array(msg.image as ArrayBuffer);
    if (bytes.byteLength > this.maxFrameBytes) {
      throw new AppError('too_large', `frame of ${bytes.byteLength} bytes is over the limit of ${this.maxFrameBytes} bytes; downscale it`, 413);
    }
    if (msg.format === 'rgb') {
      checkPixels(msg.width, msg.height, this.maxFramePixels, 'webcam frame', '--max-frame-pixels');
      const want = msg.width * msg.height * 3;
      if (bytes.byteLength !== want) {
        throw new AppError('bad_frame', `raw RGB frame of ${msg.width}×${msg.height} needs ${want} bytes, got ${bytes.byteLength}`, 400);
      }
      return { data: bytes, width: msg.width, height: msg.height };
    }
    // The header decides before any pixel is decoded: a small PNG can announce 16000×16000 (a decompression bomb).
    const head = await imageHeader(bytes, 'webcam frame');
    checkPixels(head.width, head.height, this.maxFramePixels, 'webcam frame', '--max-frame-pixels');
    if (head.width !== msg.width || head.height !== msg.height) {
      throw new AppError('bad_frame', `the image is ${head.width}×${head.height} but the message says ${msg.width}×${msg.height}`, 400);
    }
    let f: RawFrame;
    try {
      f = await decodeImage(bytes, 'webcam frame', this.maxFramePixels);
    } catch (e) {
      throw new AppError('bad_frame', `the webcam frame is not a readable JPEG/PNG image: ${(e as Error).message}`, 400);
    }
    if (f.width !== msg.width || f.height !== msg.height) {
      throw new AppError('bad_frame', `the image is ${f.width}×${f.height} but the message says ${msg.width}×${msg.height}`, 400);
    }
    return f;
  }
}
