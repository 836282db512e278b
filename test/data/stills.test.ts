import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { SeededRandom } from '../../tracker/random.js';
import { iou } from '../../tracker/geometry.js';
import { checkImageHeader, discoverFiles, folderSource } from '../../data/image-sources.js';
import { proposeTargets } from '../../data/still-targets.js';
import { StillsConfigSchema, planStillSequence, poseBox, renderStillSequence } from '../../data/stills.js';
import { buildStillsDataset } from '../../data/real-stills.js';
import { main as realCli } from '../../data/cli/real.js';
import { Got10kDataset } from '../../data/got10k.js';
import type { RawFrame } from '../../tracker/tracker.js';

let dir = '';
let photos = '';

/** A photograph-like image: smooth colour gradients, noise, and one bright textured object on it. */
function photoLike(w: number, h: number, seed: number): RawFrame {
  const rng = new SeededRandom(seed);
  const data = new Uint8Array(w * h * 3);
  const ox = w * rng.uniform(0.3, 0.6), oy = h * rng.uniform(0.3, 0.6), r = Math.min(w, h) * 0.15;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      const inObj = Math.abs(x - ox) < r && Math.abs(y - oy) < r * 0.7;
      const n = rng.uniform(-20, 20);
      data[o] = inObj ? 230 - ((x + y) % 9) * 10 : 60 + (120 * x) / w + n;
      data[o + 1] = inObj ? 40 + ((x * 3) % 50) : 90 + (100 * y) / h + n;
      data[o + 2] = inObj ? 30 : 140 - (80 * x) / w + n;
    }
  }
  return { data, width: w, height: h };
}

async function writeRgb(file: string, f: RawFrame): Promise<void> {
  await sharp(Buffer.from(f.data), { raw: { width: f.width, height: f.height, channels: 3 } }).toFile(file);
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'stills-'));
  photos = path.join(dir, 'photos');
  mkdirSync(path.join(photos, 'sub'), { recursive: true });
  await writeRgb(path.join(photos, 'good1.jpg'), photoLike(240, 180, 1));
  await writeRgb(path.join(photos, 'sub', 'good2.png'), photoLike(200, 200, 2));
  writeFileSync(path.join(photos, 'broken.jpg'), Buffer.from('not a jpeg at all'));
  await writeRgb(path.join(photos, 'tiny.png'), photoLike(60, 40, 3));
  await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 128, g: 128, b: 128 } } }).toColourspace('b-w').png().toFile(path.join(photos, 'grey.png'));
  await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 90, g: 90, b: 90 } } }).jpeg().toFile(path.join(photos, 'greyrgb.jpg'));
  await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 200, g: 20, b: 20 } } }).png().toFile(path.join(photos, 'flat.png'));
  // 5000 × 5000 of one colour: a small file whose header says 25 MP (over the test's 4 MP limit); never decoded
  await sharp({ create: { width: 5000, height: 5000, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toFile(path.join(photos, 'huge.png'));
  writeFileSync(path.join(photos, 'notes.txt'), 'not an image');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('header checks name the file and the problem: unreadable, tiny, grey, huge', async () => {
  const limits = { minSide: 128, maxPixels: 4e6, maxBytes: 1e8 };
  assert.match((await checkImageHeader(path.join(photos, 'broken.jpg'), limits))!, /broken\.jpg: unreadable/);
  assert.match((await checkImageHeader(path.join(photos, 'tiny.png'), limits))!, /tiny\.png: tiny \(60×40/);
  assert.match((await checkImageHeader(path.join(photos, 'grey.png'), limits))!, /grey\.png: grey \(1 channel\)/);
  assert.match((await checkImageHeader(path.join(photos, 'huge.png'), limits))!, /huge\.png: huge \(5000×5000 > 4 MP\)/);
  assert.equal(await checkImageHeader(path.join(photos, 'good1.jpg'), limits), null);
});

test('a source that is not installed gives one line naming its package; folders are searched recursively', async () => {
  const d = await discoverFiles([
    { id: 'nothere', package: 'no-such-package', licence: 'x', dirs: [path.join(dir, 'absent')], description: '' },
    folderSource(photos, 0),
  ]);
  assert.deepEqual(d.missing, ['[data] source "nothere" skipped: not installed (apt-get install -y no-such-package)']);
  const names = d.files.map((f) => path.basename(f.file)).sort();
  assert.deepEqual(names, ['broken.jpg', 'flat.png', 'good1.jpg', 'good2.png', 'grey.png', 'greyrgb.jpg', 'huge.png', 'tiny.png']);
});

test('proposals prefer the region that stands out from its surroundings and follow OTB-like shapes', () => {
  const img = photoLike(240, 180, 7);
  const boxes = proposeTargets(img, 3, new SeededRandom(3), { side: [0.1, 0.35] });
  assert.equal(boxes.length, 3);
  for (let i = 1; i < boxes.length; i++) assert.ok(boxes[i - 1].score >= boxes[i].score);
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) assert.ok(iou(boxes[i].box, boxes[j].box) <= 0.3);
  // the object of photoLike(seed 7) lies where the best box is: its colour is far from the background
  const b = boxes[0].box;
  const cx = Math.round(b.x + b.width / 2), cy = Math.round(b.y + b.height / 2);
  const o = (cy * 240 + cx) * 3;
  assert.ok(img.data[o] > 150 && img.data[o + 2] < 60, `best box centred on the object (rgb ${img.data.slice(o, o + 3)})`);
});

test('a still sequence: exact boxes of the moving mask, cover labels, frame 0 looks like the photograph, deterministic', () => {
  const cfg = StillsConfigSchema.parse({ frames: 12, rotationRate: 5, occlusionProb: 1, distractors: 1, blurProb: 0, illumination: 0 });
  const img = photoLike(160, 120, 4);
  const target = { x: 50, y: 40, width: 40, height: 30 };
  const plan = planStillSequence(cfg, 160, 120, target, 0);
  assert.equal(plan.groundTruth.length, 12);
  assert.ok(Math.abs(plan.rotationRate) <= 5);
  const b0 = plan.groundTruth[0];
  assert.ok(Math.abs(b0.x - 50) < 0.5 && Math.abs(b0.width - 40) < 1, `first box ≈ the target (${JSON.stringify(b0)})`);
  plan.groundTruth.forEach((b, t) => assert.deepEqual(b, poseBox(plan.target.poses[t])));
  assert.ok(plan.cover.every((c) => Number.isInteger(c) && c >= 0 && c <= 8));
  assert.ok(plan.occluder, 'occlusionProb 1 gives an occluder');
  const frames = [...renderStillSequence(plan, img)];
  const again = [...renderStillSequence(planStillSequence(cfg, 160, 120, target, 0), img)];
  assert.equal(frames.length, 12);
  assert.deepEqual(frames[11].data, again[11].data);
  // inside the target at frame 0, the pixels are the photograph's own
  let diff = 0, n = 0;
  for (let y = 45; y < 65; y++) for (let x = 58; x < 82; x++) for (let c = 0; c < 3; c++) { diff += Math.abs(frames[0].data[(y * 160 + x) * 3 + c] - img.data[(y * 160 + x) * 3 + c]); n++; }
  assert.ok(diff / n < 6, `mean |frame0 − photo| inside the target ${diff / n}`);
  assert.throws(() => renderStillSequence(plan, photoLike(100, 100, 1)).next(), /photograph is 100×100, the plan 160×120/);
});

test('buildStillsDataset: bad files are skipped with a line each, the rest become GOT-10k sequences with a manifest', async () => {
  const out = path.join(dir, 'set');
  const lines: string[] = [];
  const m = await buildStillsDataset({
    out, sources: [folderSource(photos, 0)], config: { frames: 6, frameSide: 96, sequencesPerImage: 2 }, holdOut: 0.5,
    limits: { minSide: 128, maxPixels: 4e6, maxBytes: 1e8 }, log: (l) => lines.push(l),
  });
  const text = lines.join('\n');
  for (const [f, why] of [['broken.jpg', 'unreadable'], ['tiny.png', 'tiny'], ['grey.png', 'grey'], ['greyrgb.jpg', 'grey'], ['flat.png', 'flat'], ['huge.png', 'huge']]) {
    assert.match(text, new RegExp(`skipped .*${f.replace('.', '\\.')}: ${why}`), `${f} skipped as ${why}`);
  }
  assert.equal(m.counts.images, 2);
  assert.equal(m.counts.skipped, 6);
  assert.equal(m.counts.train + m.counts.val, 4);
  assert.equal(m.counts.val, 2, 'one of two photographs is held out');
  const train = new Got10kDataset(out, 'train');
  const seq = await train.sequence(train.names()[0]);
  assert.equal(seq.frames.length, 6);
  assert.equal(seq.groundTruth.length, 6);
  assert.equal(seq.cover?.length, 6);
  assert.match(seq.meta.generator, /rot-track stills/);
  const manifest = JSON.parse(readFileSync(path.join(out, 'stills-manifest.json'), 'utf8'));
  assert.deepEqual(manifest.images.map((i: { split: string }) => i.split).sort(), ['train', 'val']);
  // same inputs → same bytes
  const out2 = path.join(dir, 'set2');
  await buildStillsDataset({ out: out2, sources: [folderSource(photos, 0)], config: { frames: 6, frameSide: 96, sequencesPerImage: 2 }, holdOut: 0.5,
    limits: { minSide: 128, maxPixels: 4e6, maxBytes: 1e8 } });
  const first = train.names()[0];
  for (const f of readdirSync(path.join(out, 'train', first))) {
    assert.deepEqual(readFileSync(path.join(out2, 'train', first, f)), readFileSync(path.join(out, 'train', first, f)), f);
  }
});

test('data:real CLI: --help lists the Debian sources; bad flags exit 2; a folder with no usable image exits 1 naming the count', async () => {
  const run = async (args: string[]) => {
    let o = '', e = '';
    const code = await realCli(args, { write: (s: string) => (o += s) }, { write: (s: string) => (e += s) });
    return { code, o, e };
  };
  const h = await run(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.o, /opencv-doc/);
  assert.match(h.o, /python3-skimage/);
  assert.equal((await run(['--out', path.join(dir, 'x'), '--sources', 'nope'])).code, 2);
  assert.match((await run(['--out', path.join(dir, 'x'), '--per-image', 'many'])).e, /--per-image: "many" is not a non-negative integer/);
  const bad = path.join(dir, 'bad');
  mkdirSync(bad);
  writeFileSync(path.join(bad, 'a.jpg'), 'x');
  const r = await run(['--out', path.join(dir, 'y'), '--sources', 'none', '--images', bad]);
  assert.equal(r.code, 1);
  assert.match(r.e, /a\.jpg: unreadable/);
  assert.match(r.e, /no usable photograph among 1 files/);
});
