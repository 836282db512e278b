/**
 * Upload page: upload a video → its first frame appears → drag a box on it → choose a model → start. Boxes stream in
 * over socket.io while the video plays with the box of the displayed frame drawn over it (frame = currentTime × fps;
 * playback waits when it gets ahead of the tracker). Progress, cancel, and downloads at the end. After a lost
 * connection the page follows its job again and says what became of it (still running, finished, interrupted, gone).
 * "Track in this browser": the video is not uploaded; the browser decodes and tracks it (lib/local-video.ts) and
 * offers the OTB boxes file and the JSON as downloads made in the page.
 */
import type { JobEnd, JobFrame, JobInfo, JobProgress, UploadInfo, WireBox } from '../../server/protocol.js';
import { $, ApiError, api, status } from './lib/api.js';
import { boxDrawing, describeBox, paintBox } from './lib/boxes.js';
import { loadModels } from './lib/models.js';
import { connect, request } from './lib/socket.js';
import { browserTrackingUnavailable, loadBrowserTracker } from './lib/browser-engine.js';
import { measureFps, resultLinks, trackVideo } from './lib/local-video.js';

const form = $<HTMLFormElement>('upload-form');
const fileInput = $<HTMLInputElement>('file');
const singleImage = $<HTMLInputElement>('single-image');
const uploadStatus = $('upload-status');
const setup = $('setup');
const info = $('video-info');
const modelSelect = $<HTMLSelectElement>('model');
const stage = $('stage');
const preview = $<HTMLImageElement>('preview');
const video = $<HTMLVideoElement>('video');
const overlay = $<HTMLCanvasElement>('overlay');
const boxText = $('box-text');
const startBtn = $<HTMLButtonElement>('start');
const cancelBtn = $<HTMLButtonElement>('cancel');
const jobStatus = $('job-status');
const progress = $<HTMLProgressElement>('progress');
const progressText = $('progress-text');
const downloads = $('downloads');
const localBox = $<HTMLInputElement>('local');
const noLocal = browserTrackingUnavailable();
if (noLocal) {
  localBox.disabled = true;
  localBox.parentElement!.title = `Not available: ${noLocal}`;
}
/** The file tracked in this browser (no upload), with its measured frame rate. */
let localFile: { file: File; fps: number } | null = null;
let localStop = false;

const socket = connect();
let upload: UploadInfo | null = null;
let initBox: WireBox | null = null;
let job: JobInfo | null = null;
let boxes: (WireBox | undefined)[] = [];
let scores: number[] = [];
let tracked = 0;
let finished: JobEnd | null = null;
let stopDrawing: (() => void) | null = null;
let waitingForTracker = false;
let rendering = false;

const following = () => job !== null && finished === null;
socket.on('connect_error', () => following() && status(jobStatus, 'Lost the connection to the server; retrying…', 'error'));
socket.on('disconnect', () => following() && status(jobStatus, 'Lost the connection to the server; retrying…', 'error'));
socket.on('connect', () => {
  if (!following()) return;
  const j = job!;
  request(socket, 'job:subscribe', { jobId: j.jobId, key: j.key })
    .then((info) => {
      if (info.end) onEnd(info.end);
      else {
        j.state = info.state;
        status(jobStatus, `Reconnected: the job is ${info.state === 'queued' ? 'still queued' : 'still running'}; following it again.`, 'info');
      }
    })
    .catch((e) => {
      finished = { jobId: j.jobId, state: 'failed', frames: tracked, fps: 0 };
      cancelBtn.disabled = true;
      startBtn.disabled = false;
      status(jobStatus, `Reconnected, but the job cannot be followed any more (${(e as Error).message}). Start it again.`, 'error');
    });
});

loadModels(modelSelect).catch((e) => status(uploadStatus, `Could not load the model list: ${(e as Error).message}`, 'error'));

form.addEventListener('submit', (e) => {
  e.preventDefault();
  void doUpload();
});

async function doUpload(): Promise<void> {
  const file = fileInput.files?.[0];
  if (!file) {
    status(uploadStatus, 'Choose a video file first.', 'error');
    return;
  }
  reset();
  if (localBox.checked) {
    await openLocal(file);
    return;
  }
  status(uploadStatus, `Uploading ${file.name} (${(file.size / 1e6).toFixed(1)} MB)…`);
  const body = new FormData();
  if (singleImage.checked) body.append('mode', 'image');
  body.append('video', file);
  try {
    upload = await api<UploadInfo>('/api/uploads', { method: 'POST', body });
  } catch (err) {
    status(uploadStatus, `Upload refused: ${(err as Error).message}`, 'error');
    return;
  }
  status(uploadStatus, `Uploaded ${upload.name}.`, 'ok');
  showSetup(upload);
}

function reset(): void {
  upload = null;
  localFile = null;
  initBox = null;
  job = null;
  boxes = [];
  scores = [];
  tracked = 0;
  finished = null;
  setup.hidden = true;
  downloads.replaceChildren();
  status(jobStatus, '');
  progress.value = 0;
  progressText.textContent = '';
  $('progress-row').hidden = true;
  video.pause();
  video.controls = true;
  video.removeAttribute('src');
  video.load();
}

function showSetup(u: UploadInfo): void {
  setup.hidden = false;
  info.textContent = `${u.width}×${u.height} px · ${u.fps.toFixed(2)} fps · ${u.frames} frames · ${u.codec}` +
    (u.playable ? '' : ' · this format cannot play in the browser: boxes are shown over the first frame, the annotated mp4 plays at the end');
  preview.src = u.previewUrl;
  preview.hidden = false;
  video.hidden = true;
  drawInitialBox(u.width, u.height);
}

/** Size the stage to the video and let the user drag the initial box on it (Start is enabled once there is one). */
function drawInitialBox(width: number, height: number): void {
  overlay.width = width;
  overlay.height = height;
  stage.style.aspectRatio = `${width} / ${height}`;
  paintBox(overlay, null);
  overlay.classList.add('drawing');
  boxText.textContent = 'Drag on the picture to draw a box around the object to track.';
  startBtn.disabled = true;
  cancelBtn.disabled = true;
  stopDrawing?.();
  stopDrawing = boxDrawing(overlay, (b, final) => {
    paintBox(overlay, b, '', !final);
    if (final) {
      initBox = b;
      boxText.textContent = `Initial box: ${describeBox(b)}`;
      startBtn.disabled = false;
    }
  });
}

/** Open `file` in the page for tracking here: first frame shown, box drawn on it. Nothing is uploaded. */
async function openLocal(file: File): Promise<void> {
  status(uploadStatus, `Opening ${file.name} in this browser (not uploaded)…`);
  video.src = URL.createObjectURL(file);
  video.muted = true;
  const ok = await new Promise<boolean>((r) => {
    video.addEventListener('loadeddata', () => r(true), { once: true });
    video.addEventListener('error', () => r(false), { once: true });
  });
  if (!ok || !video.videoWidth) {
    status(uploadStatus, `This browser cannot decode ${file.name}; untick "track in this browser" to track it on the server.`, 'error');
    return;
  }
  const fps = await measureFps(video);
  video.currentTime = 0;
  localFile = { file, fps };
  status(uploadStatus, `Opened ${file.name} here (not uploaded).`, 'ok');
  setup.hidden = false;
  info.textContent = `${video.videoWidth}×${video.videoHeight} px · ${fps.toFixed(2)} fps · ${Math.floor(video.duration * fps + 1e-6)} frames · decoded and tracked in this browser`;
  preview.hidden = true;
  video.hidden = false;
  video.controls = false;
  drawInitialBox(video.videoWidth, video.videoHeight);
}

/** Track the opened file here, frame by frame, then offer the result files. */
async function startLocal(): Promise<void> {
  if (!localFile || !initBox) return;
  const { file, fps } = localFile;
  startBtn.disabled = true;
  cancelBtn.disabled = false;
  localStop = false;
  stopDrawing?.();
  stopDrawing = null;
  overlay.classList.remove('drawing');
  downloads.replaceChildren();
  $('progress-row').hidden = false;
  const model = modelSelect.value;
  status(jobStatus, `Loading ${model} into this browser…`);
  try {
    const t = await loadBrowserTracker(model);
    status(jobStatus, `Tracking in this browser with ${model} on ${t.description}…`);
    const t0 = performance.now();
    const frames = await trackVideo(video, t, initBox, fps, (f, total) => {
      progress.max = total;
      progress.value = f.frame + 1;
      progressText.textContent = `${f.frame + 1} / ${total} frames (${Math.round((100 * (f.frame + 1)) / total)} %)`;
      paintBox(overlay, f.box, `#${f.frame + 1} ${f.score.toFixed(2)}`);
      stage.dataset.frame = String(f.frame);
      stage.dataset.box = JSON.stringify(f.box);
      $('tracker-fps').textContent = `${((f.frame + 1) / ((performance.now() - t0) / 1000)).toFixed(1)} fps`;
    }, () => localStop);
    t.tracker.dispose();
    await t.engine.dispose();
    const links = resultLinks(file.name, model, t.description, fps, { width: video.videoWidth, height: video.videoHeight }, frames);
    downloads.replaceChildren(...links);
    status(jobStatus, `${localStop ? 'Stopped' : 'Done'}: ${frames.length} frames tracked in this browser with ${model}; the results below are made here, nothing was uploaded.`, 'ok');
  } catch (e) {
    status(jobStatus, `Tracking in this browser failed: ${(e as Error).message}`, 'error');
  } finally {
    cancelBtn.disabled = true;
    startBtn.disabled = false;
  }
}

startBtn.addEventListener('click', () => void (localFile ? startLocal() : startJob()));
cancelBtn.addEventListener('click', () => {
  localStop = true;
  if (!job) return;
  cancelBtn.disabled = true;
  request(socket, 'job:cancel', { jobId: job.jobId }).catch((e) => status(jobStatus, `Cancel failed: ${(e as Error).message}`, 'error'));
});

async function startJob(): Promise<void> {
  if (!upload || !initBox) return;
  startBtn.disabled = true;
  stopDrawing?.();
  stopDrawing = null;
  overlay.classList.remove('drawing');
  boxes = [];
  scores = [];
  tracked = 0;
  finished = null;
  downloads.replaceChildren();
  try {
    job = await request(socket, 'job:start', { uploadId: upload.id, box: initBox, model: modelSelect.value || undefined });
  } catch (e) {
    status(jobStatus, `Could not start: ${(e as Error).message}`, 'error');
    startBtn.disabled = false;
    if (e instanceof ApiError && e.code === 'bad_box') showSetup(upload);
    return;
  }
  cancelBtn.disabled = false;
  $('progress-row').hidden = false;
  status(jobStatus, job.state === 'queued' ? `Queued (position ${(job.queuePosition ?? 0) + 1}) with ${job.model}…` : `Tracking with ${job.model}…`);
  progress.max = Math.max(1, upload.frames);
  if (upload.playable) {
    video.src = upload.videoUrl;
    video.muted = true;
    video.hidden = false;
    preview.hidden = true;
    video.currentTime = 0;
  }
  if (!rendering) {
    rendering = true;
    requestAnimationFrame(render);
  }
}

socket.on('job:frame', (f: JobFrame) => {
  if (!job || f.jobId !== job.jobId) return;
  boxes[f.frame] = f.box;
  scores[f.frame] = f.score;
  tracked = Math.max(tracked, f.frame + 1);
  $('tracker-fps').textContent = `${f.fps.toFixed(1)} fps`;
  if (upload && upload.playable && video.paused && !video.ended && tracked >= 2 && !finished && !waitingForTracker && video.currentTime === 0) {
    video.play().catch(() => undefined);
  }
});

socket.on('job:progress', (p: JobProgress) => {
  if (!job || p.jobId !== job.jobId) return;
  progress.max = Math.max(1, p.total);
  progress.value = p.done;
  progressText.textContent = `${p.done} / ${p.total} frames (${Math.round((100 * p.done) / Math.max(1, p.total))} %)`;
  // Only a change of state rewrites the status line: a notice (e.g. "Reconnected…") stays up while frames stream.
  if (p.state === 'running' && job.state !== 'running') status(jobStatus, `Tracking with ${job.model}…`);
  job.state = p.state;
});

socket.on('job:end', onEnd);

/** The end of our job, from the event or from a re-subscribe after a reconnect. */
function onEnd(e: JobEnd): void {
  if (!job || e.jobId !== job.jobId || (finished && finished.jobId === e.jobId)) return;
  finished = e;
  cancelBtn.disabled = true;
  startBtn.disabled = false;
  if (e.state === 'done') {
    progress.max = Math.max(1, e.frames);
    progress.value = e.frames;
    progressText.textContent = `${e.frames} / ${e.frames} frames (100 %)`;
    status(jobStatus, `Done: ${e.frames} frames at ${e.fps.toFixed(1)} fps with ${job.model}.${e.warning ? ` Warning: ${e.warning}.` : ''}`, e.warning ? 'info' : 'ok');
    showDownloads(e);
    void fillMissedBoxes(e);
    if (upload && !upload.playable && e.results?.video) {
      // The original cannot play here; the annotated mp4 (boxes burned in) can.
      video.src = e.results.video;
      video.hidden = false;
      preview.hidden = true;
      paintBox(overlay, null);
      overlay.hidden = true;
    }
  } else if (e.state === 'cancelled') {
    status(jobStatus, `Cancelled after ${e.frames} frames.`, 'info');
  } else if (e.state === 'interrupted') {
    status(jobStatus, `Interrupted: ${e.error?.message ?? 'the server stopped while tracking'}.`, 'error');
  } else {
    status(jobStatus, `Tracking failed: ${e.error?.message ?? 'unknown error'}`, 'error');
  }
  if (upload && e.state !== 'done') startBtn.disabled = false;
}

/** Boxes streamed while the connection was down are taken from the results file. */
async function fillMissedBoxes(e: JobEnd): Promise<void> {
  if (!e.results || boxes.filter(Boolean).length >= e.frames) return;
  try {
    const json = (await (await fetch(e.results.json)).json()) as { frames: { frame: number; box: WireBox; score: number }[] };
    for (const f of json.frames) {
      boxes[f.frame] ??= f.box;
      scores[f.frame] ??= f.score;
    }
    tracked = Math.max(tracked, json.frames.length);
  } catch {
    // the downloads are still offered
  }
}

function showDownloads(e: JobEnd): void {
  const r = e.results;
  if (!r) return;
  const link = (href: string, text: string) => {
    const a = document.createElement('a');
    a.href = href;
    a.textContent = text;
    a.setAttribute('download', '');
    a.className = 'button';
    return a;
  };
  const items: HTMLElement[] = [];
  if (r.video) items.push(link(r.video, 'Annotated video (mp4)'));
  items.push(link(r.otb, 'OTB boxes (txt, 1-based)'), link(r.json, 'All results (JSON)'));
  if (r.annotateError) {
    const p = document.createElement('p');
    p.className = 'status';
    p.dataset.kind = 'error';
    p.textContent = r.annotateError;
    items.push(p);
  }
  downloads.replaceChildren(...items);
}

/** Draw the box of the frame on screen; hold playback while the tracker is behind it. */
function render(): void {
  if (!upload || !job) return;
  const fps = upload.fps > 0 ? upload.fps : 25;
  let frame: number;
  if (upload.playable && !video.hidden) {
    frame = Math.min(upload.frames - 1, Math.floor(video.currentTime * fps + 1e-3));
    const ahead = boxes[frame] === undefined && !finished;
    if (ahead && !video.paused) {
      video.pause();
      waitingForTracker = true;
    } else if (!ahead && waitingForTracker) {
      waitingForTracker = false;
      video.play().catch(() => undefined);
    }
  } else {
    frame = tracked - 1;
  }
  let shown = frame;
  while (shown >= 0 && boxes[shown] === undefined) shown--;
  const box = shown >= 0 ? boxes[shown] ?? null : null;
  if (!overlay.hidden) paintBox(overlay, box, box ? `#${shown + 1} ${scores[shown]?.toFixed(2) ?? ''}` : '');
  stage.dataset.frame = String(shown);
  stage.dataset.box = box ? JSON.stringify(box) : '';
  $('playback').textContent = waitingForTracker ? 'waiting for the tracker…' : `frame ${shown + 1} of ${upload.frames}`;
  if (!finished || !video.paused) requestAnimationFrame(render);
  else setTimeout(() => requestAnimationFrame(render), 250);
}
