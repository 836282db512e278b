import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, truncateSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../../tracker/tf.js';
import { Backbone } from '../../tracker/backbones.js';
import { alexnetSpec } from '../../tracker/backbone-spec.js';
import { SiamFCNet } from '../../tracker/siamfc.js';
import { saveModel, loadModel } from '../../tracker/node/model-files.js';

before(async () => {
  await tf.setBackend('cpu');
});

function smallNet(seed = 1): SiamFCNet {
  return new SiamFCNet(new Backbone(alexnetSpec({ widthMultiplier: 0.0625, exemplarSize: 63, instanceSize: 127 }), seed));
}

test('save → load round trip: same spec, same weights, same responses; no leaked tensors', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rt-model-'));
  try {
    const net = smallNet(3);
    await saveModel(path.join(dir, 'm'), net, { variant: 'siamfc', provenance: { test: true }, metrics: { auc: 0.5 } });
    const before = tf.memory().numTensors;
    const { net: back, manifest } = await loadModel(path.join(dir, 'm'));
    assert.equal(manifest.variant, 'siamfc');
    assert.deepEqual(manifest.backbone, net.backbone.spec);
    assert.equal(back.backbone.parameterCount(), net.backbone.parameterCount());
    const z = tf.randomUniform([1, 63, 63, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
    const x = tf.randomUniform([1, 127, 127, 3], 0, 255, 'float32', 2) as tf.Tensor4D;
    const a = net.forward(z, x);
    const b = back.forward(z, x);
    assert.equal(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]), 0);
    tf.dispose([z, x, a, b]);
    back.dispose();
    assert.equal(tf.memory().numTensors, before);
    net.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('missing or mismatched model files: errors name the file and the field', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rt-model-'));
  try {
    await assert.rejects(loadModel(path.join(dir, 'nope')), /nope: model file or folder does not exist/);
    const net = smallNet();
    const m = path.join(dir, 'm');
    await saveModel(m, net, { variant: 'siamfc' });
    net.dispose();
    const json = JSON.parse(readFileSync(path.join(m, 'model.json'), 'utf8'));
    // wrong field type
    writeFileSync(path.join(m, 'model.json'), JSON.stringify({ ...json, backbone: { ...json.backbone, widthMultiplier: 'x' } }));
    await assert.rejects(loadModel(m), /model\.json: field "backbone\.widthMultiplier"/);
    // spec that does not match the weights (wider network)
    writeFileSync(path.join(m, 'model.json'), JSON.stringify({ ...json, backbone: { ...json.backbone, widthMultiplier: 0.125 } }));
    await assert.rejects(loadModel(m), /weights\.bin/);
    // not JSON
    writeFileSync(path.join(m, 'model.json'), '{oops');
    await assert.rejects(loadModel(m), /model\.json: not valid JSON/);
    // truncated weights
    writeFileSync(path.join(m, 'model.json'), JSON.stringify(json));
    truncateSync(path.join(m, 'weights.bin'), 100);
    await assert.rejects(loadModel(m), /weights\.bin has 100 bytes/);
    rmSync(path.join(m, 'weights.bin'));
    await assert.rejects(loadModel(m), /weights\.bin: weights file named in .*model\.json is missing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
