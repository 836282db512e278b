/**
 * What a browser needs to track by itself, served by the real server: a model's description, its ONNX networks (the
 * very bytes the exporter makes of the shipped weights) with content-hash ETags and caching, onnxruntime-web's files
 * from node_modules with the right types, and the cross-origin isolation of the pages that use them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, type TestServer } from './helpers.js';
import { SHIPPED_MODELS_DIR } from '../../tracker/node/load-tracker.js';
import { loadModel } from '../../tracker/node/model-files.js';
import { exportSiamFCOnnx } from '../../tracker/engine/onnx-export.js';
import type { BrowserModel } from '../../server/protocol.js';
import { ORT_WEB } from '../../server/routes/browser.js';

let srv: TestServer;
before(async () => {
  srv = await startServer({ modelDir: SHIPPED_MODELS_DIR });
});
after(async () => {
  await srv?.close();
});

test('a model for the browser: description, the exported networks byte for byte, ETag, caching and 304', async () => {
  const res = await fetch(`${srv.url}/api/models/ien-siamfc/browser`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  const meta = ((await res.json()) as { data: BrowserModel }).data;
  const { net, manifest } = await loadModel(path.join(SHIPPED_MODELS_DIR, 'ien-siamfc'));
  const ref = exportSiamFCOnnx(net);
  try {
    assert.equal(meta.name, 'ien-siamfc');
    assert.deepEqual([meta.exemplarSize, meta.instanceSize, meta.responseSize, meta.stride],
      [ref.exemplarSize, ref.instanceSize, ref.responseSize, net.geometry.stride]);
    assert.equal(meta.tracker.scaleNum, manifest.tracker.scaleNum);
    assert.equal(meta.runtime, `/ort/${ORT_WEB.version}/`);
    for (const [kind, bytes] of [['exemplar', ref.exemplar], ['search', ref.search]] as const) {
      const url = meta.files[kind];
      assert.match(url, new RegExp(`^/api/models/ien-siamfc/${kind}\\.onnx\\?v=${meta.version}$`));
      const r = await fetch(srv.url + url);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('etag'), `"${meta.version}"`);
      assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      const got = new Uint8Array(await r.arrayBuffer());
      assert.equal(got.length, meta.bytes[kind]);
      assert.deepEqual(got, bytes, `${kind}.onnx differs from the exporter's bytes`);
      const again = await fetch(srv.url + url, { headers: { 'If-None-Match': `"${meta.version}"` } });
      assert.equal(again.status, 304);
      const stale = await fetch(`${srv.url}/api/models/ien-siamfc/${kind}.onnx?v=0000`);
      assert.equal(stale.headers.get('cache-control'), 'no-cache', 'a URL with an old hash must be revalidated');
    }
  } finally {
    net.dispose();
  }
  // the default model when the name is the default's; the weight-free model exports too
  const tm = await fetch(`${srv.url}/api/models/template-matching/browser`);
  assert.equal(tm.status, 200);
});

test('unknown models and files are refused with a message naming them', async () => {
  const a = await fetch(`${srv.url}/api/models/nope/browser`);
  assert.equal(a.status, 400);
  assert.match(((await a.json()) as { error: { message: string } }).error.message, /unknown model "nope"; available: .*ien-siamfc/);
  const b = await fetch(`${srv.url}/api/models/ien-siamfc/weights.bin`);
  assert.equal(b.status, 404);
  assert.match(((await b.json()) as { error: { message: string } }).error.message, /no model file "weights.bin": the files are exemplar.onnx, search.onnx/);
});

test('onnxruntime-web is served from node_modules at a versioned URL, typed, cached for good, isolated; nothing else', async () => {
  const wasm = await fetch(`${srv.url}/ort/${ORT_WEB.version}/ort-wasm-simd-threaded.wasm`);
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  assert.match(wasm.headers.get('cache-control') ?? '', /max-age=31536000, immutable/);
  assert.equal(wasm.headers.get('cross-origin-embedder-policy'), 'require-corp');
  const bytes = new Uint8Array(await wasm.arrayBuffer());
  assert.deepEqual([...bytes.subarray(0, 4)], [0, 0x61, 0x73, 0x6d], 'a WebAssembly module');
  const mjs = await fetch(`${srv.url}/ort/${ORT_WEB.version}/ort.wasm.min.mjs`);
  assert.equal(mjs.status, 200);
  assert.match(mjs.headers.get('content-type') ?? '', /javascript/);
  for (const bad of [`/ort/${ORT_WEB.version}/package.json`, `/ort/${ORT_WEB.version}/../package.json`, `/ort/${ORT_WEB.version}/ort.node.min.js`]) {
    assert.equal((await fetch(srv.url + bad)).status, 404, bad);
  }
  const old = await fetch(`${srv.url}/ort/0.0.1/ort.wasm.min.mjs`);
  assert.equal(old.status, 404);
  assert.match(await old.text(), new RegExp(`this server has ${ORT_WEB.version.replace(/\./g, '\\.')}`));
});

test('the webcam and upload pages are cross-origin isolated and may compile wasm; other pages are unchanged', async () => {
  for (const p of ['/', '/webcam', '/js/webcam.js']) {
    const r = await fetch(srv.url + p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp', p);
    assert.equal(r.headers.get('cross-origin-opener-policy'), 'same-origin', p);
    assert.match(r.headers.get('content-security-policy') ?? '', /script-src 'self' 'wasm-unsafe-eval'/, p);
  }
  const e = await fetch(srv.url + '/eval');
  assert.equal(e.headers.get('cross-origin-embedder-policy'), null);
});
