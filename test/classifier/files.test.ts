import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf } from '../../tracker/tf.js';
import { Classifier, type ClassifierSpecInput } from '../../tracker/classifier.js';
import { loadClassifier, saveClassifier } from '../../tracker/node/classifier-files.js';
import { ClassifierFileError, parseClassifierManifest } from '../../tracker/classifier/weights.js';

let dir: string;
before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'rc-files-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const specs: ClassifierSpecInput[] = [
  { variant: 'ien', widths: [8, 8, 8, 8, 8, 8], hidden: 8, seed: 4 },
  { variant: 'het-ien', widths: [11, 11, 11, 11, 22, 22], hidden: 8, seed: 4 },
  { variant: 'steerable-c8', widths: [8, 8, 8, 8, 8, 16], hidden: 8, seed: 4 },
  { variant: 'gcnn-d4', widths: [8, 8, 8, 8, 8, 8], hidden: 8, seed: 4 },
];

for (const spec of specs) {
  test(`${spec.variant}: save → load round trip gives identical outputs (BN statistics included)`, async () => {
    const m = new Classifier(spec);
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    // change the BN moving statistics away from their initial values
    tf.dispose(m.forwardFeatures(x, true).layers);
    const out = path.join(dir, spec.variant);
    const manifest = await saveClassifier(out, m, { name: `t-${spec.variant}`, metrics: { testAccuracy: 0.5 } });
    assert.equal(manifest.parameters, m.parameterCount());
    assert.ok(existsSync(path.join(out, 'model.json')) && existsSync(path.join(out, 'weights.bin')));
    assert.deepEqual(await (await import('node:fs/promises')).readdir(dir).then((fs) => fs.filter((f) => f.includes('.tmp-'))), []);
    const { model: m2, manifest: man2 } = await loadClassifier(out);
    assert.equal(man2.name, `t-${spec.variant}`);
    assert.deepEqual(man2.metrics, { testAccuracy: 0.5 });
    const a = m.logits(x), b = m2.logits(x);
    assert.equal(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0], 0);
    const fa = m.forwardFeatures(x, false), fb = m2.forwardFeatures(x, false);
    fa.layers.forEach((t, i) => assert.equal(tf.max(tf.abs(tf.sub(t, fb.layers[i]))).dataSync()[0], 0, `layer ${i + 1}`));
    tf.dispose([a, b, x, ...fa.layers, fa.out, ...fb.layers, fb.out]);
    // saving again replaces the folder atomically
    await saveClassifier(out, m2, { name: 'again' });
    assert.equal(JSON.parse(await readFile(path.join(out, 'model.json'), 'utf8')).name, 'again');
    m.dispose();
    m2.dispose();
  });
}

test('bad model files: errors name the file and the field', async () => {
  const m = new Classifier(specs[0]);
  const good = path.join(dir, 'good');
  await saveClassifier(good, m, { name: 'good' });
  m.dispose();
  const json = JSON.parse(await readFile(path.join(good, 'model.json'), 'utf8'));
  const bin = await readFile(path.join(good, 'weights.bin'));
  const write = async (name: string, j: unknown, b: Buffer | null) => {
    const d = path.join(dir, name);
    await rm(d, { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(d, { recursive: true });
    await writeFile(path.join(d, 'model.json'), typeof j === 'string' ? j : JSON.stringify(j));
    if (b) await writeFile(path.join(d, 'weights.bin'), b);
    return d;
  };
  const expectErr = async (d: string, re: RegExp) => {
    await assert.rejects(loadClassifier(d), (e: Error) => {
      assert.ok(e instanceof ClassifierFileError, `${e.name}: ${e.message}`);
      assert.match(e.message, re);
      return true;
    });
  };
  let d = await write('variant', { ...json, spec: { ...json.spec, variant: 'vgg' } }, bin);
  await expectErr(d, new RegExp(`${d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/model\\.json: field "spec\\.variant"`));
  d = await write('format', { ...json, format: 'rot-track/siamfc@1' }, bin);
  await expectErr(d, /model\.json: field "format"/);
  d = await write('notjson', '{"format":', bin);
  await expectErr(d, /model\.json: not valid JSON/);
  d = await write('truncated', json, bin.subarray(0, bin.length - 8));
  await expectErr(d, /weights\.bin has \d+ bytes, the manifest describes \d+/);
  d = await write('missing', json, null);
  await expectErr(d, /weights\.bin: weights file named in .*model\.json is missing/);
  d = await write('channels', { ...json, channels: [8, 8, 8, 8, 8, 12] }, bin);
  await expectErr(d, /field "channels"/);
  const renamed = structuredClone(json);
  renamed.weightsManifest[0].weights[0].name = 'conv1/oops';
  d = await write('wname', renamed, bin);
  await expectErr(d, /unexpected weight "conv1\/oops"/);
  await expectErr(path.join(dir, 'nowhere'), /does not exist/);
  assert.throws(() => parseClassifierManifest('{}', 'x.json'), /x\.json: field "format"/);
});
