/**
 * `POST /api/classify/features`: the group-pooled feature maps of one conv block of every classifier on disk (here the
 * repository's trained CNN and IEN, copied into the test server's model folder), as small grey PNGs on a per-channel
 * scale shared by the classifiers. Checks the number and size of the maps per layer, clear 400s for bad layer indices
 * (validated before the 503 of a server without classifiers), and that no tensor outlives a request.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { tf } from '../../tracker/tf.js';
import { startServer, type TestServer } from './helpers.js';

const CLASSIFIERS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../tracker/models/classifiers');
let srv: TestServer;

before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv?.close();
});

/** A thick "7" on a 28×28 black background. */
function seven(): number[] {
  const d = new Array(784).fill(0);
  for (let x = 6; x < 22; x++) for (let t = 0; t < 3; t++) d[(6 + t) * 28 + x] = 255;
  for (let y = 6; y < 23; y++) for (let t = 0; t < 3; t++) d[y * 28 + 20 - Math.round((y - 6) * 0.5) + t] = 255;
  return d;
}

const post = async (body: unknown) => {
  const res = await fetch(srv.url + '/api/classify/features', {
    method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' },
  });
  return { res, body: (await res.json()) as any };
};

test('bad layer indices get a 400 JSON error naming the valid range; without classifiers a good request gets 503', async () => {
  for (const layer of [0, 7, -1, 2.5, '2', null]) {
    const { res, body } = await post({ pixels: seven(), layer });
    assert.equal(res.status, 400, `layer ${JSON.stringify(layer)}`);
    assert.equal(body.ok, false);
    assert.equal(body.error.code, 'invalid_payload');
    assert.match(body.error.message, /field "layer": layer must be an integer from 1 to 6/, `layer ${JSON.stringify(layer)}`);
  }
  let { res, body } = await post({ pixels: [1, 2], layer: 2 });
  assert.equal(res.status, 400);
  assert.match(body.error.message, /field "pixels"/);
  ({ res, body } = await post({ pixels: seven(), layer: 2, extra: 1 }));
  assert.equal(res.status, 400);
  ({ res, body } = await post({ pixels: seven() }));
  assert.equal(res.status, 503);
  assert.equal(body.error.code, 'unavailable');
});

test('with the trained CNN and IEN on disk: up to 8 maps per classifier of the layer\'s size, as PNGs; no tensor leaks', async () => {
  for (const name of ['cnn', 'ien-b1-6ep']) await cp(path.join(CLASSIFIERS, name), path.join(srv.dir, 'models', name), { recursive: true });
  const pooled = { cnn: [16, 24, 32, 32, 48, 64], 'ien-b1-6ep': [4, 6, 8, 8, 12, 16] } as Record<string, number[]>;
  const sizes = [24, 24, 12, 12, 6, 2];
  for (const layer of [undefined, 1, 2, 3, 4, 5, 6]) {
    const { res, body } = await post(layer === undefined ? { pixels: seven() } : { pixels: seven(), layer });
    assert.equal(res.status, 200, JSON.stringify(body));
    const d = body.data;
    const l = layer ?? 2;
    assert.equal(d.layer, l);
    assert.deepEqual(d.results.map((r: any) => [r.model, r.variant]), [['cnn', 'cnn'], ['ien-b1-6ep', 'ien']]);
    for (const r of d.results) {
      assert.equal(r.channels, pooled[r.model][l - 1], `${r.model} layer ${l} channels`);
      assert.equal(r.maps.length, Math.min(8, r.channels), `${r.model} layer ${l} maps`);
      assert.equal(r.width, sizes[l - 1]);
      assert.equal(r.height, sizes[l - 1]);
      for (const m of r.maps) {
        const meta = await sharp(Buffer.from(m, 'base64')).metadata();
        assert.equal(meta.format, 'png');
        assert.deepEqual([meta.width, meta.height, meta.channels], [r.width, r.height, 1]);
      }
    }
    // One range per channel index, shared by both classifiers; something is drawn (not all flat).
    assert.equal(d.ranges.length, Math.max(...d.results.map((r: any) => r.maps.length)));
    for (const [lo, hi] of d.ranges) assert.ok(lo <= hi && lo >= -1 - 1e-6, `range ${lo}..${hi}`);
    assert.ok(d.ranges.some(([lo, hi]: number[]) => hi - lo > 0.1));
    // Small payload: well under 64 KB even for the largest maps.
    assert.ok(JSON.stringify(body).length < 64 * 1024);
  }
  // Channel c of both classifiers uses one scale: the brightest pixel of channel 0 over both is white, the darkest black.
  const { body } = await post({ pixels: seven(), layer: 2 });
  const ch0 = await Promise.all(body.data.results.map((r: any) => sharp(Buffer.from(r.maps[0], 'base64')).raw().toBuffer()));
  assert.equal(Math.max(...ch0.map((b) => Math.max(...b))), 255);
  assert.equal(Math.min(...ch0.map((b) => Math.min(...b))), 0);

  // Models are loaded now: a request leaves the number of live tensors where it was.
  const baseline = tf.memory().numTensors;
  for (const layer of [2, 6]) await post({ pixels: seven(), layer });
  assert.equal(tf.memory().numTensors, baseline);
  // Also after a rejected request.
  await post({ pixels: seven(), layer: 9 });
  assert.equal(tf.memory().numTensors, baseline);
});
