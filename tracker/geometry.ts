/**
 * The one box convention of the project and the conversions at the file boundary.
 *
 * Inside the code every box is `Box`: 0-based pixel coordinates of the left-top corner plus width and height, in
 * pixels, continuous (not rounded). Files in other conventions (1-based OTB ground truth, centre-size, VOT polygons)
 * are converted with the functions here and nowhere else.
 *
 * IoU and centre error follow the got10k toolkit (github.com/got-10k/toolkit, `utils/metrics.py`) exactly:
 * IoU on continuous intervals `[x, x + w]` (no +1), centre `xy + (wh - 1) / 2`.
 */

/** Axis-aligned box: 0-based left-top corner `x, y` and size `width, height`, all in pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Centre-size box: centre `cx, cy` (0-based pixels, `x + (w - 1) / 2`) and size `width, height`. */
export interface CenterBox {
  cx: number;
  cy: number;
  width: number;
  height: number;
}

/** Error thrown for a box that cannot be used (NaN, non-positive size, outside the frame). */
export class BoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BoxError';
  }
}

/** `[x, y, w, h]` array → Box (no change of origin). */
export function fromArray(a: ArrayLike<number>): Box {
  return { x: a[0], y: a[1], width: a[2], height: a[3] };
}

/** Box → `[x, y, w, h]`. */
export function toArray(b: Box): [number, number, number, number] {
  return [b.x, b.y, b.width, b.height];
}

/** OTB ground truth (1-based Matlab pixels) → Box (0-based). */
export function fromOtb(a: ArrayLike<number>): Box {
  return { x: a[0] - 1, y: a[1] - 1, width: a[2], height: a[3] };
}

/** Box (0-based) → OTB (1-based) `[x, y, w, h]`. */
export function toOtb(b: Box): [number, number, number, number] {
  return [b.x + 1, b.y + 1, b.width, b.height];
}

/** Box → centre-size, centre as the got10k toolkit defines it: `x + (w - 1) / 2`. */
export function toCenter(b: Box): CenterBox {
  return { cx: b.x + (b.width - 1) / 2, cy: b.y + (b.height - 1) / 2, width: b.width, height: b.height };
}

/** Centre-size → Box (inverse of `toCenter`). */
export function fromCenter(c: CenterBox): Box {
  return { x: c.cx - (c.width - 1) / 2, y: c.cy - (c.height - 1) / 2, width: c.width, height: c.height };
}

/**
 * VOT polygon `[x1, y1, x2, y2, x3, y3, x4, y4]` (any number of points) → the axis-aligned box bounding it
 * (the "hull" rule used for otb-mini's Bag). Same origin as the polygon's coordinates. 4-value input is returned as a
 * box unchanged.
 */
export function fromPolygon(p: ArrayLike<number>): Box {
  if (p.length === 4) return fromArray(p);
  if (p.length < 6 || p.length % 2 !== 0) {
    throw new BoxError(`polygon needs an even number (>= 6) of values, got ${p.length}`);
  }
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < p.length; i += 2) {
    x0 = Math.min(x0, p[i]); x1 = Math.max(x1, p[i]);
    y0 = Math.min(y0, p[i + 1]); y1 = Math.max(y1, p[i + 1]);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** IoU of two boxes on continuous intervals, as the got10k toolkit computes it; in [0, 1]. */
export function iou(a: Box, b: Box): number {
  const left = Math.max(a.x, b.x);
  const top = Math.max(a.y, b.y);
  const right = Math.min(a.x + a.width, b.x + b.width);
  const bottom = Math.min(a.y + a.height, b.y + b.height);
  const w = Math.max(right - left, 0);
  const h = Math.max(bottom - top, 0);
  const inter = w * h;
  const union = a.width * a.height + b.width * b.height - inter;
  const v = union > 0 ? inter / union : 0;
  return Math.min(Math.max(v, 0), 1);
}

/** Euclidean distance between the toolkit centres `xy + (wh - 1) / 2` of two boxes, in pixels. */
export function centerError(a: Box, b: Box): number {
  const ca = toCenter(a);
  const cb = toCenter(b);
  return Math.hypot(ca.cx - cb.cx, ca.cy - cb.cy);
}

/**
 * Normalised centre error as the got10k toolkit's `normalized_center_error`: centre offsets divided by the
 * ground-truth width/height (each at least 1 px) before taking the norm.
 */
export function normalizedCenterError(pred: Box, gt: Box): number {
  const cp = toCenter(pred);
  const cg = toCenter(gt);
  const w = Math.max(gt.width, 1);
  const h = Math.max(gt.height, 1);
  return Math.hypot((cp.cx - cg.cx) / w, (cp.cy - cg.cy) / h);
}

/** Clip a box to a `width × height` image; the result may have zero size when the box lies outside. */
export function clipBox(b: Box, width: number, height: number): Box {
  const x0 = Math.min(Math.max(b.x, 0), width);
  const y0 = Math.min(Math.max(b.y, 0), height);
  const x1 = Math.min(Math.max(b.x + b.width, 0), width);
  const y1 = Math.min(Math.max(b.y + b.height, 0), height);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/**
 * Check that a box can initialise a tracker in a `width × height` frame: finite numbers, positive size, and at least
 * part of it inside the frame. Throws `BoxError` naming the problem; `what` names the box in the message.
 */
export function validateBox(b: Box, width: number, height: number, what = 'box'): void {
  for (const k of ['x', 'y', 'width', 'height'] as const) {
    if (typeof b?.[k] !== 'number' || !Number.isFinite(b[k])) {
      throw new BoxError(`${what}.${k} must be a finite number, got ${String(b?.[k])}`);
    }
  }
  if (b.width <= 0 || b.height <= 0) {
    throw new BoxError(`${what} must have a positive size, got ${b.width}×${b.height}`);
  }
  const c = clipBox(b, width, height);
  if (c.width <= 0 || c.height <= 0) {
    throw new BoxError(
      `${what} [${b.x}, ${b.y}, ${b.width}, ${b.height}] lies entirely outside the ${width}×${height} frame`,
    );
  }
}

/** Axis-aligned box bounding `b` after rotating its corners by `deg` degrees (counter-clockwise on screen) about
 * `(cx, cy)` in continuous pixel coordinates. Used by Rot-OTB and synthetic ground truth. */
export function rotateBoxBounds(b: Box, deg: number, cx: number, cy: number): Box {
  const t = (deg * Math.PI) / 180;
  const c = Math.cos(t), s = Math.sin(t);
  const pts: number[] = [];
  for (const [px, py] of [[b.x, b.y], [b.x + b.width, b.y], [b.x, b.y + b.height], [b.x + b.width, b.y + b.height]]) {
    const dx = px - cx, dy = py - cy;
    // y grows downwards on screen: a counter-clockwise rotation on screen is (x, y) -> (c·dx + s·dy, −s·dx + c·dy)
    pts.push(cx + c * dx + s * dy, cy - s * dx + c * dy);
  }
  return fromPolygon(pts);
}
