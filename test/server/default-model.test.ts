/**
 * Which tracker clients get by default: `--default-model` (the operator's), else `<modelDir>/default.json` (the
 * shipped choice, made from held-out measurements), else Table 3's order. A bad default.json is reported and ignored;
 * an unknown --default-model is an error naming the flag.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import path from 'node:path';
import { alexnetSpec } from '../../tracker/backbone-spec.js';
import { Backbone } from '../../tracker/backbones.js';
import { saveModel } from '../../tracker/node/model-files.js';
import { SiamFCNet } from '../../tracker/siamfc.js';
import { ModelRegistry } from '../../server/models.js';
import { pinBackend } from './helpers.js';

let dir = '';
before(async () => {
  await pinBackend();
  dir = mkdtempSync(path.join(os.tmpdir(), 'default-model-'));
  for (const v of ['siamfc', 'cnn4-siamfc', 'ien-siamfc']) {
    const net = new SiamFCNet(new Backbone(alexnetSpec({ widthMultiplier: 0.0625 })));
    await saveModel(path.join(dir, v), net, { variant: v === 'ien-siamfc' ? 'siamfc' : v });
    net.dispose();
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function defaultOf(opts: { defaultModel?: string } = {}, logs: string[] = []): Promise<string> {
  const r = new ModelRegistry(dir, { engine: 'tfjs', argv: [], env: {}, log: (m) => logs.push(m), ...opts });
  await r.refresh();
  return r.list().default;
}

test('default.json names the default; without it Table 3\'s order picks ien-siamfc; --default-model wins', async () => {
  rmSync(path.join(dir, 'default.json'), { force: true });
  assert.equal(await defaultOf(), 'ien-siamfc');
  writeFileSync(path.join(dir, 'default.json'), JSON.stringify({ model: 'cnn4-siamfc', why: 'best held-out AUC' }));
  assert.equal(await defaultOf(), 'cnn4-siamfc');
  assert.equal(await defaultOf({ defaultModel: 'siamfc' }), 'siamfc');
  await assert.rejects(defaultOf({ defaultModel: 'nope' }), /--default-model: "nope" is not among/);
});

test('a default.json that is broken or names a missing model is reported and the built-in order is used', async () => {
  const logs: string[] = [];
  writeFileSync(path.join(dir, 'default.json'), '{ not json');
  assert.equal(await defaultOf({}, logs), 'ien-siamfc');
  assert.match(logs.join('\n'), /default\.json: not valid JSON/);
  writeFileSync(path.join(dir, 'default.json'), JSON.stringify({ model: 'gone-siamfc' }));
  assert.equal(await defaultOf({}, logs), 'ien-siamfc');
  assert.match(logs.join('\n'), /model "gone-siamfc" is not among/);
  rmSync(path.join(dir, 'default.json'));
});
