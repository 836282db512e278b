/**
 * Drawing boxes and short labels straight into RGB buffers (pure TypeScript, no canvas), for annotated videos.
 * Private to data/video; data/frames.ts may grow a public `drawBox` of its own.
 */
import type { RawFrame } from '../../tracker/tracker.js';
import type { Box } from '../../tracker/geometry.js';

/** An RGB colour, each channel 0–255. */
export type Rgb = readonly [number, number, number];

/** Fill the pixel rectangle `[x0, x1) × [y0, y1)` (integers), clipped to the frame. */
export function fillRect(frame: RawFrame, x0: number, y0: number, x1: number, y1: number, colour: Rgb): void {
  const { data, width, height } = frame;
  const xa = Math.max(0, x0), xb = Math.min(width, x1);
  const ya = Math.max(0, y0), yb = Math.min(height, y1);
  if (xa >= xb || ya >= yb) return;
  const [r, g, b] = colour;
  for (let y = ya; y < yb; y++) {
    let i = (y * width + xa) * 3;
    for (let x = xa; x < xb; x++, i += 3) {
      data[i] = r;
      data[i + 1] = g;
      data[i + 2] = b;
    }
  }
}

/** Pixel bounds `[x0, x1) × [y0, y1)` covered by a Box (0-based left-top, continuous): edges rounded. */
export function boxPixels(box: Box): { x0: number; y0: number; x1: number; y1: number } {
  const x0 = Math.round(box.x), y0 = Math.round(box.y);
  const x1 = Math.max(x0 + 1, Math.round(box.x + box.width));
  const y1 = Math.max(y0 + 1, Math.round(box.y + box.height));
  return { x0, y0, x1, y1 };
}

/**
 * Draw the outline of `box` in place: `thickness` pixels wide, lying inside the box's pixel bounds (so the box's
 * own edge pixels carry the colour), clipped to the frame. A box wholly outside draws nothing.
 */
export function drawBoxOutline(frame: RawFrame, box: Box, colour: Rgb, thickness: number): void {
  const { x0, y0, x1, y1 } = boxPixels(box);
  const t = Math.max(1, Math.round(thickness));
  fillRect(frame, x0, y0, x1, Math.min(y1, y0 + t), colour); // top
  fillRect(frame, x0, Math.max(y0, y1 - t), x1, y1, colour); // bottom
  fillRect(frame, x0, y0, Math.min(x1, x0 + t), y1, colour); // left
  fillRect(frame, Math.max(x0, x1 - t), y0, x1, y1, colour); // right
}

/** A 3×5 pixel font: five rows of three bits per glyph, most significant bit left. Lower case draws as upper case. */
const GLYPHS: Record<string, string> = {
  '0': '111101101101111', '1': '010110010010111', '2': '111001111100111', '3': '111001111001111',
  '4': '101101111001001', '5': '111100111001111', '6': '111100111101111', '7': '111001001001001',
  '8': '111101111101111', '9': '111101111001111',
  A: '010101111101101', B: '110101110101110', C: '011100100100011', D: '110101101101110',
  E: '111100110100111', F: '111100110100100', G: '011100101101011', H: '101101111101101',
  I: '111010010010111', J: '001001001101010', K: '101101110101101', L: '100100100100111',
  M: '101111111101101', N: '110101101101101', O: '010101101101010', P: '110101110100100',
  Q: '010101101110011', R: '110101110101101', S: '011100010001110', T: '111010010010010',
  U: '101101101101111', V: '101101101101010', W: '101101111111101', X: '101101010101101',
  Y: '101101010010010', Z: '111001010100111',
  ' ': '000000000000000', '.': '000000000000010', ',': '000000000010100', ':': '000010000010000',
  '-': '000000111000000', _: '000000000000111', '%': '101001010100101', '/': '001001010100100',
  '#': '101111101111101', '(': '010100100100010', ')': '010001001001010', '=': '000111000111000',
  '+': '000010111010000', '?': '111001010000010',
};

/** Glyph cell size in font pixels (3 wide + 1 spacing, 5 high). */
const CELL_W = 4;
const CELL_H = 5;

/** Size in pixels of `text` drawn at integer `scale` (without the background margin). */
export function textSize(text: string, scale: number): { width: number; height: number } {
  return { width: Math.max(0, text.length * CELL_W - 1) * scale, height: CELL_H * scale };
}

/**
 * Draw `text` with its left-top corner at integer pixel `(x, y)`, each font pixel a `scale × scale` square, on a
 * background rectangle one `scale` wider on every side (for legibility on any picture). Unknown characters draw as '?'.
 */
export function drawText(
  frame: RawFrame,
  text: string,
  x: number,
  y: number,
  colour: Rgb,
  background: Rgb,
  scale = 2,
): void {
  const s = Math.max(1, Math.round(scale));
  const { width, height } = textSize(text, s);
  fillRect(frame, x - s, y - s, x + width + s, y + height + s, background);
  for (let c = 0; c < text.length; c++) {
    const glyph = GLYPHS[text[c].toUpperCase()] ?? GLYPHS['?'];
    const gx = x + c * CELL_W * s;
    for (let row = 0; row < CELL_H; row++) {
      for (let col = 0; col < 3; col++) {
        if (glyph[row * 3 + col] !== '1') continue;
        fillRect(frame, gx + col * s, y + row * s, gx + (col + 1) * s, y + (row + 1) * s, colour);
      }
    }
  }
}

/** Draw a label for `box`: above its top-left corner when it fits in the frame, else just inside the box. */
export function drawLabel(frame: RawFrame, box: Box, text: string, colour: Rgb, thickness: number, scale = 2): void {
  const { x0, y0 } = boxPixels(box);
  const { height } = textSize(text, scale);
  const above = y0 - height - 2 * scale;
  const y = above >= 0 ? above + scale : y0 + Math.max(1, Math.round(thickness)) + scale;
  drawText(frame, text, Math.max(scale, x0 + scale), y, colour, [0, 0, 0], scale);
}
