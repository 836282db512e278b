import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SyntheticConfigSchema, coverLevel, planSequence, renderSequence, writeSyntheticDataset } from '../../data/synthetic.js';
import { encodePng } from '../../data/frames.js';
import { Got10kDataset } from '../../data/got10k.js';
import { OtbDataset } from '../../data/otb.js';
import { clipBox } from '../../tracker/geometry.js';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'synthetic-test-'));
}

function listFiles(dir: string, base = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(p, base) : [path.relative(base, p)];
  }).sort();
}

test('same config and seed give byte-identical files; another seed gives other files', async () => {
  const root = tmp();
  try {
    const cfg = { count: 2, frames: 5, width: 64, height: 48, seed: 11, occlusionProb: 1, blurProb: 0.5 };
    await writeSyntheticDataset(path.join(root, 'a'), cfg, 'got10k');
    await writeSyntheticDataset(path.join(root, 'b'), cfg, 'got10k');
    await writeSyntheticDataset(path.join(root, 'c'), { ...cfg, seed: 12 }, 'got10k');
    const files = listFiles(path.join(root, 'a'));
    assert.deepEqual(files, listFiles(path.join(root, 'b')));
    assert.ok(files.includes(path.join('train', 'GOT-10k_Train_000002', '00000005.jpg')));
    assert.ok(files.includes(path.join('train', 'list.txt')));
    for (const f of files) assert.ok(fs.readFileSync(path.join(root, 'a', f)).equals(fs.readFileSync(path.join(root, 'b', f))), f);
    const f1 = path.join('train', 'GOT-10k_Train_000001', '00000001.jpg');
    assert.ok(!fs.readFileSync(path.join(root, 'a', f1)).equals(fs.readFileSync(path.join(root, 'c', f1))), 'seed changes the frames');
    const ds = new Got10kDataset(path.join(root, 'a'), 'train');
    const s = await ds.sequence('GOT-10k_Train_000002');
    assert.equal(s.frames.length, 5);
    assert.equal(s.meta.seed, '11');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('ground truth is exact: the lit pixels of a target on a black background fill its box', async () => {
  const root = tmp();
  try {
    const bg = path.join(root, 'bg');
    await encodePng({ data: new Uint8Array(16 * 16 * 3), width: 16, height: 16 }, path.join(bg, 'black.png'));
    const kinds = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const plan = planSequence(
        { width: 96, height: 72, frames: 6, seed: 5, rotationRate: 13, distractors: 0, occlusionProb: 0, blurProb: 0, illumination: 0, pan: 0, backgrounds: bg },
        i,
      );
      kinds.add(plan.meta.shape);
      let t = 0;
      for await (const f of renderSequence(plan)) {
        const gt = plan.groundTruth[t];
        let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
        for (let y = 0; y < f.height; y++) {
          for (let x = 0; x < f.width; x++) {
            const o = (y * f.width + x) * 3;
            if (f.data[o] + f.data[o + 1] + f.data[o + 2] === 0) continue;
            // Every target pixel's centre lies inside the ground-truth box.
            assert.ok(x + 0.5 >= gt.x && x + 0.5 <= gt.x + gt.width && y + 0.5 >= gt.y && y + 0.5 <= gt.y + gt.height, `seq ${i} frame ${t}: (${x}, ${y}) outside`);
            x0 = Math.min(x0, x); x1 = Math.max(x1, x + 1); y0 = Math.min(y0, y); y1 = Math.max(y1, y + 1);
          }
        }
        // And the box is tight: the lit extent reaches each side (within a pixel), where the side is in the frame.
        const c = clipBox(gt, f.width, f.height);
        const msg = `seq ${i} (${plan.meta.shape}) frame ${t}: lit [${x0}, ${y0}, ${x1}, ${y1}] vs box ${JSON.stringify(gt)}`;
        assert.ok(Math.abs(x0 - c.x) <= 1.01 && Math.abs(y0 - c.y) <= 1.01, msg);
        assert.ok(Math.abs(x1 - (c.x + c.width)) <= 1.01 && Math.abs(y1 - (c.y + c.height)) <= 1.01, msg);
        t++;
      }
      assert.equal(t, 6);
    }
    assert.deepEqual([...kinds].sort(), ['ellipse', 'polygon', 'rectangle'], 'every shape kind was checked');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('rotation rate and sign; occlusion gives cover labels from the visible fraction', () => {
  const p = planSequence({ frames: 10, rotationRate: 2.5, rotationSign: 'positive' }, 0);
  assert.equal(p.meta.rotation_rate_deg_per_frame, '2.5');
  const n = planSequence({ frames: 10, rotationRate: 2.5, rotationSign: 'negative' }, 0);
  assert.equal(n.meta.rotation_rate_deg_per_frame, '-2.5');
  let occludedFrames = 0;
  for (let i = 0; i < 6; i++) {
    const q = planSequence({ frames: 40, occlusionProb: 1, seed: 2 }, i);
    assert.ok(q.occluder, 'occlusionProb 1 always has an occluder');
    q.visible.forEach((v, t) => {
      assert.equal(q.cover[t], coverLevel(v));
      assert.equal(q.absence[t], v === 0);
      const inOcc = t >= q.occluder!.start && t < q.occluder!.end;
      if (!inOcc && !q.cutByImage[t]) assert.equal(q.cover[t], 8, `seq ${i} frame ${t} unoccluded and inside`);
      if (inOcc && v < 1) occludedFrames++;
    });
  }
  assert.ok(occludedFrames > 10, `only ${occludedFrames} partly occluded frames`);
  assert.deepEqual([0, 0.1, 0.15, 0.5, 0.95, 1].map(coverLevel), [0, 1, 2, 4, 7, 8]);
});

test('config schema: defaults, strictness and ranges', () => {
  const d = SyntheticConfigSchema.parse({});
  assert.equal(d.rotationRate, 1);
  assert.equal(d.width, 320);
  assert.throws(() => SyntheticConfigSchema.parse({ rotationrate: 2 }), /Unrecognized key/);
  assert.throws(() => SyntheticConfigSchema.parse({ count: 0 }));
  assert.throws(() => SyntheticConfigSchema.parse({ targetSize: [0.5, 0.1] }), /min <= max/);
});

test('OTB layout: the reader sees every sequence with 1-based boxes converted back', async () => {
  const root = tmp();
  try {
    const r = await writeSyntheticDataset(root, { count: 2, frames: 4, width: 48, height: 40, seed: 9 }, 'otb');
    assert.deepEqual(r.names, ['Synthetic_0001', 'Synthetic_0002']);
    const ds = new OtbDataset(root, { name: 'Synthetic' });
    assert.deepEqual(ds.names(), r.names);
    const s = await ds.sequence('Synthetic_0002');
    const plan = planSequence({ count: 2, frames: 4, width: 48, height: 40, seed: 9 }, 1);
    s.groundTruth.forEach((b, t) => assert.ok(Math.abs(b.x - plan.groundTruth[t].x) < 1e-3 && Math.abs(b.height - plan.groundTruth[t].height) < 1e-3));
    assert.ok(fs.existsSync(path.join(root, 'synthetic-config.json')));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
