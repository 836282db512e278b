/**
 * Webcam page: the live camera view (getUserMedia); the user drags a box on it; frames are downscaled (longest side
 * `SEND_SIDE`), JPEG-encoded and sent over socket.io one at a time — while a frame is in flight newer camera frames
 * are simply not sent (dropped), so nothing queues. The server's box is drawn over the live view with fps and latency.
 * Stop turns the camera off, stops sending and frees the server's tracker.
 * "Run in this browser" tracks in the page instead (lib/browser-engine.ts: the model's ONNX networks on
 * onnxruntime-web, the same SiamFC loop): camera frames (longest side ≤ `BROWSER_SIDE`) go to the tracker one at a
 * time, nothing goes to the server. Disabled with the reason where WebAssembly SIMD is missing.
 */
import type { CamResult, WireBox } from '../../server/protocol.js';
import { $, status } from './lib/api.js';
import { boxDrawing, describeBox, paintBox } from './lib/boxes.js';
import { loadModels } from './lib/models.js';
import { connect, request } from './lib/socket.js';
import { type BrowserTracker, browserTrackingUnavailable, loadBrowserTracker, rgbaToFrame } from './lib/browser-engine.js';

/** Longest side of the frames sent to the server, pixels. */
const SEND_SIDE = 320;
/** Longest side of the frames tracked in the browser, pixels (no bandwidth to save; bounded for speed). */
const BROWSER_SIDE = 640;

const startBtn = $<HTMLButtonElement>('start-camera');
const stopBtn = $<HTMLButtonElement>('stop-camera');
const resetBtn = $<HTMLButtonElement>('reset');
const modelSelect = $<HTMLSelectElement>('model');
const video = $<HTMLVideoElement>('camera');
const overlay = $<HTMLCanvasElement>('overlay');
const stage = $('stage');
const camStatus = $('cam-status');
const hint = $('hint');
const fpsEl = $('fps');
const latencyEl = $('latency');
const serverLatencyEl = $('server-latency');
const scoreEl = $('score');
const droppedEl = $('dropped');
const modeSelect = $<HTMLSelectElement>('mode');
const modeNote = $('mode-note');
const latencyPctEl = $('latency-pct');
const trackerTimeLabel = $('tracker-time-label');
const latencies: number[] = [];
/** The model loaded in this browser (browser mode), or the load in progress. */
let local: Promise<BrowserTracker> | null = null;
let localFrame: Uint8Array | undefined;
const localGrab = document.createElement('canvas');
const noLocal = browserTrackingUnavailable();
if (noLocal) {
  (modeSelect.querySelector('option[value="browser"]') as HTMLOptionElement).disabled = true;
  modeNote.textContent = `Tracking in this browser is not available: ${noLocal}. Frames go to the server.`;
}
const browserMode = () => modeSelect.value === 'browser';
/** Test and console hook: the browser engine of this page. */
(globalThis as Record<string, unknown>).rotTrack = { loadBrowserTracker, rgbaToFrame, browserTrackingUnavailable };

const socket = connect();
const grab = document.createElement('canvas');
let pendingInit: WireBox | null = null; // in video pixels, sent with the next frame
let tracking = false;
let inFlight = false;
let seq = 0;
let dropped = 0;
let lastBox: WireBox | null = null;
const answers: number[] = [];
/** True while the camera runs (the frame loop ends when it is false). */
let cameraOn = false;
let stopDrawing: (() => void) | null = null;

loadModels(modelSelect).catch((e) => status(camStatus, `Could not load the model list: ${(e as Error).message}`, 'error'));
socket.on('connect_error', () => status(camStatus, 'Lost the connection to the server; retrying…', 'error'));
socket.on('disconnect', () => {
  tracking = false;
  inFlight = false;
});

startBtn.addEventListener('click', () => void startCamera());
stopBtn.addEventListener('click', stopCamera);

/** Turn the camera off, stop sending frames and let the server forget the target. */
function stopCamera(): void {
  cameraOn = false;
  tracking = false;
  pendingInit = null;
  lastBox = null;
  stopDrawing?.();
  stopDrawing = null;
  for (const t of (video.srcObject as MediaStream | null)?.getTracks() ?? []) t.stop();
  video.srcObject = null;
  paintBox(overlay, null);
  overlay.classList.remove('drawing');
  request(socket, 'cam:stop', {}).catch(() => undefined);
  startBtn.disabled = false;
  stopBtn.disabled = true;
  resetBtn.disabled = true;
  delete stage.dataset.box;
  status(camStatus, 'Camera stopped.', 'info');
  hint.textContent = 'Start the camera, then drag on the live view to draw a box around the object to track.';
}
resetBtn.addEventListener('click', () => {
  tracking = false;
  pendingInit = null;
  lastBox = null;
  paintBox(overlay, null);
  request(socket, 'cam:stop', {}).catch(() => undefined);
  hint.textContent = 'Drag on the live view to draw a box around the object to track.';
});
modeSelect.addEventListener('change', () => {
  tracking = false;
  lastBox = null;
  latencies.length = 0;
  answers.length = 0;
  paintBox(overlay, null);
  trackerTimeLabel.textContent = browserMode() ? 'Tracker time (in the page)' : 'Server time';
  if (browserMode()) void prepareLocal();
  else modeNote.textContent = 'Frames go to the server, one at a time.';
});

/** Load the selected model into this browser (once per model). */
async function prepareLocal(): Promise<BrowserTracker | null> {
  const name = modelSelect.value;
  if (!local) {
    modeNote.textContent = `Loading ${name} into this browser…`;
    local = loadBrowserTracker(name);
  }
  try {
    const t = await local;
    modeNote.textContent = `Tracking in this browser: ${t.meta.name} on ${t.description}; nothing is sent to the server.`;
    return t;
  } catch (e) {
    local = null;
    modeNote.textContent = `Could not load the model into this browser: ${(e as Error).message}`;
    modeSelect.value = 'server';
    return null;
  }
}

modelSelect.addEventListener('change', () => {
  local = null;
  if (browserMode()) void prepareLocal();
  tracking = false;
  lastBox = null;
  request(socket, 'cam:start', { model: modelSelect.value })
    .then((r) => status(camStatus, `Model: ${r.model}. Draw a box to start tracking.`, 'ok'))
    .catch((e) => status(camStatus, (e as Error).message, 'error'));
});

async function startCamera(): Promise<void> {
  if (!navigator.mediaDevices?.getUserMedia) {
    status(camStatus, 'This browser gives no camera access here (getUserMedia needs https or localhost).', 'error');
    return;
  }
  status(camStatus, 'Asking for the camera…');
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  } catch (e) {
    status(camStatus, `No camera: ${(e as Error).name}: ${(e as Error).message}`, 'error');
    return;
  }
  video.srcObject = stream;
  await video.play().catch(() => undefined);
  await new Promise<void>((r) => (video.videoWidth ? r() : video.addEventListener('loadedmetadata', () => r(), { once: true })));
  overlay.width = video.videoWidth;
  overlay.height = video.videoHeight;
  stage.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
  const k = Math.min(1, SEND_SIDE / Math.max(video.videoWidth, video.videoHeight));
  grab.width = Math.max(16, Math.round(video.videoWidth * k));
  grab.height = Math.max(16, Math.round(video.videoHeight * k));
  startBtn.disabled = true;
  stopBtn.disabled = false;
  resetBtn.disabled = false;
  cameraOn = true;
  overlay.classList.add('drawing');
  status(camStatus, `Camera on: ${video.videoWidth}×${video.videoHeight}, sending ${grab.width}×${grab.height} JPEG frames.`, 'ok');
  hint.textContent = 'Drag on the live view to draw a box around the object to track.';
  stopDrawing = boxDrawing(overlay, (b, final) => {
    paintBox(overlay, b, '', !final);
    if (final) {
      pendingInit = b;
      tracking = true;
      hint.textContent = `Tracking from ${describeBox(b)}. Drag again to pick another object.`;
    }
  });
  requestAnimationFrame(loop);
}

/** Each animation frame: send the current camera frame unless one is in flight (then it is dropped). */
function loop(): void {
  if (!cameraOn) return;
  requestAnimationFrame(loop);
  if (lastBox && !inFlight) paintBox(overlay, lastBox, scoreEl.textContent ?? '');
  if (!tracking || video.readyState < 2) return;
  if (inFlight) {
    dropped++;
    return;
  }
  void (browserMode() ? trackLocally() : sendFrame());
}

/** Show one answer: the box (video pixels), fps over the last 2 s, latency and its p50 / p95 over the last 100. */
function showAnswer(box: WireBox, score: number, latency: number, trackerMs: number): void {
  lastBox = box;
  const now = performance.now();
  answers.push(now);
  while (answers.length && now - answers[0] > 2000) answers.shift();
  latencies.push(latency);
  if (latencies.length > 100) latencies.shift();
  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  fpsEl.textContent = answers.length > 1 ? ((answers.length - 1) / ((now - answers[0]) / 1000)).toFixed(1) : '–';
  latencyEl.textContent = `${Math.round(latency)} ms`;
  latencyPctEl.textContent = `${Math.round(pct(0.5))} / ${Math.round(pct(0.95))} ms`;
  serverLatencyEl.textContent = `${trackerMs.toFixed(0)} ms`;
  scoreEl.textContent = score.toFixed(2);
  droppedEl.textContent = String(dropped);
  stage.dataset.box = JSON.stringify(box);
  stage.dataset.answers = String(seq);
  stage.dataset.mode = modeSelect.value;
}

/** Browser mode: grab the camera frame, track it in the page (init on the frame after a new box). */
async function trackLocally(): Promise<void> {
  inFlight = true;
  const t0 = performance.now();
  try {
    const t = await prepareLocal();
    if (!t || !browserMode()) return;
    const k = Math.min(1, BROWSER_SIDE / Math.max(video.videoWidth, video.videoHeight));
    localGrab.width = Math.max(16, Math.round(video.videoWidth * k));
    localGrab.height = Math.max(16, Math.round(video.videoHeight * k));
    const ctx = localGrab.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2d canvas');
    ctx.drawImage(video, 0, 0, localGrab.width, localGrab.height);
    const img = ctx.getImageData(0, 0, localGrab.width, localGrab.height);
    const frame = rgbaToFrame(img.data, img.width, img.height, localFrame);
    localFrame = frame.data;
    const t1 = performance.now();
    let box: WireBox;
    let score = 1;
    if (pendingInit) {
      box = pendingInit;
      pendingInit = null;
      await t.tracker.init(frame, { x: box.x * k, y: box.y * k, width: box.width * k, height: box.height * k });
    } else {
      const r = await t.tracker.update(frame);
      box = { x: r.box.x / k, y: r.box.y / k, width: r.box.width / k, height: r.box.height / k };
      score = r.score;
    }
    seq++;
    if (!tracking || !browserMode()) return;
    const now = performance.now();
    showAnswer(box, score, now - t0, now - t1);
  } catch (e) {
    if (!cameraOn) return;
    status(camStatus, `Tracking in this browser failed: ${(e as Error).message}`, 'error');
    tracking = false;
  } finally {
    inFlight = false;
  }
}

async function sendFrame(): Promise<void> {
  inFlight = true;
  const t0 = performance.now();
  try {
    const ctx = grab.getContext('2d');
    if (!ctx) throw new Error('no 2d canvas');
    ctx.drawImage(video, 0, 0, grab.width, grab.height);
    const blob = await new Promise<Blob | null>((r) => grab.toBlob(r, 'image/jpeg', 0.8));
    if (!blob) throw new Error('JPEG encoding failed');
    const image = await blob.arrayBuffer();
    const k = grab.width / video.videoWidth;
    const init = pendingInit ? { x: pendingInit.x * k, y: pendingInit.y * k, width: pendingInit.width * k, height: pendingInit.height * k } : undefined;
    pendingInit = null;
    const r: CamResult = await request(socket, 'cam:frame', {
      seq: seq++, format: 'jpeg', width: grab.width, height: grab.height, image, ...(init ? { init } : {}),
    }, 5000);
    if (!tracking || browserMode()) return;
    showAnswer({ x: r.box.x / k, y: r.box.y / k, width: r.box.width / k, height: r.box.height / k }, r.score, performance.now() - t0, r.latencyMs);
  } catch (e) {
    if (!cameraOn) return; // stopped while this frame was in flight
    status(camStatus, `Frame refused: ${(e as Error).message}`, 'error');
    if ((e as { code?: string }).code === 'not_ready' || (e as { code?: string }).code === 'bad_box') tracking = false;
  } finally {
    inFlight = false;
  }
}
