// Per-layer L_G of each kind of backbone on exemplar crops of a dataset: the exactly equivariant C4 backbone ~0, a
// random plain backbone (its conv outputs compared unpooled, Λ = 1) and a random IEN one clearly > 0; the channel
// share of a heterogeneous spec.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setBackend } from '../../tracker/backend.js';
import { tf } from '../../tracker/tf.js';
import { createBackbone } from '../../tracker/weights.js';
import { tinySpec } from '../../training/config.js';
import { writeSyntheticDataset } from '../../data/synthetic.js';
import { OtbDataset } from '../../data/otb.js';
import { channelsPercent, trackerEquivariance } from '../../eval/tracker-equivariance.js';

let dir: string;
let ds: OtbDataset;

before(async () => {
  await setBackend('cpu');
  dir = mkdtempSync(path.join(tmpdir(), 'rot-track-lg-'));
  await writeSyntheticDataset(dir, { seed: 3, count: 2, frames: 2, width: 96, height: 96, targetSize: [0.3, 0.4] }, 'otb');
  ds = new OtbDataset(dir, { name: 'syn' });
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function lg(equivariance: Record<string, unknown> | undefined): Promise<number[]> {
  const b = createBackbone(tinySpec(equivariance ? { equivariance } : {}), 4);
  try {
    // The first run fills the bounded caches (rotation tables per map size, a C4 net's expanded filters).
    await trackerEquivariance(b, ds, 2);
    const before = tf.memory().numTensors;
    const r = await trackerEquivariance(b, ds, 2);
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    assert.ok(r, 'a report');
    assert.equal(r.crops, 2);
    assert.deepEqual(r.layerNames, ['conv1', 'conv2', 'conv3']);
    assert.equal(r.normalised.length, 3);
    assert.equal(r.normalisedEnergy.length, 3);
    r.normalised.forEach((v, i) => assert.ok(Number.isFinite(v) && v >= 0 && (r.perLayer[i] === 0) === (v === 0)));
    return r.perLayer;
  } finally {
    b.dispose();
  }
}

test('L_G per layer: C4 exact (~0), plain (unpooled) and random IEN clearly above it', async () => {
  const c4 = await lg({ kind: 'c4' });
  const plain = await lg(undefined);
  const ien = await lg({ kind: 'ien', groups: 'R4' });
  for (let i = 0; i < 3; i++) {
    assert.ok(c4[i] < 1e-6, `C4 layer ${i + 1}: ${c4[i]}`);
    assert.ok(plain[i] > 1e3 * Math.max(c4[i], 1e-9), `plain layer ${i + 1}: ${plain[i]} vs C4 ${c4[i]}`);
    assert.ok(ien[i] > 1e3 * Math.max(c4[i], 1e-9), `IEN layer ${i + 1}: ${ien[i]} vs C4 ${c4[i]}`);
  }
});

test('channel share: 100 for plain and homogeneous IEN, 68.75 for R4-2-1', () => {
  for (const [eq, want] of [[undefined, 100], [{ kind: 'ien', groups: 'R4' }, 100], [{ kind: 'ien', groups: 'R4-2-1' }, 68.75]] as const) {
    const b = createBackbone(tinySpec(eq ? { equivariance: eq } : {}), 1);
    assert.equal(channelsPercent(b), want, JSON.stringify(eq));
    b.dispose();
  }
});
