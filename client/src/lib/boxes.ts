/**
 * Boxes on canvases: drawing a box by mouse drag over an overlay canvas whose pixel size is the image's (so box
 * coordinates are image pixels whatever the CSS size), and painting boxes.
 */
import type { WireBox } from '../../../server/protocol.js';

/** Image pixel under a pointer event on `canvas` (canvas.width/height are the image size). */
export function toImage(canvas: HTMLCanvasElement, e: PointerEvent): { x: number; y: number } {
  const r = canvas.getBoundingClientRect();
  const x = ((e.clientX - r.left) / Math.max(r.width, 1)) * canvas.width;
  const y = ((e.clientY - r.top) / Math.max(r.height, 1)) * canvas.height;
  return { x: Math.min(Math.max(x, 0), canvas.width), y: Math.min(Math.max(y, 0), canvas.height) };
}

/**
 * Let the user drag a box on `canvas`. `onChange` gets the box while dragging (`final` false) and when released
 * (`final` true; boxes smaller than 4×4 pixels are ignored). Returns a function that removes the listeners.
 */
export function boxDrawing(canvas: HTMLCanvasElement, onChange: (box: WireBox, final: boolean) => void): () => void {
  let start: { x: number; y: number } | null = null;
  const boxOf = (e: PointerEvent): WireBox => {
    const p = toImage(canvas, e);
    const s = start!;
    return { x: Math.min(s.x, p.x), y: Math.min(s.y, p.y), width: Math.abs(p.x - s.x), height: Math.abs(p.y - s.y) };
  };
  const down = (e: PointerEvent) => {
    if (e.button !== 0) return;
    start = toImage(canvas, e);
    canvas.setPointerCapture(e.pointerId);
    e.preventDefault();
  };
  const move = (e: PointerEvent) => {
    if (start) onChange(boxOf(e), false);
  };
  const up = (e: PointerEvent) => {
    if (!start) return;
    const b = boxOf(e);
    start = null;
    if (b.width >= 4 && b.height >= 4) onChange(b, true);
  };
  canvas.addEventListener('pointerdown', down);
  canvas.addEventListener('pointermove', move);
  canvas.addEventListener('pointerup', up);
  canvas.addEventListener('pointercancel', () => (start = null));
  return () => {
    canvas.removeEventListener('pointerdown', down);
    canvas.removeEventListener('pointermove', move);
    canvas.removeEventListener('pointerup', up);
  };
}

/** Clear `canvas` and draw `box` (image pixels) with an optional label; `dashed` for a box being drawn. */
export function paintBox(canvas: HTMLCanvasElement, box: WireBox | null, label = '', dashed = false, colour = '#22e06b'): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!box) return;
  const lw = Math.max(2, Math.round(canvas.width / 240));
  ctx.lineWidth = lw;
  ctx.strokeStyle = colour;
  ctx.setLineDash(dashed ? [6 * lw, 4 * lw] : []);
  ctx.strokeRect(box.x, box.y, box.width, box.height);
  if (label) {
    const size = Math.max(12, Math.round(canvas.width / 40));
    ctx.font = `${size}px system-ui, sans-serif`;
    const w = ctx.measureText(label).width + 8;
    const y = box.y - size - 6 >= 0 ? box.y - size - 6 : box.y + 2;
    ctx.fillStyle = 'rgba(0,0,0,0.65)';
    ctx.fillRect(box.x, y, w, size + 6);
    ctx.fillStyle = colour;
    ctx.fillText(label, box.x + 4, y + size);
  }
}

/** "x 12, y 30, 40×52" for people. */
export function describeBox(b: WireBox): string {
  return `x ${Math.round(b.x)}, y ${Math.round(b.y)}, ${Math.round(b.width)}×${Math.round(b.height)} px`;
}
