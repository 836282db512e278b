/**
 * Classifier page: draw a digit on a 28×28 canvas (shown enlarged), rotate it with a slider, send it to the server
 * and show the class scores — refreshed (debounced) while drawing and rotating once Classify has been pressed. Below, the group-pooled feature maps of a chosen conv block of every classifier, refreshed
 * (debounced) while drawing and rotating, so the IEN's maps can be seen turning with the digit. While the server has no
 * classifier it says what is missing.
 */
import type { ClassifyFeaturesAnswer, ClassifyResult, FeatureMapsResult } from '../../server/protocol.js';
import { $, api, status } from './lib/api.js';
import { debounced, serialized } from './lib/serial.js';

const pad = $<HTMLCanvasElement>('pad');
const angle = $<HTMLInputElement>('angle');
const angleText = $('angle-text');
const clearBtn = $<HTMLButtonElement>('clear');
const classifyBtn = $<HTMLButtonElement>('classify');
const msg = $('cls-status');
const scores = $('scores');
const layerSel = $<HTMLSelectElement>('layer');
const mapsEl = $('maps');
const mapsMsg = $('maps-status');

/** The drawing at full resolution (unrotated); the pad shows it rotated. */
const ink = document.createElement('canvas');
ink.width = ink.height = 280;
const inkCtx = ink.getContext('2d')!;
const padCtx = pad.getContext('2d')!;
let drawing = false;
/** Whether anything has been drawn since the last clear. */
let inked = false;
/** Whether the server has a classifier (feature maps are only asked for then). */
let available = false;
/** Whether Classify was pressed since the last clear: then the scores follow the drawing and the rotation. */
let classified = false;

function clear(): void {
  inkCtx.fillStyle = '#000';
  inkCtx.fillRect(0, 0, 280, 280);
  redraw();
  scores.replaceChildren();
  delete scores.dataset.angle;
  inked = false;
  classified = false;
  mapsEl.replaceChildren();
  delete mapsEl.dataset.layer;
  delete mapsEl.dataset.angle;
  if (available) mapsMsg.textContent = 'Draw a digit to see its feature maps.';
}

function redraw(): void {
  padCtx.fillStyle = '#000';
  padCtx.fillRect(0, 0, pad.width, pad.height);
  padCtx.save();
  padCtx.translate(pad.width / 2, pad.height / 2);
  padCtx.rotate((-Number(angle.value) * Math.PI) / 180);
  padCtx.drawImage(ink, -140, -140, 280, 280);
  padCtx.restore();
  angleText.textContent = `${angle.value}°`;
}

function point(e: PointerEvent): [number, number] {
  const r = pad.getBoundingClientRect();
  // Undo the display rotation so strokes land where the pointer is.
  const x = ((e.clientX - r.left) / r.width) * 280 - 140;
  const y = ((e.clientY - r.top) / r.height) * 280 - 140;
  const t = (Number(angle.value) * Math.PI) / 180;
  return [x * Math.cos(t) - y * Math.sin(t) + 140, x * Math.sin(t) + y * Math.cos(t) + 140];
}

pad.addEventListener('pointerdown', (e) => {
  drawing = true;
  pad.setPointerCapture(e.pointerId);
  const [x, y] = point(e);
  inkCtx.beginPath();
  inkCtx.moveTo(x, y);
});
pad.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  const [x, y] = point(e);
  inkCtx.strokeStyle = '#fff';
  inkCtx.lineWidth = 22;
  inkCtx.lineCap = 'round';
  inkCtx.lineJoin = 'round';
  inkCtx.lineTo(x, y);
  inkCtx.stroke();
  inked = true;
  redraw();
  scheduleMaps();
});
pad.addEventListener('pointerup', () => {
  drawing = false;
  scheduleMaps();
});
angle.addEventListener('input', () => {
  redraw();
  scheduleMaps();
});
layerSel.addEventListener('change', () => scheduleMaps(0));
clearBtn.addEventListener('click', clear);
classifyBtn.addEventListener('click', () => {
  classified = true;
  classifyNow();
});

/** The rotated drawing as 28×28 grey values 0–255. */
function pixels(): number[] {
  const small = document.createElement('canvas');
  small.width = small.height = 28;
  const c = small.getContext('2d')!;
  c.drawImage(pad, 0, 0, 28, 28);
  const d = c.getImageData(0, 0, 28, 28).data;
  const out: number[] = [];
  for (let i = 0; i < d.length; i += 4) out.push(Math.round((d[i] + d[i + 1] + d[i + 2]) / 3));
  return out;
}

/** Classify the current (rotated) drawing and show the scores; `scores.dataset.angle` says for which rotation. */
async function classify(): Promise<void> {
  const deg = angle.value;
  status(msg, 'Classifying…');
  try {
    const { results } = await api<{ results: ClassifyResult[] }>('/api/classify', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pixels: pixels() }),
    });
    if (!classified) return; // cleared meanwhile
    status(msg, `${results.map((r) => `${r.model}: ${r.label}`).join(' · ')} (at ${deg}°)`, 'ok');
    scores.replaceChildren(...results.map(column));
    scores.dataset.angle = deg;
  } catch (e) {
    status(msg, `Not available: ${(e as Error).message}`, 'error');
  }
}

const classifyNow = serialized(classify);
const mapsNow = serialized(updateMaps);
const mapsLater = debounced(mapsNow, 200);
const classifyLater = debounced(classifyNow, 200);

/** Refresh the feature maps (and the scores, once classified) `ms` after the last call (drawing and sliding call this often). */
function scheduleMaps(ms = 200): void {
  if (!inked) return;
  if (classified) classifyLater(ms);
  if (available) mapsLater(ms);
}

/** Fetch and show the feature maps of the chosen layer for the current (rotated) drawing. */
async function updateMaps(): Promise<void> {
  const layer = Number(layerSel.value);
  const deg = angle.value;
  try {
    const a = await api<ClassifyFeaturesAnswer>('/api/classify/features', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pixels: pixels(), layer }),
    });
    if (!inked) return; // cleared meanwhile
    mapsEl.replaceChildren(...a.results.map((r) => mapColumn(r, a.ranges)));
    mapsEl.dataset.layer = String(a.layer);
    mapsEl.dataset.angle = deg;
    mapsMsg.textContent = `Layer ${a.layer} at ${deg}°`;
  } catch (e) {
    mapsMsg.textContent = `Feature maps not available: ${(e as Error).message}`;
  }
}

/** One classifier's feature maps as a grid of enlarged grey images. */
function mapColumn(r: FeatureMapsResult, ranges: [number, number][]): HTMLElement {
  const col = document.createElement('div');
  col.className = 'map-col';
  col.dataset.model = r.model;
  const h = document.createElement('h3');
  h.textContent = `${r.model} (${r.variant})`;
  const grid = document.createElement('div');
  grid.className = 'map-grid';
  r.maps.forEach((png, i) => {
    const img = document.createElement('img');
    img.src = `data:image/png;base64,${png}`;
    img.width = img.height = 64;
    const [lo, hi] = ranges[i] ?? [0, 0];
    img.alt = `${r.model} channel ${i + 1}`;
    img.title = `channel ${i + 1}: ${lo.toFixed(2)} (black) … ${hi.toFixed(2)} (white)`;
    grid.append(img);
  });
  const note = document.createElement('p');
  note.className = 'muted';
  note.textContent = `${r.maps.length} of ${r.channels} pooled channels, ${r.width}×${r.height}`;
  col.append(h, grid, note);
  return col;
}

/** One classifier's probabilities as a bar chart. */
function column(r: ClassifyResult): HTMLElement {
  const col = document.createElement('div');
  col.className = 'score-col';
  const h = document.createElement('h3');
  h.textContent = `${r.model} (${r.variant}) → ${r.label}`;
  col.append(h);
  r.scores.forEach((s, i) => {
    const row = document.createElement('div');
    row.className = 'bar';
    row.dataset.best = String(i === r.label);
    const label = document.createElement('span');
    label.textContent = String(i);
    const track = document.createElement('span');
    track.className = 'track';
    const bar = document.createElement('span');
    bar.className = 'fill';
    bar.style.width = `${(100 * s).toFixed(1)}%`;
    track.append(bar);
    const val = document.createElement('span');
    val.textContent = s.toFixed(3);
    row.append(label, track, val);
    col.append(row);
  });
  return col;
}

clear();
api<{ available: boolean; reason: string | null; models: { name: string; variant: string }[] }>('/api/classify')
  .then((s) => {
    available = s.available;
    if (s.available) status(msg, `Classifiers: ${s.models.map((m) => `${m.name} (${m.variant})`).join(', ')}. Draw a digit and press Classify.`, 'info');
    else {
      layerSel.disabled = true;
      mapsMsg.textContent = 'Feature maps need a trained classifier on the server.';
      status(msg, `The classifier is not available on this server: ${s.reason}`, 'error');
      classifyBtn.disabled = true;
    }
  })
  .catch((e) => status(msg, (e as Error).message, 'error'));
