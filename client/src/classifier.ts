/**
 * Classifier page: draw a digit on a 28×28 canvas (shown enlarged), rotate it with a slider, send it to the server
 * and show the class scores. While the server has no classifier it says what is missing.
 */
import type { ClassifyResult } from '../../server/protocol.js';
import { $, api, status } from './lib/api.js';

const pad = $<HTMLCanvasElement>('pad');
const angle = $<HTMLInputElement>('angle');
const angleText = $('angle-text');
const clearBtn = $<HTMLButtonElement>('clear');
const classifyBtn = $<HTMLButtonElement>('classify');
const msg = $('cls-status');
const scores = $('scores');

/** The drawing at full resolution (unrotated); the pad shows it rotated. */
const ink = document.createElement('canvas');
ink.width = ink.height = 280;
const inkCtx = ink.getContext('2d')!;
const padCtx = pad.getContext('2d')!;
let drawing = false;

function clear(): void {
  inkCtx.fillStyle = '#000';
  inkCtx.fillRect(0, 0, 280, 280);
  redraw();
  scores.replaceChildren();
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
  redraw();
});
pad.addEventListener('pointerup', () => (drawing = false));
angle.addEventListener('input', redraw);
clearBtn.addEventListener('click', clear);
classifyBtn.addEventListener('click', () => void classify());

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

async function classify(): Promise<void> {
  status(msg, 'Classifying…');
  try {
    const { results } = await api<{ results: ClassifyResult[] }>('/api/classify', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pixels: pixels() }),
    });
    status(msg, results.map((r) => `${r.model}: ${r.label}`).join(' · '), 'ok');
    scores.replaceChildren(...results.map(column));
  } catch (e) {
    status(msg, `Not available: ${(e as Error).message}`, 'error');
  }
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
    if (s.available) status(msg, `Classifiers: ${s.models.map((m) => `${m.name} (${m.variant})`).join(', ')}. Draw a digit and press Classify.`, 'info');
    else {
      status(msg, `The classifier is not available on this server: ${s.reason}`, 'error');
      classifyBtn.disabled = true;
    }
  })
  .catch((e) => status(msg, (e as Error).message, 'error'));
