/**
 * A small line/marker chart renderer producing standalone SVG text: axes, ticks, gridlines, title, axis labels and a
 * legend outside the plot area on the right (so it never hides a curve). Linear or log10 y axis. Text uses the
 * generic `sans-serif` family only, so librsvg (through sharp) renders it without any embedded font.
 */

/** One line of a chart: points `(x[i], y[i])`; points with a non-finite coordinate break the line. */
export interface Series {
  /** Legend text. */
  label: string;
  x: number[];
  y: number[];
  /** Draw a marker at every point (categorical plots). */
  markers?: boolean;
  /** Index into the colour/dash cycle (default: the series' position), so a tracker keeps its style across plots. */
  style?: number;
}

/** Chart layout and axes. Sizes in SVG user units (= PNG pixels). */
export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Axis ranges `[min, max]`; for a log axis both must be positive. */
  xRange: [number, number];
  yRange: [number, number];
  /** Tick positions in data units; default: 11 (linear) or every decade (log). */
  xTicks?: number[];
  yTicks?: number[];
  /** Text of a tick; default: a short number. */
  xTickLabel?: (v: number) => string;
  yTickLabel?: (v: number) => string;
  /** Rotate x tick labels by -35° (long categorical names). */
  rotateXTicks?: boolean;
  yLog?: boolean;
  width?: number;
  height?: number;
}

/** Distinct colours (Tableau 10), cycled by series index. */
export const PALETTE = [
  '#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
];
/** Dash patterns (stroke-dasharray), cycled by series index together with the colours, so lines differ in greyscale. */
export const DASHES = ['', '8 4', '2 3', '10 3 2 3'];

/** Colour and dash pattern of series `i`. */
export function seriesStyle(i: number): { color: string; dash: string } {
  return { color: PALETTE[i % PALETTE.length], dash: DASHES[i % DASHES.length] };
}

/** Escape text for SVG content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Short tick text: up to 3 significant decimals, no trailing zeros. */
export function tickText(v: number): string {
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(0).replace('e+', 'e');
  return String(Number(v.toFixed(3)));
}

/** Approximate rendered width of `s` at `fontSize` in a generic sans-serif font (average glyph ≈ 0.6 em). */
export function textWidth(s: string, fontSize: number): number {
  return s.length * fontSize * 0.6;
}

const f = (v: number): string => String(Math.round(v * 100) / 100);

/** Evenly spaced ticks including both ends. */
export function linearTicks(min: number, max: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => min + ((max - min) * i) / (count - 1));
}

/** Powers of ten within `[min, max]` (min, max > 0). */
export function decadeTicks(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    const v = 10 ** e;
    if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) out.push(v);
  }
  return out;
}

/** Render a line chart as SVG text. */
export function lineChartSvg(series: Series[], o: ChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 480;
  const fs = 13;
  const legendFs = 12;
  const legendW = series.length
    ? Math.min(W * 0.45, Math.max(...series.map((s) => textWidth(s.label, legendFs))) + 46)
    : 0;
  const left = 64;
  const right = W - 16 - legendW - (series.length ? 8 : 0);
  const top = 40;
  const bottom = H - (o.rotateXTicks ? 86 : 52);
  const [x0, x1] = o.xRange;
  const [y0, y1] = o.yRange;
  if (!(x1 > x0) || !(y1 > y0)) throw new Error(`chart "${o.title}": empty axis range`);
  if (o.yLog && !(y0 > 0)) throw new Error(`chart "${o.title}": a log axis needs a positive range`);
  const ly = (v: number): number => (o.yLog ? Math.log10(v) : v);
  const sx = (v: number): number => left + ((v - x0) / (x1 - x0)) * (right - left);
  const sy = (v: number): number => bottom - ((ly(v) - ly(y0)) / (ly(y1) - ly(y0))) * (bottom - top);
  const xTicks = o.xTicks ?? linearTicks(x0, x1, 11);
  const yTicks = o.yTicks ?? (o.yLog ? decadeTicks(y0, y1) : linearTicks(y0, y1, 11));
  const xt = o.xTickLabel ?? tickText;
  const yt = o.yTickLabel ?? tickText;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="sans-serif">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${f((left + right) / 2)}" y="24" font-size="16" font-weight="bold" text-anchor="middle">` +
      `${escapeXml(o.title)}</text>`,
  );
  // gridlines and ticks
  parts.push('<g class="grid" stroke="#dddddd" stroke-width="1">');
  for (const v of xTicks) parts.push(`<line x1="${f(sx(v))}" y1="${top}" x2="${f(sx(v))}" y2="${bottom}"/>`);
  for (const v of yTicks) parts.push(`<line x1="${left}" y1="${f(sy(v))}" x2="${f(right)}" y2="${f(sy(v))}"/>`);
  parts.push('</g>');
  parts.push(`<g class="ticks" font-size="${fs - 2}" fill="#222222">`);
  for (const v of xTicks) {
    const x = sx(v);
    parts.push(`<line x1="${f(x)}" y1="${bottom}" x2="${f(x)}" y2="${bottom + 5}" stroke="#222222"/>`);
    if (o.rotateXTicks) {
      parts.push(
        `<text x="${f(x)}" y="${bottom + 16}" text-anchor="end" transform="rotate(-35 ${f(x)} ${bottom + 16})">` +
          `${escapeXml(xt(v))}</text>`,
      );
    } else {
      parts.push(`<text x="${f(x)}" y="${bottom + 19}" text-anchor="middle">${escapeXml(xt(v))}</text>`);
    }
  }
  for (const v of yTicks) {
    const y = sy(v);
    parts.push(`<line x1="${left - 5}" y1="${f(y)}" x2="${left}" y2="${f(y)}" stroke="#222222"/>`);
    parts.push(`<text x="${left - 8}" y="${f(y + 4)}" text-anchor="end">${escapeXml(yt(v))}</text>`);
  }
  parts.push('</g>');
  // axis labels
  parts.push(
    `<text x="${f((left + right) / 2)}" y="${H - 10}" font-size="${fs}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`,
    `<text x="16" y="${f((top + bottom) / 2)}" font-size="${fs}" text-anchor="middle" ` +
      `transform="rotate(-90 16 ${f((top + bottom) / 2)})">${escapeXml(o.yLabel)}</text>`,
  );
  // series, clipped to the plot area
  parts.push(
    `<defs><clipPath id="plot-area"><rect x="${left}" y="${top - 2}" width="${f(right - left + 2)}" ` +
      `height="${bottom - top + 4}"/></clipPath></defs>`,
    '<g class="series" clip-path="url(#plot-area)" fill="none" stroke-width="2" stroke-linejoin="round">',
  );
  series.forEach((s, i) => {
    const { color, dash } = seriesStyle(s.style ?? i);
    let d = '';
    let pen = false;
    const pts: [number, number][] = [];
    for (let k = 0; k < s.x.length; k++) {
      const ok = Number.isFinite(s.x[k]) && Number.isFinite(s.y[k]) && (!o.yLog || s.y[k] > 0);
      if (!ok) {
        pen = false;
        continue;
      }
      const X = sx(s.x[k]);
      const Y = sy(s.y[k]);
      d += `${pen ? 'L' : 'M'}${f(X)} ${f(Y)} `;
      pen = true;
      pts.push([X, Y]);
    }
    const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
    parts.push(
      `<path class="series-line" data-label="${escapeXml(s.label)}" d="${d.trim()}" stroke="${color}"${dashAttr}/>`,
    );
    if (s.markers) {
      for (const [X, Y] of pts) parts.push(`<circle cx="${f(X)}" cy="${f(Y)}" r="3.5" fill="${color}" stroke="none"/>`);
    }
  });
  parts.push('</g>');
  // frame on top of the curves
  parts.push(
    `<rect x="${left}" y="${top}" width="${f(right - left)}" height="${bottom - top}" fill="none" stroke="#222222"/>`,
  );
  // legend
  if (series.length) {
    const lx = right + 12;
    // shrink the rows when many trackers would not fit next to the plot area
    const rowH = Math.max(12, Math.min(20, (bottom - top - 10) / series.length));
    const lh = series.length * rowH + 10;
    const ly0 = Math.max(top, (top + bottom) / 2 - lh / 2);
    parts.push(
      `<g class="legend" font-size="${legendFs}">`,
      `<rect x="${f(lx)}" y="${f(ly0)}" width="${f(legendW)}" height="${lh}" fill="#ffffff" stroke="#999999"/>`,
    );
    series.forEach((s, i) => {
      const { color, dash } = seriesStyle(s.style ?? i);
      const y = ly0 + 5 + rowH * i + rowH / 2;
      const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
      parts.push(
        `<line x1="${f(lx + 6)}" y1="${f(y)}" x2="${f(lx + 36)}" y2="${f(y)}" stroke="${color}" stroke-width="2"${dashAttr}/>`,
      );
      if (s.markers) parts.push(`<circle cx="${f(lx + 21)}" cy="${f(y)}" r="3.5" fill="${color}"/>`);
      parts.push(`<text x="${f(lx + 42)}" y="${f(y + 4)}">${escapeXml(s.label)}</text>`);
    });
    parts.push('</g>');
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
