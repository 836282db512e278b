/**
 * Trained models on disk: a SiamFC model folder (model.json + weights.bin written by tracker/node/model-files.ts) is
 * listed as trained, becomes the default, and a job says which model it runs; the template matcher stays available.
 * The weights here are an untrained small AlexNet saved by the test — the point is the server's model handling.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { alexnetSpec } from '../../tracker/backbone-spec.js';
import { Backbone } from '../../tracker/backbones.js';
import { saveModel } from '../../tracker/node/model-files.js';
import { SiamFCNet } from '../../tracker/siamfc.js';
import { ask, connect, makeVideo, pinBackend, startServer, tensors, uploadFile, waitFor, type TestServer } from './helpers.js';

let srv: TestServer | undefined;
let start = 0;

before(async () => {
  await pinBackend();
  start = tensors();
  srv = await startServer();
  const net = new SiamFCNet(new Backbone(alexnetSpec({ widthMultiplier: 0.125 })));
  await saveModel(path.join(srv!.dir, 'models', 'siamfc'), net, { variant: 'siamfc' });
  net.dispose();
});
after(async () => {
  await srv?.close();
});

function currentServer(): TestServer {
  assert.ok(srv, 'server running');
  return srv;
}

test('a model folder is listed as trained and becomes the default; jobs name the model they run', { timeout: 120_000 }, async () => {
  const srv = currentServer();
  const list = (await (await fetch(`${srv.url}/api/models`)).json()).data;
  assert.equal(list.default, 'siamfc');
  assert.deepEqual(list.models.map((m: any) => [m.name, m.variant, m.trained]), [['siamfc', 'siamfc', true], ['template-matching', 'template-matching', false]]);
  assert.match(list.models[0].description, /alexnet/);

  const video = path.join(srv.dir, 'v.mp4');
  await makeVideo(video, { frames: 8, fps: 10 });
  const id = (await uploadFile(srv.url, video)).body.data.id;
  const s = await connect(srv.url);
  try {
    const base = tensors();
    for (const model of [undefined, 'template-matching']) {
      const end = new Promise<any>((resolve) => s.once('job:end', resolve));
      const ack = await ask(s, 'job:start', { uploadId: id, box: { x: 20, y: 40, width: 24, height: 24 }, ...(model ? { model } : {}) });
      assert.equal(ack.ok, true, JSON.stringify(ack));
      assert.equal(ack.data.model, model ?? 'siamfc');
      const e = await end;
      assert.equal(e.state, 'done', JSON.stringify(e));
      const json = await (await fetch(srv.url + e.results.json)).json();
      assert.equal(json.model, model ?? 'siamfc');
    }
    await waitFor(() => srv.handle.jobs.active === 0, 5000, 'jobs done');
    // The loaded networks stay (shared by later jobs); per-job tracker state is gone.
    const netTensors = tensors() - base;
    assert.ok(netTensors > 0, 'the trained network was loaded');
    const end = new Promise<any>((resolve) => s.once('job:end', resolve));
    await ask(s, 'job:start', { uploadId: id, box: { x: 20, y: 40, width: 24, height: 24 } });
    await end;
    assert.equal(tensors() - base, netTensors, 'a second job on the same model adds no tensors');
  } finally {
    s.disconnect();
  }
});

test('closing the server releases the loaded networks', async () => {
  await srv!.close();
  srv = undefined;
  assert.equal(tensors(), start);
});
