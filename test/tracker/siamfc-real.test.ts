import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { tf } from '../../tracker/tf.js';
import { Backbone } from '../../tracker/backbones.js';
import { pooledPixelsSpec } from '../../tracker/backbone-spec.js';
import { SiamFCNet, SiamFCTracker } from '../../tracker/siamfc.js';
import { trackSequence, type RawFrame } from '../../tracker/tracker.js';
import { fromOtb, iou } from '../../tracker/geometry.js';
import { successAuc } from '../helpers/synthetic-seq.js';
import { OTB_MINI, sharedDataSkip } from '../helpers/shared-data.js';

before(async () => {
  await tf.setBackend('cpu');
});

async function* frames(dir: string): AsyncGenerator<RawFrame> {
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.jpg')).sort()) {
    const { data, info } = await sharp(path.join(dir, f)).toColourspace('srgb').removeAlpha().raw()
      .toBuffer({ resolveWithObject: true });
    yield { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  }
}

test('fixed-feature SiamFC on the real OTB sequence Crossing (AUC reported, no threshold)', { skip: sharedDataSkip() }, async () => {
  const seq = path.join(OTB_MINI, 'Crossing');
  const gt = readFileSync(path.join(seq, 'groundtruth_rect.txt'), 'utf8').trim().split(/\r?\n/)
    .map((l) => fromOtb(l.split(/[,\s]+/).map(Number)));
  const net = new SiamFCNet(new Backbone(pooledPixelsSpec(4, { exemplarSize: 63, instanceSize: 127 })));
  const tracker = new SiamFCTracker(net);
  const res = await trackSequence(tracker, frames(path.join(seq, 'img')), gt[0]);
  assert.equal(res.boxes.length, gt.length);
  const auc = successAuc(res.boxes, gt, iou);
  const fps = res.times.length / res.times.reduce((a, b) => a + b, 0);
  console.log(`# Crossing (${gt.length} frames): template-matching SiamFC success AUC = ${auc.toFixed(3)}, ${fps.toFixed(1)} fps (cpu backend)`);
  assert.ok(Number.isFinite(auc) && auc >= 0 && auc <= 20 / 21);
  tracker.dispose();
  net.dispose();
});
