// SVG plots: well-formed XML, one path per tracker, legend texts sorted by score, PNG of the requested size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { Box } from '../../tracker/geometry.js';
import { type TrackerEvaluation, evaluateTracker } from '../../eval/metrics.js';
import {
  equivariancePlotSvg,
  precisionPlotSvg,
  robustnessPlotSvg,
  successPlotSvg,
  svgToPng,
} from '../../eval/plots.js';
import { escapeXml } from '../../eval/plot/svg.js';

/** Minimal XML well-formedness check: balanced tags, quoted attributes, only known entities in text. */
function assertWellFormedXml(xml: string): void {
  const stack: string[] = [];
  const tagRe = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  let root = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    assert.ok(!/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(text), `bare & in text near "${text.slice(0, 40)}"`);
    if (lt < 0) break;
    tagRe.lastIndex = lt;
    const m = tagRe.exec(xml);
    assert.ok(m, `malformed tag at ${lt}: "${xml.slice(lt, lt + 60)}"`);
    const [, close, name, , selfClose] = m;
    if (close) assert.equal(stack.pop(), name, `unbalanced </${name}>`);
    else if (!selfClose) {
      if (stack.length === 0) root++;
      stack.push(name);
    } else if (stack.length === 0) root++;
    i = tagRe.lastIndex;
  }
  assert.deepEqual(stack, [], 'unclosed tags');
  assert.equal(root, 1, 'exactly one root element');
}

const box = (x: number): Box => ({ x, y: 0, width: 10, height: 10 });
function evalWithShift(name: string, shift: number, n = 10): TrackerEvaluation {
  const gt = Array.from({ length: n }, () => box(0));
  return evaluateTracker(name, [{ name: 'S', boxes: Array.from({ length: n }, () => box(shift)), groundTruth: gt }]);
}

// AUCs (see metrics.test.ts): shift 0 → 20/21 = 0.952; shift 5 → 8.3/21 = 0.395; shift 2 → IoU 8/12 = 2/3:
// thresholds 0..0.65 (14) all frames, 0.70..0.95 (6) frame 0 only → (14 + 0.6)/21 = 0.695.
const evals = [evalWithShift('shift5 <&>', 5), evalWithShift('perfect', 0), evalWithShift('shift2', 2)];

test('success plot: well-formed, one path per tracker, legend "name [AUC]" sorted by AUC', async () => {
  const svg = successPlotSvg(evals);
  assertWellFormedXml(svg);
  assert.equal((svg.match(/class="series-line"/g) ?? []).length, 3);
  const labels = [...svg.matchAll(/<text x="[\d.]+" y="[\d.]+">([^<]*\[[\d.]+\])<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(labels, ['perfect [0.952]', 'shift2 [0.695]', `${escapeXml('shift5 <&>')} [0.395]`]);
  assert.match(svg, /Overlap threshold/);
  assert.match(svg, /font-family="sans-serif"/);
  assert.ok(!/<script|xlink:href|@font-face/.test(svg));
  // distinct colours for the three lines
  const strokes = [...svg.matchAll(/class="series-line"[^>]*stroke="(#[0-9a-f]{6})"/g)].map((m) => m[1]);
  assert.equal(new Set(strokes).size, 3);
});

test('precision plot: legend with precision@20 sorted, x axis to 50 px', () => {
  // precision@20: every tracker's centre error ≤ 5 px → 1.000 for all three; ties keep the input order.
  const svg = precisionPlotSvg(evals);
  assertWellFormedXml(svg);
  assert.equal((svg.match(/class="series-line"/g) ?? []).length, 3);
  assert.match(svg, /shift5 &lt;&amp;&gt; \[1\.000\]/);
  assert.match(svg, />50<\/text>/);
  assert.match(svg, /Location error threshold/);
});

test('PNG has the requested size', async () => {
  const png = await svgToPng(successPlotSvg(evals, { width: 800, height: 500 }));
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, 800);
  assert.equal(meta.height, 500);
});

test('robustness and equivariance plots', async () => {
  const rob = robustnessPlotSvg([
    { tracker: 'siamfc', points: [{ delta: 0, successAuc: 0.58 }, { delta: 2, successAuc: 0.2 }, { delta: 0.5, successAuc: 0.29 }] },
    { tracker: 'ien-siamfc', points: [{ delta: 0, successAuc: 0.57 }, { delta: 0.5, successAuc: 0.37 }, { delta: 2, successAuc: 0.3 }] },
  ]);
  assertWellFormedXml(rob);
  assert.equal((rob.match(/class="series-line"/g) ?? []).length, 2);
  // points sorted by Δ: the siamfc path visits x(0) < x(0.5) < x(2)
  const d = /data-label="siamfc" d="([^"]+)"/.exec(rob)?.[1] ?? '';
  const xs = [...d.matchAll(/[ML]([\d.]+) /g)].map((m) => Number(m[1]));
  assert.equal(xs.length, 3);
  assert.ok(xs[0] < xs[1] && xs[1] < xs[2]);
  assert.match(rob, /Rotation rate Δ \(°\/frame\)/);

  const eq = equivariancePlotSvg([
    { tracker: 'cnn', errors: [0.5, 0.8, 1.2], layers: ['conv1', 'conv2', 'conv3'] },
    { tracker: 'ien', errors: [0.01, 0.02, 0.004] },
  ]);
  assertWellFormedXml(eq);
  assert.equal((eq.match(/class="series-line"/g) ?? []).length, 2);
  // log axis from 10^-3 to 10^1: decade ticks 0.001, 0.01, 0.1, 1, 10
  for (const t of ['0.001', '0.01', '0.1', '1', '10']) assert.match(eq, new RegExp(`>${t.replace('.', '\\.')}</text>`));
  assert.match(eq, />conv2<\/text>/);
  const png = await svgToPng(eq);
  assert.equal((await sharp(png).metadata()).width, 720);
});

test('the XML checker itself rejects broken SVG', () => {
  assert.throws(() => assertWellFormedXml('<svg><g></svg>'));
  assert.throws(() => assertWellFormedXml('<svg><text>a & b</text></svg>'));
  assert.throws(() => assertWellFormedXml('<svg a=b></svg>'));
});
