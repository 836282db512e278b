/**
 * Export a tracker model to ONNX files:
 *   node --import tsx tracker/node/onnx/export-cli.ts <variant | model folder | model.json> <out dir>
 * writes `<out>/exemplar.onnx`, `<out>/search.onnx` and `<out>/onnx.json` (see model-files.ts; BatchNorm folded, C4/C8
 * filters expanded, group pooling and the xcorr head in the graph). Errors name the file or field at fault.
 */
import { initBackend } from '../backend.js';
import { loadTracker } from '../load-tracker.js';
import { writeOnnxModels } from './model-files.js';

const [model, out] = process.argv.slice(2);
if (!model || !out || model.startsWith('--')) {
  console.error('usage: node --import tsx tracker/node/onnx/export-cli.ts <variant | model folder | model.json> <out dir>');
  process.exit(2);
}
try {
  await initBackend({ log: () => {} });
  const loaded = await loadTracker(model);
  const files = await writeOnnxModels(loaded.net, out);
  loaded.dispose();
  for (const f of files) console.log(f);
} catch (e) {
  console.error(`export-onnx: ${(e as Error).message}`);
  process.exit(1);
}
