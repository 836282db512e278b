/**
 * Tracking a video in the browser (upload page, issue 18): the file is never uploaded. The browser decodes it
 * (HTMLVideoElement), frames are taken one by one by seeking to each frame's middle ((i + ½) / fps, fps measured with
 * requestVideoFrameCallback), drawn on a canvas and tracked with the page's engine (browser-engine.ts). The results
 * are offered as local downloads: the OTB boxes file (1-based, as the server's jobs write it) and the JSON.
 */
import type { WireBox } from '../../../server/protocol.js';
import { formatBoxes } from '../../../eval/result-lines.js';
import { type BrowserTracker, rgbaToFrame } from './browser-engine.js';

/** The frame rate of `video` from the media times of a few presented frames (it plays muted for a moment). */
export async function measureFps(video: HTMLVideoElement): Promise<number> {
  const v = video as HTMLVideoElement & { requestVideoFrameCallback?: (cb: (now: number, m: { mediaTime: number }) => void) => number };
  if (!v.requestVideoFrameCallback) return 25;
  const times: number[] = [];
  await new Promise<void>((resolve) => {
    const step = (_now: number, m: { mediaTime: number }) => {
      times.push(m.mediaTime);
      if (times.length >= 8 || video.ended) resolve();
      else v.requestVideoFrameCallback!(step);
    };
    v.requestVideoFrameCallback!(step);
    video.muted = true;
    video.play().catch(() => resolve());
    setTimeout(resolve, 3000);
  });
  video.pause();
  const d = times.slice(1).map((t, i) => t - times[i]).filter((x) => x > 0).sort((a, b) => a - b);
  return d.length ? 1 / d[Math.floor(d.length / 2)] : 25;
}

/** Seek to `t` seconds and wait until the frame is there. */
function seek(video: HTMLVideoElement, t: number): Promise<void> {
  return new Promise((resolve) => {
    video.addEventListener('seeked', () => resolve(), { once: true });
    video.currentTime = t;
  });
}

/** One tracked frame. */
export interface LocalFrame {
  frame: number;
  box: WireBox;
  score: number;
  seconds: number;
}

/** Track `box` (video pixels) through `video`, frame by frame; `onFrame` after each; stops when `stop()` is true. */
export async function trackVideo(
  video: HTMLVideoElement, t: BrowserTracker, box: WireBox, fps: number,
  onFrame: (f: LocalFrame, total: number) => void, stop: () => boolean,
): Promise<LocalFrame[]> {
  const total = Math.max(1, Math.floor(video.duration * fps + 1e-6));
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2d canvas');
  const out: LocalFrame[] = [];
  let buf: Uint8Array | undefined;
  for (let i = 0; i < total && !stop(); i++) {
    await seek(video, (i + 0.5) / fps);
    ctx.drawImage(video, 0, 0);
    const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const frame = rgbaToFrame(img.data, img.width, img.height, buf);
    buf = frame.data;
    const t0 = performance.now();
    let f: LocalFrame;
    if (i === 0) {
      await t.tracker.init(frame, box);
      f = { frame: 0, box, score: 1, seconds: (performance.now() - t0) / 1000 };
    } else {
      const r = await t.tracker.update(frame);
      f = { frame: i, box: r.box, score: r.score, seconds: (performance.now() - t0) / 1000 };
    }
    out.push(f);
    onFrame(f, total);
  }
  return out;
}

/** Download links (Blob URLs) of the results: OTB boxes (1-based, `%.3f`) and everything as JSON. */
export function resultLinks(name: string, model: string, engine: string, fps: number, size: { width: number; height: number }, frames: LocalFrame[]): HTMLAnchorElement[] {
  const base = name.replace(/\.[^.]+$/, '') || 'video';
  const tracked = frames.slice(1).reduce((s, f) => s + f.seconds, 0);
  const json = {
    model, engine: `${engine}, in the browser`, video: { name, ...size, fps },
    boxConvention: '0-based left-top x, y, width, height in pixels (the OTB file is 1-based)',
    initialBox: frames[0]?.box, fps: tracked > 0 ? (frames.length - 1) / tracked : 0,
    frames,
  };
  const link = (text: string, body: string, type: string, file: string) => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([body], { type }));
    a.download = file;
    a.textContent = text;
    a.className = 'button';
    return a;
  };
  return [
    link('OTB boxes (txt, 1-based)', formatBoxes(frames.map((f) => f.box)), 'text/plain', `${base}-${model}.txt`),
    link('All results (JSON)', JSON.stringify(json, null, 1) + '\n', 'application/json', `${base}-${model}.json`),
  ];
}
