// Bad input to the ONNX path: missing, corrupt or mismatched .onnx files and onnx.json name the file (and field);
// crops of the wrong size name the engine and the expected shape; the protobuf encoder's varints.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SiamFCNet } from '../../tracker/siamfc/network.js';
import { createBackbone } from '../../tracker/weights.js';
import { pooledPixelsSpec } from '../../tracker/backbone-spec.js';
import { ProtoWriter } from '../../tracker/engine/protobuf.js';
import { TfjsEngine } from '../../tracker/engine/engine.js';
import { OrtSession } from '../../tracker/node/onnx/ort.js';
import { EXEMPLAR_ONNX, ONNX_META, SEARCH_ONNX, loadOnnxModels, writeOnnxModels } from '../../tracker/node/onnx/model-files.js';
import { ortSkip, referenceBackend } from './ort-gate.js';

before(async () => {
  await referenceBackend();
});

const net = () => new SiamFCNet(createBackbone(pooledPixelsSpec(4, { exemplarSize: 63, instanceSize: 127 })));

test('protobuf varints: small, multi-byte, 2^53 − 1 and negative int64', () => {
  const bytes = (v: number) => { const w = new ProtoWriter(); w.varint(v); return [...w.finish()]; };
  assert.deepEqual(bytes(0), [0]);
  assert.deepEqual(bytes(300), [0xac, 0x02]);
  assert.deepEqual(bytes(2 ** 53 - 1), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.deepEqual(bytes(-1), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  assert.throws(() => bytes(1.5), /varint needs an integer/);
});

test('written .onnx files load back; missing, corrupt and mismatched files are named', ortSkip, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'rot-onnx-'));
  const n = net();
  try {
    const files = await writeOnnxModels(n, dir);
    assert.deepEqual(files.map((f) => path.basename(f)), [EXEMPLAR_ONNX, SEARCH_ONNX, ONNX_META]);
    const e = await loadOnnxModels(dir, { threads: 1 });
    const z = e.exemplar(new Float32Array(63 * 63 * 3).fill(100));
    assert.equal(e.respond(z, new Float32Array(3 * 127 * 127 * 3).fill(90), 3).length, 3 * 17 * 17);
    // wrong sizes name the engine and the shape
    assert.throws(() => e.exemplar(new Float32Array(10)), /onnx engine exemplar crop \[1, 63, 63, 3\]: expected a Float32Array of 11907 values, got 10/);
    assert.throws(() => e.respond(z, new Float32Array(10), 3), /onnx engine search crops \[3, 127, 127, 3\]/);
    assert.throws(() => e.respond(z, new Float32Array(0), 0), /positive integer, got 0/);
    const t = new TfjsEngine(n);
    assert.throws(() => e.respond(t.exemplar(new Float32Array(63 * 63 * 3)), new Float32Array(3 * 127 * 127 * 3), 3), /from another engine/);
    e.dispose();

    const search = path.join(dir, SEARCH_ONNX);
    await writeFile(search, Buffer.from('this is not a protobuf model'));
    await assert.rejects(loadOnnxModels(dir), (err: Error) => err.message.startsWith(`${search}: onnxruntime cannot load the model`));
    await rm(search);
    await assert.rejects(loadOnnxModels(dir), new RegExp(`${search.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: file does not exist`));
    // the exemplar model where the search model should be: the inputs do not fit
    await writeFile(search, await (await import('node:fs/promises')).readFile(path.join(dir, EXEMPLAR_ONNX)));
    await assert.rejects(loadOnnxModels(dir), /search\.onnx: expected inputs x, kernel and output response/);

    const meta = path.join(dir, ONNX_META);
    await writeFile(meta, '{"format":"rot-track/siamfc-onnx@1","exemplarSize":63,"instanceSize":-1,"responseSize":17,"channels":3}');
    await assert.rejects(loadOnnxModels(dir), (err: Error) => err.message.startsWith(`${meta}: field "instanceSize"`));
    await writeFile(meta, '{ nope');
    await assert.rejects(loadOnnxModels(dir), (err: Error) => err.message.startsWith(`${meta}: not valid JSON`));
  } finally {
    n.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});

test('an OrtSession names its model on bad threads, missing inputs and after dispose', ortSkip, async () => {
  const { exportOnnxModel } = await import('../../tracker/engine/onnx-export.js');
  const n = net();
  const bytes = exportOnnxModel(n, 'exemplar');
  assert.throws(() => new OrtSession(bytes, 'm.onnx', { threads: 0 }), /m\.onnx: intra-op threads must be a positive integer/);
  const s = new OrtSession(bytes, 'm.onnx');
  assert.throws(() => s.run({}), /m\.onnx: missing input "x"/);
  s.dispose();
  assert.throws(() => s.run({}), /m\.onnx: session was disposed/);
  n.dispose();
});
